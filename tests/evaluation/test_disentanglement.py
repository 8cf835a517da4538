"""The mutual information gap against constructed representations: one latent per factor scores
near 1, latents unrelated to the factors near 0, a rotation that mixes factors in between."""

import numpy as np
import pytest

from torchlvm.errors import DataError
from torchlvm.evaluation.disentanglement import mutual_information_gap


@pytest.fixture(scope="module")
def factors():
    rng = np.random.default_rng(0)
    return {"a": rng.integers(0, 10, 4000), "b": rng.integers(0, 10, 4000)}


def test_one_latent_per_factor_scores_near_one(factors):
    noise = np.random.default_rng(1).normal(size=(4000, 2))
    z = np.column_stack([factors["a"], factors["b"], noise])
    out = mutual_information_gap(z, factors, bins=10)
    assert out["mig"]["value"] > 0.9
    assert set(out["per_factor"]) == {"a", "b"}


def test_latents_unrelated_to_the_factors_score_near_zero(factors):
    z = np.random.default_rng(2).normal(size=(4000, 4))
    assert mutual_information_gap(z, factors)["mig"]["value"] < 0.05


def test_mixing_the_factors_lowers_the_score(factors):
    a, b = factors["a"].astype(float), factors["b"].astype(float)
    clean = mutual_information_gap(np.column_stack([a, b]), factors, bins=10)["mig"]["value"]
    mixed = np.column_stack([a + b, a - b])  # a 45° rotation: each latent carries both factors
    rotated = mutual_information_gap(mixed, factors, bins=10)["mig"]["value"]
    assert rotated < clean - 0.3


@pytest.mark.parametrize(
    "z, f, message",
    [
        (np.zeros((10, 1)), {"a": np.arange(10)}, "J >= 2"),
        (np.zeros((10, 2)), {"a": np.zeros(10)}, "constant"),
        (np.zeros((10, 2)), {"a": np.arange(9)}, "rows"),
    ],
    ids=["one-latent", "constant-factor", "length-mismatch"],
)
def test_bad_input_is_refused(z, f, message):
    with pytest.raises(DataError, match=message):
        mutual_information_gap(z, f)


def test_the_mig_carries_a_bootstrap_standard_error_that_shrinks_with_more_rows():
    rng = np.random.default_rng(3)

    def mig(n):
        factors = {"a": rng.integers(0, 4, n), "b": rng.integers(0, 4, n)}
        z = np.column_stack([factors["a"] + rng.normal(0, 1.5, n), rng.normal(size=n)])
        return mutual_information_gap(z, factors, bins=10)["mig"]

    small, large = mig(200), mig(3200)
    assert 0 < large["stderr"] < small["stderr"] / 2  # about 1/√16 of it
    assert "standard error from 50 bootstrap resamples of the rows" in large["note"]
