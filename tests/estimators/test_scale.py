"""X far from the unit scale a Gaussian VAE is made for (scikit-learn's own tables as loaded:
``load_diabetes(scaled=False)``, ``load_wine()`` and ``load_diabetes()``, scaled to unit norm)
trained without a word into a model that reconstructed no feature better than its mean: ``fit``
warns, naming StandardScaler; standardized X, 0/1 X under a Bernoulli, and X near unit scale do
not warn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from torchlvm.estimators import (
    CVAEEstimator,
    DataScaleWarning,
    InactiveLatentWarning,
    VAEEstimator,
)

FAST = {"epochs": 1, "hidden": (4,), "batch_size": 64, "k": 4, "random_state": 0}


@pytest.mark.parametrize(
    ("X", "says", "scale"),
    [
        (load_diabetes(scaled=False).data, r"feature 4: root mean square 192\)", "auto"),
        (load_wine().data, r"feature 12: root mean square 810\)", "auto"),
        (load_diabetes().data, r"less than 0\.1 of the likelihood's σ = 1 \(scale; the lar", 1.0),
    ],
    ids=["diabetes-raw", "wine", "diabetes-unit-norm-at-sigma-1"],
)
def test_x_far_from_unit_scale_warns_naming_standard_scaler(X, says, scale):
    with pytest.warns(DataScaleWarning, match=says) as caught:
        VAEEstimator(**FAST, scale=scale).fit(X)
    message = str(caught[0].message)
    assert "make_pipeline(StandardScaler(), VAEEstimator(...))" in message
    assert caught[0].filename == __file__  # the warning points at the user's fit


def test_a_dataframe_column_is_named_and_the_cvae_warns_too():
    X = load_wine(as_frame=True).data
    with pytest.warns(DataScaleWarning, match=r"feature 'proline': root mean square 810"):
        CVAEEstimator(**FAST).fit(X, load_wine().target)


@pytest.mark.parametrize(
    "fit",
    [
        lambda: make_pipeline(StandardScaler(), VAEEstimator(**FAST)).fit(load_wine().data),
        lambda: VAEEstimator(**FAST, likelihood="bernoulli").fit(load_wine().data > 100),
        lambda: VAEEstimator(**FAST).fit(np.random.default_rng(0).normal(0, 3, (80, 5))),
        lambda: VAEEstimator(**FAST, scale=0.01).fit(load_diabetes().data),  # σ at X's scale
    ],
    ids=["standardized", "bernoulli", "std-3", "scale-matched"],
)
def test_x_near_the_models_scale_does_not_warn(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataScaleWarning)
        fit()


def test_missing_cells_do_not_hide_the_scale():
    X = np.array(load_diabetes(scaled=False).data)
    X[::3, 4] = np.nan
    with pytest.warns(DataScaleWarning, match=r"feature 4: root mean square 19"):
        VAEEstimator(**FAST, objective="miwae").fit(X)


DIGITS = load_digits().data / 16  # the README's example: pixels vary by 0.38 at most


def _active(estimator, X) -> int:
    return int((estimator.transform(X).var(0) > 0.01).sum())


@pytest.mark.parametrize("times", [1, 100])
def test_the_default_sigma_is_xs_own_and_the_readme_vae_learns(times):
    """VAEEstimator(latent_dim=8, epochs=5) on digits / 16 learned nothing at σ = 1 (0 active
    units, samples 64 % outside [0, 1], userE): σ now starts at X's scale, in any units."""
    from torchlvm.estimators.scale import data_scale

    X = DIGITS * times
    with warnings.catch_warnings():
        warnings.simplefilter("error", InactiveLatentWarning)
        warnings.simplefilter("ignore", DataScaleWarning)  # (×100: far from the network's 1)
        vae = VAEEstimator(latent_dim=8, epochs=5, random_state=0).fit(X)
    assert _active(vae, X) >= 4  # (8 of 8 measured at both scales)
    start = data_scale(torch.as_tensor(X))
    assert start == pytest.approx(float(np.sqrt(X.var(0).mean())))
    assert vae.get_params()["scale"] == "auto"  # (the parameter is left as given)


def test_a_collapsed_fit_warns_naming_the_fix_that_applies():
    with pytest.warns(InactiveLatentWarning, match=r"a smaller scale \(σ of p\(x \| z\) is 1 here"):
        VAEEstimator(latent_dim=8, epochs=5, random_state=0, variance="fixed", scale=1.0).fit(
            DIGITS
        )
    with pytest.warns(InactiveLatentWarning, match="try standardizing X first") as caught:
        VAEEstimator(latent_dim=2, epochs=5, random_state=0).fit(load_diabetes().data)
    assert caught[0].filename == __file__  # the warning points at the user's fit


def test_a_scale_that_is_neither_auto_nor_a_number_is_refused():
    from torchlvm.errors import ConfigError

    with pytest.raises(ConfigError, match="scale must be 'auto' or a positive number, got 'x'"):
        VAEEstimator(**FAST, scale="x").fit(DIGITS)


def test_a_cvae_that_collapsed_warns_too():
    X, y = load_diabetes(return_X_y=True)
    with pytest.warns(InactiveLatentWarning, match="CVAEEstimator is active"):
        CVAEEstimator(latent_dim=2, epochs=2, random_state=0).fit(X, y > np.median(y))


def test_auto_scale_beside_a_bernoulli_records_the_neutral_sigma():
    """scale='auto' has no σ to set beside a Bernoulli p(x | z): the exported config read 0.497,
    X's spread (7e1e321; review11)."""
    vae = VAEEstimator(**FAST, likelihood="bernoulli").fit((DIGITS > 0.5).astype(float))
    assert vae.model_.config.scale == 1.0
