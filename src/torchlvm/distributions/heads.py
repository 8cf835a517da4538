"""Likelihood heads: turn a decoder's raw output into p(x | z) as a distribution.

A head is a small ``nn.Module``; its ``forward(params)`` takes the decoder output of shape
``(..., D)`` and returns a distribution with batch shape ``(...)`` and event shape ``(D,)``.
Heads with learned variance own their parameters, so they train with the decoder.

- ``bernoulli``: x ∈ {0, 1}^D, the decoder output is the logits (numerically stable).
- ``gaussian``: x ∈ R^D, the decoder output is the mean; the variance is ``fixed`` (a constant),
  ``scalar`` (one learned value shared by all dimensions) or ``diagonal`` (one learned value per
  dimension).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal
from torch.distributions.utils import broadcast_all

from torchlvm._checks import check_choice, check_positive_int
from torchlvm.errors import ConfigError

GaussianVariance = Literal["fixed", "scalar", "diagonal"]

LIKELIHOODS: dict[str, Callable[..., nn.Module]] = {}


def register_likelihood(name: str) -> Callable[[type], type]:
    """Class decorator: make a head constructible by name through :func:`make_likelihood`."""

    def add(cls: type) -> type:
        LIKELIHOODS[name] = cls
        return cls

    return add


class IndependentBernoulli(Independent):
    """``Independent(Bernoulli(logits=logits), 1)`` whose ``log_prob`` sums the per-dimension
    terms before negating them rather than after: the same numbers bit for bit (negation is
    exact) with one pass over the ``(..., D)`` terms fewer forward and backward — 3% of a
    training step of the reference VAE at batch 1024 on a CPU. The terms are torch's own
    (``Bernoulli.log_prob``: ``binary_cross_entropy_with_logits``)."""

    base_dist: Bernoulli

    def log_prob(self, value: Tensor) -> Tensor:
        """log p(value), shape ``batch_shape``."""
        base = self.base_dist
        if base._validate_args:
            base._validate_sample(value)
        # the value in the logits' dtype: BCE-with-logits computes in its target's (a float64
        # model would score float32 data in float32); no kernel when they agree
        logits, value = base.logits, value.to(base.logits.dtype)
        if value.shape != logits.shape:  # broadcast_all's Python only where there is work
            logits, value = broadcast_all(logits, value)
        terms = F.binary_cross_entropy_with_logits(logits, value, reduction="none")  # (..., D)
        return -terms.sum(-1)


def independent_bernoulli(logits: Tensor) -> IndependentBernoulli:
    """``IndependentBernoulli(Bernoulli(logits=logits, validate_args=False), 1)`` for logits
    ``(..., D)``: the same objects, attribute for attribute, built without ``broadcast_all`` (one
    tensor: nothing to broadcast) and ``Independent``'s shape arithmetic, ~5 µs of Python less
    per training step on a CPU. A 0-dim ``logits`` goes through torch's constructors (and fails
    there: an event of D values needs a last dimension)."""
    shape = logits.shape
    if not shape:
        return IndependentBernoulli(Bernoulli(logits=logits, validate_args=False), 1)
    base = Bernoulli.__new__(Bernoulli)
    base.logits = base._param = logits
    Distribution.__init__(base, shape, validate_args=False)
    d = IndependentBernoulli.__new__(IndependentBernoulli)
    d.base_dist, d.reinterpreted_batch_ndims = base, 1
    Distribution.__init__(d, shape[:-1], shape[-1:])
    return d


@register_likelihood("bernoulli")
class BernoulliLikelihood(nn.Module):
    """p(x | z) = ∏_d Bernoulli(x_d; sigmoid(logits_d)).

    Args:
        dim: D, the size of x (kept for symmetry with the Gaussian head; unused).
    """

    discrete = True

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)

    def forward(self, logits: Tensor) -> Distribution:
        """Args: logits ``(..., D)``. Returns: distribution with event shape ``(D,)``."""
        return independent_bernoulli(logits)

    def mean(self, logits: Tensor) -> Tensor:
        """E[x | z] = sigmoid(logits), shape ``(..., D)``."""
        return torch.sigmoid(logits)


@register_likelihood("gaussian")
class GaussianLikelihood(nn.Module):
    """p(x | z) = N(x; loc, diag(σ²)) with a fixed, scalar-learned or per-dimension-learned σ.

    Args:
        dim: D, the size of x.
        variance: ``"fixed"``, ``"scalar"`` or ``"diagonal"``.
        scale: σ for ``"fixed"``; the initial σ for the learned options.
        min_scale: lower bound on a learned σ, which keeps the likelihood finite when the
            decoder fits a dimension exactly (a learned σ → 0 makes log p(x | z) → ∞).

    Raises:
        ConfigError: for a non-positive ``scale`` or an unknown ``variance``.
    """

    discrete = False

    def __init__(
        self,
        dim: int,
        variance: GaussianVariance = "fixed",
        scale: float = 1.0,
        min_scale: float = 1e-3,
    ) -> None:
        super().__init__()
        self.dim = check_positive_int("dim", dim)
        self.variance = check_choice("variance", variance, ("fixed", "scalar", "diagonal"))
        if not scale > 0 or not math.isfinite(scale):
            raise ConfigError(f"scale must be a positive finite number, got {scale!r}")
        self.min_scale = float(min_scale)
        shape = {"fixed": (1,), "scalar": (1,), "diagonal": (dim,)}[variance]
        init = torch.full(shape, math.log(scale))
        if variance == "fixed":
            self.register_buffer("log_scale", init)
        else:
            self.log_scale = nn.Parameter(init)

    def scale(self) -> Tensor:
        """σ, shape ``(1,)`` or ``(D,)``."""
        return self.log_scale.exp().clamp_min(self.min_scale)

    def forward(self, loc: Tensor) -> Distribution:
        """Args: loc ``(..., D)``. Returns: distribution with event shape ``(D,)``."""
        return Independent(Normal(loc, self.scale().expand_as(loc), validate_args=False), 1)

    def mean(self, loc: Tensor) -> Tensor:
        """E[x | z] = loc, shape ``(..., D)``."""
        return loc


def make_likelihood(name: str, dim: int, **options: object) -> nn.Module:
    """Build a likelihood head by name (``"bernoulli"`` or ``"gaussian"``).

    Raises:
        ConfigError: for an unknown name.
    """
    check_choice("likelihood", name, LIKELIHOODS)
    return LIKELIHOODS[name](dim, **options)
