"""Non-amortized inference: a Gaussian q(z) with its own free parameters for every data point.

An encoder (amortized inference) maps x to q(z | x) in one pass; here instead each point gets its
own variational parameters λ_i, optimized on that point's ELBO (or IWAE bound) with the decoder
held fixed (classic per-point variational inference; Cremer, Li & Duvenaud 2018, §3, use it to
measure how far an encoder falls short of the best q in its family):

    λ_i* = argmax_λ ELBO(x_i; q_λ) = argmax_λ E_q[log p(x_i | z)] − KL(q_λ ‖ p(z)).

Since log p(x) = ELBO(q) + KL(q ‖ p(z | x)), this is minimizing the *reverse* KL(q ‖ p(z | x)).

The batch is optimized at once: the loss is the *sum* of per-point objectives, so the gradient
with respect to λ_i is that of point i's own objective, and Adam's per-coordinate updates make
each point's trajectory independent of the others and of the batch size. No Python loop over
points.

Two families:

* ``"diagonal"`` (mean-field): loc (B, K) and log-scale (B, K) → ``Independent(Normal, 1)``.
  Started from a flow q (:class:`~torchlvm.models.posteriors.FlowQ`), the per-point
  parameters are its base Gaussian's and its context h (B, H), everything the encoder emits
  for a point, under the encoder's coupling networks (fixed): the result is a flow of the
  model's own family again, and its best member for each point.
* ``"full"``: loc (B, K) and an unconstrained lower-triangular (B, K, K) whose diagonal passes
  through ``exp`` to give the Cholesky factor L → ``MultivariateNormal(loc, scale_tril=L)``.
  It costs O(B·K²) parameters and O(B·K³) per step, so it is limited to K ≤ 64.

For PPCA pass ``log_lik_method="analytic"`` (and the default analytic KL): the objective is then
exact and deterministic, and the optimum is the exact posterior for ``family="full"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, MultivariateNormal, Normal

from torchlvm._checks import (
    check_autograd,
    check_choice,
    check_model,
    check_positive,
    check_positive_int,
    check_rows,
)
from torchlvm.distributions.kl import KLMethod
from torchlvm.errors import ConfigError, spelled
from torchlvm.inference.objectives import (
    LogLikMethod,
    check_bernoulli_values,
    elbo,
    iwae_bound,
    model_kl_method,
)
from torchlvm.models.posteriors import FlowQ
from torchlvm.protocol import LatentVariableModel, latent_size

Family = Literal["diagonal", "full"]
FAMILIES: tuple[str, ...] = ("diagonal", "full")
#: the largest latent size for a full-covariance q (B·K² parameters, B·K³ work per step)
MAX_FULL_COVARIANCE_DIM = 64


def check_family(family: str, latent_dim: int) -> str:
    """Return ``family`` if it is known and allowed for ``latent_dim``, else raise ConfigError."""
    check_choice("family", family, FAMILIES)
    if family == "full" and latent_dim > MAX_FULL_COVARIANCE_DIM:
        raise spelled(ConfigError, lambda spell: (
            f"a full-covariance q is limited to latent_dim <= {MAX_FULL_COVARIANCE_DIM}, got "
            f"latent_dim={latent_dim}; use {spell('family', 'diagonal')}"
        ))  # fmt: skip
    return family


def gaussian_parts(q: Distribution) -> tuple[Tensor, Tensor, bool]:
    """``(loc (B, K), scale, diagonal)`` of a Gaussian q: ``scale`` is the standard deviations
    (B, K) for ``Independent(Normal, 1)`` and the Cholesky factor (B, K, K) for
    ``MultivariateNormal``.

    Raises:
        ConfigError: for any other distribution.
    """
    if (
        isinstance(q, Independent)
        and isinstance(q.base_dist, Normal)
        and q.reinterpreted_batch_ndims == 1
    ):
        return q.base_dist.loc, q.base_dist.scale, True
    if isinstance(q, MultivariateNormal):
        return q.loc, q.scale_tril, False
    raise ConfigError(
        "q must be a Gaussian, Independent(Normal(loc, scale), 1) or MultivariateNormal, got "
        f"{type(q).__name__}"
    )


class LocalGaussian(nn.Module):
    """Per-point Gaussian variational parameters, as free tensors.

    Args:
        loc: initial means (B, K).
        scale: initial standard deviations (B, K) for ``"diagonal"``, or a Cholesky factor
            (B, K, K) with positive diagonal for ``"full"``.
        family: ``"diagonal"`` or ``"full"`` (K ≤ 64).

    Attributes:
        loc: ``nn.Parameter`` (B, K).
        log_scale: ``nn.Parameter`` (B, K) (``"diagonal"`` only).
        raw_tril: ``nn.Parameter`` (B, K, K) (``"full"`` only): the strict lower triangle is L's,
            the diagonal is log diag(L); the upper triangle is ignored.
        context: ``nn.Parameter`` (B, H) (started from a flow q with a context only).
    """

    def __init__(self, loc: Tensor, scale: Tensor, family: Family = "diagonal") -> None:
        super().__init__()
        if loc.ndim != 2:
            raise ConfigError(f"loc must have shape (B, K), got {tuple(loc.shape)}")
        self.family = check_family(family, loc.shape[-1])
        self.transform: torch.distributions.Transform | None = None  # a fixed flow on top
        # a flow on top whose per-point context is free: (context, base) → FlowQ
        self.recondition: Callable[[Tensor, Distribution], Distribution] | None = None
        self.loc = nn.Parameter(loc.detach().clone())
        raw = nn.Parameter(unconstrain_scale(scale.detach(), diagonal=family == "diagonal"))
        if family == "diagonal":
            self.log_scale = raw
        else:
            self.raw_tril = raw

    @classmethod
    def from_distribution(cls, q: Distribution, family: Family | None = None) -> LocalGaussian:
        """Start from a Gaussian q (B,): the same family by default, or converted: a diagonal
        q becomes a full one with the same diagonal; a full q becomes the diagonal q with its
        marginal standard deviations (not the reverse-KL optimum, which uses the precisions).
        A flow q contributes its base Gaussian and, if it has one, its context (B, H) as free
        parameters; its coupling networks are kept, fixed, on top."""
        transform = flow = None
        if isinstance(q, FlowQ):
            flow, transform, q = q, q.transform, q.base
        loc, scale, diagonal = gaussian_parts(q)
        family = ("diagonal" if diagonal else "full") if family is None else family
        check_family(family, loc.shape[-1])
        if family == "diagonal" and not diagonal:
            scale = scale.square().sum(-1).sqrt()  # sqrt(diag(L Lᵀ)), (B, K)
        elif family == "full" and diagonal:
            scale = torch.diag_embed(scale)  # (B, K, K)
        local = cls(loc, scale, family)
        if flow is not None and flow.context is not None:
            local.context = nn.Parameter(flow.context.detach().clone())
            local.recondition = flow.reconditioned
        else:
            local.transform = transform
        return local

    @classmethod
    def from_prior(
        cls,
        model: LatentVariableModel,
        batch: int,
        c: Tensor | None = None,
        family: Family = "diagonal",
    ) -> LocalGaussian:
        """Start every point at the prior's mean and standard deviations (N(0, I) for most
        models); a ``MultivariateNormal`` prior gives its own covariance."""
        prior = model.prior(c, batch_shape=(batch,))
        try:
            loc, scale, diagonal = gaussian_parts(prior)
        except ConfigError:
            mean, std = prior.mean, prior.stddev
            loc, scale, diagonal = mean, std, True
        loc = loc.expand(batch, loc.shape[-1])
        scale = scale.expand(batch, *scale.shape[-1 if diagonal else -2 :])
        q0 = (
            Independent(Normal(loc, scale), 1)
            if diagonal
            else MultivariateNormal(loc, scale_tril=scale)
        )
        return cls.from_distribution(q0, family)

    def distribution(self) -> Distribution:
        """q as a distribution with batch shape (B,) and event (K,), differentiable in the
        parameters: ``Independent(Normal)`` or ``MultivariateNormal``."""
        if self.family == "diagonal":
            q = gaussian(self.loc, self.log_scale, diagonal=True)
        else:
            q = gaussian(self.loc, self.raw_tril, diagonal=False)
        if self.recondition is not None:
            return self.recondition(self.context, q)
        return q if self.transform is None else FlowQ(self.transform, q)


def unconstrain_scale(scale: Tensor, *, diagonal: bool) -> Tensor:
    """Standard deviations (B, K) → their logs; a Cholesky factor L (B, K, K) → its strict lower
    triangle with log diag(L) on the diagonal. The inverse of the map inside :func:`gaussian`."""
    if diagonal:
        return scale.log()
    return scale.tril(-1) + torch.diag_embed(torch.diagonal(scale, dim1=-2, dim2=-1).log())


def gaussian(loc: Tensor, raw_scale: Tensor, *, diagonal: bool) -> Distribution:
    """The Gaussian with mean ``loc`` (B, K) and unconstrained scale ``raw_scale`` (log standard
    deviations (B, K), or (B, K, K) whose diagonal is log diag(L) and whose strict lower triangle
    is L's; the upper triangle is ignored). Differentiable in both."""
    if diagonal:
        return Independent(Normal(loc, raw_scale.exp()), 1)
    L = raw_scale.tril(-1) + torch.diag_embed(torch.diagonal(raw_scale, dim1=-2, dim2=-1).exp())
    # L is lower-triangular with a positive diagonal by construction: skip the check
    return MultivariateNormal(loc, scale_tril=L, validate_args=False)


@contextmanager
def frozen(model: nn.Module | object) -> Iterator[None]:
    """Turn ``requires_grad`` off for every parameter of ``model`` inside the block and restore
    each parameter's own setting after (also on error)."""
    params = list(model.parameters()) if isinstance(model, nn.Module) else []
    flags = [p.requires_grad for p in params]
    try:
        for p in params:
            p.requires_grad_(False)
        yield
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)


def local_objective(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    q: Distribution,
    *,
    objective: Literal["elbo", "iwae"] = "elbo",
    num_samples: int = 1,
    k: int = 1,
    kl_method: KLMethod | None = None,
    log_lik_method: LogLikMethod = "mc",
) -> Tensor:
    """The per-point objective (B,) that non-amortized inference maximizes for a given q."""
    if objective == "iwae":
        return iwae_bound(model, x, c, num_samples=k, proposal=q)
    terms = elbo(
        model,
        x,
        c,
        q=q,
        num_samples=num_samples,
        kl_method=kl_method,
        log_lik_method=log_lik_method,
    )
    return terms.elbo


def fit_local_posterior(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    family: Family = "diagonal",
    steps: int = 500,
    lr: float = 0.05,
    num_samples: int = 1,
    objective: Literal["elbo", "iwae"] = "elbo",
    k: int = 1,
    init: Distribution | None = None,
    kl_method: KLMethod | None = None,
    log_lik_method: LogLikMethod = "mc",
    callback: Callable[[int, Distribution], None] | None = None,
    keep_best: bool | None = None,
    schedule: Literal["constant", "cosine"] = "constant",
) -> tuple[Distribution, Tensor]:
    """Optimize a per-point Gaussian q for every row of ``x`` with the decoder fixed.

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel`; its parameters are frozen
            during the fit and their ``requires_grad`` restored after.
        x: data (B, D). c: condition (B, C) for conditional models.
        family: ``"diagonal"`` or ``"full"`` (latent_dim ≤ 64).
        steps: Adam steps (≥ 1). lr: Adam's learning rate.
        num_samples: S, reparameterized draws per step for the ELBO's E_q[log p(x | z)].
        objective: ``"elbo"`` or ``"iwae"`` (the bound L_k with ``k`` samples).
        init: starting q (batch (B,)), e.g. the encoder's; ``None`` starts at the prior.
        kl_method, log_lik_method: passed to :func:`~torchlvm.inference.elbo`; for PPCA use
            ``log_lik_method="analytic"`` to make the objective exact.
        callback: called as ``callback(t, q)`` with a detached q before step t = 0 … steps−1
            and once more after the last step (t = steps).
        schedule: ``"constant"`` learning rate, or ``"cosine"`` decay from ``lr`` to 0 over
            the steps (Loshchilov & Hutter 2017), which lets a Monte Carlo objective settle
            instead of jittering around its optimum at the scale of ``lr``.
        keep_best: return, for each point, the iterate with the highest objective rather than
            the last. Default: on when the objective is deterministic (analytic ELBO, i.e.
            ``log_lik_method="analytic"`` and ``kl_method="analytic"``), where the values are
            exact and the choice unbiased; off for Monte Carlo objectives, whose maximum over
            noisy values would be biased upwards. It matters at or near the optimum, where
            Adam's normalized steps (about ``lr`` per coordinate, however small the gradient)
            would otherwise move a q that is already optimal, e.g. the exact posterior.

    Returns:
        ``(q, history)``: the optimized q (batch (B,), detached) and the per-point objective
        of every iterate, shape ``(steps + 1, B)`` in nats — row t is the value before step t,
        the last row the value after the last step. With ``keep_best``, q is the iterate of
        ``history.max(0)``.

    Raises:
        ConfigError: for a bad argument, ``family="full"`` with latent_dim > 64, or a call
            under ``torch.inference_mode``.
        DataError: for x without rows, or an ``init`` of another batch shape.
    """
    check_positive_int("steps", steps)
    check_positive_int("num_samples", num_samples)
    check_positive_int("k", k)
    check_choice("objective", objective, ("elbo", "iwae"))
    check_choice("schedule", schedule, ("constant", "cosine"))
    check_positive("lr", lr)
    check_model(model)
    check_family(family, latent_size(model))
    check_rows("x", x, model, c=c, init=init)
    check_bernoulli_values(model, x)  # once: its steps' bounds take a q, which skips the look
    check_autograd("fit_local_posterior", "Adam steps on each point's q")
    x = x.detach()
    local = (
        LocalGaussian.from_prior(model, x.shape[0], c, family=family)
        if init is None
        else LocalGaussian.from_distribution(init, family)
    )

    def value(q: Distribution) -> Tensor:
        return local_objective(
            model,
            x,
            c,
            q,
            objective=objective,
            num_samples=num_samples,
            k=k,
            kl_method=kl_method,
            log_lik_method=log_lik_method,
        )

    if keep_best is None:
        exact_kl = (model_kl_method(model) if kl_method is None else kl_method) == "analytic"
        keep_best = objective == "elbo" and exact_kl and log_lik_method == "analytic"
    with frozen(model):
        return optimize_local(
            local, value, steps=steps, lr=lr, schedule=schedule, callback=callback,
            keep_best=keep_best,
        )  # fmt: skip


def optimize_local(
    local: nn.Module,
    value: Callable[[Distribution], Tensor],
    *,
    steps: int,
    lr: float,
    schedule: Literal["constant", "cosine"] = "constant",
    callback: Callable[[int, Distribution], None] | None = None,
    keep_best: bool = False,
) -> tuple[Distribution, Tensor]:
    """Maximize ``value(local.distribution())`` (B,) summed over the points, by Adam on
    ``local``'s parameters; the loop behind :func:`fit_local_posterior` and
    :func:`~torchlvm.inference.local_flow.fit_local_flow` (the caller freezes the model).

    Returns:
        ``(q, history)`` as in :func:`fit_local_posterior`; ``keep_best`` needs parameters
        whose leading dimension is the point (B, ...), as :class:`LocalGaussian`'s.
    """
    opt = torch.optim.Adam(local.parameters(), lr=lr)
    decay = (
        torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
        if schedule == "cosine"
        else None
    )
    best = _Best(local) if keep_best else None
    history = []
    with torch.enable_grad():
        for t in range(steps):
            q = local.distribution()
            if callback is not None:
                callback(t, _detached(local))
            per_point = value(q)  # (B,)
            history.append(per_point.detach())
            if best is not None:
                best.update(local, history[-1])
            opt.zero_grad(set_to_none=True)
            (-per_point.sum()).backward()
            opt.step()
            if decay is not None:
                decay.step()
        final = _detached(local)
        if callback is not None:
            callback(steps, final)
        with torch.no_grad():
            history.append(value(final))
            if best is not None:
                best.update(local, history[-1])
                best.restore(local)
                final = _detached(local)
    return final, torch.stack(history)


class _Best:
    """The best parameters seen so far for each point, by objective value."""

    def __init__(self, local: nn.Module) -> None:
        self.value: Tensor | None = None
        self.params = [p.detach().clone() for p in local.parameters()]

    @torch.no_grad()
    def update(self, local: nn.Module, value: Tensor) -> None:
        better = (
            torch.ones_like(value, dtype=torch.bool) if self.value is None else (value > self.value)
        )  # (B,)
        self.value = value if self.value is None else torch.where(better, value, self.value)
        for kept, p in zip(self.params, local.parameters(), strict=True):
            mask = better.reshape(-1, *([1] * (p.ndim - 1)))
            kept.copy_(torch.where(mask, p, kept))

    @torch.no_grad()
    def restore(self, local: nn.Module) -> None:
        for kept, p in zip(self.params, local.parameters(), strict=True):
            p.copy_(kept)


def _detached(local: nn.Module) -> Distribution:
    with torch.no_grad():
        return local.distribution()
