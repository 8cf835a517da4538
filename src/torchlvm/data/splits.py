"""Seeded train/val/test splits, optionally stratified by label.

The split sizes are exact (largest-remainder rounding of ``N * fraction``), a given seed always
gives the same split, and the three parts are disjoint and cover every example. Stratification
orders the examples by class (randomly within a class) and deals the split slots evenly along
that order, so each class gets its share of every split to within one example, and at least
one train example (a class of one or two, whose slots may all be validation and test ones,
takes the last train slot of the largest class).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.errors import ConfigError, DataError

PART_NAMES: tuple[str, ...] = ("train", "val", "test")
_MAX_SEED = 2**32 - 1  # the widest range numpy, scikit-learn and torch all accept


def check_seed(seed: object) -> int:
    """Return ``seed`` if it is an integer in 0..2**32-1.

    Raises:
        ConfigError: Otherwise, naming the value and the allowed range.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= _MAX_SEED:
        raise ConfigError(f"seed must be an integer in 0..{_MAX_SEED}, got {seed!r}")
    return seed


def split_sizes(n: int, fractions: tuple[float, ...]) -> tuple[int, ...]:
    """Exact part sizes summing to ``n``, as close to ``n * fraction`` as integers allow.

    Args:
        n: Number of examples.
        fractions: One non-negative fraction per part, summing to 1.

    Returns:
        One size per part.
    """
    assert all(f >= 0 for f in fractions) and math.isclose(sum(fractions), 1.0)
    raw = [n * f for f in fractions]
    sizes = [math.floor(r + 1e-9) for r in raw]
    by_remainder = sorted(range(len(raw)), key=lambda i: sizes[i] - raw[i])
    for i in by_remainder[: n - sum(sizes)]:
        sizes[i] += 1
    return tuple(sizes)


def fewest_rows(fractions: tuple[float, ...]) -> int:
    """The fewest examples from which on every part of a positive fraction gets one at least
    (7 for 80/10/10: 6 leave the test part empty). From 1 / (smallest fraction) on each such
    part's size, the floor or ceiling of n * fraction, is one or more; below that, largest
    remainders can fill a part at n and leave it empty at n + 1, so the count stops there."""

    def filled(n: int) -> bool:
        sizes = split_sizes(n, fractions)
        return all(s > 0 for s, f in zip(sizes, fractions, strict=True) if f > 0)

    n = math.ceil(1 / min(f for f in fractions if f > 0) - 1e-9)
    while n > 1 and filled(n - 1):
        n -= 1
    return n


def _dealt_parts(n: int, sizes: tuple[int, ...]) -> np.ndarray:
    """Part id per position, each part's slots spread evenly over ``0..n-1``.  Shape ``(n,)``."""
    keys = np.concatenate([(np.arange(s) + 0.5) / s for s in sizes if s > 0])
    parts = np.concatenate([np.full(s, i) for i, s in enumerate(sizes) if s > 0])
    return parts[np.argsort(keys, kind="stable")]


def split_indices(
    n: int,
    fractions: tuple[float, ...],
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, ...]:
    """Partition ``range(n)`` into seeded random parts.

    Args:
        n: Number of examples.
        fractions: One fraction per part, summing to 1, e.g. ``(0.8, 0.1, 0.1)``.
        seed: Non-negative integer; the same seed gives the same parts.
        stratify: ``(n,)`` class labels to balance across parts, or None.

    Returns:
        One sorted int64 index array per part; disjoint, together covering ``range(n)``.
    """
    order = np.random.default_rng(seed).permutation(n)
    parts = _dealt_parts(n, split_sizes(n, fractions))
    if stratify is not None:
        order = order[np.argsort(stratify[order], kind="stable")]
        parts = _trained_each(parts, stratify[order])
    return tuple(np.sort(order[parts == i]).astype(np.int64) for i in range(len(fractions)))


def _trained_each(parts: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``parts`` (part id per position, ``(n,)``) with a first-part (train) slot for each class
    of ``labels`` (each position's class, in dealt order) that has none: a class of one or two
    rows can sit on the validation and test slots, and a CVAE then learns nothing of it (userU
    #9). Its first row takes the last train slot of the class with the most rows, which takes
    its part; a split where every class has a train row (any class of 3 rows or more) is
    unchanged."""
    classes, counts = np.unique(labels, return_counts=True)
    largest = classes[np.argmax(counts)]
    parts = parts.copy()
    for c in classes:
        mine = np.flatnonzero(labels == c)
        given = np.flatnonzero((labels == largest) & (parts == 0))
        if (parts[mine] == 0).any() or len(given) < 2:
            continue
        i, j = mine[0], given[-1]
        parts[i], parts[j] = parts[j], parts[i]
    return parts


def split_parts(
    data: Dataset, *, fractions: tuple[float, ...], seed: int, stratify: bool = False
) -> tuple[np.ndarray, ...]:
    """The rows of each part of ``data`` (:func:`split_indices`; by class, ``data.y``, where
    ``stratify`` and it has labels): the one computation of a dataset's split, which
    :func:`select_split` takes a part of and a table's standardization is fitted on."""
    labels = data.y.numpy() if stratify and data.y is not None else None
    return split_indices(len(data), fractions, seed, labels)


def select_split(
    data: Dataset,
    split: str,
    *,
    fractions: tuple[float, float, float],
    seed: int,
    stratify: bool = False,
) -> Dataset:
    """The ``split`` part of a dataset that holds everything.

    Args:
        data: The whole dataset (its ``split`` is ignored).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"`` (returns every example).
        fractions: Train, val and test fractions, summing to 1.
        seed: Seed of the split.
        stratify: Balance classes across the parts using ``data.y``.

    Returns:
        A dataset with the selected rows and ``split`` set.

    Raises:
        DataError: If the selected part is empty.
    """
    if split == "all":
        part = data
    else:
        index = split_parts(data, fractions=fractions, seed=seed, stratify=stratify)
        rows = torch.from_numpy(index[PART_NAMES.index(split)])
        y = None if data.y is None else data.y[rows]
        part = replace(data, x=data.x[rows], y=y, split=split)
    if len(part) == 0:
        raise empty_split(data.name, split, len(data), fractions)
    return part


def empty_split(name: str, split: str, rows: int, fractions: tuple[float, ...]) -> DataError:
    """The refusal of ``split`` of data ``name``, empty: its ``rows`` split by ``fractions``
    leave it none; the fix names the fewest rows that give every part one."""
    percent = "/".join(f"{round(100 * f)}" for f in fractions)
    return DataError(
        f"{name}: split {split!r} is empty ({rows} example{'' if rows == 1 else 's'} split "
        f"{percent} train/val/test); add rows, to {fewest_rows(fractions)} at least (or, "
        "from Python, load it with split='all')"
    )
