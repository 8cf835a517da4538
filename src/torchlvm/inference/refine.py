"""Semi-amortized inference: start from the encoder's q(z | x) and refine it by T gradient steps.

Kim, Wiseman, Miller, Sontag & Rush 2018, "Semi-Amortized Variational Autoencoders" (ICML),
Algorithm 1: the encoder gives λ_0 = enc(x); then λ_{t+1} = λ_t + α ∇_λ ELBO(x; λ_t) for
t < T, and q_{λ_T} is used instead of q_{λ_0}. Refinement helps the ELBO in expectation, up to
the best q of the family (the amortization gap of Cremer et al. 2018 is what it closes); its
Monte Carlo steps can move a q that is already the best away from it, so a model whose q is
its exact posterior (PPCA) takes them only with ``log_lik_method="analytic"``.

Two uses:

* **Evaluation** (``differentiable=False``, default): the decoder is fixed and λ is optimized
  with Adam (step size ``lr``) by :func:`~torchlvm.inference.local.fit_local_posterior`; the
  result is detached. This is what ``torchlvm evaluate --refine T`` calls.
* **Training** (``differentiable=True``): plain gradient ascent as in Kim et al.'s Algorithm 1,
  with ``create_graph=True``, so the returned q is a differentiable function of the encoder's
  output *and* of the decoder: a loss on it back-propagates through all T steps (second-order
  terms included) into both. Kim et al.'s gradient clipping and their choice of stopping the
  decoder's gradient through λ_T are left to the caller's training loop; no Lightning objective
  is registered for it yet.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.distributions import Distribution

from torchlvm._checks import (
    check_autograd,
    check_model,
    check_non_negative_int,
    check_positive,
    check_rows,
)
from torchlvm.distributions.kl import KLMethod
from torchlvm.errors import ConfigError
from torchlvm.inference.local import (
    fit_local_posterior,
    gaussian,
    gaussian_parts,
    unconstrain_scale,
)
from torchlvm.inference.objectives import (
    LogLikMethod,
    check_bernoulli_values,
    elbo,
    is_evaluation,
)
from torchlvm.models.posteriors import FlowQ
from torchlvm.protocol import LatentVariableModel


def encoder_posterior(
    model: LatentVariableModel, x: Tensor, c: Tensor | None = None
) -> Distribution:
    """The encoder's q(z | x[, c]), checked to be a Gaussian with a density.

    Raises:
        ConfigError: if the model has no ``encode``, or its ``encode`` returns something other
            than ``Independent(Normal, 1)`` or ``MultivariateNormal`` (an autoencoder's point
            mass has no density, hence no ELBO to refine).
    """
    check_model(model)
    name = type(model).__name__
    encode = getattr(model, "encode", None)
    if not callable(encode):
        raise ConfigError(
            f"{name} has no encoder (no encode method), so there is no q(z|x) to refine; "
            "use fit_local_posterior for non-amortized inference"
        )
    q = encode(x, c)
    try:
        gaussian_parts(_base(q))
    except ConfigError:
        raise ConfigError(
            f"the {name} encodes x as a single point ({type(q).__name__}), not a posterior "
            "q(z|x) with a density, so it has no ELBO to refine and no inference gaps; train "
            "a VAE for them (torchlvm train vae)"
        ) from None
    return q


def _base(q: Distribution) -> Distribution:
    """A flow q's base Gaussian, or q itself."""
    return q.base if isinstance(q, FlowQ) else q


def refine(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    steps: int,
    lr: float = 0.01,
    num_samples: int = 1,
    kl_method: KLMethod | None = None,
    log_lik_method: LogLikMethod = "mc",
    differentiable: bool = False,
    schedule: Literal["constant", "cosine"] = "cosine",
) -> Distribution:
    """The encoder's q refined by ``steps`` gradient steps on each point's ELBO.

    Args:
        model: a model whose ``encode`` returns a Gaussian q(z | x) (VAE, CVAE, PPCA; for
            PPCA, whose q is the exact posterior, steps > 0 need ``log_lik_method="analytic"``,
            whose exact gradients leave it where it is).
        x: data (B, D). c: condition (B, C) for conditional models.
        steps: T ≥ 0; T = 0 returns the encoder's q unchanged.
        lr: step size (Adam's learning rate, or α of plain gradient ascent when
            ``differentiable``).
        num_samples: reparameterized draws per step for E_q[log p(x | z)].
        kl_method, log_lik_method: passed to :func:`~torchlvm.inference.elbo`.
        differentiable: keep the graph through the T steps (training use, Kim et al. 2018);
            otherwise the decoder is frozen and the result detached.
        schedule: Adam's learning rate over the T steps (not differentiable mode):
            ``"cosine"`` decays it from ``lr`` to 0, so the last steps do not jitter around the
            optimum with Monte Carlo gradient noise; ``"constant"`` keeps it.

    Returns:
        q of the encoder's family, batch shape (B,), event (K,): ``Independent(Normal)``,
        ``MultivariateNormal``, or a flow q whose base Gaussian and context h (everything the
        encoder emits for a point) were refined under the encoder's coupling networks, which
        stay fixed; it is a flow of the model's family, so its ELBO is a bound on log p(x).

    Raises:
        ConfigError: for steps < 0, lr ≤ 0, a model without a Gaussian encoder, steps > 0
            under ``torch.inference_mode``, or Monte Carlo steps on an exact posterior.
        DataError: for x without rows.
    """
    steps = check_non_negative_int("refinement steps", steps)
    check_positive("lr", lr)
    check_model(model)
    check_rows("x", x, model, c=c)
    if not differentiable or is_evaluation(model):  # an evaluation's q, not a training step's
        check_bernoulli_values(model, x)
    if steps == 0:
        return encoder_posterior(model, x, c)
    check_autograd("refine", "gradient steps on each point's q")
    from torchlvm.inference.exact import exact_log_px

    if log_lik_method == "mc" and exact_log_px(model):  # userL #2, as evaluate (userI #19)
        raise ConfigError(
            f"refine(steps={steps}) takes Monte Carlo steps on the encoder's q, and this "
            f"{type(model).__name__}'s q is its exact posterior p(z | x), which they can only "
            "move away from (a digits PPCA's ELBO fell 0.19 nats below log p(x) at 10 steps); "
            "pass steps=0, or log_lik_method='analytic', whose exact gradients leave it there"
        )
    if differentiable:
        q0 = encoder_posterior(model, x, c)
        return _unrolled(model, x, c, q0, steps, lr, num_samples, kl_method, log_lik_method)
    with torch.no_grad():  # the start is data: no graph into the encoder
        q0 = encoder_posterior(model, x, c)
    q, _ = fit_local_posterior(
        model,
        x,
        c,
        family="diagonal" if gaussian_parts(_base(q0))[2] else "full",
        steps=steps,
        lr=lr,
        num_samples=num_samples,
        init=q0,
        kl_method=kl_method,
        log_lik_method=log_lik_method,
        schedule=schedule,
    )
    return q


def _unrolled(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    q0: Distribution,
    steps: int,
    lr: float,
    num_samples: int,
    kl_method: KLMethod | None,
    log_lik_method: LogLikMethod,
) -> Distribution:
    """Kim et al. 2018, Algorithm 1: λ_{t+1} = λ_t + lr ∇_λ ELBO(λ_t), graph kept. λ is the
    Gaussian's mean and unconstrained scale, and a flow q's context h as well (a flow q without
    a context keeps its transform as it is)."""
    loc, scale, diagonal = gaussian_parts(_base(q0))
    params = [loc, unconstrain_scale(scale, diagonal=diagonal)]
    flow = q0 if isinstance(q0, FlowQ) else None
    if flow is not None and flow.context is not None:
        params.append(flow.context)

    def build(params: list[Tensor]) -> Distribution:
        q = gaussian(*params[:2], diagonal=diagonal)
        if flow is None:
            return q
        return flow.reconditioned(params[2], q) if len(params) > 2 else FlowQ(flow.transform, q)

    with torch.enable_grad():
        params = [p if p.requires_grad else p.detach().requires_grad_() for p in params]
        for _ in range(steps):
            q = build(params)
            value = elbo(
                model,
                x,
                c,
                q=q,
                num_samples=num_samples,
                kl_method=kl_method,
                log_lik_method=log_lik_method,
            ).elbo.sum()  # a sum: each point's λ gets its own gradient
            grads = torch.autograd.grad(value, params, create_graph=True)
            params = [p + lr * g for p, g in zip(params, grads, strict=True)]
    return build(params)
