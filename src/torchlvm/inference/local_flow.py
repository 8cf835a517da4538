"""The best q in a richer family than the encoder's: a normalizing flow fitted per point.

Cremer, Li & Duvenaud 2018 (§3, §5.2) compare the ELBO of the best Gaussian q* for each point
with that of a flow q*_Flow optimized for the same point, to show how much of the approximation
gap a more expressive family closes. Here, for a batch of B points, with the decoder fixed:

    q_i(z) = f⁻¹_{h_i}(u),   u ~ N(m_i, diag s_i²),

where m_i, s_i and a context vector h_i are free per point and f is ``flow_steps`` affine
coupling transforms (zuko, as in :class:`~torchlvm.models.posteriors.FlowPosterior`) whose
networks map (z-half, h_i) to scales and shifts. The networks are fitted afresh on the batch and
shared by its points (the context makes each point's transform its own); the last layer of each
starts at zero, so every q_i starts as the Gaussian N(m_i, diag s_i²) it is initialized from and
the flow can only add to it. Everything is optimized on the sum of the points' ELBOs (a Monte
Carlo KL: a flow has no closed form). A sharper family would give each point its own network;
the shared one costs O(B·H) parameters instead of O(B·network).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal

from torchlvm._checks import check_positive_int
from torchlvm._zuko import MAF
from torchlvm.errors import ConfigError
from torchlvm.inference.local import frozen, gaussian_parts, optimize_local
from torchlvm.inference.objectives import elbo
from torchlvm.models.posteriors import MAX_FLOW_STEPS, FlowPosterior, FlowQ
from torchlvm.protocol import LatentVariableModel


class LocalFlow(nn.Module):
    """Per-point base Gaussians and contexts under coupling transforms shared by the batch.

    Args:
        loc, scale: the base Gaussians' initial means and standard deviations (B, K).
        flow_steps: coupling transforms. context_dim: H, the width of each point's context.
    """

    def __init__(self, loc: Tensor, scale: Tensor, *, flow_steps: int, context_dim: int) -> None:
        super().__init__()
        B, K = loc.shape
        FlowPosterior.check(K, flow_steps)
        self.loc = nn.Parameter(loc.detach().clone())
        self.log_scale = nn.Parameter(scale.detach().log())
        self.context = nn.Parameter(torch.zeros(B, context_dim, dtype=loc.dtype))
        width = max(64, 2 * K)
        self.flow = MAF(
            K,
            context=context_dim,
            transforms=flow_steps,
            passes=2,
            hidden_features=(width, width),
        ).to(dtype=loc.dtype, device=loc.device)
        for transform in self.flow.transform.transforms:
            last = transform.hyper[-1]  # outputs the shifts and log-scales: zero → identity
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def distribution(self) -> Distribution:
        """q with batch shape (B,), event (K,), differentiable in every parameter."""
        base = Independent(Normal(self.loc, self.log_scale.exp()), 1)
        return FlowQ(self.flow.transform(self.context), base)


def _start(q: Distribution) -> tuple[Tensor, Tensor]:
    """Mean and standard deviations (B, K) of a starting q: a Gaussian's own (a full one's
    marginal standard deviations), otherwise its (Monte Carlo) moments."""
    try:
        loc, scale, diagonal = gaussian_parts(q)
    except ConfigError:
        return q.mean.detach(), q.stddev.detach()
    if not diagonal:
        scale = scale.square().sum(-1).sqrt()  # sqrt(diag(L Lᵀ))
    return loc.detach(), scale.detach()


def fit_local_flow(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    init: Distribution | None = None,
    flow_steps: int = 2,
    context_dim: int | None = None,
    steps: int = 500,
    lr: float = 0.01,
    num_samples: int = 8,
    schedule: Literal["constant", "cosine"] = "cosine",
) -> tuple[Distribution, Tensor]:
    """Fit a flow q for every row of ``x`` with the model frozen (see the module docstring).

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel` with K ≥ 2.
        x: data (B, D). c: condition (B, C) for conditional models.
        init: the q each point starts from (its Gaussian moments); ``None``: the prior's.
        flow_steps: coupling transforms (≥ 1). context_dim: H; default 2K.
        steps, lr, schedule: Adam steps, learning rate and its schedule (cosine decay to 0 by
            default, so a Monte Carlo objective settles).
        num_samples: reparameterized draws per step for E_q[log p(x | z)] and the KL.

    Returns:
        ``(q, history)``: the fitted flow q (batch (B,), a
        :class:`~torchlvm.models.posteriors.FlowQ`, detached) and the per-point Monte Carlo
        ELBO at every step, shape ``(steps + 1, B)``, nats.

    Raises:
        ConfigError: for a bad count, K < 2 or ``flow_steps`` above the limit.
    """
    check_positive_int("steps", steps)
    check_positive_int("num_samples", num_samples)
    check_positive_int("flow_steps", flow_steps)
    if flow_steps > MAX_FLOW_STEPS:
        raise ConfigError(f"flow_steps must be at most {MAX_FLOW_STEPS}, got {flow_steps}")
    if not lr > 0:
        raise ConfigError(f"lr must be a positive number, got {lr!r}")
    x = x.detach()
    with torch.no_grad():
        start = model.prior(c, batch_shape=x.shape[:-1]) if init is None else init
        loc, scale = _start(start)
    loc = loc.expand(x.shape[0], -1)
    scale = scale.expand(x.shape[0], -1)
    H = 2 * loc.shape[-1] if context_dim is None else check_positive_int("context_dim", context_dim)
    local = LocalFlow(loc, scale, flow_steps=flow_steps, context_dim=H)

    def value(q: Distribution) -> Tensor:
        return elbo(model, x, c, q=q, num_samples=num_samples, kl_method="mc").elbo

    with frozen(model):
        return optimize_local(local, value, steps=steps, lr=lr, schedule=schedule)


__all__ = ["LocalFlow", "fit_local_flow"]
