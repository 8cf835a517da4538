"""The best q in a richer family than the encoder's: a normalizing flow fitted per point.

Cremer, Li & Duvenaud 2018 (§3, §5.2) compare the ELBO of the best Gaussian q* for each point
with that of a flow q*_Flow optimized for the same point, to show how much of the approximation
gap a more expressive family closes. Here, for a batch of B points, with the decoder fixed:

    q_i(z) = f⁻¹_{θ_i}(u),   u ~ N(m_i, diag s_i²),

where m_i, s_i and θ_i are point i's own: f_θ is ``flow_steps`` affine coupling transforms
(zuko's, as in :class:`~torchlvm.models.posteriors.FlowPosterior`, without a context), and θ_i
is a full copy of their networks' weights for point i, as in Cremer et al., who optimize a flow
per data point. The B copies are stacked along a leading (B,) axis and applied at once with
``torch.func.functional_call`` under ``torch.func.vmap`` (no Python loop over points): the
sum of the points' ELBOs is optimized, and point i's ELBO depends on point i's parameters only.
Every copy starts from the same draw of the hidden layers and a zero last layer, so each q_i
starts as the Gaussian N(m_i, diag s_i²) it is initialized from and the flow can only add to
it. Started from a flow q (a model's own, e.g. its q* under the encoder's networks), the new
transforms go on top of that q's transform, which stays fixed: q_i(z) is then that q's density
with f_{θ_i} applied in its base space, and starts as that q exactly. The KL is a Monte Carlo
estimate (a flow has no closed form). Cost: B·(network) parameters, e.g. about 16,000 per point
for K = 20 and 2 transforms of width 64.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal, Transform, constraints
from torch.func import functional_call, vmap

from torchlvm._checks import (
    check_autograd,
    check_model,
    check_positive,
    check_positive_int,
    check_rows,
)
from torchlvm._zuko import MAF, ComposedTransform
from torchlvm.errors import ConfigError
from torchlvm.inference.local import frozen, gaussian_parts, optimize_local
from torchlvm.inference.objectives import check_bernoulli_values, elbo
from torchlvm.models.posteriors import MAX_FLOW_STEPS, FlowPosterior, FlowQ
from torchlvm.protocol import LatentVariableModel


class _Apply(nn.Module):
    """Runs a lazy zuko transform (no context) forwards with its log-determinant, or inverted:
    the function that ``functional_call`` evaluates with one point's weights."""

    def __init__(self, lazy: nn.Module) -> None:
        super().__init__()
        self.lazy = lazy

    def forward(self, value: Tensor, inverse: bool) -> Tensor | tuple[Tensor, Tensor]:
        transform = self.lazy()
        return transform.inv(value) if inverse else transform.call_and_ladj(value)


class PerPointTransform(Transform):
    """B flows, one per point: ``apply``'s transform evaluated with point i's own weights
    (``params``, each ``(B, *shape)``) on the values of point i. Maps z ``(..., B, K)`` to the
    base space and back; the log-determinant is ``(..., B)``."""

    domain = constraints.real_vector
    codomain = constraints.real_vector
    bijective = True

    def __init__(self, apply: _Apply, params: dict[str, Tensor]) -> None:
        super().__init__()
        self.apply, self.params = apply, params

    def _map(self, value: Tensor, inverse: bool) -> Tensor | tuple[Tensor, Tensor]:
        dim = value.ndim - 2  # the points' axis, B: (..., B, K) in, (..., B[, K]) out

        def one(params: dict[str, Tensor], v: Tensor) -> Tensor | tuple[Tensor, Tensor]:
            return functional_call(self.apply, params, (v, inverse))

        return vmap(one, in_dims=(0, dim), out_dims=dim)(self.params, value)

    def _call(self, z: Tensor) -> Tensor:
        return self._map(z, False)[0]

    def _inverse(self, u: Tensor) -> Tensor:
        return self._map(u, True)  # type: ignore[return-value]

    def call_and_ladj(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._map(z, False)  # type: ignore[return-value]

    def log_abs_det_jacobian(self, z: Tensor, u: Tensor) -> Tensor:
        return self._map(z, False)[1]


class LocalFlow(nn.Module):
    """Per-point base Gaussians and per-point coupling networks (see the module docstring).

    Args:
        loc, scale: the base Gaussians' initial means and standard deviations (B, K).
        flow_steps: coupling transforms. width: hidden units of each transform's network
            (two layers); default max(64, 2K), the amortized flow's.
        inner: a fixed transform (z → base space, batch (B,)) applied before the per-point
            ones: the transform of the flow q the fit starts from.

    Attributes:
        loc, log_scale: ``nn.Parameter`` (B, K). weights: ``nn.ParameterList`` of the stacked
            network weights, each ``(B, *shape)``, named by ``names``.
    """

    def __init__(
        self,
        loc: Tensor,
        scale: Tensor,
        *,
        flow_steps: int,
        width: int | None = None,
        inner: Transform | None = None,
    ) -> None:
        super().__init__()
        self.inner = inner
        B, K = loc.shape
        FlowPosterior.check(K, flow_steps)
        width = max(64, 2 * K) if width is None else check_positive_int("width", width)
        self.loc = nn.Parameter(loc.detach().clone())
        self.log_scale = nn.Parameter(scale.detach().log())
        # zuko builds its masks with torch.unique, which has no meta-device kernel
        with torch.device("cpu"):
            lazy = MAF(K, transforms=flow_steps, passes=2, hidden_features=(width, width))
        lazy = lazy.transform.to(dtype=loc.dtype, device=loc.device)
        for transform in lazy.transforms:
            last = transform.hyper[-1]  # outputs the shifts and log-scales: zero → identity
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self._apply_one = (_Apply(lazy),)  # a tuple: the template's own weights are not trained
        named = [(f"lazy.{name}", p.detach()) for name, p in lazy.named_parameters()]
        self.names = [name for name, _ in named]
        self.weights = nn.ParameterList(
            [nn.Parameter(p.expand(B, *p.shape).clone()) for _, p in named]
        )

    def distribution(self) -> Distribution:
        """q with batch shape (B,), event (K,), differentiable in every parameter."""
        base = Independent(Normal(self.loc, self.log_scale.exp()), 1)
        params = dict(zip(self.names, self.weights, strict=True))
        transform: Transform = PerPointTransform(self._apply_one[0], params)
        if self.inner is not None:
            transform = ComposedTransform(self.inner, transform)  # inner first, z → base
        return FlowQ(transform, base)


def _start(q: Distribution) -> tuple[Tensor, Tensor, Transform | None]:
    """Mean and standard deviations (B, K) of a starting q's Gaussian (a full one's marginal
    standard deviations) and the fixed transform above it: a flow q's base and transform, a
    Gaussian and None, otherwise q's (Monte Carlo) moments and None."""
    inner = None
    if isinstance(q, FlowQ):
        inner, q = q.transform, q.base
    try:
        loc, scale, diagonal = gaussian_parts(q)
    except ConfigError:
        return q.mean.detach(), q.stddev.detach(), None
    if not diagonal:
        scale = scale.square().sum(-1).sqrt()  # sqrt(diag(L Lᵀ))
    return loc.detach(), scale.detach(), inner


def fit_local_flow(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    init: Distribution | None = None,
    flow_steps: int = 2,
    width: int | None = None,
    steps: int = 500,
    lr: float = 0.01,
    num_samples: int = 8,
    schedule: Literal["constant", "cosine"] = "cosine",
    callback: Callable[[int, Distribution], None] | None = None,
) -> tuple[Distribution, Tensor]:
    """Fit a flow q for every row of ``x`` with the model frozen (see the module docstring).

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel` with K ≥ 2.
        x: data (B, D). c: condition (B, C) for conditional models.
        init: the q each point starts from: a Gaussian, a flow q (its base, with its
            transform kept fixed under the new ones), else its moments; ``None``: the prior's.
        flow_steps: coupling transforms (≥ 1). width: hidden units of their networks;
            default max(64, 2K).
        steps, lr, schedule: Adam steps, learning rate and its schedule (cosine decay to 0 by
            default, so a Monte Carlo objective settles).
        num_samples: reparameterized draws per step for E_q[log p(x | z)] and the KL.
        callback: called as ``callback(t, q)`` with a detached q before step t = 0 … steps−1
            and once more after the last step (t = steps), as by
            :func:`~torchlvm.inference.local.fit_local_posterior`.

    Returns:
        ``(q, history)``: the fitted flow q (batch (B,), a
        :class:`~torchlvm.models.posteriors.FlowQ`, detached) and the per-point Monte Carlo
        ELBO at every step, shape ``(steps + 1, B)``, nats.

    Raises:
        ConfigError: for a bad count, K < 2, ``flow_steps`` above the limit, or a call under
            ``torch.inference_mode``.
        DataError: for x that is not a tensor ``(B, D)`` with rows.
    """
    check_positive_int("steps", steps)
    check_positive_int("num_samples", num_samples)
    check_positive_int("flow_steps", flow_steps)
    if flow_steps > MAX_FLOW_STEPS:
        raise ConfigError(f"flow_steps must be at most {MAX_FLOW_STEPS}, got {flow_steps}")
    check_positive("lr", lr)
    check_model(model)
    check_rows("x", x, model, c=c, init=init)
    check_bernoulli_values(model, x)  # once: its steps' bounds take a q, which skips the look
    check_autograd("fit_local_flow", "Adam steps on each point's flow")
    x = x.detach()
    with torch.no_grad():
        start = model.prior(c, batch_shape=x.shape[:-1]) if init is None else init
        loc, scale, inner = _start(start)
    loc = loc.expand(x.shape[0], -1)
    scale = scale.expand(x.shape[0], -1)
    local = LocalFlow(loc, scale, flow_steps=flow_steps, width=width, inner=inner)

    def value(q: Distribution) -> Tensor:
        return elbo(model, x, c, q=q, num_samples=num_samples, kl_method="mc").elbo

    with frozen(model):
        return optimize_local(
            local, value, steps=steps, lr=lr, schedule=schedule, callback=callback
        )


__all__ = ["LocalFlow", "PerPointTransform", "fit_local_flow"]
