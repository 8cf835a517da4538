"""The evidence lower bound and the importance-weighted bound.

ELBO (Kingma & Welling 2014, eq. 3):
    ELBO(q) = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)) ≤ log p(x),
with equality iff q is the exact posterior, since log p(x) = ELBO(q) + KL(q ‖ p(z | x)).

IWAE bound (Burda, Grosse & Salakhutdinov 2016, eq. 8):
    L_k = E[log (1/k) Σ_i p(x, z_i) / q(z_i | x)],  z_i ~ q,
with L_1 = ELBO, L_k ≤ L_{k+1} in expectation, and L_k → log p(x) as k → ∞.

Shapes: x ``(B, D)``, samples ``(S, B, K)``, results ``(B,)``.
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import torch
from torch import Tensor
from torch.distributions import Distribution

from torchlvm._checks import (
    check_choice,
    check_model,
    check_non_negative,
    check_positive_int,
    check_rows,
)
from torchlvm.distributions.kl import KLMethod, NoClosedFormError, kl
from torchlvm.distributions.point_mass import PointMass, UndefinedDensityError, no_density
from torchlvm.errors import ConfigError, DataError
from torchlvm.protocol import LatentVariableModel

LogLikMethod = Literal["mc", "analytic"]


class ELBOTerms(NamedTuple):
    """Per-example terms of the ELBO, each of shape ``(B,)``, in nats.

    Attributes:
        log_lik: E_q[log p(x | z)], the expected reconstruction log-likelihood (distortion = −it).
        kl: KL(q(z | x) ‖ p(z)), the rate.
        elbo: log_lik − kl, the bound on log p(x) (β does not enter it).
        objective: log_lik − β·kl, what a β-VAE maximizes; equals ``elbo`` when β = 1.
    """

    log_lik: Tensor
    kl: Tensor
    elbo: Tensor
    objective: Tensor


def elbo(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int = 1,
    beta: float = 1.0,
    kl_method: KLMethod | None = None,
    log_lik_method: LogLikMethod = "mc",
    q: Distribution | None = None,
) -> ELBOTerms:
    """The ELBO of each example, with its reconstruction and KL terms.

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel`.
        x: data, shape ``(B, D)``.
        c: condition, shape ``(B, C)``, for conditional models.
        num_samples: S, reparameterized draws from q for E_q[log p(x | z)].
        beta: weight of the KL term in ``objective`` (Higgins et al. 2017).
        kl_method: ``"analytic"`` (``kl_divergence``) or ``"mc"`` (estimated from the same S
            draws). An unregistered pair with ``"analytic"`` raises, it never falls back.
            ``None`` (default) takes the model's declared choice, :func:`model_kl_method`.
        log_lik_method: ``"mc"`` (average over the S draws) or ``"analytic"``, which calls the
            model's ``expected_log_likelihood(x, q, c)`` — exact for linear-Gaussian models such as
            PPCA, so that the ELBO and the identity log p(x) = ELBO + KL(q ‖ p(z | x)) hold to
            machine precision. A model without that method raises, it never falls back.
        q: an inference distribution to use instead of ``model.encode(x, c)`` (non-amortized
            and semi-amortized inference pass their own), batch shape ``(B,)``. With a q given,
            x's values are not looked at (those call this at every step, after looking once);
            :func:`check_bernoulli_values` looks.

    Returns:
        :class:`ELBOTerms`, each ``(B,)``.
    """
    check_positive_int("num_samples", num_samples)
    check_non_negative("beta", beta)
    check_choice("log_lik_method", log_lik_method, ("mc", "analytic"))
    check_model(model)
    check_rows("x", x, model, c=c, q=q)  # (in Python: no tensor op on the training step)
    if q is None and is_evaluation(model):
        check_bernoulli_values(model, x)
    q = model.encode(x, c) if q is None else q
    method = model_kl_method(model) if kl_method is None else kl_method
    z = None
    if log_lik_method == "analytic":
        log_lik = _expected_log_likelihood(model, x, q, c)
    elif num_samples == 1:  # the same draw without a sample dimension: nothing to reshape
        draw = q.rsample()  # (B, K)
        log_lik = model.decode(draw, c).log_prob(x)  # (B,)
        z = draw.unsqueeze(0) if method == "mc" else None  # (1, B, K)
    else:
        z = q.rsample((num_samples,))  # (S, B, K)
        log_lik = model.decode(z, c).log_prob(x).mean(0)  # (B,)
    if isinstance(q, PointMass):  # before model.prior, which an autoencoder may not have yet
        raise UndefinedDensityError(no_density("KL(q ‖ p)"))
    prior = model.prior(c, batch_shape=x.shape[:-1])
    try:
        kl_term = kl(q, prior, method=method, num_samples=num_samples, z=z)
    except NoClosedFormError as error:  # kl()'s words name its own parameter, method=
        declared = model_kl_method(model)
        leave = f" (or leave kl_method out: this model declares {declared!r})"
        raise ConfigError(
            f"no analytic KL is registered for {error.pair}; pass kl_method='mc' for a Monte "
            f"Carlo estimate{leave if declared == 'mc' else ''}"
        ) from None
    bound = log_lik - kl_term
    # β = 1 (the default, and every training step without β or warm-up): the same tensor, one
    # kernel fewer per term on the training hot path
    objective = bound if beta == 1 else log_lik - beta * kl_term
    return ELBOTerms(log_lik, kl_term, bound, objective)


def model_kl_method(model: LatentVariableModel) -> KLMethod:
    """How ``model`` declares its ELBO's KL(q ‖ p(z)) is computed: its ``kl_method`` attribute
    (a VAE with a flow q or a learned prior says ``"mc"``, :mod:`torchlvm.models.posteriors`),
    ``"analytic"`` for a model that declares none."""
    return getattr(model, "kl_method", "analytic")


def _expected_log_likelihood(
    model: LatentVariableModel, x: Tensor, q: Distribution, c: Tensor | None
) -> Tensor:
    method = getattr(model, "expected_log_likelihood", None)
    if method is None:
        raise ConfigError(
            f"{type(model).__name__} has no closed-form E_q[log p(x | z)]; use log_lik_method='mc'"
        )
    return method(x, q, c)


def log_importance_weights(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int,
    proposal: Distribution | None = None,
    reparameterize: bool = True,
) -> Tensor:
    """log w_i = log p(x | z_i) + log p(z_i) − log q(z_i), z_i ~ q, for S = num_samples draws.

    Args:
        proposal: q, batch shape ``(B,)``; defaults to ``model.encode(x, c)``.
        reparameterize: draw with ``rsample`` (gradients flow to q) or ``sample``.

    Returns:
        Log weights, shape ``(S, B)``.

    Raises:
        DataError: for x without rows (torch's ``Independent`` cannot reshape an empty batch).
    """
    check_model(model)
    # a shape and device check in Python: no tensor op on the IWAE training step
    check_rows("x", x, model, c=c, proposal=proposal)
    q = model.encode(x, c) if proposal is None else proposal
    return log_weights_unchecked(model, x, c, q, num_samples, reparameterize=reparameterize)


def log_weights_unchecked(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    q: Distribution,
    num_samples: int,
    *,
    reparameterize: bool = True,
) -> Tensor:
    """:func:`log_importance_weights` without its checks, for x and c that the caller checked
    (:func:`check_rows`) and a q it built: the body of a loop over chunks of samples, which
    checks once before the loop (:func:`iwae_bound`,
    :func:`~torchlvm.inference.log_marginal_is`).

    Returns:
        Log weights, shape ``(S, B)``.
    """
    z = q.rsample((num_samples,)) if reparameterize else q.sample((num_samples,))  # (S, B, K)
    if isinstance(q, PointMass):  # before model.prior, which an autoencoder may not have yet
        raise UndefinedDensityError(no_density("log q(z | x)"))
    prior = model.prior(c, batch_shape=x.shape[:-1])
    return model.decode(z, c).log_prob(x) + prior.log_prob(z) - q.log_prob(z)


def is_evaluation(model: LatentVariableModel) -> bool:
    """Whether a bound is evaluated, not computed on a training step: the model is in eval mode,
    or gradients are off, under which no training step runs. A VAE left in train mode (no
    dropout or batch norm, so many loops never call ``.eval()``) and scored under
    ``torch.no_grad()`` on digits' grey levels gave L_1000 = −26.22 where a binarized draw gives
    −25.53, while :func:`~torchlvm.inference.log_marginal_is` refused the same x (userY #5)."""
    return not torch.is_grad_enabled() or not getattr(model, "training", True)


def check_bernoulli_values(model: LatentVariableModel, x: Tensor) -> None:
    """Refuse x with values other than 0 and 1 (NaN, a missing value, passes) for a model whose
    p(x | z) is Bernoulli: its head skips torch's value check for speed, so grey levels were
    scored as a cross-entropy and reported as log p(x) (digits' grey test images: "log p(x)"
    −19.70, where a binarized draw of the same image gives −15.85). Called where a model is
    evaluated (in eval mode or without gradients, or by the estimators of log p(x)), never on the
    training step, whose data module checked the data once: the look costs one pass over x and a
    host sync.

    Raises:
        DataError: naming a value found and the two ways to binarize.
    """
    config = getattr(model, "config", None)
    if getattr(config, "likelihood", None) != "bernoulli":
        return
    bad = (x != 0) & (x != 1) & ~x.isnan()
    if bool(bad.any()):
        value = x[bad][0].item()
        raise DataError(
            f"x holds values other than 0 and 1 (e.g. {value:.6g}), to which this model's "
            "Bernoulli p(x | z) gives no probability; binarize it first: torch.bernoulli(x) "
            "(a random draw, the dynamic protocol) or (x > 0.5).float() (the threshold)"
        )


def check_data(
    model: LatentVariableModel, x: Tensor, c: Tensor | None = None, **built: Any
) -> None:
    """Check ``x`` (and ``c``) as ``model.encode`` checks them (a tensor of the model's width,
    floating point, finite), for an estimator that never encodes x: AIS, and importance
    sampling from the prior or from a proposal of the caller's. (Not the bounds that take a q,
    ``elbo(q=...)`` and ``iwae_bound(proposal=...)``: per-point inference calls them at every
    step, after checking x once.) There a NumPy array reached an
    ``AttributeError``, another width torch's size mismatch inside ``log_prob``, and integer
    data were scored as they were. Costs one encoder pass over x, without gradients. A
    distribution of the caller's named by keyword (``proposal=``) is checked to be on the
    model's device with x (:func:`~torchlvm._checks.check_rows`: one look-up of the device).

    Raises:
        DataError: for x that is not a tensor, has no rows, or that the model's encoder refuses.
    """
    check_model(model)
    check_rows("x", x, model, c=c, **built)
    check_bernoulli_values(model, x)
    with torch.no_grad():
        model.encode(x, c)


def iwae_bound(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int,
    chunk: int | None = None,
    proposal: Distribution | None = None,
) -> Tensor:
    """The importance-weighted bound L_k with k = ``num_samples`` (Burda et al. 2016, eq. 8).

    Differentiable (reparameterized draws), so it is also the IWAE training objective.

    Args:
        model, x, c: as in :func:`elbo`.
        num_samples: k ≥ 1; k = 1 gives a single-sample ELBO estimate.
        chunk: draw at most this many samples at a time to bound the decoder's memory;
            ``None`` draws all k at once.
        proposal: q to draw from; defaults to ``model.encode(x, c)``.

    Returns:
        one random draw of L_k's estimator per example, log (1/k) Σ_i w_i, shape ``(B,)``, in
        nats. The bound is its expectation, E[L_k] ≤ log p(x): a single draw may lie above
        log p(x) (at k = 100 on a digits PPCA with a q near the posterior, 44% of draws did;
        userQ #3); average draws, or use :func:`~torchlvm.inference.log_marginal_is` for the
        estimate with its standard error.

    Raises:
        DataError: for x without rows, or x or c on another device than the model.
    """
    check_positive_int("num_samples", num_samples)
    step = num_samples if chunk is None else check_positive_int("chunk", chunk)
    check_model(model)
    check_rows("x", x, model, c=c, proposal=proposal)  # before the encoder, as below
    if proposal is None and is_evaluation(model):  # as in elbo
        check_bernoulli_values(model, x)
    q = model.encode(x, c) if proposal is None else proposal
    parts = [  # checked once above, not per chunk
        log_weights_unchecked(model, x, c, q, min(step, num_samples - start))
        for start in range(0, num_samples, step)
    ]
    log_w = torch.cat(parts, 0)  # (S, B)
    return torch.logsumexp(log_w, 0) - math.log(num_samples)
