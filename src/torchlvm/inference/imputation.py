"""Imputing the missing part of x with a trained model.

PPCA conditions its Gaussian marginal exactly; a CVAE trained on (observed part, mask) conditions
(Sohn et al. 2015) decodes from its conditional prior; a VAE or autoencoder runs pseudo-Gibbs
chains (Rezende et al. 2014, appendix F): encode, decode, clamp the observed entries, repeat.
"""

from __future__ import annotations

from typing import Any

import torch

from torchlvm.distributions.point_mass import PointMass
from torchlvm.models.conditions import masked_condition


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
        ``(B, D)``; only the entries where ``observed`` is False are meaningful.
    """

    missing = ~observed
    if method == "ppca":
        hidden = torch.where(missing, torch.full_like(x, float("nan")), x)
        return torch.from_numpy(model.impute(hidden)).to(x.dtype)
    if method == "cvae":
        c = masked_condition(x, observed)
        draws = [model.sample(len(x), c, generator=generator) for _ in range(samples)]
        return torch.stack(draws).mean(0)  # (S, B, D) → (B, D)
    chains = 1 if method == "ae" else samples
    return pseudo_gibbs(
        model, x, missing, pixel_mean, iterations=iterations, chains=chains, generator=generator
    )


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

    Each iteration draws z ~ q(z | x̃) (the code itself for a point-mass q) and sets the missing
    entries of x̃ to the decoder mean E[x | z]; the observed entries stay clamped.

    Args:
        model: a VAE or autoencoder. x: data ``(B, D)``. missing: bool ``(D,)``.
        start: ``(D,)`` initial values of the missing entries. iterations: T.
        chains: S independent chains. generator: random source for z.

    Returns:
        ``(B, D)``: the mean over chains of the final x̃.
    """
    B, D = x.shape
    current = torch.where(missing, start, x).expand(chains, B, D).reshape(chains * B, D)
    clamp = x.repeat(chains, 1)  # (S·B, D)
    for _ in range(iterations):
        q = model.encode(current)
        z = q.mean
        if hasattr(q, "stddev") and not _is_point_mass(q):
            eps = torch.randn(z.shape, generator=generator, dtype=z.dtype)
            z = z + q.stddev * eps
        current = torch.where(missing, model.decode(z).mean, clamp)
    return current.reshape(chains, B, D).mean(0)  # (S, B, D) → (B, D)


def _is_point_mass(q: Any) -> bool:
    return isinstance(q, PointMass)
