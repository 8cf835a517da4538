"""The conditional VAE (Sohn, Lee & Yan 2015, "Learning Structured Output Representation using
Deep Conditional Generative Models", §4).

    p(z | c)     = N(μ_p(c), diag σ_p²(c))   a learned prior network (default), N(0, I),
                   a conditional VampPrior or a learned mixture (below),
    p(x | z, c)  = likelihood head(decoder(concat(z, c))),
    q(z | x, c)  = N(μ(x, c), diag σ²(x, c))  from encoder(concat(x, c)),

(q of another family with ``posterior="full" | "flow"``, :mod:`torchlvm.models.posteriors`)

The learned priors of :mod:`torchlvm.models.priors`, for a CVAE: ``prior="vamp"`` is the
conditional VampPrior p(z | c) = (1/C) Σ_k q(z | u_k, c), the encoder at C learned
pseudo-inputs u_k paired with the example's own condition (Tomczak & Welling 2018, eq. 9, with
q(z | x) replaced by q(z | x, c)): the mixture of posteriors that approximates the aggregate
posterior ∫ q(z | x, c) p(x | c) dx. It costs C encoder passes per example and step.
``prior="mog"`` is a learned mixture of C Gaussians shared by every c (as ``"standard"`` is
N(0, I) for every c). Their KL is a Monte Carlo estimate (``CVAE.kl_method``).

with ELBO(x | c) = E_q[log p(x | z, c)] − KL(q(z | x, c) ‖ p(z | c)) ≤ log p(x | c) (Sohn et al.
eq. 4), computed by :func:`torchlvm.inference.elbo` like any other model's.

The condition c is any vector of ``condition_dim`` numbers: one-hot class labels for
class-conditional generation (``num_classes`` set; see :meth:`CVAE.condition_from_labels`), the
observed part of an image and its mask for imputation
(:func:`torchlvm.models.conditions.masked_condition`), or an embedding of text or speech. With
``arch="conv"`` the condition skips the convolutions and joins the flattened image features.

Style transfer (:meth:`CVAE.transfer`): encode x under its own condition, decode the posterior
mean under another; z carries what c does not explain (the "style").

Shapes: x ``(B, D)``, c ``(B, C)``, z ``(..., B, K)`` with sample dimensions leading; c is
broadcast over them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from torchlvm import _device
from torchlvm._checks import check_choice, check_finite, check_positive_int
from torchlvm.data.columns import class_index, number_of, whole_number
from torchlvm.distributions.heads import GaussianVariance
from torchlvm.distributions.kl import KLMethod
from torchlvm.errors import ConfigError
from torchlvm.models.base import PointEstimates, SavableModel
from torchlvm.models.conditions import check_class_condition, one_hot, plain_label
from torchlvm.models.config import ADDED_FIELD, MAX_WIDTH
from torchlvm.models.posteriors import (
    MIN_SCALE,
    PosteriorName,
    check_posterior_fields,
    diagonal_gaussian,
    posterior_family,
)
from torchlvm.models.priors import (
    MAX_COMPONENTS,
    PriorFamily,
    draw,
    prior_family,
    standard_normal,
)
from torchlvm.models.registry import register_model, register_recipe
from torchlvm.models.vae import (
    NONFINITE_DATA,
    NONFINITE_Z,
    PRIOR_FIELDS,
    Likelihood,
    check_bool,
    check_likelihood_fields,
    check_network_config,
    likelihood_head,
)
from torchlvm.models.vae import RECIPE as VAE_RECIPE
from torchlvm.nn import (
    MLP,
    Activation,
    Arch,
    check_features,
    decoder_network,
    encoder_network,
)
from torchlvm.nn.builders import check_width
from torchlvm.nn.reference import first_parameter

PriorKind = Literal["learned", "standard", "vamp", "mog"]
PRIOR_KINDS: tuple[str, ...] = ("learned", "standard", "vamp", "mog")
#: the CVAE priors built by :mod:`torchlvm.models.priors` (mixtures with a Monte Carlo KL)
MIXTURE_PRIORS: tuple[str, ...] = ("vamp", "mog")


@dataclass(frozen=True)
class CVAEConfig:
    """Settings of a :class:`CVAE`; validated on construction (and so on load)."""

    input_dim: int  # D, features per example (784 for 28×28 images)
    condition_dim: int  # C, the width of the condition vector c
    latent_dim: int = 20  # K, the size of z
    hidden: tuple[int, ...] = (400,)  # encoder (and prior-net) hidden widths; decoder reversed
    activation: Activation = "relu"  # nonlinearity between layers
    arch: Arch = "mlp"  # "mlp" or "conv" (convolutions on x; c joins after them)
    image_shape: tuple[int, ...] | None = None  # (C, H, W) of x; required for arch="conv"
    likelihood: Likelihood = "bernoulli"  # p(x | z, c): "bernoulli" for x in [0, 1], "gaussian"
    variance: GaussianVariance = "fixed"  # gaussian only: σ fixed, one learned σ, or one per dim
    scale: float = 1.0  # gaussian only: σ when fixed, the initial σ when learned
    linear_decoder: bool = False  # decoder is one Linear (K + C) → D
    # p(z | c): "learned" MLP c → N(μ, diag σ²), "standard" N(0, I), "vamp" (conditional
    # VampPrior) or "mog" (a learned mixture shared by every c)
    prior: PriorKind = "learned"
    num_classes: int | None = None  # set when c is one-hot class labels (then == condition_dim)
    class_names: tuple[str, ...] | None = None  # names of the classes, in label order
    # q(z | x, c): "diag", "full" (covariance) or "flow" (models/posteriors.py)
    posterior: PosteriorName = field(default="diag", metadata=ADDED_FIELD)
    flow_steps: int = field(default=2, metadata=ADDED_FIELD)  # coupling transforms of a flow q
    prior_components: int = field(default=50, metadata=ADDED_FIELD)  # vamp / mog: C
    # whether a number may name a class by its position 0..C-1 (condition_from_labels): True for
    # a dataset's own numbering (Fashion-MNIST's), False for a file's or an estimator's labels,
    # whose sorted order the user never saw
    class_positions: bool = field(default=True, metadata=ADDED_FIELD)

    def __post_init__(self) -> None:
        check_network_config(self)
        if isinstance(self.class_names, list):
            object.__setattr__(self, "class_names", tuple(self.class_names))
        check_width("condition_dim", self.condition_dim, MAX_WIDTH)
        check_likelihood_fields(self.likelihood, self.variance, self.scale)
        check_bool("linear_decoder", self.linear_decoder)
        check_choice("prior", self.prior, PRIOR_KINDS)
        check_positive_int("prior_components", self.prior_components)
        if self.prior_components > MAX_COMPONENTS:
            raise ConfigError(
                f"prior_components must be at most {MAX_COMPONENTS}, got {self.prior_components}"
            )
        check_posterior_fields(self.posterior, self.latent_dim, self.flow_steps)
        check_bool("class_positions", self.class_positions)
        self._check_classes()

    def _check_classes(self) -> None:
        if self.num_classes is not None:
            check_positive_int("num_classes", self.num_classes)
            if self.num_classes != self.condition_dim:
                raise ConfigError(
                    f"num_classes ({self.num_classes}) must equal condition_dim "
                    f"({self.condition_dim}) for one-hot class conditions"
                )
        if self.class_names is None:
            return
        if self.num_classes is None:
            raise ConfigError("class_names needs num_classes (one-hot class conditions)")
        names = self.class_names
        if len(names) != self.num_classes:
            raise ConfigError(
                f"class_names lists {len(names)} names but num_classes is {self.num_classes}"
            )
        if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
            raise ConfigError(f"class_names must be distinct non-empty strings, got {names!r}")


RECIPE = register_recipe(
    "cvae",
    replace(
        VAE_RECIPE,
        fields={
            **{k: v for k, v in VAE_RECIPE.fields.items() if k not in PRIOR_FIELDS},
            "cvae_prior": ("prior", str),
            "prior_components": ("prior_components", int),
        },
        noun="a CVAE",
        conditional=True,
    ),
)
"""``torchlvm train cvae``: a VAE's options, the prior p(z | c), and a condition (default label)."""


@register_model("cvae")
class CVAE(PointEstimates, SavableModel, nn.Module):
    """A conditional VAE: every method takes the condition ``c`` of shape ``(B, condition_dim)``.

    Args:
        config: a :class:`CVAEConfig`.

    Attributes:
        config, input_dim (D), latent_dim (K), condition_dim (C); ``encoder`` ((x, c) → [μ,
        pre-σ]), ``decoder`` ((z, c) → likelihood parameters), ``likelihood`` (the head) and,
        for the learned prior, ``prior_net`` (c → [μ_p, pre-σ_p]).

    Raises (from every method):
        ConfigError: when ``c`` is missing or not of shape ``(B, condition_dim)``.
    """

    Config: ClassVar[type[CVAEConfig]] = CVAEConfig
    conditional: ClassVar[bool] = True

    def __init__(self, config: CVAEConfig) -> None:
        super().__init__()
        if not isinstance(config, CVAEConfig):
            raise ConfigError(f"config must be a CVAEConfig, got {type(config).__name__}")
        self.config = config
        self.input_dim, self.latent_dim = config.input_dim, config.latent_dim
        self.condition_dim = config.condition_dim
        net = {"hidden": config.hidden, "activation": config.activation}
        shape, D, K, C = (
            config.image_shape,
            config.input_dim,
            config.latent_dim,
            config.condition_dim,
        )
        self.posterior_family = posterior_family(config.posterior, K, config.flow_steps)
        width = self.posterior_family.param_dim
        self.encoder = encoder_network(config.arch, D, width, image_shape=shape, extra_dim=C, **net)
        self.posterior_family.initialize(self.encoder)
        if config.linear_decoder:
            self.decoder: nn.Module = nn.Linear(K + C, D)
        else:
            self.decoder = decoder_network(config.arch, K + C, D, image_shape=shape, **net)
        self.likelihood = likelihood_head(config.likelihood, D, config.variance, config.scale)
        if config.prior == "learned":
            self.prior_net = MLP(C, config.hidden, 2 * K, config.activation)
            self._start_prior_at_standard_normal()
        if config.prior in MIXTURE_PRIORS:
            self.prior_family: PriorFamily = prior_family(
                config.prior, K, D, config.prior_components
            )

    def _start_prior_at_standard_normal(self) -> None:
        """Zero the prior net's last weights so that p(z | c) = N(0, I) before training."""
        last = self.prior_net[-1]
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias[: self.latent_dim] = 0.0
            last.bias[self.latent_dim :] = math.log(math.expm1(1.0 - MIN_SCALE))  # softplus⁻¹

    @property
    def kl_method(self) -> KLMethod:
        """``"analytic"`` for a Gaussian q and a Gaussian p(z | c) (their KL is registered),
        ``"mc"`` for a flow q or a mixture prior: the explicit choice
        :func:`~torchlvm.inference.elbo` reads."""
        closed = self.config.prior not in MIXTURE_PRIORS
        return "analytic" if self.posterior_family.closed_form_kl and closed else "mc"

    @classmethod
    def from_config(cls, config: CVAEConfig) -> CVAE:
        """Build an untrained model from its config (what :func:`torchlvm.io.load` calls)."""
        return cls(config)

    def _reference(self) -> Tensor:
        return first_parameter(self)  # next(self.parameters()), read each step: a short walk

    def _condition(self, c: Tensor | None, batch_shape: Sequence[int]) -> Tensor:
        """``c`` checked and broadcast to ``(*batch_shape, C)`` in the model's dtype."""
        C = self.condition_dim
        expected = f"CVAE needs a condition c of shape (B, condition_dim) = (B, {C})"
        if c is None:
            raise ConfigError(
                f"{expected}, got None; pass c (e.g. model.condition_from_labels(labels) "
                "for class labels)"
            )
        labels = (
            "; for class labels pass model.condition_from_labels(labels)"
            if self.config.num_classes is not None
            else ""
        )
        if labels and isinstance(c, int | float | str | np.generic):  # "give me a 7": sample(n, 7)
            raise ConfigError(
                f"{expected}, got the label {plain_label(c)!r}; pass "
                f"model.condition_from_labels({plain_label(c)!r}) for it"
            )
        if not isinstance(c, Tensor):
            raise ConfigError(
                f"{expected}, got {type(c).__name__}; convert it with torch.as_tensor(c){labels}"
            )
        if c.ndim == 0 or c.shape[-1] != C:
            raise ConfigError(f"{expected}, got shape {tuple(c.shape)}{labels}")
        # the caller's c, before it is broadcast over the batch (and the samples in decode)
        check_finite("c", c, "pass finite conditions (condition_from_labels(labels) for labels)")
        if labels:
            check_class_condition(c, batch_shape)
        try:
            c = c.expand(*batch_shape, C)
        except RuntimeError:
            raise ConfigError(
                f"{expected}, got shape {tuple(c.shape)} for a batch of shape {tuple(batch_shape)}"
            ) from None
        ref = self._reference()
        return c.to(device=ref.device, dtype=ref.dtype)

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Distribution:
        """p(z | c): batch shape ``c.shape[:-1]`` broadcast with ``batch_shape``, event ``(K,)``.

        The learned prior is N(μ_p(c), diag σ_p²(c)); ``prior="standard"`` gives N(0, I) (c is
        still required, and checked); ``"vamp"`` and ``"mog"`` mixtures (module docstring).
        """
        shape = self._prior_batch_shape(c, batch_shape)
        c = self._condition(c, shape)
        if self.config.prior == "standard":
            return standard_normal(self.latent_dim, shape, self._reference())
        if self.config.prior in MIXTURE_PRIORS:
            return self.prior_family(shape, lambda u: self._encode_pseudo(u, c), c)
        return diagonal_gaussian(self.prior_net(c))

    def _encode_pseudo(self, u: Tensor, c: Tensor) -> Distribution:
        """q(z | u_k, c) for pseudo-inputs ``u`` ``(C, D)`` under conditions ``c``
        ``(*shape, C_dim)``: batch ``(*shape, C)``, each example's c paired with every u_k."""
        shape, n = c.shape[:-1], u.shape[0]
        pairs = torch.cat(
            [u.expand(*shape, n, -1), c.unsqueeze(-2).expand(*shape, n, -1)], dim=-1
        )  # (*shape, C, D + C_dim)
        params = self.encoder(pairs.reshape(-1, pairs.shape[-1]))
        return self.posterior_family(params.reshape(*shape, n, -1))

    def _prior_batch_shape(self, c: Tensor | None, batch_shape: Sequence[int]) -> tuple[int, ...]:
        if not isinstance(c, Tensor) or c.ndim == 0:
            return tuple(batch_shape)  # _condition reports the problem
        try:  # (NumPy's rule: torch.broadcast_shapes imports sympy, 1.2 s, on its first call)
            return tuple(np.broadcast_shapes(tuple(c.shape[:-1]), tuple(batch_shape)))
        except ValueError:
            raise ConfigError(
                f"CVAE needs a condition c of shape (B, condition_dim) = (B, "
                f"{self.condition_dim}), got shape {tuple(c.shape)} for a batch of shape "
                f"{tuple(batch_shape)}"
            ) from None

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        """q(z | x, c) for ``x`` ``(B, D)`` and ``c`` ``(B, C)`` (or ``(C,)``, broadcast).

        Returns: batch ``(B,)``, event ``(K,)``.

        Raises:
            DataError: if ``x`` does not have D features, or ``x`` or ``c`` holds NaN or
                infinite values. ConfigError: for a bad ``c``.
        """
        x = check_features(x, self.input_dim)
        check_finite("data", x, NONFINITE_DATA.format(fill=""))
        x = x.to(dtype=self._reference().dtype)
        c = self._condition(c, x.shape[:-1])
        return self.posterior_family(self.encoder(torch.cat([x, c], dim=-1)))

    def decode(self, z: Tensor, c: Tensor | None = None) -> Distribution:
        """p(x | z, c) for ``z`` ``(..., B, K)``, ``c`` ``(B, C)`` broadcast over the sample dims.

        Returns: batch ``(..., B)``, event ``(D,)``.

        Raises:
            DataError: if ``z`` does not have K entries, or ``z`` or ``c`` holds NaN or
                infinite values. ConfigError: for a bad ``c``.
        """
        z = check_features(z, self.latent_dim, name="z", what="entries")
        check_finite("z", z, NONFINITE_Z.format(encode="model.encode(x, c)"))
        c = self._condition(c, z.shape[:-1])  # (..., B, C)
        z = z.to(dtype=self._reference().dtype)  # as VAE.decode: float64 z for a float32 model
        return self.likelihood(self.decoder(torch.cat([z, c], dim=-1)))

    def condition_from_labels(
        self, labels: Tensor | Sequence[int | float | str] | int | float | str
    ) -> Tensor:
        """One-hot conditions for class labels: class names or numbers, or a tensor of positions.

        A label that is not a tensor names its class as ``--condition`` does on the command line
        (:func:`torchlvm.data.columns.class_index`): a name as written, else the one equal to it
        but for case, Unicode form or typographic quotes (``"Men's"`` for ``'Men’s'``), else the
        one equal to it as a number (``7`` or ``7.0`` for the class ``'7'``). Where no class name
        is a number and the data number their classes
        (Fashion-MNIST's words, or no ``class_names``: ``config.class_positions``), a whole
        number (``2``, ``2.0``, ``'2'``, ``'2.0'``, as ``--condition`` takes them) is a position in
        ``0..num_classes-1``; a file's or an estimator's words are numbered only by their sorted
        order, which the user never saw, so there a number is refused, as by ``--condition``
        (runs saved before ``class_positions`` read it as a position). Where class names
        are numbers (a table's labels 1, 2, 3), a number is read only as a name: ``1`` is the
        class ``'1'``, never the one at position 1, and a number that names no class is refused.
        A tensor always holds positions, as a :class:`~torchlvm.data.dataset.Dataset`'s labels
        (a 0-d tensor in a list too: ``list(y)``).

        Args:
            labels: ``(B,)`` labels (names or numbers, as above) or an integer tensor ``(B,)``
                of positions; or one label (a name, a number, a 0-d tensor).

        Returns:
            Float tensor ``(B, num_classes)`` on the model's device; ``(num_classes,)`` for one
            label, which ``sample(n, c)`` and the other methods share across the batch.

        Raises:
            ConfigError: if the model was not built for class labels (``num_classes`` unset), a
                label names no class or a position is out of range.
        """
        classes = self.config.num_classes
        if classes is None:
            raise ConfigError(
                "condition_from_labels needs a CVAE built for class labels (num_classes set); "
                f"this one takes a free condition vector of width {self.condition_dim}"
            )
        if isinstance(labels, int | float | str | np.generic):
            labels = torch.tensor(self._label_index(plain_label(labels)))
        elif not isinstance(labels, Tensor):
            labels = [  # (a 0-d tensor among them holds a position, as a tensor: readB #1)
                label if isinstance(label, Tensor) else self._label_index(plain_label(label))
                for label in labels
            ]
        ref = self._reference()
        return one_hot(labels, classes).to(device=ref.device, dtype=ref.dtype)

    def _label_index(self, label: int | float | str) -> int:
        """The position of the class ``label`` names (:meth:`condition_from_labels`' rule)."""
        names = self.config.class_names or ()
        found = class_index(names, str(label)) if names else None
        if found is not None:
            return found
        listed = ", ".join(map(repr, names))
        last = self.config.num_classes - 1
        plain = list(names) == [str(i) for i in range(len(names))]  # (names are positions)
        if not plain and any(number_of(name) is not None for name in names):  # (userL #12)
            at = type(label) is int and 0 <= label <= last
            position = f", or torch.tensor({label}) for {names[label]!r} by position" if at else ""
            raise ConfigError(
                f"label {label!r} names no class: the class names are numbers ({listed}), so a "
                f"number is read as a name, as --condition reads it; pass one of them{position}"
            )
        positions = plain or self.config.class_positions
        if (position := whole_number(label)) is not None:  # (2, 2.0, '2', '2.0': readB #9)
            if positions:
                return position
            at = f", or torch.tensor({position}) for {names[position]!r} by position" if (
                0 <= position <= last) else ""  # fmt: skip
            raise ConfigError(
                f"label {label!r} names no class: the classes ({listed}) have no numbers but "
                f"their sorted order, so a number is not read as a position, as --condition "
                f"does not read it; pass one of the names{at}"
            )
        if isinstance(label, str):
            valid = ", ".join(names) or "none (this model has no class_names)"
            raise ConfigError(f"unknown class name {label!r}; valid names are {valid}")
        if not positions:
            raise ConfigError(f"label {label!r} names no class; pass one of the names ({listed})")
        raise ConfigError(
            f"label {label!r} is neither a class name nor a position; pass an integer "
            f"0..{last} or one of the names ({listed or 'none: this model has no class_names'})"
        )

    @torch.no_grad()
    def sample(
        self, n: int, c: Tensor | None = None, *, generator: torch.Generator | None = None
    ) -> Tensor:
        """Decoder means for z ~ p(z | c), shape ``(n, D)`` (no gradients).

        Args:
            n: number of samples.
            c: conditions ``(n, C)``, or one ``(C,)`` shared by all n (required: None is
                refused, naming c, as by every method of a CVAE).
            generator: random source for z, on any device (the draws are moved to the model's).
        """
        c = self._condition(c, (check_positive_int("n", n),))
        if self.config.prior in MIXTURE_PRIORS:
            z = draw(self.prior(c), 1, generator)[0]  # (n, K): one draw per condition
            return self.decode(z, c).mean
        base = self.prior(c).base_dist  # Normal with loc/scale of shape (n, K)
        eps = _device.randn(base.loc.shape, generator=generator, like=base.loc)
        return self.decode(base.loc + base.scale * eps, c).mean

    @torch.no_grad()
    def transfer(self, x: Tensor, c_from: Tensor, c_to: Tensor) -> Tensor:
        """Style transfer: decode x's posterior mean under ``c_from`` with condition ``c_to``.

        Args:
            x: data ``(B, D)``; c_from: its conditions ``(B, C)``; c_to: target conditions
                ``(B, C)`` or ``(C,)``.

        Returns:
            Decoder means ``(B, D)``: x's style (what z encodes) rendered as class ``c_to``.
        """
        z = self.encode(x, c_from).mean  # (B, K)
        return self.decode(z, c_to).mean
