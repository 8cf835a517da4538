"""An imputation model's likelihood of the part it fills (condition ``mask:KIND``):

    log p(x_m | x_o) = log ∫ p(z | c) p(x_m | z, c) dz,   c = x_o (the CVAE's condition),

estimated by importance sampling with q(z | x, c) as proposal, where p(x_m | z, c) is the
decoder's likelihood restricted to the missing dimensions (the decoder factorizes over
dimensions). A conditional likelihood estimate, not a negative ELBO. Moved out of
:mod:`torchlvm.evaluation.likelihood`, which owns the likelihood of whole examples (review13 #15).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution

from torchlvm._checks import check_positive_int
from torchlvm.evaluation._batching import map_batches
from torchlvm.evaluation._records import bits_per_dim, metric
from torchlvm.evaluation.likelihood import Posterior
from torchlvm.inference import log_marginal_is
from torchlvm.protocol import LatentVariableModel


class MissingPart:
    """A view of a conditional model whose decoder scores only the missing dimensions.

    ``decode(z, c).log_prob(x)`` returns Σ_{d missing} log p(x_d | z, c), so that
    :func:`~torchlvm.inference.log_marginal_is` estimates log p(x_m | c) with ``x`` the full
    vector (its observed entries are ignored). The decoder must factorize over dimensions
    (an ``Independent`` distribution), which every torchlvm likelihood head does.

    Args:
        model: the conditional model. missing: bool ``(D,)``, True where x is missing.
    """

    def __init__(self, model: LatentVariableModel, missing: Tensor) -> None:
        self.model = model
        self.latent_dim = model.latent_dim
        self.missing = missing

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Distribution:
        return self.model.prior(c, batch_shape)

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        return self.model.encode(x, c)

    def decode(self, z: Tensor, c: Tensor | None = None) -> _MaskedLikelihood:
        return _MaskedLikelihood(self.model.decode(z, c), self.missing)


class _MaskedLikelihood:
    def __init__(self, d: Distribution, missing: Tensor) -> None:
        base = getattr(d, "base_dist", None)
        if base is None:
            raise TypeError(f"p(x | z) must be an Independent distribution, got {type(d).__name__}")
        self.base, self.missing = base, missing

    def log_prob(self, x: Tensor) -> Tensor:
        per_dim = self.base.log_prob(x)  # (S, B, D)
        return (per_dim * self.missing.to(per_dim.dtype)).sum(-1)  # (S, B)


def missing_part_likelihood(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    missing: Tensor,
    *,
    k: int,
    chunk: int | None = None,
    batch_size: int = 100,
    posterior: Posterior | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """log p(x_m | x_o) per example, importance-sampled, summarized with labels.

    Args:
        model: a CVAE trained with c = the observed part of x.
        x: full data ``(N, D)``; c: the conditions built from the observed part ``(N, C)``.
        missing: bool ``(D,)``, True on the dimensions to score.
        k: importance samples. chunk, batch_size, progress: as in
            :func:`per_example_likelihood`.
        posterior: the proposal ``q(x, c)``; default the encoder's q(z | x, c), which for a CVAE
            whose c is x_o approximates the right posterior p(z | x_m, x_o).

    Returns:
        ``{"nats": metric, "bits_per_dim": metric}`` with bits per *missing* dimension.
    """
    check_positive_int("k", k)
    view = MissingPart(model, missing.to(torch.bool))

    def batch(xb: Tensor, cb: Tensor | None) -> dict[str, Tensor]:
        q = model.encode(xb, cb) if posterior is None else posterior(xb, cb)
        estimate = log_marginal_is(view, xb, cb, num_samples=k, chunk=chunk, proposal=q)  # type: ignore[arg-type]
        return {"mean": estimate.mean, "stderr": estimate.stderr, "ess": estimate.ess}

    values = map_batches(batch, x, c, batch_size=batch_size, desc="imputation", progress=progress)
    n = values["mean"].shape[0]
    mean = float(values["mean"].double().mean())
    stderr = float(values["stderr"].double().pow(2).sum().sqrt() / n)
    extra = dict(k=k, stderr=stderr, ess=float(values["ess"].double().mean()))
    note = (
        "log p(x_missing | x_observed), importance-sampled with q(z | x, c): the decoder's "
        "likelihood restricted to the missing dimensions; not a negative ELBO"
    )
    dims = int(missing.sum())
    bits_extra = {**extra, "stderr": stderr / (dims * math.log(2))}
    return {
        "nats": metric(mean, "nats/example", "estimate", **extra, note=note),
        "bits_per_dim": metric(
            bits_per_dim(mean, dims),
            "bits/missing dim",
            "estimate",
            **bits_extra,
            missing_dims=dims,
            note=note,
        ),
    }
