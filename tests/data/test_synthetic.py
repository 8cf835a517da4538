"""Synthetic data: truth shapes, the linear-Gaussian covariance, toy 2-D sets, splits."""

from __future__ import annotations

import pytest
import torch

from torchlvm.data import load_dataset, make_gaussian_mixture, make_linear_gaussian, make_two_moons
from torchlvm.errors import ConfigError


def test_linear_gaussian_truth_shapes_and_dtypes():
    data = make_linear_gaussian(n=50, dim=7, latent_dim=2, noise_variance=0.3, seed=1)
    assert data.x.shape == (50, 7) and data.x.dtype == torch.float32
    assert data.shape == (7,) and data.y is None and data.split == "all"
    assert data.truth["W"].shape == (7, 2)
    assert data.truth["mu"].shape == (7,)
    assert data.truth["noise_variance"].shape == () and float(data.truth["noise_variance"]) == 0.3


def test_linear_gaussian_sample_covariance_approaches_model_covariance():
    data = make_linear_gaussian(n=40000, dim=10, latent_dim=3, noise_variance=0.5, seed=0)
    w, mu, s2 = data.truth["W"], data.truth["mu"], data.truth["noise_variance"]
    expected = w @ w.T + s2 * torch.eye(10, dtype=torch.float64)
    x = data.x.double()
    sample = torch.cov(x.T)
    assert torch.linalg.norm(sample - expected) / torch.linalg.norm(expected) < 0.03
    torch.testing.assert_close(x.mean(0), mu, atol=0.06, rtol=0)


def test_linear_gaussian_is_seeded():
    first = make_linear_gaussian(n=20, seed=4)
    assert torch.equal(first.x, make_linear_gaussian(n=20, seed=4).x)
    assert not torch.equal(first.x, make_linear_gaussian(n=20, seed=5).x)


def test_noise_free_data_lies_in_the_column_space_of_w():
    data = make_linear_gaussian(n=30, dim=6, latent_dim=2, noise_variance=0.0, seed=0)
    centred = data.x.double() - data.truth["mu"]
    assert torch.linalg.matrix_rank(centred, atol=1e-4) == 2


def test_two_moons():
    data = make_two_moons(n=200, noise=0.05, seed=0)
    assert data.x.shape == (200, 2) and data.shape == (2,)
    assert data.num_classes == 2 and torch.bincount(data.y).tolist() == [100, 100]


def test_gaussian_mixture_labels_are_the_nearest_mean():
    data = make_gaussian_mixture(n=500, k=6, radius=3.0, std=0.1, seed=0)
    means = data.truth["means"]
    assert means.shape == (6, 2) and data.num_classes == 6
    torch.testing.assert_close(means.norm(dim=1), torch.full((6,), 3.0, dtype=torch.float64))
    nearest = torch.cdist(data.x.double(), means).argmin(dim=1)
    assert torch.equal(nearest, data.y)


@pytest.mark.parametrize("name", ["linear-gaussian", "two-moons", "gaussian-mixture"])
def test_registered_splits_are_80_10_10_and_disjoint(name):
    parts = {s: load_dataset(name, s, n=100, seed=2) for s in ("train", "val", "test", "all")}
    assert [len(parts[s]) for s in ("train", "val", "test", "all")] == [80, 10, 10, 100]
    rows = {tuple(r) for s in ("train", "val", "test") for r in parts[s].x.tolist()}
    assert rows == {tuple(r) for r in parts["all"].x.tolist()}


def test_truth_travels_with_every_split():
    val = load_dataset("linear-gaussian", "val", n=100, dim=5, latent_dim=2)
    assert val.truth["W"].shape == (5, 2) and val.split == "val"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be a positive integer"),
        ({"latent_dim": 1.5}, "latent_dim must be a positive integer"),
        ({"noise_variance": -1.0}, "noise_variance must be a non-negative number"),
        ({"seed": -1}, "seed must be an integer"),
    ],
    ids=["n", "latent_dim", "noise_variance", "seed"],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_linear_gaussian(**kwargs)
