"""Training losses, one per objective, composed from :mod:`torchlvm.inference`, and their
registrations (:func:`~torchlvm.training.objectives.register_objective`).

Each loss takes ``(model, x, c)`` and returns per-example named terms of shape ``(B,)``: ``"loss"``
(what is minimized) plus diagnostics. It never calls ``backward``, logs or reduces; the
LightningModule takes the batch mean (STYLE.md habits 3 and 4).

- ``"elbo"``: −(E_q[log p(x|z)] − w·KL(q‖p)), with w the β weight after KL warm-up
  (Bowman et al. 2016; Sønderby et al. 2016) and optional free bits (Kingma et al. 2016,
  "Improved Variational Inference with Inverse Autoregressive Flow", appendix C.8).
- ``"iwae"``: −L_k, the importance-weighted bound (Burda et al. 2016, eq. 8).
- ``"reconstruction"``: the autoencoder's own ``reconstruction_loss``.

Validation reports the true bound whatever the training objective: ``elbo`` (β = 1, one z
sample, analytic KL), ``log_lik``, ``kl``, and for IWAE with k > 1 also ``iwae_<k>`` (L_k); the
autoencoder reports ``reconstruction``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal, kl_divergence

from torchlvm.distributions import kl
from torchlvm.errors import ConfigError
from torchlvm.inference import elbo, iwae_bound, log_importance_weights
from torchlvm.inference.objectives import model_kl_method
from torchlvm.training.objectives import Monitor, Terms, get_objective, register_objective

if TYPE_CHECKING:  # config.py imports this module to fill the registry
    from torchlvm.training.config import TrainConfig

_POSTERIOR_MODELS = ("vae", "cvae")  # models with an encoder q(z|x[,c]) and a prior


class no_argument_validation:  # noqa: N801 (used as a function: `with no_argument_validation():`)
    """Build distributions without argument validation inside the block (the training step).

    Validation checks every parameter and value on the host: on a GPU a synchronization per
    distribution per step (and a host read that a CUDA graph cannot capture), on a CPU a few
    small kernels more. A non-finite parameter still cannot slip through training: it makes the
    loss non-finite, which the non-finite guard (:mod:`torchlvm.training.guard`) flags. A class
    rather than a ``@contextmanager`` generator: ~2 µs less per training step.
    """

    def __enter__(self) -> None:
        self._before = Distribution._validate_args
        Distribution.set_default_validate_args(False)

    def __exit__(self, *exc: object) -> None:
        Distribution.set_default_validate_args(self._before)


def kl_weight(config: TrainConfig, epochs_done: float) -> float:
    """The KL weight after ``epochs_done`` (fractional) epochs: β·min(1, epochs_done / warm-up)."""
    if config.warmup_epochs == 0:
        return config.beta
    return config.beta * min(1.0, max(0.0, epochs_done) / config.warmup_epochs)


def kl_per_dimension(q: Distribution, p: Distribution) -> Tensor:
    """KL(q_j ‖ p_j) for each latent dimension j of two diagonal Gaussians.

    Args:
        q, p: ``Independent(Normal(loc, scale), 1)`` over ``(K,)``, batch shapes broadcastable.

    Returns:
        Per-dimension KL, shape ``(*batch, K)``; its sum over K is KL(q ‖ p).

    Raises:
        ConfigError: for any other pair of distributions (free bits need a per-dimension KL).
    """
    for d in (q, p):
        if not (
            isinstance(d, Independent)
            and isinstance(d.base_dist, Normal)
            and d.reinterpreted_batch_ndims == 1
        ):
            raise ConfigError(
                "free bits need diagonal Gaussian q(z|x) and p(z) to split the KL per latent "
                f"dimension; got ({type(q).__name__} ‖ {type(p).__name__}) — set free_bits to 0"
            )
    return kl_divergence(q.base_dist, p.base_dist)  # (*batch, K)


def free_bits_kl(kl_dims: Tensor, free_bits: float) -> Tensor:
    """Per-example KL with free bits λ, whose batch mean is Σ_j max(λ, mean_b KL_bj).

    A dimension whose batch-mean KL is below λ contributes the constant λ (no gradient, so the
    encoder is not pushed to close it); the others contribute their per-example KL unchanged.

    Args:
        kl_dims: per-example, per-dimension KL, shape ``(B, K)``.
        free_bits: λ ≥ 0, nats per dimension.

    Returns:
        Shape ``(B,)``.
    """
    held = kl_dims.mean(0) < free_bits  # (K,)
    return torch.where(held, torch.full_like(kl_dims, free_bits), kl_dims).sum(-1)


def bound_terms(model: Any, x: Tensor, c: Tensor | None, config: TrainConfig) -> Terms:
    """Validation terms of a model with a posterior: the ELBO (β = 1, one z sample, the KL as
    the model declares it: analytic, or Monte Carlo for a flow q or a learned prior) and its
    parts, each ``(B,)``."""
    del config
    terms = elbo(model, x, c)
    return {"elbo": terms.elbo, "log_lik": terms.log_lik, "kl": terms.kl}


def iwae_terms(model: Any, x: Tensor, c: Tensor | None, config: TrainConfig) -> Terms:
    """:func:`bound_terms` and, for k > 1, ``iwae_<k>``: L_k with ``config.k`` samples."""
    terms = bound_terms(model, x, c, config)
    if config.k > 1:
        terms[f"iwae_{config.k}"] = iwae_bound(model, x, c, num_samples=config.k)
    return terms


def reconstruction_terms(model: Any, x: Tensor, c: Tensor | None, config: TrainConfig) -> Terms:
    """The autoencoder's reconstruction loss, ``(B,)``."""
    del c, config
    return {"reconstruction": model.reconstruction_loss(x)}


def _iwae_monitor(config: TrainConfig) -> Monitor:
    return (f"val/iwae_{config.k}", "max") if config.k > 1 else ("val/elbo", "max")


@register_objective(
    "elbo",
    models=_POSTERIOR_MODELS,
    monitor=("val/elbo", "max"),
    validation=bound_terms,
    kl_term=True,
)
def elbo_loss(
    model: Any, x: Tensor, c: Tensor | None, config: TrainConfig, *, kl_weight: float | Tensor
) -> Terms:
    """−(E_q[log p(x|z)] − w·KL), with free bits when ``config.free_bits > 0``.

    Returns:
        ``loss``, ``elbo`` (the true bound, β = 1), ``log_lik``, ``kl``; each ``(B,)``.
    """
    q = model.encode(x, c)
    terms = elbo(model, x, c, q=q)
    # each loss is w·KL − E[log p(x|z)] = −(E[log p(x|z)] − w·KL) to the bit (a − b = −(b − a)
    # exactly), with no negation to take or to send back through
    if config.free_bits > 0:
        p = model.prior(c, batch_shape=x.shape[:-1])
        penalty = free_bits_kl(kl_per_dimension(q, p), config.free_bits)  # (B,)
        loss = kl_weight * penalty - terms.log_lik
    elif isinstance(kl_weight, float) and kl_weight == 1.0:  # −ELBO, one op fewer than w·KL
        loss = terms.kl - terms.log_lik
    else:  # w may be a 0-dim tensor (the fast path's graph takes it as an input)
        loss = kl_weight * terms.kl - terms.log_lik
    return {"loss": loss, "elbo": terms.elbo, "log_lik": terms.log_lik, "kl": terms.kl}


@register_objective(
    "iwae",
    models=_POSTERIOR_MODELS,
    monitor=_iwae_monitor,
    validation=iwae_terms,
    importance_samples=True,
)
def iwae_loss(
    model: Any, x: Tensor, c: Tensor | None, config: TrainConfig, *, kl_weight: float
) -> Terms:
    """−L_k with k = ``config.k``; the ELBO terms are read off the same k draws.

    The logged ``elbo`` is the mean of the k log weights (an unbiased ELBO estimate with a
    Monte Carlo KL), ``kl`` KL(q ‖ p(z)) (analytic, or a one-draw Monte Carlo estimate where the
    model declares ``kl_method="mc"``) and ``log_lik`` = elbo + kl; no extra
    decoder pass is spent on them.

    Returns:
        ``loss``, ``iwae`` (L_k), ``elbo``, ``log_lik``, ``kl``; each ``(B,)``.
    """
    del kl_weight  # β and warm-up shape the ELBO's KL term; L_k has none
    q = model.encode(x, c)
    log_w = log_importance_weights(model, x, c, num_samples=config.k, proposal=q)  # (k, B)
    bound = torch.logsumexp(log_w, 0) - math.log(config.k)
    with torch.no_grad():
        elbo_estimate = log_w.mean(0)
        prior = model.prior(c, batch_shape=x.shape[:-1])
        kl_term = kl(q, prior, method=model_kl_method(model))
    return {
        "loss": -bound,
        "iwae": bound,
        "elbo": elbo_estimate,
        "log_lik": elbo_estimate + kl_term,
        "kl": kl_term,
    }


@register_objective(
    "reconstruction",
    models=("ae",),
    monitor=("val/reconstruction", "min"),
    validation=reconstruction_terms,
)
def reconstruction_loss(
    model: Any, x: Tensor, c: Tensor | None, config: TrainConfig, *, kl_weight: float
) -> Terms:
    """The autoencoder's reconstruction loss (``model.reconstruction_loss(x)``).

    Returns:
        ``loss`` and ``reconstruction``, each ``(B,)``.
    """
    del c, config, kl_weight
    rec = model.reconstruction_loss(x)
    return {"loss": rec, "reconstruction": rec}


def training_loss(
    model: Any,
    x: Tensor,
    c: Tensor | None,
    config: TrainConfig,
    *,
    kl_weight: float = 1.0,
) -> Terms:
    """The per-example terms of ``config.objective`` on one batch.

    Args:
        model: a :class:`~torchlvm.protocol.LatentVariableModel` (or an autoencoder).
        x: data, shape ``(B, D)``.
        c: condition, shape ``(B, C)``, or None.
        config: the run's settings (objective, k, free bits).
        kl_weight: the current KL weight (see :func:`kl_weight`).

    Returns:
        Named per-example terms, each ``(B,)``; ``"loss"`` is what to minimize.
    """
    return get_objective(config.objective).loss(model, x, c, config, kl_weight=kl_weight)
