"""Seeded splits: exact sizes, disjoint parts covering everything, stratification."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.data.splits import check_seed, split_indices, split_sizes
from torchlvm.errors import ConfigError


@pytest.mark.parametrize(
    ("n", "fractions", "sizes"),
    [
        (1797, (0.7, 0.1, 0.2), (1258, 180, 359)),
        (60000, (0.9, 0.1), (54000, 6000)),
        (10, (0.8, 0.1, 0.1), (8, 1, 1)),
        (3, (0.8, 0.1, 0.1), (3, 0, 0)),
        (0, (0.8, 0.1, 0.1), (0, 0, 0)),
    ],
)
def test_sizes_are_exact(n, fractions, sizes):
    assert split_sizes(n, fractions) == sizes


@pytest.mark.parametrize("stratified", [False, True], ids=["plain", "stratified"])
def test_parts_are_disjoint_cover_everything_and_are_seeded(stratified):
    labels = np.random.default_rng(0).integers(0, 4, 101) if stratified else None
    parts = split_indices(101, (0.8, 0.1, 0.1), seed=7, stratify=labels)
    assert sorted(np.concatenate(parts).tolist()) == list(range(101))
    assert [len(p) for p in parts] == [81, 10, 10]
    again = split_indices(101, (0.8, 0.1, 0.1), seed=7, stratify=labels)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))
    other = split_indices(101, (0.8, 0.1, 0.1), seed=8, stratify=labels)
    assert not np.array_equal(parts[1], other[1])


def test_stratified_parts_keep_class_proportions():
    labels = np.repeat(np.arange(5), [100, 300, 50, 250, 300])
    np.random.default_rng(0).shuffle(labels)
    val = split_indices(len(labels), (0.9, 0.1), seed=0, stratify=labels)[1]
    assert np.bincount(labels[val], minlength=5).tolist() == [10, 30, 5, 25, 30]


@pytest.mark.parametrize("seed", [-1, 2**32, 1.0, True, "0"])
def test_bad_seed(seed):
    with pytest.raises(ConfigError, match="seed must be an integer in 0..4294967295"):
        check_seed(seed)
