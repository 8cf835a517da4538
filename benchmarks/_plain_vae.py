"""The hand-written VAE of the benchmarks' plain loops, written once.

An MLP VAE as people write it without a library: ``nn.Linear`` layers with ReLU, a diagonal
Gaussian q (σ = softplus + 1e-4), N(0, I) prior, Bernoulli likelihood on logits
(``binary_cross_entropy_with_logits``), closed-form KL, one z sample, dynamic binarization as
``rand_like(x) < x`` inside the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def plain_vae(dim: int, hidden: int, latent: int, device: Any = "cpu") -> tuple[list, Callable]:
    """``(parameters, loss)``: ``loss(x)`` is the batch-mean negative ELBO of intensities ``x``
    ``(B, dim)``, binarized afresh on every call."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    enc = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
    dec = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, dim))
    enc, dec = enc.to(device), dec.to(device)

    def loss(x: torch.Tensor) -> torch.Tensor:
        x = (torch.rand_like(x) < x).to(x.dtype)
        loc, pre = enc(x).chunk(2, dim=-1)
        scale = F.softplus(pre) + 1e-4
        z = loc + scale * torch.randn_like(scale)
        log_lik = -F.binary_cross_entropy_with_logits(dec(z), x, reduction="none").sum(-1)
        kl = 0.5 * (loc**2 + scale**2 - 1).sum(-1) - scale.log().sum(-1)
        return -(log_lik - kl).mean()

    return [*enc.parameters(), *dec.parameters()], loss
