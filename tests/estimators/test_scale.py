"""X far from the unit scale a Gaussian VAE is made for (scikit-learn's own tables as loaded:
``load_diabetes(scaled=False)``, ``load_wine()`` and ``load_diabetes()``, scaled to unit norm)
trained without a word into a model that reconstructed no feature better than its mean: ``fit``
warns, naming StandardScaler; standardized X, 0/1 X under a Bernoulli, and X near unit scale do
not warn."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_wine
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from torchlvm.estimators import CVAEEstimator, DataScaleWarning, VAEEstimator

FAST = {"epochs": 1, "hidden": (4,), "batch_size": 64, "k": 4, "random_state": 0}


@pytest.mark.parametrize(
    ("X", "says"),
    [
        (load_diabetes(scaled=False).data, r"feature 4: root mean square 192\)"),
        (load_wine().data, r"feature 12: root mean square 810\)"),
        (load_diabetes().data, r"less than 0\.1 of the likelihood's σ = 1 \(scale; the larg"),
    ],
    ids=["diabetes-raw", "wine", "diabetes-unit-norm"],
)
def test_x_far_from_unit_scale_warns_naming_standard_scaler(X, says):
    with pytest.warns(DataScaleWarning, match=says) as caught:
        VAEEstimator(**FAST).fit(X)
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
