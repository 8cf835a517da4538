"""Datasets larger than memory: a ``.npy`` file memory-mapped and read a batch of rows at a time.

``load_dataset("big.npy", split, mmap=True)`` returns a :class:`MemmapDataset` instead of a
:class:`~torchlvm.data.dataset.Dataset`: the same facts (name, split, per-example shape, protocol),
but ``x`` is a :class:`MemmapRows`, which reads rows from the file when indexed, ``x[index]`` →
a ``(B, D)`` float32 tensor. ``LVMDataModule`` batches from it as from a tensor, so training
streams the file: memory holds the batch, not the data.

How rows are read: as with ``numpy.load(path, mmap_mode="r")`` the file is addressed in place
(the header parsed, rows at known offsets), but a batch is read with positioned reads
(``os.preadv``, one per row, in file order, each straight into its place in the batch) rather
than through a memory mapping. Measured on this project's machines (Linux 6.18, ext4): a page fault
on a file mapping maps a whole 2 MiB page-cache folio, so a batch of 128 random rows made up to
256 MiB of the file resident in the process, and an epoch the whole file. Reads leave the file in
the kernel's page cache (shared, reclaimable, reused by the next epoch), keep the process's
resident memory flat as the file grows, and cost less CPU (about 1.7 µs per 3 KiB row from the
page cache). See ``benchmarks/memmap_memory.py``.

The file: a C-ordered ``.npy`` array of shape ``(N, D)``, ``(N, H, W)`` or ``(N, C, H, W)``
or ``(N, H, W, C)`` of a real or integer dtype, read as :mod:`torchlvm.data.pixels` says
(images channels first, 8-bit grey levels divided by 255, float32) batch by batch. Opening it
reads the header and checks the dtype, the shape and that the file holds all ``N`` rows
(:mod:`torchlvm.data.npy_layout`). What the values are is learned from a summary (NaN count,
least and greatest value, whole numbers or not) of the whole file, made in one streamed pass
when first needed and kept for the command (:func:`file_values`; inside
:func:`torchlvm.data.csv_once.parsed_once`, so a train and a validation split share it), or of a
split's own rows where the file's cannot answer for them or reading them alone costs less
(:mod:`torchlvm.data.memmap_values`): whether images of an integer dtype other than uint8 are
8-bit (the whole file's), and for ``check=True`` (default) and the binarizing protocols, that
the values are finite and in [0, 1].
Splits are the seeded 80/10/10 row sets of :mod:`torchlvm.data.files`, kept as index arrays (8
bytes per row), never as copies.

Protocols, applied per batch: ``"threshold"`` (x > 0.5), ``"dynamic"`` (a fresh Bernoulli draw per
training batch, as for in-memory data); :meth:`MemmapDataset.fixed_binarized` gives each row's
one seeded draw (:func:`~torchlvm.data.binarize.row_draw`, as in memory), whatever batch it is
read in.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.data import csv_once, pixels
from torchlvm.data.binarize import Values, check_values, row_draw
from torchlvm.data.dataset import Dataset
from torchlvm.data.memmap_values import (
    all_finite,
    finite_where_seen,
    holds,
    in_unit_interval,
    refuse_empty_rows,
    refuse_nonfinite,
)
from torchlvm.data.npy_layout import NpyLayout, read_layout
from torchlvm.data.splits import PART_NAMES, empty_split, split_indices
from torchlvm.errors import ConfigError, DataError

__all__ = ["MemmapDataset", "MemmapRows", "NpyLayout", "load_memmap", "read_layout"]

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)  # as torchlvm.data.files
_SCAN_BYTES = 8 * 2**20  # bytes of rows read at a time by the whole-file checks
_PAGE = 4096  # bytes the kernel reads for a row at least (a row spans one page more on average)


@dataclass
class _Known:
    """What has been learned of the values of some rows, shared by every :class:`MemmapRows` of
    those rows (the same rows read under another protocol): the whole file's summary as stored,
    and the rows' own summary as the model sees them (:mod:`torchlvm.data.memmap_values`)."""

    file: Values | None = None
    rows: Values | None = None


class MemmapRows:
    """Rows of a ``.npy`` file on disk, read a batch at a time as float32.

    Args:
        path: the ``.npy`` file.
        layout: its :class:`NpyLayout` (from :func:`read_layout`).
        index: the file rows this object exposes, sorted (a split), or None for all.
        threshold: return ``x > 0.5`` (the ``"threshold"`` protocol) instead of the values.
        draw_seed: if not None, return one seeded Bernoulli draw of the values
            (:meth:`MemmapDataset.fixed_binarized`).
        known: what is known of the values (shared with the rows this object derives from);
            a summary not known is made when first needed.

    ``rows[i]`` for an integer tensor, list, slice or int ``i`` of positions returns
    ``(len(i), D)`` float32 (an int gives ``(D,)``). The file is opened lazily in each process,
    so the object can be sent to DataLoader workers.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: NpyLayout,
        index: np.ndarray | None = None,
        *,
        threshold: bool = False,
        draw_seed: int | None = None,
        known: _Known | None = None,
    ) -> None:
        self.path, self.layout = Path(path), layout
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.threshold, self.draw_seed = threshold, draw_seed
        self.known = _Known() if known is None else known
        self._fd, self._pid = -1, -1

    # -- the tensor-like surface LVMDataModule uses ----------------------------------------

    def __len__(self) -> int:
        return self.layout.rows if self.index is None else len(self.index)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), self.layout.dim))

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def __getitem__(self, positions: Any) -> Tensor:
        n = len(self)
        single = isinstance(positions, (int, np.integer))
        pos = np.arange(*positions.indices(n)) if isinstance(positions, slice) else positions
        pos = np.atleast_1d(np.asarray(pos, dtype=np.int64))
        if pos.size and (pos.min() < -n or pos.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        pos = np.where(pos < 0, pos + n, pos)
        rows = pos if self.index is None else self.index[pos]
        x = torch.from_numpy(self._values(self._read(rows)))  # (B, D) float32
        if self.threshold:
            x = (x > 0.5).to(torch.float32)
        if self.draw_seed is not None:
            x = row_draw(x, self.draw_seed)
        return x[0] if single else x

    def column_mean(self) -> Tensor:
        """``(D,)`` the mean of each column of the rows as indexing reads them (under this
        object's protocol), read :data:`_SCAN_BYTES` of the file at a time, summed in float64."""
        step = max(1, _SCAN_BYTES // self._row_bytes)
        total = torch.zeros(self.layout.dim, dtype=torch.float64)
        for start in range(0, len(self), step):
            total += self[start : start + step].double().sum(0)
        return total / len(self)

    def __repr__(self) -> str:
        return f"MemmapRows({str(self.path)!r}, rows={len(self)}, dim={self.layout.dim})"

    # -- reading ----------------------------------------------------------------------------

    def _values(self, raw: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """File rows ``(B, D)`` as the model sees them (:mod:`torchlvm.data.pixels`: images
        channels first, 8-bit grey levels divided by 255), as ``dtype``."""
        layout = self.layout
        shaped = raw.reshape(len(raw), *layout.shape[1:])
        return pixels.rows(shaped, dtype, scaled=layout.grey_levels)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """File rows ``rows`` as a ``(B, D)`` array of the file's dtype: one positioned read per
        row, in file order, straight into its place in the result."""
        layout = self.layout
        out = np.empty((len(rows), layout.dim), dtype=layout.dtype)
        row_bytes = layout.dim * layout.dtype.itemsize
        fd = self._file()
        view = memoryview(out).cast("B")
        for j in np.argsort(rows, kind="stable").tolist():
            start = j * row_bytes
            got = _preadv(
                fd, view[start : start + row_bytes], layout.offset + int(rows[j]) * row_bytes
            )
            if got != row_bytes:
                raise DataError(f"{self.path} became shorter while it was read; copy it again")
        return out

    def _file(self) -> int:
        if self._pid != os.getpid():  # a new process (a DataLoader worker) opens its own
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        return self._fd

    def close(self) -> None:
        """Close this process's file descriptor (a later read opens it again)."""
        if self._pid == os.getpid() and self._fd >= 0:
            os.close(self._fd)
        self._fd, self._pid = -1, -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, TypeError, AttributeError):  # interpreter shutting down
            pass

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": -1, "_pid": -1}

    # -- what the values are (torchlvm.data.memmap_values asks) -------------------------------

    def file_summary(self, *, learn: bool = True) -> Values | None:
        """The whole file's values as stored, summarized (not only the rows exposed): learned in
        one streamed pass and kept for the command (:func:`file_values`); with ``learn`` False,
        None unless it was learned already."""
        if self.known.file is None:
            self.known.file = file_values(self.path, self.layout, learn=learn)
        return self.known.file

    def seen(self) -> Values:
        """The exposed rows' values as the model sees them (float32, grey levels divided by 255),
        summarized once: read alone where :meth:`cheaper_alone`, else streamed with the file."""
        if self.known.rows is None:
            if self.index is not None and self.cheaper_alone():
                step = max(1, _SCAN_BYTES // self._row_bytes)
                parts = (self._values(self._read(self.index[i : i + step])).reshape(-1)
                         for i in range(0, len(self.index), step))  # fmt: skip
            else:
                parts = (chunk.reshape(-1) for chunk in self.chunks())
            with np.errstate(over="ignore"):  # a float64 1e300 becomes inf: not finite
                self.known.rows = Values.summed(parts)
        return self.known.rows

    def cheaper_alone(self) -> bool:
        """Whether reading the exposed rows alone costs less than a pass over the file: a row
        read by itself costs the kernel its pages (a page more than its bytes, on average), and
        positioned reads are taken where they come to under half the file's bytes."""
        if self.index is None:
            return False
        return len(self.index) * (self._row_bytes + _PAGE) < self.layout.rows * self._row_bytes / 2

    @property
    def _row_bytes(self) -> int:
        return self.layout.dim * self.layout.dtype.itemsize

    def chunks(self, dtype: type = np.float32) -> Any:
        """Yield the exposed rows in file order, about 8 MiB of the file at a time, as the
        model sees them (:meth:`_values`, as ``dtype``)."""
        return (self._values(chunk, dtype) for chunk in self.raw_chunks())

    def raw_chunks(self) -> Any:
        """Yield the exposed rows in file order, about 8 MiB of the file at a time, as
        ``(B, D)`` arrays of the file's dtype (read with ordinary file reads, so nothing of the
        file stays resident)."""
        layout = self.layout
        row_bytes = layout.dim * layout.dtype.itemsize
        step = max(1, _SCAN_BYTES // row_bytes)
        with open(self.path, "rb") as f:
            for start in range(0, layout.rows, step):
                count = min(step, layout.rows - start)
                f.seek(layout.offset + start * row_bytes)
                chunk = np.fromfile(f, layout.dtype, count * layout.dim).reshape(count, -1)
                if self.index is not None:
                    lo, hi = np.searchsorted(self.index, [start, start + count])
                    chunk = chunk[self.index[lo:hi] - start]  # the index is sorted (a split)
                yield chunk


def _preadv(fd: int, view: memoryview, offset: int) -> int:
    """Read ``len(view)`` bytes at ``offset`` into ``view``; returns the bytes read."""
    if not hasattr(os, "preadv"):  # not on this platform: one copy more
        data = os.pread(fd, len(view), offset)
        view[: len(data)] = data
        return len(data)
    done = os.preadv(fd, [view], offset)
    while 0 < done < len(view):  # a short read (signals, network filesystems)
        more = os.preadv(fd, [view[done:]], offset + done)
        if more <= 0:
            break
        done += more
    return done


def file_values(path: Path, layout: NpyLayout, *, learn: bool = True) -> Values | None:
    """The values of the whole ``.npy`` file at ``path`` summarized as stored (its dtype, not
    scaled; :class:`~torchlvm.data.binarize.Values`), in one streamed pass; inside
    :func:`~torchlvm.data.csv_once.parsed_once` made once per file while it is unchanged. With
    ``learn`` False, None where it has not been made (nothing is read)."""
    learned = csv_once.kept(path, ("values", layout.dtype, layout.shape, layout.offset), dict)
    if "file" not in learned and learn:
        rows = MemmapRows(path, layout)
        learned["file"] = Values.summed(chunk.reshape(-1) for chunk in rows.raw_chunks())
    return learned.get("file")


@dataclass(frozen=True, eq=False)
class MemmapDataset:
    """A split of a memory-mapped ``.npy`` file; the attributes of
    :class:`~torchlvm.data.dataset.Dataset`, with ``x`` a :class:`MemmapRows`.

    Attributes:
        x: the rows, ``x[index]`` → ``(B, D)`` float32.
        y: always None (a ``.npy`` file holds no labels).
        name, split, shape, num_classes, class_names, binarize, truth: as for ``Dataset``;
            columns and standardizer None, is_table False: a file of rows, no table.
    """

    x: MemmapRows
    name: str
    split: str
    shape: tuple[int, ...]
    binarize: str = "none"
    y: None = None
    num_classes: None = None
    class_names: None = None
    truth: None = None
    columns: None = None  # (an array's rows: no table, so none of a table's attributes)
    standardizer: None = None
    is_table: bool = False

    def __len__(self) -> int:
        return len(self.x)

    @property
    def dim(self) -> int:
        """D, values per example."""
        return self.x.layout.dim

    def __repr__(self) -> str:
        return (
            f"MemmapDataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"shape={self.shape}, binarize={self.binarize!r})"
        )

    def with_protocol(self, protocol: str) -> MemmapDataset:
        """This dataset under a binarization protocol (checked by streaming through the rows).

        Raises:
            DataError: for ``"dynamic"`` / ``"threshold"`` on values outside [0, 1].
        """
        if protocol == "none":
            return self
        if not holds(self.x, in_unit_interval):  # these rows' whole range, not a chunk's
            check_values(self.x.seen(), protocol, self.name)
        rows = _derived(self.x, threshold=True) if protocol == "threshold" else self.x
        return MemmapDataset(rows, self.name, self.split, self.shape, protocol)

    def in_memory(self) -> Dataset:
        """This split read into memory: a :class:`~torchlvm.data.dataset.Dataset` of the same
        rows and facts, for a command that reads a run's split whole (encode, reconstruct,
        evaluate), which a tensor's operations then serve."""
        return Dataset(
            x=self.x[slice(None)], y=None, name=self.name, split=self.split, shape=self.shape,
            num_classes=None, class_names=None, binarize=self.binarize,
        )  # fmt: skip

    def fixed_binarized(self, seed: int = 0) -> MemmapRows:
        """The rows as evaluation sees them: one seeded Bernoulli draw per row under
        ``"dynamic"`` (drawn when read, the same whichever batch a row is read in), else ``x``."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        if self.binarize != "dynamic":
            return self.x
        return _derived(self.x, draw_seed=seed)


def _derived(rows: MemmapRows, **options: Any) -> MemmapRows:
    """The same rows of the same file, read with other ``threshold`` / ``draw_seed`` options."""
    return MemmapRows(rows.path, rows.layout, rows.index, known=rows.known, **options)


def load_memmap(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    check: bool = True,
    allow_missing: bool = False,
    dtype: Any = None,
    shape: tuple[int, ...] | None = None,
) -> MemmapDataset:
    """Open a ``.npy`` file for streaming: a :class:`MemmapDataset` of the ``split`` rows.

    Args:
        path: the ``.npy`` file.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: seed of the split.
        check: stream through the rows once to refuse NaN and infinities.
        allow_missing: with ``check``, keep NaN (rows scored on their observed values) but
            refuse a row with no value at all, as a full read with ``allow_missing`` does.
        dtype, shape: what the file must hold (see :func:`read_layout`); None accepts any.

    Raises:
        DataNotFoundError, DataError: see :func:`read_layout`; DataError also for NaN or
            infinite values, naming the file.
        ConfigError: for an unknown split, or a file that is not ``.npy``.
    """
    if split not in (*PART_NAMES, "all"):
        raise ConfigError(f"split must be one of train, val, test, all; got {split!r}")
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ConfigError(f"mmap=True reads .npy files; {path.name} is not one (use numpy.save)")
    layout = read_layout(path, dtype=dtype, shape=shape)
    pixels.warn_of_either_order(layout.shape, path)  # (as a read of the whole file does)
    known = _Known()  # learned when first needed
    images = len(layout.shape) in (3, 4)
    if layout.dtype == np.uint8 or (images and pixels.wide_integers(layout.dtype)):  # levels?
        summary = known.file = file_values(path, layout)
        eight_bit = pixels.eight_bit_range(summary.low, summary.high)
        if eight_bit:
            pixels.warn_of_levels(layout.dtype, summary.high, path)
        layout = replace(layout, scaled=eight_bit)
    index = None
    if split != "all":
        index = split_indices(layout.rows, FRACTIONS, seed, None)[PART_NAMES.index(split)]
        if len(index) == 0:
            raise empty_split(str(path), split, layout.rows, FRACTIONS)
    rows = MemmapRows(path, layout, index, known=known)
    example = pixels.example_shape(layout.shape, path)
    if check and not all_finite(rows):
        whole = MemmapRows(path, layout)
        if not allow_missing or not holds(whole, finite_where_seen):
            refuse_nonfinite(whole, example)  # (values too large and infinities first)
        refuse_empty_rows(rows, example)
    return MemmapDataset(rows, str(path), split, example)
