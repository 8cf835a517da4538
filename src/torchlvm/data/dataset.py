"""The :class:`Dataset` container every loader returns: tensors plus what they are.

A dataset is a matrix ``x`` of shape ``(N, D)`` (images scaled to [0, 1] and flattened row-major),
optional integer labels ``y`` of shape ``(N,)``, and the facts a result must record with it: name,
split, per-example shape and binarization protocol. Batching slices whole index tensors; there is
no per-example Python work.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import Tensor

from torchlvm._checks import check_choice, check_positive_int
from torchlvm.data.binarize import PROTOCOLS, check_intensities, row_draw
from torchlvm.data.csv_cells import code_name
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_form import NumberForm
from torchlvm.data.standardize import Standardizer
from torchlvm.errors import ConfigError, DataError

SPLITS: tuple[str, ...] = ("train", "val", "test", "all")
"""The split names every dataset accepts."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset held in memory as tensors.

    Attributes:
        x: ``(N, D)`` floating point data. Images are scaled to [0, 1] and flattened row-major;
            for ``binarize == "dynamic"`` these are the Bernoulli intensities.
        y: ``(N,)`` int64 class labels, or None.
        name: What was loaded, e.g. ``"digits"`` or the path of a user file.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        shape: Per-example shape before flattening: ``(1, 8, 8)``, ``(1, 28, 28)`` or ``(D,)``.
        num_classes: Number of label classes, or None without labels.
        class_names: One name per class, or None.
        binarize: Protocol, ``"none"``, ``"dynamic"`` or ``"threshold"`` (see
            :mod:`torchlvm.data.binarize`).
        truth: For synthetic data, the parameters that generated it; else None.
        columns: For a table: the D feature names (a CSV header), or None.
        standardizer: For a table read with ``standardize``: how ``x`` was standardized (its
            ``inverse`` gives the user's units), or None when ``x`` is as stored.
        dialect: For a table read from a file: its delimiter and decimal point (files written
            from these rows follow it), or None.
        forms: For a table read from a file: how each column writes its numbers (its decimals,
            thousands separator: :class:`~torchlvm.data.csv_form.NumberForm`), else ().

    Raises:
        DataError: If the fields disagree with each other (shapes, dtypes, label range).
        ConfigError: If ``split`` or ``binarize`` is not a known name.
    """

    x: Tensor
    y: Tensor | None
    name: str
    split: str
    shape: tuple[int, ...]
    num_classes: int | None
    class_names: tuple[str, ...] | None
    binarize: str
    truth: dict[str, Tensor] | None = None
    columns: tuple[str, ...] | None = None
    standardizer: Standardizer | None = None
    dialect: Dialect | None = None
    forms: tuple[NumberForm, ...] = ()

    def __post_init__(self) -> None:
        check_choice("split", self.split, SPLITS)
        check_choice("binarize", self.binarize, PROTOCOLS)
        if self.x.ndim != 2 or not self.x.is_floating_point():
            raise DataError(
                f"{self.name}: x must be a floating point (N, D) tensor, got dtype {self.x.dtype} "
                f"and shape {tuple(self.x.shape)}; flatten examples and convert to float"
            )
        if math.prod(self.shape) != self.x.shape[1]:
            raise DataError(
                f"{self.name}: per-example shape {self.shape} does not hold D={self.x.shape[1]} "
                "values; pass the shape the rows were flattened from"
            )
        if self.y is not None:
            self._check_labels(self.y)
        if self.binarize == "dynamic":
            check_intensities(self.x, "dynamic", self.name)

    def _check_labels(self, y: Tensor) -> None:
        if y.dtype != torch.int64 or y.shape != (self.x.shape[0],):
            raise DataError(
                f"{self.name}: y must be an int64 tensor of shape ({self.x.shape[0]},), got dtype "
                f"{y.dtype} and shape {tuple(y.shape)}; convert labels with .long()"
            )
        if self.num_classes is None or len(y) == 0:
            return
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= self.num_classes:
            raise DataError(
                f"{self.name}: labels must lie in 0..{self.num_classes - 1}, got {low}..{high}; "
                "renumber the classes from 0"
            )

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def dim(self) -> int:
        """D, the number of values per example."""
        return self.x.shape[1]

    @property
    def is_table(self) -> bool:
        """Whether the data were read as a table: named columns (a .csv) or a standardization.
        The one decision every unit takes ("nats/row", "squared error/feature") and a run
        records (its ``table``); other data, images or flat arrays, are examples."""
        return self.columns is not None or self.standardizer is not None

    def with_classes(
        self, names: Sequence[str], *, unseen: Literal["refuse", "append"] = "refuse"
    ) -> Dataset:
        """The same data with its text classes numbered as ``names`` number them (a run's
        classes): a file's text labels are numbered by its own sorted class names, so a file
        without one of the run's classes would otherwise shift every later index; its numeric
        labels are codes naming classes ("3" for 3: a run trained on codes 1, 2, 3 names its
        classes so), never indices into ``names``.

        Args:
            names: the run's classes, in its label order.
            unseen: what rows of a class ``names`` lacks get: ``"refuse"`` (DataError), or
                ``"append"``: their classes are numbered after ``names``' (in this data's
                order), so ``y >= len(names)`` marks them, for a command that writes the other
                rows and leaves these empty.

        Raises:
            DataError: for a class ``names`` does not hold, unless ``unseen="append"``.
        """
        names = tuple(names)
        if self.y is None or self.class_names == names:
            return self
        if self.class_names is None:  # a table's whole-number codes: the classes named so
            codes = torch.unique(self.y)  # (int64: files' labels are whole numbers >= 0)
            coded = replace(self, class_names=tuple(code_name(float(c)) for c in codes))
            coded = replace(coded, y=torch.searchsorted(codes, self.y))
            return coded.with_classes(names, unseen=unseen)
        unknown = [name for name in self.class_names if name not in names]
        if unknown and unseen == "refuse":
            raise DataError(
                f"{self.name} holds class {unknown[0]!r}, which the run was not trained on; "
                f"its classes are {', '.join(names)}: keep only rows of those classes"
            )
        every = (*names, *unknown)
        index = {name: k for k, name in enumerate(every)}
        order = torch.tensor([index[name] for name in self.class_names], dtype=torch.int64)
        return replace(self, y=order[self.y], num_classes=len(every), class_names=every)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"shape={self.shape}, num_classes={self.num_classes}, binarize={self.binarize!r})"
        )

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[tuple[Tensor, Tensor | None]]:
        """Yield one epoch of ``(x, y)`` batches.

        Args:
            batch_size: Examples per batch B; the last batch may be smaller unless ``drop_last``.
            shuffle: Visit the examples in a random order (each exactly once per epoch).
            generator: Random source for the order and, under ``"dynamic"``, for the redraw.
            drop_last: Skip a final batch smaller than ``batch_size``.

        Yields:
            ``x`` of shape ``(B, D)`` and ``y`` of shape ``(B,)`` or None. Under the ``"dynamic"``
            protocol each ``x`` is a fresh Bernoulli(intensity) draw in {0, 1}.

        Raises:
            ConfigError: If ``batch_size`` is not a positive integer.
        """
        check_positive_int("batch_size", batch_size)
        n = len(self)
        order = torch.randperm(n, generator=generator) if shuffle else None
        stop = n - n % batch_size if drop_last else n
        for start in range(0, stop, batch_size):
            if order is None:
                xb = self.x[start : start + batch_size]
                yb = None if self.y is None else self.y[start : start + batch_size]
            else:
                index = order[start : start + batch_size]
                xb = self.x[index]
                yb = None if self.y is None else self.y[index]
            if self.binarize == "dynamic":
                xb = torch.bernoulli(xb, generator=generator)
            yield xb, yb

    def fixed_binarized(self, seed: int = 0) -> Tensor:
        """The data as evaluation sees it: one seeded Bernoulli draw of each row of ``x`` under
        the ``"dynamic"`` protocol (:func:`~torchlvm.data.binarize.row_draw`: a row's own, the
        same whatever rows come with it and streamed from a file), ``x`` itself otherwise.

        Args:
            seed: Seed of the single draw; the same seed gives the same tensor.

        Returns:
            ``(N, D)`` tensor with the dtype of ``x``.

        Raises:
            ConfigError: If ``seed`` is not an integer.
        """
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        if self.binarize != "dynamic":
            return self.x
        return row_draw(self.x, seed)
