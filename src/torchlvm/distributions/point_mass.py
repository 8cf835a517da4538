"""A point mass δ_loc as a ``torch.distributions.Distribution``: the autoencoder's "posterior".

A deterministic encoder maps x to one code ẑ. Written as a distribution, q(z | x) = δ(z − ẑ), so
the autoencoder speaks the same protocol as the VAE: ``mean`` is the code and ``rsample`` returns
it for every draw (gradients flow to the encoder, so ``has_rsample`` is True).

Why the ELBO is undefined for an autoencoder: a point mass has no density with respect to
Lebesgue measure on R^K, so log q(z | x) does not exist (informally it is +∞), and
KL(δ_ẑ ‖ p(z)) = E_δ[log q − log p] = +∞ for every continuous prior p — δ_ẑ is not absolutely
continuous with respect to p. The ELBO E_q[log p(x | z)] − KL(q ‖ p) is therefore −∞ whatever the
decoder, and carries no information. An autoencoder keeps only the first term,
log p(x | ẑ) (its reconstruction loss), and has no bound on log p(x). ``log_prob``, ``entropy``
and ``kl_divergence(PointMass, ·)`` raise :class:`UndefinedDensityError` saying so, rather than
returning an infinity that would silently poison a sum.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Distribution, constraints, register_kl

from torchlvm.errors import TorchLVMError


class UndefinedDensityError(TorchLVMError, ValueError):
    """A density, entropy or KL divergence was asked of a distribution that has none."""


_NO_DENSITY = (
    "a point mass has no density with respect to Lebesgue measure, so {what} is undefined; an "
    "autoencoder's encoder is deterministic and it has no ELBO — use its reconstruction_loss, "
    "or a VAE for likelihood bounds"
)


def no_density(what: str) -> str:
    """The message for ``what`` (a density, entropy or KL) asked of a point mass."""
    return _NO_DENSITY.format(what=what)


class PointMass(Distribution):
    """δ(z − loc): all mass on one point per batch element.

    Args:
        loc: the point, shape ``(*batch, K)``; the event is its last dimension.

    ``sample``/``rsample`` with ``sample_shape`` S return ``loc`` expanded to ``(*S, *batch, K)``
    (a view; no copy). ``mean`` and ``mode`` are ``loc``; ``variance`` is zero.
    """

    arg_constraints = {"loc": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc: Tensor, validate_args: bool | None = None) -> None:
        if loc.ndim < 1:
            raise ValueError(f"loc must have at least one dimension (the event), got {loc.shape}")
        self.loc = loc
        super().__init__(loc.shape[:-1], loc.shape[-1:], validate_args=validate_args)

    def expand(self, batch_shape: torch.Size, _instance: PointMass | None = None) -> PointMass:
        new = self._get_checked_instance(PointMass, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape + self.event_shape)
        super(PointMass, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return torch.zeros_like(self.loc)

    def rsample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> Tensor:
        """``loc`` expanded to ``(*sample_shape, *batch, K)``; differentiable in ``loc``."""
        return self.loc.expand(self._extended_shape(torch.Size(sample_shape)))

    def sample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> Tensor:
        """Like :meth:`rsample`, detached from the graph."""
        return self.rsample(sample_shape).detach()

    def log_prob(self, value: Tensor) -> Tensor:
        raise UndefinedDensityError(no_density("log q(z | x)"))

    def entropy(self) -> Tensor:
        raise UndefinedDensityError(no_density("its differential entropy"))


@register_kl(PointMass, Distribution)
def _kl_point_mass(q: PointMass, p: Distribution) -> Tensor:
    raise UndefinedDensityError(no_density("KL(q ‖ p)"))
