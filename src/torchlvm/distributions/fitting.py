"""The two directions of KL, shown by fitting one Gaussian q to a bimodal target p.

KL is not symmetric, and which direction is minimized decides what a Gaussian fit to a
two-mode target looks like (Bishop, PRML §10.1.2, Fig. 10.3; Murphy, MLaPP §21.2.2):

* **Reverse KL(q ‖ p) = E_q[log q − log p]** is large wherever q puts mass and p has little, so
  its minimizer avoids the gap between the modes: it is *zero-forcing* and *mode-seeking*, and
  locks onto one mode with a variance close to that mode's. This is the direction the ELBO
  minimizes: log p(x) = ELBO(q) + KL(q(z|x) ‖ p(z|x)), so maximizing the ELBO over q minimizes
  the reverse KL to the posterior — in standard variational inference and in the VAE alike.
  It needs only the unnormalized log p and draws from q: fitted here by the reparameterized
  gradient of a Monte Carlo estimate of E_q[log q(z) − log p(z)].
* **Forward KL(p ‖ q) = E_p[log p − log q]** is large wherever p has mass and q has little, so its
  minimizer covers all of p: it is *mass-covering* (zero-avoiding). Since E_p[log p] does not
  depend on q, minimizing it is maximizing E_p[log q], i.e. maximum-likelihood fitting of q to
  samples of p: this is what maximum likelihood minimizes (and expectation propagation and
  reweighted wake-sleep). Fitted here by maximum likelihood on fresh draws from p; for a Gaussian
  q the optimum is moment matching (:func:`moment_match` gives it in closed form).

(EM is neither: its E-step sets q to the exact posterior, making KL(q ‖ p(z|x)) zero.)

Mass per mode: the target's two modes lie at c ± (separation/2)·e; each mode's region is the
half-line / half-plane on its side of the hyperplane through c orthogonal to e, and the mass q
puts there is Φ(± eᵀ(μ_q − c) / √(eᵀ Σ_q e)), in closed form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, get_args

import torch
from torch import Tensor
from torch.distributions import (
    Categorical,
    Distribution,
    Independent,
    MixtureSameFamily,
    MultivariateNormal,
    Normal,
)

from torchlvm._checks import check_choice, check_positive_int
from torchlvm._kept_state import seeded
from torchlvm.errors import ConfigError

Direction = Literal["forward", "reverse"]


@dataclass(frozen=True)
class FitResult:
    """A Gaussian fitted to a target by one direction of KL.

    Attributes:
        q: the fit, ``MultivariateNormal`` with event ``(dim,)`` (no batch).
        history: Monte Carlo estimate of the minimized KL at every step (steps,), in nats.
        mass_per_mode: mass q puts in each mode's region (2,), summing to 1.
        direction: ``"forward"`` (KL(p ‖ q)) or ``"reverse"`` (KL(q ‖ p)).
    """

    q: MultivariateNormal
    history: Tensor
    mass_per_mode: Tensor
    direction: str


def bimodal_target(
    dim: int = 1,
    separation: float = 6.0,
    *,
    scale: float = 1.0,
    weights: tuple[float, float] = (0.5, 0.5),
) -> MixtureSameFamily:
    """A mixture of two Gaussians N(±(separation/2)·e₁, scale² I) in ``dim`` = 1 or 2 dimensions.

    Args:
        dim: 1 or 2; the event shape is ``(dim,)``.
        separation: distance between the two means (> 0). Reverse KL locks onto one mode only
            when the modes are far enough apart: with equal weights, a q on one mode pays about
            log 2 nats, and at separation 4·scale a broad q covering both pays less (≈ 0.2), so
            the default is 6·scale.
        scale: standard deviation of each component (> 0).
        weights: the two mixing weights (positive; normalized).

    Returns:
        ``MixtureSameFamily`` (float64) with event ``(dim,)``; its component means are
        ``.component_distribution.mean`` (2, dim).

    Raises:
        ConfigError: for a value out of range.
    """
    if dim not in (1, 2) or isinstance(dim, bool):
        raise ConfigError(f"dim must be 1 or 2, got {dim!r}")
    for name, value in (("separation", separation), ("scale", scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{name} must be a positive number, got {value!r}")
    w = torch.as_tensor(weights, dtype=torch.float64)
    if w.shape != (2,) or not bool((w > 0).all()):
        raise ConfigError(f"weights must be two positive numbers, got {weights!r}")
    locs = torch.zeros(2, dim, dtype=torch.float64)
    locs[:, 0] = torch.tensor([-separation / 2, separation / 2], dtype=torch.float64)
    components = Independent(Normal(locs, torch.full_like(locs, float(scale))), 1)
    return MixtureSameFamily(Categorical(probs=w / w.sum()), components)


def moment_match(target: MixtureSameFamily) -> MultivariateNormal:
    """The Gaussian with the target's mean and covariance: the exact minimizer of the forward
    KL(p ‖ q) over Gaussians q. For a mixture: μ = Σ_k w_k μ_k and
    Σ = Σ_k w_k (Σ_k + μ_k μ_kᵀ) − μ μᵀ."""
    w = target.mixture_distribution.probs  # (M,)
    comp = target.component_distribution
    mu_k = comp.mean  # (M, dim)
    var_k = comp.variance  # (M, dim), diagonal components
    mean = (w[:, None] * mu_k).sum(0)
    second = (w[:, None, None] * (torch.diag_embed(var_k) + mu_k[:, :, None] * mu_k[:, None])).sum(
        0
    )
    return MultivariateNormal(mean, covariance_matrix=second - mean[:, None] * mean[None])


def reverse_optimum(target: MixtureSameFamily, nodes: int = 96) -> tuple[MultivariateNormal, float]:
    """The minimizer of the reverse KL(q ‖ p) over Gaussians q, and its KL in nats, for a
    two-mode target of :func:`bimodal_target`.

    The target factorizes into its profile along the mode axis e and an isotropic Gaussian
    N(c, scale² I) across it; since a Gaussian's entropy is largest for independent parts, the
    optimum is that Gaussian across the axis times the best 1-D Gaussian along it. The 1-D
    problem, KL(N(m, s²) ‖ p_e) = −log s − ½ log(2πe) − E log p_e, is evaluated by
    Gauss–Hermite quadrature (``nodes`` points) and minimized by L-BFGS from each mode and from
    the centre, keeping the lowest. For well-separated equal modes the optimum sits on a mode
    with the mode's variance and KL → log 2; for modes closer than about 2·scale the target is
    unimodal and the optimum is centred.

    Raises:
        ConfigError: for a target that is no two-component mixture of isotropic Gaussians.
    """
    from numpy.polynomial.hermite import hermgauss

    centre, e = mode_axis(target)
    comp = target.component_distribution
    scale = comp.stddev.to(torch.float64)
    if scale.shape[0] != 2 or not bool((scale == scale.flatten()[0]).all()):
        raise ConfigError("target must be two isotropic Gaussians of one scale (bimodal_target)")
    sd = scale.flatten()[0]
    log_w = target.mixture_distribution.logits.to(torch.float64).log_softmax(-1)
    on_axis = (comp.mean.to(torch.float64) - centre) @ e  # (2,) the modes' positions along e
    t, h = (torch.as_tensor(a, dtype=torch.float64) for a in hermgauss(nodes))

    def kl_1d(m: Tensor, log_s: Tensor) -> Tensor:
        z = m + math.sqrt(2) * log_s.exp() * t
        log_p = torch.logsumexp(log_w + Normal(on_axis, sd).log_prob(z[:, None]), -1)
        entropy = log_s + 0.5 * math.log(2 * math.pi * math.e)
        return -entropy - (h * log_p).sum() / math.sqrt(math.pi)

    spread = (sd**2 + (on_axis**2 * log_w.exp()).sum()).sqrt()  # the target's sd along e
    starts = ((on_axis[0], sd), (on_axis[1], sd), (torch.zeros(()), spread))
    best = min(_minimize_1d(kl_1d, m0, s0) for m0, s0 in starts)
    kl_value, m_best, s_best = best
    dim = e.shape[0]
    loc = centre.to(torch.float64) + m_best * e
    cov = sd**2 * torch.eye(dim, dtype=torch.float64) + (s_best**2 - sd**2) * torch.outer(e, e)
    return MultivariateNormal(loc, covariance_matrix=cov), kl_value


def _minimize_1d(kl_1d, m0: Tensor, s0: Tensor) -> tuple[float, float, float]:
    """``(KL, m, s)`` at the minimum L-BFGS finds of ``kl_1d(m, log s)`` from ``(m0, s0)``."""
    m = m0.detach().clone().requires_grad_()
    log_s = s0.detach().log().clone().requires_grad_()
    opt = torch.optim.LBFGS([m, log_s], max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = kl_1d(m, log_s)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return kl_1d(m, log_s).item(), m.item(), log_s.exp().item()


def mode_axis(target: MixtureSameFamily) -> tuple[Tensor, Tensor]:
    """``(centre (dim,), e (dim,))``: the midpoint of the first two component means and the unit
    vector from the first to the second."""
    mu = target.component_distribution.mean
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ConfigError("target must be a mixture of (at least) two Gaussian components")
    direction = mu[1] - mu[0]
    return (mu[0] + mu[1]) / 2, direction / direction.norm()


def mass_per_mode(q: MultivariateNormal, target: MixtureSameFamily) -> Tensor:
    """The mass q puts on each mode's side of the hyperplane halfway between the two modes,
    shape (2,): [side of mode 0, side of mode 1]."""
    centre, e = mode_axis(target)
    offset = e @ (q.loc - centre)
    sd = (e @ q.covariance_matrix @ e).sqrt()
    upper = Normal(torch.zeros_like(sd), torch.ones_like(sd)).cdf(offset / sd)
    return torch.stack([1 - upper, upper]).detach()


def fit_gaussian(
    target: Distribution,
    direction: Direction = "reverse",
    *,
    steps: int = 500,
    lr: float = 0.05,
    num_samples: int = 256,
    seed: int = 0,
) -> FitResult:
    """Fit a full-covariance Gaussian q to ``target`` by minimizing KL in one direction.

    Args:
        target: p, with ``log_prob`` and ``sample`` and event shape ``(dim,)`` (e.g.
            :func:`bimodal_target`).
        direction: ``"forward"`` — minimize KL(p ‖ q) by maximum likelihood on ``num_samples``
            fresh draws from p per step; ``"reverse"`` — minimize KL(q ‖ p) by the
            reparameterized gradient over ``num_samples`` draws from q.
        steps: Adam steps. lr: Adam's learning rate.
        seed: seeds the draws and the reverse fit's off-centre start (the global RNG is left
            as it was). Forward starts at N(0, I); reverse starts at the target's mean moved by
            a random offset of about a third of the distance between the modes, so that it
            breaks the symmetry and settles on one mode.

    Returns:
        :class:`FitResult`; ``mass_per_mode`` needs a two-component mixture target (NaN else).

    Raises:
        ConfigError: for an unknown direction or a bad number.
    """
    check_choice("direction", direction, get_args(Direction))
    check_positive_int("steps", steps)
    check_positive_int("num_samples", num_samples)
    if not lr > 0:
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    (dim,) = target.event_shape
    with seeded(seed):
        loc = torch.zeros(dim, dtype=torch.float64)
        if direction == "reverse":
            loc = target.mean.detach().to(torch.float64) + _off_centre(target, dim)
        loc.requires_grad_()
        raw_tril = torch.zeros(dim, dim, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([loc, raw_tril], lr=lr)
        history = []
        for _ in range(steps):
            q = _gaussian(loc, raw_tril)
            if direction == "forward":
                x = target.sample((num_samples,))  # (S, dim)
                loss = (target.log_prob(x) - q.log_prob(x)).mean()  # KL(p ‖ q) estimate
            else:
                z = q.rsample((num_samples,))  # (S, dim)
                loss = (q.log_prob(z) - target.log_prob(z)).mean()  # KL(q ‖ p) estimate
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(loss.detach())
    with torch.no_grad():
        q = _gaussian(loc.detach(), raw_tril.detach())
    try:
        mass = mass_per_mode(q, target)  # type: ignore[arg-type]
    except (AttributeError, ConfigError):
        mass = torch.full((2,), math.nan, dtype=torch.float64)
    return FitResult(q=q, history=torch.stack(history), mass_per_mode=mass, direction=direction)


def _gaussian(loc: Tensor, raw_tril: Tensor) -> MultivariateNormal:
    """N(loc, L Lᵀ) with L = strict lower triangle of ``raw_tril`` + exp(its diagonal)."""
    L = raw_tril.tril(-1) + torch.diag_embed(torch.diagonal(raw_tril).exp())
    return MultivariateNormal(loc, scale_tril=L)


def _off_centre(target: Distribution, dim: int) -> Tensor:
    """A random start offset: ± a third of the mode separation along the mode axis (random
    sign), plus a little isotropic noise; for a target without mode structure, N(0, I)."""
    try:
        _, e = mode_axis(target)  # type: ignore[arg-type]
        mu = target.component_distribution.mean  # type: ignore[attr-defined]
        half = (mu[1] - mu[0]).norm() / 3
    except (AttributeError, ConfigError):
        return torch.randn(dim, dtype=torch.float64)
    sign = 1.0 if torch.rand(()) < 0.5 else -1.0
    return sign * half * e.to(torch.float64) + 0.1 * torch.randn(dim, dtype=torch.float64)
