"""KL divergences through ``torch.distributions.kl_divergence`` and its registry.

``kl(q, p)`` is analytic wherever a pair is registered; a Monte Carlo estimate is an explicit,
named choice (``method="mc"``), never a silent fallback (STYLE.md habit 2). This module adds the
pairs torch lacks that torchlvm's models meet: a full-covariance Gaussian against a diagonal one
in both directions (PPCA's exact posterior against the N(0, I) prior, a mean-field q against a
full posterior); and a diagonal Gaussian against :class:`StandardNormal`, the N(0, I) prior,
in closed form without the prior's tensors: torch's Normal-Normal formula with p's mean 0 and
scale 1 put in, the same numbers (the division by 1 and subtraction of 0 are exact) in 8 kernels
instead of 16 (every VAE's ELBO with the standard prior, a training step's hot path).

KL(q ‖ p) = E_q[log q(z) − log p(z)] ≥ 0, zero only when q = p, and not symmetric.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch import Tensor
from torch.distributions import (
    Distribution,
    Independent,
    MultivariateNormal,
    Normal,
    kl_divergence,
    register_kl,
)

from torchlvm._checks import check_choice, check_positive_int
from torchlvm.distributions.standard_normal import StandardNormal
from torchlvm.errors import ConfigError, DataError

KLMethod = Literal["analytic", "mc"]
KL_METHODS: tuple[str, ...] = get_args(KLMethod)


class NoClosedForm(NotImplementedError):
    """A registered KL function met a pair it has no closed form for. Deriving from
    ``NotImplementedError`` is how ``torch.distributions.kl_divergence`` signals an unregistered
    pair, which :func:`kl` turns into a clear error."""


def as_multivariate_normal(d: Independent) -> MultivariateNormal:
    """View a diagonal Gaussian ``Independent(Normal(loc, scale), 1)`` as a MultivariateNormal."""
    base = d.base_dist
    if not isinstance(base, Normal) or d.reinterpreted_batch_ndims != 1:
        raise NoClosedForm(f"no Gaussian view of {type(d.base_dist).__name__}")
    return MultivariateNormal(base.loc, scale_tril=torch.diag_embed(base.scale))


@register_kl(MultivariateNormal, Independent)
def _kl_mvn_diagonal(q: MultivariateNormal, p: Independent) -> Tensor:
    return kl_divergence(q, as_multivariate_normal(p))


@register_kl(Independent, MultivariateNormal)
def _kl_diagonal_mvn(q: Independent, p: MultivariateNormal) -> Tensor:
    return kl_divergence(as_multivariate_normal(q), p)


@register_kl(Independent, StandardNormal)
def _kl_diagonal_standard_normal(q: Independent, p: StandardNormal) -> Tensor:
    base = q.base_dist
    if not (
        isinstance(base, Normal)
        and q.reinterpreted_batch_ndims == 1
        and q.event_shape == p.event_shape
    ):  # any other Independent: torch's own pairs, against p's tensors
        return kl_divergence(q, Independent(p.base_dist, 1))
    # torch's _kl_normal_normal with loc 0 and scale 1: var_ratio = (σ / 1)², t1 = ((μ − 0) / 1)²
    var_ratio = base.scale.pow(2)
    kl = (0.5 * (var_ratio + base.loc.pow(2) - 1 - var_ratio.log())).sum(-1)  # (*batch,)
    if q.batch_shape == p.batch_shape:  # the ELBO's: torch.broadcast_shapes costs ~10 µs
        return kl
    shape = torch.broadcast_shapes(q.batch_shape, p.batch_shape)
    return kl if kl.shape == shape else kl.expand(shape)


def kl_monte_carlo(
    q: Distribution, p: Distribution, num_samples: int = 1, z: Tensor | None = None
) -> Tensor:
    """Monte Carlo estimate of KL(q ‖ p) = E_q[log q(z) − log p(z)].

    Unbiased, differentiable through ``rsample`` where q supports it, and noisy: its standard
    error falls as 1/√num_samples.

    Args:
        q, p: distributions with the same event shape and broadcastable batch shapes.
        num_samples: S, draws from q (ignored when ``z`` is given).
        z: optional samples of shape ``(S, *batch, *event)`` to reuse (e.g. the ELBO's).

    Returns:
        The estimate, shape ``batch_shape``.
    """
    if z is None:
        check_positive_int("num_samples", num_samples)
        z = q.rsample((num_samples,)) if q.has_rsample else q.sample((num_samples,))
    return (q.log_prob(z) - p.log_prob(z)).mean(0)


class NoClosedFormError(ConfigError):
    """``kl(..., method="analytic")`` on a pair with no registered closed form; ``pair`` names
    it, ``"(FlowQ ‖ StandardNormal)"``, for callers whose parameter has another name (``elbo``'s
    ``kl_method``) to say which to pass."""

    def __init__(self, message: str, pair: str) -> None:
        super().__init__(message)
        self.pair = pair


def _check_same_space(q: Distribution, p: Distribution) -> None:
    """Refuse q and p whose densities cannot be compared point by point, for which torch's
    formulas fail with a size mismatch deep inside."""
    if q.event_shape != p.event_shape:
        raise DataError(
            f"KL(q ‖ p) needs q and p over the same space, got event shapes "
            f"{tuple(q.event_shape)} and {tuple(p.event_shape)}; build both for the same z "
            "(the same latent_dim)"
        )
    if q.batch_shape != p.batch_shape:
        try:
            torch.broadcast_shapes(q.batch_shape, p.batch_shape)
        except RuntimeError:
            raise DataError(
                f"KL(q ‖ p) needs batch shapes that broadcast, got batch shapes "
                f"{tuple(q.batch_shape)} and {tuple(p.batch_shape)}; give p one distribution "
                "per row of q, or one for all (e.g. model.prior(batch_shape=q.batch_shape))"
            ) from None


def kl(
    q: Distribution,
    p: Distribution,
    *,
    method: KLMethod = "analytic",
    num_samples: int = 1,
    z: Tensor | None = None,
) -> Tensor:
    """KL(q ‖ p), analytic or Monte Carlo by explicit choice.

    Args:
        q, p: distributions over the same space.
        method: ``"analytic"`` (``torch.distributions.kl_divergence``) or ``"mc"``.
        num_samples, z: for ``"mc"`` only; see :func:`kl_monte_carlo`.

    Returns:
        KL(q ‖ p), shape ``batch_shape`` (one value per distribution in the batch).

    Raises:
        ConfigError: for an unknown method, q or p that is no distribution, or
            ``"analytic"`` on a pair with no registered
            closed form (the message says to pass ``method="mc"``).
        DataError: for q and p over spaces of different sizes, or batch shapes that do not
            broadcast.
    """
    check_choice("method", method, KL_METHODS)
    for name, d in (("q", q), ("p", p)):
        if not isinstance(d, Distribution):
            kind = type(d).__qualname__
            kind = kind if type(d).__module__ == "builtins" else f"{type(d).__module__}.{kind}"
            raise ConfigError(
                f"{name} must be a torch.distributions.Distribution, got {kind}; pass the "
                "distribution itself (e.g. model.encode(x), not its .mean)"
            )
    try:
        if method == "mc":
            return kl_monte_carlo(q, p, num_samples, z)
        return kl_divergence(q, p)
    except NotImplementedError:
        _check_same_space(q, p)  # method='mc' cannot help q and p over different spaces
        pair = f"({type(q).__name__} ‖ {type(p).__name__})"
        raise NoClosedFormError(
            f"no analytic KL is registered for {pair}; pass method='mc' for a Monte Carlo "
            "estimate or register one with torch.distributions.register_kl",
            pair,
        ) from None
    except (RuntimeError, ValueError):
        _check_same_space(q, p)  # (after the failure: nothing added where the shapes agree)
        raise
