"""Priors p(z) by name: a registry filled by a class decorator (STYLE.md habit 9); a VAE's
config names its prior (``prior="standard" | "vamp" | "mog"``).

* ``"standard"``: N(0, I_K), fixed (Kingma & Welling 2014).
* ``"mog"``: a learned mixture of C Gaussians, Σ_c π_c N(μ_c, diag σ_c²)
  (``MixtureSameFamily``), with learned weights, means and scales.
* ``"vamp"``: the VampPrior (Tomczak & Welling 2018, "VAE with a VampPrior", eq. 9),
  p(z) = (1/C) Σ_c q(z | u_c): the model's own encoder at C learned pseudo-inputs u_c, so the
  prior is a mixture of posteriors and shares the encoder's family (diag, full or flow).

Only the standard prior has a closed-form KL(q ‖ p) with a Gaussian q; a model with a learned
prior declares ``kl_method = "mc"`` (a Monte Carlo KL is an explicit, named choice, never a
fallback: :func:`torchlvm.distributions.kl`).
Every prior is a ``torch.distributions.Distribution``, so ``prior.sample`` draws from the learned
prior wherever a prior is sampled.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, MixtureSameFamily, Normal

from torchlvm import _device
from torchlvm._checks import check_choice, check_positive_int
from torchlvm._kept_state import seeded
from torchlvm._registry import registrar
from torchlvm.distributions.standard_normal import StandardNormal
from torchlvm.errors import ConfigError
from torchlvm.models.posteriors import MIN_SCALE

PriorName = Literal["standard", "vamp", "mog"]
#: the most mixture components / pseudo-inputs a learned prior may have
MAX_COMPONENTS = 4096

PRIORS: dict[str, type[PriorFamily]] = {}

Encode = Callable[[Tensor], Distribution]


#: ``@register_prior("name")`` records a prior family class in :data:`PRIORS` and sets its ``name``
register_prior = registrar(PRIORS)


class PriorFamily(nn.Module, ABC):
    """p(z) as a module: ``forward(batch_shape, encode, like)`` returns the distribution.

    Args:
        latent_dim: K. input_dim: D (pseudo-inputs' width). components: C, for learned priors.

    Attributes:
        closed_form_kl: whether KL(Gaussian q ‖ p) is analytic.
    """

    name: ClassVar[str]
    closed_form_kl: ClassVar[bool] = False

    def __init__(self, latent_dim: int, input_dim: int, components: int) -> None:
        super().__init__()
        self.latent_dim = latent_dim

    @abstractmethod
    def forward(self, batch_shape: tuple[int, ...], encode: Encode, like: Tensor) -> Distribution:
        """p(z) with batch ``batch_shape`` and event ``(K,)``; each registered prior defines it."""

    def sample(
        self, n: int, encode: Encode, like: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        """n draws z ~ p(z), shape ``(n, K)``, from ``generator`` (seeding a forked global
        random state for priors that sample through ``torch.distributions``)."""
        return draw(self(batch_shape=(), encode=encode, like=like), n, generator)


def draw(distribution: Distribution, n: int, generator: torch.Generator | None = None) -> Tensor:
    """``n`` draws from any distribution (e.g. a model's prior), shape ``(n, *batch, *event)``,
    reproducible from ``generator``: a seed taken from it seeds a forked global random state,
    since ``torch.distributions`` sample from the global one; that state (the GPU's too, where
    one is in use) is left as it was. ``generator`` may live on any device."""
    if generator is None:
        return distribution.sample((n,))
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    with seeded(seed, _device.device_of(distribution)):
        return distribution.sample((n,))


def prior_family(name: str, latent_dim: int, input_dim: int, components: int) -> PriorFamily:
    """The prior registered as ``name``.

    Raises:
        ConfigError: for an unknown name.
    """
    cls = PRIORS[check_choice("prior", name, sorted(PRIORS))]
    return cls(latent_dim, input_dim, components)


def check_prior_fields(prior: str, components: object) -> None:
    """Validate a config's ``prior`` and ``prior_components``."""
    check_choice("prior", prior, sorted(PRIORS))
    check_positive_int("prior_components", components)
    if components > MAX_COMPONENTS:  # type: ignore[operator]
        raise ConfigError(f"prior_components must be at most {MAX_COMPONENTS}, got {components}")


def standard_normal(latent_dim: int, batch_shape: tuple[int, ...], like: Tensor) -> Independent:
    """N(0, I_K) with batch shape ``batch_shape``, on ``like``'s device and dtype: a
    :class:`~torchlvm.distributions.StandardNormal` (an ``Independent(Normal, 1)`` whose
    closed-form KL against a diagonal Gaussian q needs no tensors of its own)."""
    return StandardNormal(latent_dim, batch_shape, device=like.device, dtype=like.dtype)


@register_prior("standard")
class StandardPrior(PriorFamily):
    """p(z) = N(0, I_K); no parameters."""

    closed_form_kl: ClassVar[bool] = True

    def forward(self, batch_shape: tuple[int, ...], encode: Encode, like: Tensor) -> Distribution:
        return standard_normal(self.latent_dim, tuple(batch_shape), like)

    def sample(
        self, n: int, encode: Encode, like: Tensor, generator: torch.Generator | None = None
    ) -> Tensor:
        return _device.randn((n, self.latent_dim), generator=generator, like=like)


@register_prior("mog")
class MixturePrior(PriorFamily):
    """p(z) = Σ_c π_c N(μ_c, diag σ_c²), C components, all learned. Starts with equal weights,
    means drawn from N(0, I) and unit scales."""

    def __init__(self, latent_dim: int, input_dim: int, components: int) -> None:
        super().__init__(latent_dim, input_dim, components)
        self.logits = nn.Parameter(torch.zeros(components))
        self.loc = nn.Parameter(torch.randn(components, latent_dim))
        unit = torch.full((components, latent_dim), 1.0 - MIN_SCALE)
        self.pre_scale = nn.Parameter(unit.expm1().log())  # softplus⁻¹: σ starts at 1

    def forward(self, batch_shape: tuple[int, ...], encode: Encode, like: Tensor) -> Distribution:
        scale = F.softplus(self.pre_scale) + MIN_SCALE
        components = Independent(Normal(self.loc, scale), 1)  # batch (C,)
        # validate_args=False: a mixture has no `support` to check samples against (its parts are
        # validated themselves)
        mixture = MixtureSameFamily(
            Categorical(logits=self.logits), components, validate_args=False
        )
        return mixture.expand(torch.Size(batch_shape))


@register_prior("vamp")
class VampPrior(PriorFamily):
    """p(z) = (1/C) Σ_c q(z | u_c) with C learned pseudo-inputs u_c of width D (Tomczak &
    Welling 2018, eq. 9), initialized near 0.5 with small noise."""

    def __init__(self, latent_dim: int, input_dim: int, components: int) -> None:
        super().__init__(latent_dim, input_dim, components)
        self.pseudo_inputs = nn.Parameter(0.5 + 0.01 * torch.randn(components, input_dim))

    def forward(self, batch_shape: tuple[int, ...], encode: Encode, like: Tensor) -> Distribution:
        components = encode(self.pseudo_inputs)  # batch (C,), event (K,)
        logits = torch.zeros(self.pseudo_inputs.shape[0], device=like.device, dtype=like.dtype)
        mixture = MixtureSameFamily(Categorical(logits=logits), components, validate_args=False)
        return mixture.expand(torch.Size(batch_shape))


__all__ = [
    "PRIORS",
    "MixturePrior",
    "PriorFamily",
    "StandardPrior",
    "VampPrior",
    "check_prior_fields",
    "draw",
    "prior_family",
    "register_prior",
    "standard_normal",
]
