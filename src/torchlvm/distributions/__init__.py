"""Probability building blocks: likelihood heads and KL divergences.

Everything here returns ``torch.distributions`` objects or works on them; no network code.
"""

from torchlvm.distributions.heads import (
    LIKELIHOODS,
    BernoulliLikelihood,
    GaussianLikelihood,
    make_likelihood,
)
from torchlvm.distributions.kl import KL_METHODS, kl, kl_monte_carlo

__all__ = [
    "KL_METHODS",
    "LIKELIHOODS",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "kl",
    "kl_monte_carlo",
    "make_likelihood",
]
