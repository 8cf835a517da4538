"""The built-in digits: shapes, range, a disjoint stratified split fixed by the seed."""

from __future__ import annotations

import torch

from torchlvm.data import load_dataset

SPLITS = ("train", "val", "test")


def _rows(data):
    return [tuple(r) for r in data.x.tolist()]


def test_shapes_and_range():
    data = load_dataset("digits", "all")
    assert data.x.shape == (1797, 64) and data.x.dtype == torch.float32
    assert data.y.shape == (1797,) and data.y.dtype == torch.int64
    assert data.shape == (1, 8, 8) and data.num_classes == 10 and data.dim == 64
    assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0
    assert data.class_names == tuple("0123456789")


def test_split_sizes_are_70_10_20_and_stratified():
    parts = {s: load_dataset("digits", s) for s in SPLITS}
    assert {s: len(d) for s, d in parts.items()} == {"train": 1258, "val": 180, "test": 359}
    everything = torch.bincount(load_dataset("digits", "all").y).double()
    for split, fraction in zip(SPLITS, (0.7, 0.1, 0.2), strict=True):
        counts = torch.bincount(parts[split].y, minlength=10).double()
        assert (counts - fraction * everything).abs().max() <= 1.5


def test_splits_are_disjoint_and_cover_everything():
    parts = {s: load_dataset("digits", s, seed=5) for s in SPLITS}
    # Row content + label identifies an example (digits has a few duplicate images).
    keyed = [(r, int(y)) for s in SPLITS for r, y in zip(_rows(parts[s]), parts[s].y, strict=True)]
    everything = load_dataset("digits", "all")
    assert sorted(keyed) == sorted(zip(_rows(everything), everything.y.tolist(), strict=True))


def test_split_is_fixed_by_the_seed():
    first = load_dataset("digits", "test", seed=1)
    assert torch.equal(first.x, load_dataset("digits", "test", seed=1).x)
    assert not torch.equal(first.x, load_dataset("digits", "test", seed=2).x)
