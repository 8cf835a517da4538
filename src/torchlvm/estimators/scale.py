"""The scale of X a deep estimator with a Gaussian p(x | z) is made for, and the warning for data
far from it.

A VAE's network is initialized for inputs of about unit size, its prior is N(0, I), and its
p(x | z) has σ = ``scale`` in X's units (fixed, or learned from there). By default
(``scale="auto"``) σ starts at X's own scale (:func:`data_scale`): a σ of 1 on digits / 16, whose
pixels vary by 0.38 at most, read X as noise around its mean in 5 epochs (no active unit), where
σ from X learned 8 of 8 (userE). scikit-learn's
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

import numpy as np
from torch import Tensor

from torchlvm._callers import callers_level
from torchlvm.data.standardize import (  # (the criteria and X's scale, one place)
    LARGEST,
    SMALLEST,
    data_scale,
    off_scale,
)
from torchlvm.errors import ConfigError

__all__ = [
    "LARGEST",
    "SMALLEST",
    "DataScaleWarning",
    "InactiveLatentWarning",
    "data_scale",
    "sigma_for",
    "warn_inactive",
    "warn_scale",
]


class DataScaleWarning(UserWarning):
    """X is far from the scale a deep estimator with a Gaussian likelihood is made for (see
    :mod:`torchlvm.estimators.scale`); standardizing it (``StandardScaler``) is the fix."""


class InactiveLatentWarning(UserWarning):
    """No latent dimension of a fitted deep estimator is active on its training rows: its
    posterior collapsed to the prior, and it models X without z (:func:`warn_inactive`)."""


def sigma_for(scale: Any, X: Tensor, likelihood: str = "gaussian") -> float:
    """The σ (fixed, or the start of a learned one) of ``scale``, ``"auto"`` or a number, on X;
    ``"auto"`` beside a Bernoulli ``likelihood``, which has no σ, is the config's neutral 1.

    Raises:
        ConfigError: for a string other than ``"auto"``. (A number is checked by the model's
            config, as every other of its fields.)
    """
    if isinstance(scale, str):
        if scale != "auto":
            raise ConfigError(f"scale must be 'auto' or a positive number, got {scale!r}")
        return data_scale(X) if likelihood == "gaussian" else 1.0
    return scale.item() if isinstance(scale, np.generic) else scale


def warn_inactive(estimator: Any, X: Tensor, c: Tensor | None = None) -> None:
    """Warn (:class:`InactiveLatentWarning`) when no latent dimension of the fitted ``estimator``
    is active on its training rows ``X`` (with conditions ``c``;
    :func:`~torchlvm.training.collapse.inactive_activity`, the one check, ``torchlvm train``'s
    too): the posterior collapsed to the prior and the model is a Gaussian (or Bernoulli) around
    X's mean, which ``transform`` and ``sample`` then show without a sign (userE: σ = 1 on
    digits / 16, whose pixels vary by 0.38 at most, gave 0 active units and samples 64 %
    outside [0, 1]). Where X is far from the network's scale the fix is to standardize it, and
    only that: ``load_diabetes()``, scaled to unit norm, collapsed with σ from X, a smaller σ,
    60 epochs or β = 0.1 alike, and learned 2 of 2 units standardized (review11)."""
    from torchlvm.errors import in_python
    from torchlvm.evaluation.latent import ACTIVE_THRESHOLD
    from torchlvm.training.collapse import ROWS, collapse_fixes, inactive_activity

    rows = X[:ROWS].double()  # (the rows the check reads: X whole is not copied)
    activity = inactive_activity(estimator.model_, rows, c)
    if activity is None:
        return
    name = type(estimator).__name__
    gaussian = estimator.likelihood == "gaussian"
    sigma = float(estimator.model_.likelihood.scale().max()) if gaussian else None
    fixes = collapse_fixes(in_python, likelihood=estimator.likelihood, sigma=sigma)
    spread = data_scale(rows)
    if gaussian and not SMALLEST <= spread <= LARGEST:
        fixes = (
            f"standardizing X first, e.g. make_pipeline(StandardScaler(), {name}(...)): its "
            f"features vary by {spread:.3g}, and the network is made for about 1"
        )
    warnings.warn(
        f"no latent dimension of this {name} is active on the training data (the variance of "
        f"every posterior mean is at most {float(activity.max()):.2g}, below "
        f"{ACTIVE_THRESHOLD}): its posterior collapsed to the prior, so transform reads "
        f"nothing of X and sample draws noise around X's mean; try {fixes}",
        InactiveLatentWarning,
        stacklevel=callers_level(),  # the caller of fit
    )


def warn_scale(estimator: Any, X: Tensor, sigma: float) -> None:
    """Warn (:class:`DataScaleWarning`) when ``X`` ``(N, D)`` (NaN: missing) is far from the
    scale of ``estimator``'s Gaussian likelihood, of σ ``sigma`` (or starting there); nothing for
    a Bernoulli one."""
    if estimator.likelihood != "gaussian":
        return
    name = type(estimator).__name__
    pipeline = f"standardize X first, e.g. make_pipeline(StandardScaler(), {name}(...))"
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
        stacklevel=callers_level(),  # the caller of fit
    )


def _feature(estimator: Any, j: int) -> str:
    """Feature ``j`` by its column name where fit was given one, else its index."""
    names = getattr(estimator, "feature_names_in_", None)
    return f"feature {names[j]!r}" if names is not None else f"feature {j}"
