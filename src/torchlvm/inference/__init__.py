"""Objectives and estimators that take (model, batch) and return per-example values.

They never call ``backward``, log, or reduce over the batch (STYLE.md habits 3 and 4).
"""

from torchlvm.inference.importance import Estimate, log_marginal_is
from torchlvm.inference.objectives import ELBOTerms, elbo, iwae_bound, log_importance_weights

__all__ = [
    "ELBOTerms",
    "Estimate",
    "elbo",
    "iwae_bound",
    "log_importance_weights",
    "log_marginal_is",
]
