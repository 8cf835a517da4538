"""The scale of X a deep estimator with a Gaussian p(x | z) is made for, and the warning for data
far from it.

A VAE's network is initialized for inputs of about unit size, its prior is N(0, I), and with
``variance="fixed"`` its p(x | z) has σ = ``scale`` (1 by default) in X's units. scikit-learn's
estimators that need scaled data warn when fitting goes wrong and name the fix
(``MLPRegressor``'s and ``LogisticRegression``'s ``ConvergenceWarning``: "scale the data"); a
VAE's fit goes wrong without a sign of it, so the warning comes from the data, before training:

- a feature of root mean square above :data:`LARGEST` (``load_diabetes(scaled=False)``: 192;
  ``load_wine()``: 810). Measured on the first (20 epochs, the defaults), the fitted model
  reconstructed most features no better than their mean (squared error 0.81-1.34 of each
  feature's variance; 0.33-0.81 on the same data standardized);
- every feature's standard deviation below :data:`SMALLEST` of σ, or of σ's initial value
  (``load_diabetes()``, scaled by scikit-learn to unit norm: 0.048): the model reads X as noise
  around its mean, and its posterior collapses (codes of standard deviation 0.005-0.006, squared
  error 1.0-2.1 of each feature's variance, with σ fixed, or learned as a scalar or per
  feature: 20 epochs do not take it from 1 to X's scale).
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import Tensor

from torchlvm.data.standardize import LARGEST, SMALLEST, off_scale  # (the criteria, one place)

__all__ = ["LARGEST", "SMALLEST", "DataScaleWarning", "warn_scale"]


class DataScaleWarning(UserWarning):
    """X is far from the scale a deep estimator with a Gaussian likelihood is made for (see
    :mod:`torchlvm.estimators.scale`); standardizing it (``StandardScaler``) is the fix."""


def warn_scale(estimator: Any, X: Tensor) -> None:
    """Warn (:class:`DataScaleWarning`) when ``X`` ``(N, D)`` (NaN: missing) is far from the
    scale of ``estimator``'s Gaussian likelihood; nothing for a Bernoulli one."""
    if estimator.likelihood != "gaussian":
        return
    name = type(estimator).__name__
    pipeline = f"standardize X first, e.g. make_pipeline(StandardScaler(), {name}(...))"
    sigma = float(estimator.scale)
    found = off_scale(X, sigma)
    if found is None:
        return
    kind, j, value = found
    if kind == "large":
        message = (
            f"X has features far from unit scale ({_feature(estimator, j)}: root mean square "
            f"{value:.3g}), and {name}'s network and its N(0, I) prior are made for "
            f"features of about unit scale; {pipeline}"
        )
    else:
        message = (
            f"every feature of X varies by less than {SMALLEST:g} of the likelihood's σ = "
            f"{sigma:g} (scale; the largest standard deviation is {value:.3g}), "
            f"so {name} reads X as noise around its mean and learns nothing of it; {pipeline}"
        )
    warnings.warn(
        message,
        DataScaleWarning,
        stacklevel=5,  # warn_scale, _check_fit_data, fit, trains: the caller of fit
    )


def _feature(estimator: Any, j: int) -> str:
    """Feature ``j`` by its column name where fit was given one, else its index."""
    names = getattr(estimator, "feature_names_in_", None)
    return f"feature {names[j]!r}" if names is not None else f"feature {j}"
