"""Objectives and estimators that take (model, batch) and return per-example values.

They never call ``backward``, log, or reduce over the batch (STYLE.md habits 3 and 4).
"""

from torchlvm.inference.ais import log_marginal_ais
from torchlvm.inference.gaps import (
    GapReport,
    IdentityTrace,
    identity_trace,
    inference_gaps,
    ppca_mean_field_gap,
)
from torchlvm.inference.importance import Estimate, log_marginal_is
from torchlvm.inference.local import LocalGaussian, fit_local_posterior
from torchlvm.inference.objectives import ELBOTerms, elbo, iwae_bound, log_importance_weights
from torchlvm.inference.refine import refine

__all__ = [
    "ELBOTerms",
    "Estimate",
    "GapReport",
    "IdentityTrace",
    "LocalGaussian",
    "fit_local_posterior",
    "identity_trace",
    "inference_gaps",
    "ppca_mean_field_gap",
    "refine",
    "elbo",
    "iwae_bound",
    "log_importance_weights",
    "log_marginal_ais",
    "log_marginal_is",
]
