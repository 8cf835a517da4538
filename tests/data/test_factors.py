"""The ``shapes`` factors dataset: each image is exactly the square its factors describe, the
factors are independent draws covering their ranges, and splits keep factors with their rows."""

import numpy as np
import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.data.factors import FACTOR_NAMES, factors_of, make_shapes
from torchlvm.errors import ConfigError


def test_each_image_is_the_square_its_factors_describe():
    data = make_shapes(n=200, canvas=12, min_size=2, max_size=4, seed=1)
    images = data.x.reshape(-1, 12, 12)
    f = data.truth
    for i in range(0, 200, 37):  # a few spot checks against an independent construction
        expected = torch.zeros(12, 12)
        top, left, size = int(f["y_position"][i]), int(f["x_position"][i]), int(f["size"][i])
        expected[top : top + size, left : left + size] = 1
        assert torch.equal(images[i], expected)
    assert torch.equal(data.x.sum(1), (f["size"] ** 2).float())  # every square fully inside
    assert torch.equal(data.y, f["size"] - 2)


def test_factors_cover_their_ranges_and_are_independent():
    data = make_shapes(n=6000, canvas=16, seed=0)
    f = {name: data.truth[name].numpy() for name in FACTOR_NAMES}
    assert sorted(np.unique(f["x_position"])) == list(range(12))
    assert sorted(np.unique(f["size"])) == [2, 3, 4, 5]
    from sklearn.metrics import mutual_info_score

    for a, b in [("x_position", "y_position"), ("x_position", "size"), ("y_position", "size")]:
        assert mutual_info_score(f[a], f[b]) < 0.02  # plug-in MI of independent draws ≈ 0


def test_registered_loader_splits_factors_with_rows():
    import torchlvm.data.factors  # noqa: F401  (registers "shapes")

    parts = {s: load_dataset("shapes", s, seed=3, n=500) for s in ("train", "val", "test")}
    assert [len(p) for p in parts.values()] == [400, 50, 50]
    whole = load_dataset("shapes", "all", seed=3, n=500)
    rows = {tuple(r.tolist()) for r in whole.x}
    for part in parts.values():
        factors = factors_of(part)
        assert set(factors) == set(FACTOR_NAMES)
        assert all(tuple(r.tolist()) in rows for r in part.x[:10])
        assert torch.equal(part.x.sum(1), (factors["size"] ** 2).float())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_size": 16}, "max_size must be smaller than canvas"),
        ({"min_size": 6, "max_size": 5}, "min_size must be <= max_size"),
        ({"n": 0}, "n must be a positive integer"),
    ],
    ids=["too-big", "sizes-reversed", "no-examples"],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_shapes(**kwargs)


def test_data_without_factors_is_refused():
    with pytest.raises(ConfigError, match="no known factors"):
        factors_of(load_dataset("digits", "test"))
