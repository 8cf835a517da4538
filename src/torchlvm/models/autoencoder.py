"""The deterministic autoencoder: reconstruction only, no likelihood bound.

    ẑ = f(x),   x̂ = g(ẑ),   loss(x) = ‖x − x̂‖² ("mse")  or  Σ_d BCE(x_d, sigmoid(g(ẑ)_d)).

In the protocol's terms, ``encode`` returns a point mass q(z | x) = δ(z − f(x))
(:class:`~torchlvm.distributions.point_mass.PointMass`) and ``decode`` returns p(x | z): a
Gaussian with fixed σ = 1 for ``"mse"`` (so −log p(x | ẑ) = ½‖x − x̂‖² + (D/2) log 2π) or a
Bernoulli on logits. The ELBO is undefined for a point-mass q (it has no density, and
KL(δ ‖ p(z)) = +∞; see the point-mass module), so the autoencoder has no bound on log p(x) and
its whole objective is :meth:`Autoencoder.reconstruction_loss`.

Linear autoencoder (``linear=True``): encoder D → K and decoder K → D are single affine maps.
Trained with squared error, its decoder's columns span the same subspace as PCA's top K
principal directions — not necessarily the same axes (Baldi & Hornik 1989, "Neural networks and
principal component analysis", Neural Networks 2(1); Bourlard & Kamp 1988).

Generation: nothing shapes the codes of a plain autoencoder, so decoding N(0, I) draws
(``sample(n, source="standard")``) lands off the data manifold whenever the codes are not
distributed like N(0, I) — the motivation for the VAE. ``fit_code_distribution`` fits a
Gaussian to the training codes, which is then the model's ``prior()``, and ``sample(n)`` decodes
draws from it instead; before it, both refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, MultivariateNormal

from torchlvm import _device
from torchlvm._checks import check_choice, check_finite, check_positive_int
from torchlvm.distributions.heads import make_likelihood
from torchlvm.distributions.point_mass import PointMass
from torchlvm.errors import ConfigError, DataError, NotFittedError, OptionError, spelled
from torchlvm.models.base import PointEstimates, SavableModel
from torchlvm.models.registry import NETWORK_FIELDS, Recipe, register_model, register_recipe
from torchlvm.models.vae import NONFINITE_DATA, NONFINITE_Z, check_bool, check_network_config
from torchlvm.nn import (
    Activation,
    Arch,
    check_features,
    decoder_network,
    encoder_network,
)

Reconstruction = Literal["mse", "bernoulli"]
CodeSource = Literal["fitted", "standard"]

COV_JITTER = 1e-6  # added to the code covariance's diagonal, relative to its mean variance


@dataclass(frozen=True)
class AutoencoderConfig:
    """Settings of an :class:`Autoencoder`; validated on construction (and so on load)."""

    input_dim: int  # D, features per example (784 for 28×28 images)
    latent_dim: int = 20  # K, the size of the code
    hidden: tuple[int, ...] = (400,)  # encoder hidden widths; the decoder uses them reversed
    activation: Activation = "relu"  # nonlinearity between layers (unused when linear)
    arch: Arch = "mlp"  # "mlp" or "conv" (stride-2 convolutions, then MLP)
    image_shape: tuple[int, ...] | None = None  # (C, H, W) of x; required for arch="conv"
    linear: bool = False  # single affine maps D → K → D, no activations (spans PCA's subspace)
    reconstruction: Reconstruction = "mse"  # squared error (Gaussian, σ = 1) or Bernoulli BCE

    def __post_init__(self) -> None:
        check_network_config(self)
        check_bool("linear", self.linear)
        if self.linear and self.arch != "mlp":
            raise spelled(OptionError, lambda spell: (
                f"{spell('linear', True)} (for an autoencoder: linear encoder and decoder) uses "
                f"single affine maps and no convolutions; pass {spell('arch', 'mlp')} or drop "
                f"{spell('linear', True)}, got {spell('arch', self.arch)}"
            ))  # fmt: skip
        check_choice("reconstruction", self.reconstruction, ("mse", "bernoulli"))


RECIPE = register_recipe(
    "ae",
    Recipe(
        fields={
            **NETWORK_FIELDS,
            # --likelihood bernoulli: Bernoulli cross-entropy; gaussian: squared error
            "likelihood": ("reconstruction", lambda v: {"gaussian": "mse"}.get(v, v)),
            "linear_decoder": ("linear", bool),
        },
        default_objective="reconstruction",
        noun="an autoencoder, which minimizes reconstruction error",
    ),
)
"""``torchlvm train ae``: reconstruction only, so no bound's options (β, k, warm-up, free bits)."""


@register_model("ae")
class Autoencoder(PointEstimates, SavableModel, nn.Module):
    """A deterministic autoencoder with an optional Gaussian fitted to its codes.

    Args:
        config: an :class:`AutoencoderConfig`.

    Attributes:
        config, input_dim (D), latent_dim (K); ``encoder`` (x → code), ``decoder`` (code →
        likelihood parameters), ``likelihood`` (the head); buffers ``code_mean`` ``(K,)``,
        ``code_cov`` ``(K, K)`` and ``code_fitted`` (0-d bool), saved with the weights.

    The condition ``c`` that protocol methods accept is ignored (the model is unconditional).
    """

    Config: ClassVar[type[AutoencoderConfig]] = AutoencoderConfig
    conditional: ClassVar[bool] = False

    def __init__(self, config: AutoencoderConfig) -> None:
        super().__init__()
        if not isinstance(config, AutoencoderConfig):
            raise ConfigError(f"config must be an AutoencoderConfig, got {type(config).__name__}")
        self.config = config
        D, K = self.input_dim, self.latent_dim = config.input_dim, config.latent_dim
        if config.linear:
            self.encoder: nn.Module = nn.Linear(D, K)
            self.decoder: nn.Module = nn.Linear(K, D)
        else:
            net = {"hidden": config.hidden, "activation": config.activation}
            shape = config.image_shape
            self.encoder = encoder_network(config.arch, D, K, image_shape=shape, **net)
            self.decoder = decoder_network(config.arch, K, D, image_shape=shape, **net)
        if config.reconstruction == "mse":
            self.likelihood = make_likelihood("gaussian", D, variance="fixed", scale=1.0)
        else:
            self.likelihood = make_likelihood("bernoulli", D)
        self.register_buffer("code_mean", torch.zeros(K))
        self.register_buffer("code_cov", torch.eye(K))
        self.register_buffer("code_fitted", torch.tensor(False))

    @classmethod
    def from_config(cls, config: AutoencoderConfig) -> Autoencoder:
        """Build an untrained model from its config (what :func:`torchlvm.io.load` calls)."""
        return cls(config)

    def _data(self, x: Tensor) -> Tensor:
        x = check_features(x, self.input_dim)
        check_finite("data", x, NONFINITE_DATA.format(fill=""))
        return x.to(dtype=self.code_mean.dtype)

    @property
    def is_code_distribution_fitted(self) -> bool:
        """Whether :meth:`fit_code_distribution` has run (or a fitted model was loaded)."""
        return bool(self.code_fitted)

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        """q(z | x) = δ(z − f(x)): a :class:`PointMass` with batch ``(B,)``, event ``(K,)``.

        Its ``mean`` (and every ``rsample``) is the code; it has no ``log_prob``.
        """
        return PointMass(self.encoder(self._data(x)))

    def decode(self, z: Tensor, c: Tensor | None = None) -> Distribution:
        """p(x | z) for ``z`` ``(..., B, K)``: Gaussian (σ = 1) or Bernoulli, event ``(D,)``."""
        z = check_features(z, self.latent_dim, name="z", what="entries")
        check_finite("z", z, NONFINITE_Z.format(encode="model.encode(x)"))
        return self.likelihood(self.decoder(z.to(dtype=self.code_mean.dtype)))

    def reconstruction_loss(self, x: Tensor, c: Tensor | None = None) -> Tensor:
        """The autoencoder's objective per example, shape ``(B,)`` (differentiable).

        ``"mse"``: Σ_d (x_d − x̂_d)², the squared error summed over dimensions (= 2·(−log p(x | ẑ))
        − D log 2π for the σ = 1 Gaussian). ``"bernoulli"``: −log p(x | ẑ) = Σ_d BCE(x_d, x̂_d),
        in nats.
        """
        x = self._data(x)
        params = self.decoder(self.encoder(x))  # (B, D)
        if self.config.reconstruction == "mse":
            return (x - params).pow(2).sum(-1)
        return -self.likelihood(params).log_prob(x)

    @torch.no_grad()
    def fit_code_distribution(self, x_train: Tensor, *, chunk: int = 4096) -> Autoencoder:
        """Fit N(m, S) to the codes of ``x_train`` and store it as the model's prior.

        m is the mean code and S the (unbiased) sample covariance, plus a jitter of
        ``COV_JITTER`` × mean variance on the diagonal so that S stays positive definite when the
        codes are degenerate.

        Args:
            x_train: training data ``(N, D)``, N ≥ 2.
            chunk: rows encoded at a time.

        Returns:
            ``self``.

        Raises:
            DataError: for fewer than two rows or non-finite codes.
        """
        x_train = self._data(x_train)
        if x_train.ndim != 2 or x_train.shape[0] < 2:
            raise DataError(
                f"fit_code_distribution needs data of shape (N, {self.input_dim}) with N >= 2, "
                f"got {tuple(x_train.shape)}"
            )
        check_positive_int("chunk", chunk)
        codes = torch.cat([self.encoder(part) for part in x_train.split(chunk)])  # (N, K)
        if not torch.isfinite(codes).all():
            raise DataError("the encoder produced non-finite codes; the model has diverged")
        mean = codes.mean(0)
        cov = torch.cov(codes.T).reshape(self.latent_dim, self.latent_dim)
        jitter = COV_JITTER * cov.diagonal().mean().clamp_min(1e-12)
        self.code_mean.copy_(mean)
        self.code_cov.copy_(cov + jitter * torch.eye(self.latent_dim).to(cov))
        self.code_fitted.fill_(True)
        return self

    def _check_code_distribution(self) -> None:
        """The one decision of :meth:`prior` and :meth:`sample`: codes have a distribution only
        once :meth:`fit_code_distribution` has run.

        Raises:
            NotFittedError: before then.
        """
        if not self.is_code_distribution_fitted:
            raise NotFittedError(
                "the autoencoder's code distribution is not fitted, so it has no p(z) to draw "
                "codes from; call fit_code_distribution(x_train) first, or pass "
                "source='standard' to sample(n) to decode N(0, I) codes"
            )

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Distribution:
        """N(code_mean, code_cov), the Gaussian fitted to the training codes, as
        ``MultivariateNormal`` with batch ``batch_shape``, event ``(K,)``.

        A plain autoencoder has no prior: nothing shapes its codes, so there is none to return
        before :meth:`fit_code_distribution` (N(0, I) is the naive choice that ``sample(n,
        source="standard")`` makes explicitly, and shows to fail).

        Raises:
            NotFittedError: before :meth:`fit_code_distribution`.
        """
        self._check_code_distribution()
        prior = MultivariateNormal(self.code_mean, covariance_matrix=self.code_cov)
        return prior.expand(torch.Size(batch_shape))

    @torch.no_grad()
    def sample(
        self,
        n: int,
        c: Tensor | None = None,
        *,
        source: CodeSource = "fitted",
        generator: torch.Generator | None = None,
    ) -> Tensor:
        """Decoder means for ``n`` codes, ``(n, D)`` (no gradients).

        Args:
            n: number of samples.
            source: ``"fitted"`` draws codes from N(code_mean, code_cov) (requires
                :meth:`fit_code_distribution`); ``"standard"`` draws from N(0, I), the naive
                choice that shows an autoencoder's decoder is not a generative model.
            generator: random source for the codes, on any device.

        Raises:
            NotFittedError: for ``"fitted"`` before :meth:`fit_code_distribution`.
        """
        check_positive_int("n", n)
        check_choice("source", source, ("fitted", "standard"))
        if source == "fitted":
            self._check_code_distribution()
        eps = _device.randn((n, self.latent_dim), generator=generator, like=self.code_mean)
        if source == "fitted":
            z = self.code_mean + eps @ torch.linalg.cholesky(self.code_cov).T
        else:
            z = eps
        return self.decode(z).mean
