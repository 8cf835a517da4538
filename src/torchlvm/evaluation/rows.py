"""Which rows of a split an evaluation scores: a seeded subsample of n of them (every row for
n = None), chosen in one place for the split and for its validation partner.

A split streamed from a ``.npy`` file (:class:`~torchlvm.data.memmap.MemmapDataset`, what a
run trained with ``--mmap`` reads) is not read whole: :func:`evaluated_rows` reads only the
rows that will be scored, so evaluating a file larger than memory holds n rows, not the split.
Their values are those of the split in memory; under ``"dynamic"`` binarization their one
seeded Bernoulli draw is each row's own (:func:`~torchlvm.data.binarize.row_draw`), the same
for a row whatever ``n`` scores it, streamed or in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm import _memory
from torchlvm.data.binarize import row_draw
from torchlvm.data.dataset import Dataset
from torchlvm.data.memmap import MemmapDataset


def subsample_index(length: int, n: int | None, seed: int) -> Tensor | None:
    """The positions ``(n,)``, in increasing order, of a seeded subsample of ``n`` of
    ``length`` rows; None where every row is taken (``n`` is None or at least ``length``)."""
    if n is None or n >= length:
        return None
    rows = torch.randperm(length, generator=torch.Generator().manual_seed(seed))[:n]
    return rows.sort().values


def evaluated_rows(dataset: Any, n: int | None, seed: int) -> Any:
    """``dataset`` with only the rows an evaluation of ``n`` rows with ``seed`` scores read into
    memory, where it streams them from a file (a :class:`MemmapDataset`), as a
    :class:`~torchlvm.data.Dataset` of those rows, in file order; anything else as it is (a
    dataset in memory is subsampled where it is scored).

    Raises:
        OptionError: for more rows than the memory available here holds (read as float32 and
            once more binarized), naming a subsample that fits.
    """
    if not isinstance(dataset, MemmapDataset):
        return dataset
    index = subsample_index(len(dataset), n, seed)
    count = len(dataset) if index is None else len(index)
    what = (
        f"the {count:,} rows of the {dataset.split} split of {dataset.name} that evaluation "
        f"scores ({dataset.dim} values each, float32, and their binarized copy)"
    )
    per_row = 2 * dataset.dim * 4  # bytes: the values as float32, and their binarized copy
    _memory.check_fits(count * per_row, what, lambda spell: _fewer(spell, per_row))
    rows = np.arange(len(dataset)) if index is None else index.numpy()
    x = dataset.x[rows]  # (count, D), those rows
    return _RowsRead(
        x=x, y=None, name=dataset.name, split=dataset.split, shape=tuple(dataset.shape),
        num_classes=None, class_names=None, binarize=dataset.binarize,
        drawn=row_draw(x, seed) if dataset.binarize == "dynamic" else None,
        drawn_seed=seed, split_rows=len(dataset),
    )  # fmt: skip


@dataclass(frozen=True, eq=False)
class _RowsRead(Dataset):
    """Rows read from a streamed split with, under ``"dynamic"``, their draw made once
    (:func:`~torchlvm.data.binarize.row_draw`, each row's own, as
    :meth:`MemmapDataset.fixed_binarized` reads them), and the size of the split they were
    drawn from (its protocol says "n of split_rows": userM #18, it said "n all")."""

    drawn: Tensor | None = None
    drawn_seed: int = 0
    split_rows: int = 0

    def fixed_binarized(self, seed: int = 0) -> Tensor:
        if self.drawn is not None and seed == self.drawn_seed:
            return self.drawn
        return super().fixed_binarized(seed)


def _fewer(spell: Any, per_row: int) -> str:
    """The fix of too many rows: a subsample whose rows take a quarter of the memory available
    now (two significant digits, rounded down), leaving the rest to what evaluation makes of
    them (float64 copies for a float64 model, the outlier sets, the importance chunks)."""
    fits = max(2, (_memory.available_bytes() or 0) // (4 * per_row))
    unit = 10 ** max(0, len(str(fits)) - 2)
    return f"evaluate a seeded subsample of them that fits: {spell('n', fits // unit * unit)}"


def split_size(dataset: Any) -> int:
    """The rows of the split ``dataset`` is, or was read from (:func:`evaluated_rows`)."""
    return getattr(dataset, "split_rows", 0) or len(dataset)
