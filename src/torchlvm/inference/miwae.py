"""Latent variable models on incomplete rows: the MIWAE bound (Mattei & Frellsen 2019, "MIWAE:
Deep Generative Modelling and Imputation of Incomplete Data Sets", ICML, eq. 4).

For a row x with observed cells o (NaN marks a missing cell) and a factorized decoder
p(x | z) = Π_d p(x_d | z), the missing cells integrate out of the likelihood exactly:
p(x_o | z) = Π_{d ∈ o} p(x_d | z). The importance-weighted bound on log p(x_o) is

    L_k(x_o) = E[log (1/k) Σ_i p(x_o | z_i) p(z_i) / q(z_i | x̃)],   z_i ~ q(z | x̃),

with the encoder fed x̃ = x with its missing cells set to 0 (the paper's zero imputation; on
standardized data 0 is the column mean). For complete rows it is the IWAE bound.

Nothing here is a new estimator: :class:`ObservedCells` is a view of a model whose decoder
scores observed cells only, so :func:`~torchlvm.inference.iwae_bound` gives L_k and
:func:`~torchlvm.inference.log_marginal_is` the importance-sampled log p(x_o) with its standard
error. Shapes: x ``(B, D)``, z ``(S, B, K)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent

from torchlvm.errors import ConfigError
from torchlvm.inference.importance import Estimate, log_marginal_is
from torchlvm.inference.objectives import iwae_bound


class ObservedLikelihood(Distribution):
    """p(x_o | z) = Π_{d observed} p(x_d | z) for a factorized ``Independent`` likelihood.

    Args:
        likelihood: p(x | z), an ``Independent`` over ``(D,)`` with batch shape ``(..., B)``.
        observed: bool ``(B, D)``, True where a cell is observed.

    ``log_prob(x)`` ignores the value of missing cells (NaN is fine there); ``mean`` and
    ``sample`` are those of the full p(x | z), batch ``(..., B)``, event ``(D,)``.
    """

    arg_constraints: dict = {}

    def __init__(self, likelihood: Distribution, observed: Tensor) -> None:
        if not isinstance(likelihood, Independent) or likelihood.reinterpreted_batch_ndims != 1:
            raise ConfigError(
                "missing cells integrate out of a factorized p(x | z) only (an Independent over "
                f"D features); got {type(likelihood).__name__}"
            )
        self.likelihood = likelihood
        self.observed = observed
        super().__init__(likelihood.batch_shape, likelihood.event_shape, validate_args=False)

    def log_prob(self, value: Tensor) -> Tensor:
        """Σ over observed cells of log p(x_d | z), shape ``(..., B)``."""
        cells = self.likelihood.base_dist.log_prob(torch.where(self.observed, value, 0.0))
        return torch.where(self.observed, cells, 0.0).sum(-1)

    @property
    def mean(self) -> Tensor:
        return self.likelihood.mean

    def sample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:  # noqa: B008
        return self.likelihood.sample(sample_shape)


class ObservedCells:
    """A model seen through the observed cells of one batch: encoder input x̃ (missing cells
    set to 0), decoder p(x_o | z). It follows the LatentVariableModel protocol for that batch.

    Args:
        model: a VAE-like model (``encode``, ``decode``, ``prior``, ``latent_dim``).
        observed: bool ``(B, D)``, True where a cell of the batch is observed.
    """

    def __init__(self, model: Any, observed: Tensor) -> None:
        self.model = model
        self.observed = observed
        self.latent_dim = model.latent_dim

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Distribution:
        return self.model.prior(c, batch_shape=batch_shape)

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        return self.model.encode(zero_filled(x, self.observed), c)

    def decode(self, z: Tensor, c: Tensor | None = None) -> Distribution:
        return ObservedLikelihood(self.model.decode(z, c), self.observed)


def zero_filled(x: Tensor, observed: Tensor) -> Tensor:
    """``x`` with every missing cell set to 0, ``(B, D)``."""
    return torch.where(observed, x, 0.0)


def miwae_bound(model: Any, x: Tensor, c: Tensor | None = None, *, num_samples: int) -> Tensor:
    """The MIWAE bound L_k on log p(x_o) per row (Mattei & Frellsen 2019, eq. 4), in nats.

    Args:
        model: a VAE-like model with a factorized likelihood.
        x: data ``(B, D)``; NaN marks a missing cell. c: condition or None.
        num_samples: k, importance samples per row (reparameterized: differentiable).

    Returns:
        ``(B,)``; equal to :func:`~torchlvm.inference.iwae_bound` for complete rows.
    """
    observed = ~torch.isnan(x)
    view = ObservedCells(model, observed)
    return iwae_bound(view, zero_filled(x, observed), c, num_samples=num_samples)


@torch.no_grad()
def log_marginal_observed(
    model: Any,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int,
    chunk: int = 256,
    proposal: str | Distribution = "encoder",
) -> Estimate:
    """Importance-sampled log p(x_o) per row, with standard error and ESS.

    Args:
        model: a VAE-like model. x: ``(B, D)``, NaN where missing. num_samples: S.
        chunk: samples drawn at a time.
        proposal: ``"encoder"`` (q(z | x̃)), ``"prior"`` (p(z)) or a distribution with batch
            shape ``(B,)``.

    Returns:
        :class:`~torchlvm.inference.Estimate`, fields ``(B,)``, nats per row over the
        observed cells.
    """
    observed = ~torch.isnan(x)
    view = ObservedCells(model, observed)
    x0 = zero_filled(x, observed)
    return log_marginal_is(view, x0, c, num_samples=num_samples, chunk=chunk, proposal=proposal)
