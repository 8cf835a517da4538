"""The Fréchet distance against closed forms: Gaussians with commuting (diagonal) covariances,
invariance to a shared rotation, zero for identical statistics, and refusal of bad input."""

import numpy as np
import pytest

from torchlvm.errors import DataError
from torchlvm.evaluation.frechet import frechet_distance, gaussian_frechet


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    s1, s2 = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(s1) - np.sqrt(s2)) ** 2)
    assert gaussian_frechet(mu1, np.diag(s1), mu2, np.diag(s2)) == pytest.approx(expected)


def test_a_shared_rotation_does_not_change_the_distance():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    s1, s2 = a @ a.T + np.eye(6), np.diag(rng.uniform(0.5, 3, 6))
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    plain = gaussian_frechet(mu1, s1, mu2, s2)
    rotated = gaussian_frechet(
        rotation @ mu1, rotation @ s1 @ rotation.T, rotation @ mu2, rotation @ s2 @ rotation.T
    )
    assert rotated == pytest.approx(plain, rel=1e-9)


def test_identical_sets_are_at_distance_zero():
    x = np.random.default_rng(2).normal(size=(300, 8))
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize(
    "a, b, message",
    [
        (np.zeros((10, 3)), np.zeros((10, 4)), "same F"),
        (np.zeros((1, 3)), np.zeros((10, 3)), "at least 2"),
        (np.full((10, 3), np.nan), np.zeros((10, 3)), "NaN or inf"),
    ],
    ids=["widths-differ", "one-row", "nan"],
)
def test_bad_feature_sets_are_refused(a, b, message):
    with pytest.raises(DataError, match=message):
        frechet_distance(a, b)
