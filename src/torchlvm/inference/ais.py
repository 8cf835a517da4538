"""Annealed importance sampling of log p(x) with Hamiltonian Monte Carlo transitions.

Neal 2001, "Annealed Importance Sampling"; for decoder-based models, Wu, Burda, Salakhutdinov &
Grosse 2017, "On the Quantitative Analysis of Decoder-Based Generative Models" (ICLR), §2.2/§4.

A geometric path runs from the prior to the unnormalized posterior,

    f_t(z) = p(z | c) · p(x | z, c)^{β_t},   0 = β_0 < β_1 < … < β_T = 1,

so f_0 is the prior (normalized: Z_0 = 1) and f_T = p(x, z | c), whose normalizer is p(x | c).
Each chain starts at z_0 ~ p(z | c) and, for t = 1 … T, adds

    log w += (β_t − β_{t−1}) · log p(x | z_{t−1}, c)

then moves z by one HMC transition that leaves f_t invariant. E[w] = p(x | c) exactly (Neal 2001,
eq. 8), so over M chains p̂ = (1/M) Σ_m w_m is unbiased and log p̂ is a stochastic *lower* bound in
expectation (Jensen), like the IWAE bound; it tightens as T grows.

HMC (Neal 2011, "MCMC using Hamiltonian dynamics", §5.2): a unit-mass momentum, ``leapfrog_steps``
leapfrog steps of size ε, and a Metropolis accept/reject of the endpoint. As in Wu et al. (§4), ε
is adapted toward a target acceptance rate (0.65): after every transition it grows by 2 % where
the acceptance over the chains was above target and shrinks by 2 % where it was below — here one
ε per example, so that easy and hard examples each get their own.

The standard error and effective sample size come from the M final log weights exactly as for
importance sampling (delta method, Kish's ESS); they measure the spread over chains only, not the
bias of a short annealing schedule.

Shapes: x ``(B, D)``, chains ``(M, B, K)`` (sample dimension leading), results ``(B,)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from torchlvm._checks import (
    check_autograd,
    check_choice,
    check_positive,
    check_positive_int,
)
from torchlvm.errors import ConfigError
from torchlvm.inference.importance import Estimate
from torchlvm.inference.local import frozen
from torchlvm.inference.objectives import check_data
from torchlvm.protocol import LatentVariableModel

Schedule = Literal["sigmoid", "linear"]
SCHEDULES: tuple[str, ...] = ("sigmoid", "linear")
#: growth / shrink factor of the HMC step size per transition (Wu et al. 2017, §4)
ADAPT_RATE = 1.02
#: bounds of the adapted step size
MIN_STEP, MAX_STEP = 1e-4, 1.0


def annealing_schedule(num_steps: int, kind: Schedule = "sigmoid", *, delta: float = 4.0) -> Tensor:
    """β_0 = 0 < β_1 < … < β_T = 1, float64, shape ``(T + 1,)``.

    ``"sigmoid"`` (Grosse et al. 2015; Wu et al. 2017): β_t ∝ σ(δ (2t/T − 1)), rescaled to
    [0, 1], which spends more steps near both ends where f_t changes fastest; ``"linear"``: t/T.
    """
    check_positive_int("num_steps", num_steps)
    check_choice("schedule", kind, SCHEDULES)
    t = torch.linspace(0.0, 1.0, num_steps + 1, dtype=torch.float64)
    if kind == "linear":
        return t
    s = torch.sigmoid(delta * (2 * t - 1))
    return (s - s[0]) / (s[-1] - s[0])


@dataclass
class ChainState:
    """Chains and their cached terms: z ``(M, B, K)``, log p(z) and log p(x | z) ``(M, B)`` and
    the gradient of each with respect to z ``(M, B, K)``."""

    z: Tensor
    log_prior: Tensor
    log_lik: Tensor
    grad_prior: Tensor
    grad_lik: Tensor

    def log_target(self, beta: float) -> Tensor:
        return self.log_prior + beta * self.log_lik  # (M, B)

    def grad(self, beta: float) -> Tensor:
        return self.grad_prior + beta * self.grad_lik  # (M, B, K)


def chain_state(model: LatentVariableModel, x: Tensor, c: Tensor | None, z: Tensor) -> ChainState:
    """log p(z | c), log p(x | z, c) and their gradients at z ``(M, B, K)``."""
    z = z.detach().requires_grad_(True)
    log_prior = model.prior(c, batch_shape=x.shape[:-1]).log_prob(z)  # (M, B)
    log_lik = model.decode(z, c).log_prob(x)  # (M, B)
    (grad_lik,) = torch.autograd.grad(log_lik.sum(), z)
    (grad_prior,) = torch.autograd.grad(log_prior.sum(), z)
    return ChainState(z.detach(), log_prior.detach(), log_lik.detach(), grad_prior, grad_lik)


def hmc_transition(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    state: ChainState,
    beta: float,
    step_size: Tensor,
    leapfrog_steps: int,
) -> tuple[ChainState, Tensor]:
    """One HMC transition of every chain, leaving f_β(z) = p(z) p(x | z)^β invariant.

    Args:
        state: the current chains. beta: the inverse temperature β.
        step_size: ε per example ``(B,)``. leapfrog_steps: L.

    Returns:
        ``(new_state, accepted)``, ``accepted`` a boolean ``(M, B)``.
    """
    eps = step_size.reshape(1, -1, 1)  # (1, B, 1)
    momentum0 = torch.randn_like(state.z)  # (M, B, K)
    momentum = momentum0 + 0.5 * eps * state.grad(beta)
    proposal = state
    for step in range(leapfrog_steps):
        proposal = chain_state(model, x, c, proposal.z + eps * momentum)
        last = step == leapfrog_steps - 1
        momentum = momentum + (0.5 if last else 1.0) * eps * proposal.grad(beta)
    log_accept = (
        proposal.log_target(beta)
        - state.log_target(beta)
        - 0.5 * momentum.square().sum(-1)
        + 0.5 * momentum0.square().sum(-1)
    )  # (M, B)
    log_accept = torch.nan_to_num(log_accept, nan=-math.inf)  # a diverged proposal is rejected
    accepted = torch.rand_like(log_accept).log() < log_accept
    keep = accepted.unsqueeze(-1)  # (M, B, 1)
    new = ChainState(
        torch.where(keep, proposal.z, state.z),
        torch.where(accepted, proposal.log_prior, state.log_prior),
        torch.where(accepted, proposal.log_lik, state.log_lik),
        torch.where(keep, proposal.grad_prior, state.grad_prior),
        torch.where(keep, proposal.grad_lik, state.grad_lik),
    )
    return new, accepted


def estimate_from_log_weights(log_w: Tensor) -> Estimate:
    """log of the mean weight over the leading dimension, with its delta-method standard error
    and Kish's effective sample size (as in :func:`~torchlvm.inference.log_marginal_is`).

    Args:
        log_w: log weights ``(M, B)``.

    Returns:
        :class:`~torchlvm.inference.importance.Estimate`, ``num_samples = M``.
    """
    M = log_w.shape[0]
    lse = torch.logsumexp(log_w, 0)  # (B,)
    ess = torch.exp(2 * lse - torch.logsumexp(2 * log_w, 0))
    if M > 1:
        variance = ((M / ess - 1) / (M - 1)).clamp_min(0)
    else:
        variance = torch.full_like(lse, math.inf)
    return Estimate(lse - math.log(M), variance.sqrt(), ess, M)


def log_marginal_ais(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_steps: int,
    num_chains: int,
    leapfrog_steps: int = 10,
    step_size: float = 0.1,
    target_acceptance: float = 0.65,
    schedule: Schedule = "sigmoid",
    advance: Callable[[int], None] | None = None,
) -> Estimate:
    """Annealed importance sampling of log p(x | c) per example, with HMC transitions.

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel` whose prior can be sampled
            and whose prior and decoder log-densities are differentiable in z; its parameters
            are frozen during the run and their ``requires_grad`` restored after.
        x: data, shape ``(B, D)``. c: condition ``(B, C)`` for conditional models.
        num_steps: T, intermediate distributions (one HMC transition each).
        num_chains: M, independent chains per example.
        leapfrog_steps: L, leapfrog steps per HMC transition.
        step_size: the initial ε (adapted per example toward ``target_acceptance``).
        target_acceptance: acceptance rate the step size is adapted toward, in (0, 1).
        schedule: β_t spacing, ``"sigmoid"`` (default) or ``"linear"``
            (:func:`annealing_schedule`).
        advance: called as ``advance(1)`` after each of the T transitions (a progress bar's
            update); it does not change the estimate.

    Returns:
        :class:`~torchlvm.inference.importance.Estimate` with ``mean``, ``stderr`` and ``ess``
        of shape ``(B,)`` in nats, ``num_samples = M``.

    Raises:
        ConfigError: for a non-positive count, a step size that is not positive, a target
            acceptance outside (0, 1), or a call under ``torch.inference_mode``.
        DataError: for x without rows.
    """
    check_positive_int("num_chains", num_chains)
    check_positive_int("leapfrog_steps", leapfrog_steps)
    check_data(model, x, c)
    check_autograd("log_marginal_ais", "HMC moves z along the gradient of log p(x, z)")
    check_positive("step_size", step_size)
    if not isinstance(target_acceptance, numbers.Real) or not 0 < target_acceptance < 1:
        raise ConfigError(f"target_acceptance must be in (0, 1), got {target_acceptance!r}")
    betas = annealing_schedule(num_steps, schedule).tolist()
    x = x.detach()
    with frozen(model), torch.enable_grad():
        z0 = model.prior(c, batch_shape=x.shape[:-1]).sample((num_chains,))  # (M, B, K)
        state = chain_state(model, x, c, z0)
        eps = torch.full(x.shape[:-1], float(step_size), dtype=z0.dtype, device=z0.device)
        log_w = torch.zeros_like(state.log_lik)  # (M, B)
        for previous, beta in zip(betas[:-1], betas[1:], strict=True):
            log_w = log_w + (beta - previous) * state.log_lik
            state, accepted = hmc_transition(model, x, c, state, beta, eps, leapfrog_steps)
            rate = accepted.to(eps.dtype).mean(0)  # (B,)
            factor = torch.where(rate > target_acceptance, ADAPT_RATE, 1 / ADAPT_RATE)
            eps = (eps * factor).clamp(MIN_STEP, MAX_STEP)
            if advance is not None:
                advance(1)
    return estimate_from_log_weights(log_w.detach())


__all__ = [
    "ChainState",
    "annealing_schedule",
    "chain_state",
    "estimate_from_log_weights",
    "hmc_transition",
    "log_marginal_ais",
]
