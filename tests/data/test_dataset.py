"""The Dataset container: batching, the fixed evaluation draw, and its own checks."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, replace

import pytest
import torch

from torchlvm.data import Dataset
from torchlvm.errors import ConfigError, DataError


def make(n: int = 10, binarize: str = "none", labels: bool = True) -> Dataset:
    x = torch.linspace(0, 1, n * 4).reshape(n, 4)
    return Dataset(
        x=x,
        y=torch.arange(n) % 3 if labels else None,
        name="toy",
        split="all",
        shape=(2, 2),
        num_classes=3 if labels else None,
        class_names=None,
        binarize=binarize,
    )


def test_len_dim_repr_and_frozen():
    data = make()
    assert len(data) == 10 and data.dim == 4
    assert repr(data) == (
        "Dataset(name='toy', split='all', n=10, shape=(2, 2), num_classes=3, binarize='none')"
    )
    with pytest.raises(FrozenInstanceError):
        data.name = "other"


@pytest.mark.parametrize("batch_size", [1, 3, 10, 16])
def test_shuffled_batches_visit_every_example_once(batch_size):
    data = replace(make(), y=torch.arange(10), num_classes=10)
    generator = torch.Generator().manual_seed(0)
    epochs = []
    for _ in range(2):
        seen = torch.cat(
            [y for _, y in data.batches(batch_size, shuffle=True, generator=generator)]
        )
        assert sorted(seen.tolist()) == list(range(10))
        epochs.append(seen)
    if batch_size < 10:
        assert not torch.equal(epochs[0], epochs[1])  # a new order each epoch


def test_batches_pair_x_with_its_label():
    data = make()
    for x, y in data.batches(4, shuffle=True, generator=torch.Generator().manual_seed(1)):
        rows = (x[:, 0] * (len(data) * 4 - 1) / 4).round().long()
        assert torch.equal(data.y[rows], y)


def test_unshuffled_batches_keep_order_and_drop_last():
    data = make(labels=False)
    batches = list(data.batches(4))
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    assert all(y is None for _, y in batches)
    assert torch.equal(torch.cat([x for x, _ in batches]), data.x)
    assert [len(x) for x, _ in data.batches(4, drop_last=True)] == [4, 4]


def test_dynamic_batches_are_redrawn_every_pass():
    data = make(n=200, binarize="dynamic")
    generator = torch.Generator().manual_seed(0)
    first = torch.cat([x for x, _ in data.batches(50, generator=generator)])
    second = torch.cat([x for x, _ in data.batches(50, generator=generator)])
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(first, second)


def test_fixed_binarized_is_one_seeded_draw():
    dynamic = make(n=50, binarize="dynamic")
    draw = dynamic.fixed_binarized(seed=3)
    assert set(draw.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(draw, dynamic.fixed_binarized(seed=3))
    assert not torch.equal(draw, dynamic.fixed_binarized(seed=4))
    grey = make()
    assert grey.fixed_binarized() is grey.x


def test_bad_batch_size():
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0"):
        next(make().batches(0))


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"shape": (3,)}, DataError, r"shape \(3,\) does not hold D=4"),
        ({"x": torch.zeros(10, 4, dtype=torch.int64)}, DataError, "floating point"),
        ({"y": torch.arange(10).int()}, DataError, "int64 tensor of shape"),
        ({"y": torch.arange(10)}, DataError, r"labels must lie in 0..2, got 0..9"),
        ({"split": "dev"}, ConfigError, "split must be one of"),
        ({"binarize": "otsu"}, ConfigError, "binarize must be one of"),
        ({"x": torch.full((10, 4), 2.0), "binarize": "dynamic"}, DataError, r"in \[0, 1\]"),
    ],
    ids=["shape", "x-dtype", "y-dtype", "label-range", "split", "protocol", "intensity"],
)
def test_inconsistent_fields_are_refused(change, error, message):
    with pytest.raises(error, match=message):
        replace(make(), **change)
