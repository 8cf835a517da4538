"""Probability building blocks: likelihood heads and KL divergences.

Everything here returns ``torch.distributions`` objects or works on them; no network code.
"""

from torchlvm.distributions.fitting import FitResult, bimodal_target, fit_gaussian
from torchlvm.distributions.heads import (
    LIKELIHOODS,
    BernoulliLikelihood,
    GaussianLikelihood,
    make_likelihood,
)
from torchlvm.distributions.kl import KL_METHODS, kl, kl_monte_carlo
from torchlvm.distributions.point_mass import PointMass, UndefinedDensityError
from torchlvm.distributions.standard_normal import StandardNormal

__all__ = [
    "KL_METHODS",
    "FitResult",
    "PointMass",
    "StandardNormal",
    "UndefinedDensityError",
    "bimodal_target",
    "fit_gaussian",
    "LIKELIHOODS",
    "BernoulliLikelihood",
    "GaussianLikelihood",
    "kl",
    "kl_monte_carlo",
    "make_likelihood",
]
