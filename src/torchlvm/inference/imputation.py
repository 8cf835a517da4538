"""Imputing the missing part of x with a trained model.

Where each row has its own missing cells (NaN in a table; :func:`impute_rows`):

- PPCA: the exact conditional mean E[x_m | x_o] = W_m E[z | x_o] + μ_m, and draws from the exact
  conditional p(x_m | x_o) (z ~ p(z | x_o), then x ~ p(x | z)) for multiple imputation.
- VAE: the importance-weighted conditional mean (Mattei & Frellsen 2019, eq. 11)
  E[x_m | x_o] ≈ Σ_i w̄_i E[x_m | z_i], z_i ~ q(z | x̃), w̄ the self-normalized weights
  p(x_o | z_i) p(z_i) / q(z_i | x̃), with q for a row with missing cells the defensive mixture
  of :func:`~torchlvm.inference.miwae.defensive_proposal`; multiple imputation by
  sampling-importance-resampling (z drawn among the z_i with probabilities w̄, then
  x ~ p(x | z); their section 3.3).

Where one fixed set of features is hidden in every row (:func:`impute_missing`): PPCA as above; a
CVAE trained on (observed part, mask) conditions (Sohn et al. 2015) decodes from its conditional
prior; a VAE or autoencoder runs pseudo-Gibbs chains (Rezende et al. 2014, appendix F): encode,
decode, clamp the observed entries, repeat.

Each runs on the model's device (the data are moved there and the result back to where the data
were); noise comes from the ``generator`` passed, on its own device (:mod:`torchlvm._device`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Bernoulli, Distribution, Independent, Normal

from torchlvm import _device
from torchlvm._checks import check_positive_int, check_rows
from torchlvm.distributions.point_mass import PointMass
from torchlvm.errors import ConfigError
from torchlvm.inference.ess import few_effective
from torchlvm.inference.exact import exact_log_px
from torchlvm.inference.miwae import (
    DefensiveMixture,
    ObservedCells,
    defensive_proposal,
    zero_filled,
)
from torchlvm.models.conditions import masked_condition
from torchlvm.models.ppca_sklearn import NO_NAMES
from torchlvm.models.priors import draw


def impute_missing(
    method: str,
    model: Any,
    x: Any,
    observed: Any,
    pixel_mean: Any,
    *,
    samples: int,
    iterations: int,
    generator: Any,
) -> Any:
    """Model values for the missing entries of ``x``, by the method that suits the model.

    Args:
        method: ``"ppca"`` (exact conditional mean E[x_m | x_o]), ``"cvae"`` (mean of decoder
            means at z ~ p(z | c) with c = the observed part and its mask; Sohn et al. 2015),
            ``"vae"`` (pseudo-Gibbs chains) or ``"ae"`` (iterated autoencoding, one chain).
        model: the model. x: data ``(B, D)``. observed: bool ``(D,)``, True where observed.
        pixel_mean: ``(D,)`` start values of the missing entries for the iterative methods.
        samples: draws (cvae) or chains (vae). iterations: steps of the iterative methods.
        generator: random source.

    Returns:
        ``(B, D)`` on ``x``'s device; only the entries where ``observed`` is False are
        meaningful.
    """
    home = x.device
    x, observed, pixel_mean = _device.to_model(model, x, observed, pixel_mean)
    missing = ~observed
    if method == "ppca":
        hidden = torch.where(missing, torch.full_like(x, float("nan")), x)
        return _ppca_filled(model, hidden).to(device=home, dtype=x.dtype)
    if method == "cvae":
        c = masked_condition(x, observed)
        draws = [model.sample(len(x), c, generator=generator) for _ in range(samples)]
        return torch.stack(draws).mean(0).to(home)  # (S, B, D) → (B, D)
    chains = 1 if method == "ae" else samples
    return pseudo_gibbs(
        model, x, missing, pixel_mean, iterations=iterations, chains=chains, generator=generator
    ).to(home)


def pseudo_gibbs(
    model: Any,
    x: Any,
    missing: Any,
    start: Any,
    *,
    iterations: int,
    chains: int,
    generator: Any,
) -> Any:
    """Pseudo-Gibbs imputation (Rezende et al. 2014), averaged over independent chains.

    Each iteration draws z ~ q(z | x̃) (:func:`q_draws`; the code itself for a point-mass q)
    and sets the missing entries of x̃ to the decoder mean E[x | z]; the observed entries stay
    clamped.

    Args:
        model: a VAE or autoencoder. x: data ``(B, D)``. missing: bool ``(D,)``.
        start: ``(D,)`` initial values of the missing entries. iterations: T.
        chains: S independent chains. generator: random source for z.

    Returns:
        ``(B, D)``: the mean over chains of the final x̃, on the model's device.
    """
    x, missing, start = _device.to_model(model, x, missing, start)
    B, D = x.shape
    current = torch.where(missing, start, x).expand(chains, B, D).reshape(chains * B, D)
    clamp = x.repeat(chains, 1)  # (S·B, D)
    for _ in range(iterations):
        q = model.encode(current)
        z = q.mean if _is_point_mass(q) else q_draws(q, 1, generator)[0]
        current = torch.where(missing, model.decode(z).mean, clamp)
    return current.reshape(chains, B, D).mean(0)  # (S, B, D) → (B, D)


def q_draws(q: Distribution, n: int, generator: Any) -> Tensor:
    """``n`` draws z ~ q, shape ``(n, *batch, K)``, with ``generator``: μ + σ·ε for a factorized
    Gaussian, a :class:`~torchlvm.inference.miwae.DefensiveMixture`'s own, and q's own sampler
    for any other (a full covariance, a flow). Drawing μ + σ·ε
    from a full or flow q with its marginal σ, and weighing by q's density, made the weights
    of :func:`impute_rows` no importance weights: their mean missed log p(x) by 0.13 nats for
    a full q and did not converge with more draws (userL #4)."""
    if isinstance(q, DefensiveMixture):
        return q.draw(n, generator)
    base = getattr(q, "base_dist", None)
    if isinstance(q, Independent) and isinstance(base, Normal):
        eps = _device.randn((n, *base.loc.shape), generator=generator, like=base.loc)
        return base.loc + base.scale * eps
    return draw(q, n, generator)


def _is_point_mass(q: Any) -> bool:
    return isinstance(q, PointMass)


def _is_ppca(model: Any) -> bool:
    return exact_log_px(model) and hasattr(model, "_filled")


def _ppca_filled(model: Any, x: Tensor) -> Tensor:
    """PPCA's exact fill of the NaN cells of ``x`` ``(B, D)``, a tensor in the model's dtype:
    its ``impute`` without the container ``set_output`` asks for (a DataFrame under
    ``transform_output="pandas"`` was taken as an array: readH H6) and without scikit-learn's
    warning of X without column names (H5); inf is refused as ``impute`` refuses it."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", NO_NAMES, UserWarning)
        checked = model._check_X(x)
    return model._filled(checked)


@torch.no_grad()
def _vae_weights(model: Any, x: Tensor, num_samples: int, generator: Any) -> tuple[Tensor, Tensor]:
    """Self-normalized log weights ``(S, B)`` and their draws ``(S, B, K)`` from
    :func:`~torchlvm.inference.miwae.defensive_proposal` (q(z | x̃), with a wide share for a row
    with missing cells)."""
    observed = ~torch.isnan(x)
    view = ObservedCells(model, observed)
    x0 = zero_filled(x, observed)
    proposal = defensive_proposal(model, x)
    if _is_point_mass(proposal):
        raise ConfigError(
            f"impute_rows weighs draws of z by the density of q(z | x), and a "
            f"{type(model).__name__} encodes x as a single point, with none; {_IMPUTE_WITH}"
        )
    z = q_draws(proposal, num_samples, generator)  # (S, B, K)
    log_w = view.decode(z).log_prob(x0) + view.prior(batch_shape=x.shape[:-1]).log_prob(z)
    return torch.log_softmax(log_w - proposal.log_prob(z), 0), z


def _draw(p: Any, generator: Any) -> Tensor:
    """One draw from a factorized Gaussian or Bernoulli p(x | z) with ``generator``."""
    base = p.base_dist
    if isinstance(base, Normal):
        eps = _device.randn(base.loc.shape, generator=generator, like=base.loc)
        return base.loc + base.scale * eps
    if isinstance(base, Bernoulli):
        return _device.bernoulli(base.probs, generator=generator)
    return p.sample()


@torch.no_grad()
def _check_draws(draws: object) -> int:
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 0:
        raise ConfigError(f"draws must be an integer >= 0, got {draws!r}")
    return draws


@torch.no_grad()
def impute_rows(
    model: Any,
    x: Tensor,
    *,
    draws: int = 0,
    num_samples: int = 1000,
    generator: torch.Generator | None = None,
    on_ess: Callable[[Tensor], None] | None = None,
) -> Tensor:
    """Fill the NaN cells of ``x`` from a PPCA or VAE model; observed cells are kept as given.

    Args:
        model: a fitted PPCA or a VAE-like model with a factorized Gaussian or Bernoulli p(x | z).
        x: ``(B, D)`` in the model's units; NaN marks a missing cell. A row may miss any cells
            (one with every cell missing is filled from the model's marginal).
        draws: 0 for the conditional mean; N ≥ 1 for N multiple imputations (draws from
            p(x_m | x_o): exact for PPCA, sampling-importance-resampling for a VAE).
        num_samples: importance samples per row for a VAE.
        generator: random source for the draws and importance samples.
        on_ess: for a VAE, called with each row's effective sample size ``(B,)`` of its
            ``num_samples`` weights, 1 / Σ w̄_i² (Kong 1992): a few in thousands say that q(z | x̃)
            is far from p(z | x_o) and the mean is far from converged (:func:`few_draws`).

    Returns:
        ``(B, D)`` for the mean, ``(draws, B, D)`` for draws, on ``x``'s device (computed on
        the model's); NaN cells replaced.

    Raises:
        ConfigError: for a negative ``draws``, ``num_samples`` below 1, or a conditional model.
        DataError: for an ``x`` that is not a tensor, or has no rows.
    """
    check_rows("x", x)
    _check_unconditional(model, "impute_rows", _IMPUTE_WITH)
    (rows,) = _device.to_model(model, x)
    return _impute_rows(model, rows, draws, num_samples, generator, on_ess).to(x.device)


class ImputationWarning(UserWarning):
    """Imputations that are far from the model's conditional mean (:func:`few_draws`)."""


# Measured for the rule of :func:`few_draws` (linear-Gaussian, D = 20, K = 3, 200 rows, 40 epochs,
# as tests/estimators/test_vae_impute.py's warning test; median ESS, and in brackets the RMS
# distance of the imputed means from the model's own E[x_m | x_o], read with k = 50,000), drawing
# from the defensive mixture that impute uses: an elbo-trained VAE with 30% of cells missing gave
# ESS 1.7 of k = 100 (0.44 off) and 5.8 of 1,000 (0.16), imputations further off than PPCA's (RMSE
# against the true cells 0.59 vs 0.37, userL #5); 5.8 of 100 (0.30) and 35 of 1,000 (0.14) with 10%
# missing; 14 of 100 with 3%. One trained with objective='miwae' on 30% holes: 7.5 of 100 (0.16 off)
# and 59 of 1,000 (0.06) with 30% missing, 7.9 (0.11) and 71 (0.03) with 10%. With q(z | x̃) alone
# as the proposal (before the mixture) the ESS read higher for a good q (miwae, 30%: 13 of 100, 114
# of 1,000) while the means sat further off (0.22, 0.16): q alone's ESS overstated how far its means
# had converged. The mixture's weights are at most twice q's, so a row whose q is right keeps about
# half its draws.


def few_draws(ess: Tensor, num_samples: int) -> str | None:
    """What is wrong with imputations whose rows' effective sample sizes ``ess`` ``(N,)`` of
    ``num_samples`` weights have a median that rests on a few draws (the one rule,
    :func:`torchlvm.inference.ess.few_effective`), else None; the caller appends the fixes it
    has (a larger k, or objective='miwae' for an estimator not trained so)."""
    median = float(ess.median())
    if not few_effective(median, num_samples):
        return None
    return (
        f"the imputed means rest on a few importance draws: the effective sample size of each "
        f"row's {num_samples} has median {median:.3g}, so the proposal built on q(z | x̃), the "
        "encoder's q of the row with its missing cells set to 0, is far from p(z | x_o), and "
        "the means are far from the model's conditional mean"
    )


_IMPUTE_WITH = (
    "impute with a PPCA(method='em') or a VAE fitted on the same rows "
    "(VAEEstimator(objective='miwae') trains around missing cells)"
)


def _check_unconditional(model: Any, name: str, fix: str) -> None:
    """Refuse a model of p(x | c) (its config has a condition width) in ``name``, which takes
    no c, naming ``fix``: the model's own refusal would name a c that ``name`` cannot pass."""
    if getattr(getattr(model, "config", None), "condition_dim", None) is not None:
        raise ConfigError(
            f"{name} works from p(x) of an unconditional model (PPCA, VAE); a "
            f"{type(model).__name__} models p(x | c), and {name} takes no c; {fix}"
        )


def _impute_rows(
    model: Any,
    x: Tensor,
    draws: int,
    num_samples: int,
    generator: torch.Generator | None,
    on_ess: Callable[[Tensor], None] | None = None,
) -> Tensor:
    """:func:`impute_rows` with ``x`` on the model's device."""
    missing = torch.isnan(x)
    if _is_ppca(model):
        if _check_draws(draws) == 0:
            return _ppca_filled(model, x).to(x)
        return model._drawn(x, draws, generator)  # (its exact p(x_m | x_o))
    check_positive_int("num_samples", num_samples)
    log_w, z = _vae_weights(model, x, num_samples, generator)  # (S, B), (S, B, K)
    if on_ess is not None:
        on_ess(1 / log_w.mul(2).exp().sum(0))  # (B,): 1 / Σ w̄², w̄ self-normalized
    if _check_draws(draws) == 0:
        mean = (log_w.exp()[..., None] * model.decode(z).mean).sum(0)  # (S, B, D) → (B, D)
        return torch.where(missing, mean.to(x.dtype), x)
    pick = _device.multinomial(log_w.T.exp(), draws, generator=generator)  # (B, N)
    chosen = z.gather(0, pick.T[:, :, None].expand(-1, -1, z.shape[-1]))  # (N, B, K)
    return torch.where(missing, _draw(model.decode(chosen), generator).to(x.dtype), x)


@torch.no_grad()
def draw_rows(model: Any, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``(n, D)`` draws x ~ p(x): z ~ p(z), then x ~ p(x | z) (not the decoder mean), with
    ``generator``, on the model's device; for PPCA or a VAE with a factorized Gaussian or
    Bernoulli p(x | z). A model with ``sample_latent`` (a VAE) draws z from its own prior, a
    learned one included."""
    n = check_positive_int("n", n)
    _check_unconditional(
        model,
        "draw_rows",
        "draw from it with model.sample(n, c), c = model.condition_from_labels(y)",
    )
    sample_latent = getattr(model, "sample_latent", None)
    if sample_latent is not None:
        return _draw(model.decode(sample_latent(n, generator=generator)), generator)
    prior = model.prior(batch_shape=(n,))
    loc = prior.mean
    z = loc + prior.stddev * _device.randn(loc.shape, generator=generator, like=loc)
    return _draw(model.decode(z), generator)
