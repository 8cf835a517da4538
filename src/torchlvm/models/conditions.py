"""Condition vectors for conditional models: one-hot labels and masks for imputation.

A CVAE accepts any condition vector c (:class:`~torchlvm.models.cvae.CVAE`); this
module builds the two the library uses.

- Class-conditional generation: ``one_hot(labels, num_classes)``.
- Imputation from context (Sohn, Lee & Yan 2015, "Learning Structured Output Representation using
  Deep Conditional Generative Models", §4.2): the condition is the observed part of the image
  together with the mask that says which part that is, ``masked_condition(x, mask)`` =
  concat(x ⊙ m, m); the CVAE then models p(x | observed part).

What a model is conditioned on is a :class:`Condition`, parsed once from the text
``none | label | mask:KIND`` that the CLI takes and ``config.json`` records; bound to the data
(:meth:`Condition.bind`) it builds c for a batch.

Mask convention: a mask is True where a pixel is OBSERVED. A mask kind names the part that is
MISSING: ``image_mask("top", ...)`` hides the top half (True on the bottom half), so
``impute --mask top`` means "the top half is missing; impute it from the bottom half".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from torchlvm._checks import check_positive_int
from torchlvm.errors import ConfigError, DataError, on_command_line, spelled

MASK_KINDS: tuple[str, ...] = (
    "top",
    "bottom",
    "left",
    "right",
    "top-left",
    "top-right",
    "bottom-left",
    "bottom-right",
    "random:<fraction>",
)
"""The kinds :func:`image_mask` accepts; each names the MISSING part. ``random:<fraction>`` is a
pattern: e.g. ``random:0.25`` hides a random quarter of the pixels."""


def plain_label(label: Any) -> Any:
    """A NumPy scalar label as the Python value it holds (``7``, not ``np.int64(7)``), as a
    message shows it and a lookup compares it; any other label as it is."""
    return label.item() if isinstance(label, np.generic) else label


def one_hot(labels: Tensor | Sequence[int], num_classes: int) -> Tensor:
    """One-hot rows for integer class labels.

    Args:
        labels: integer labels, shape ``(B,)``.
        num_classes: C.

    Returns:
        Float tensor ``(B, C)``.

    Raises:
        ConfigError: for a label outside ``0..C-1`` or a non-integer label.
    """
    check_positive_int("num_classes", num_classes)
    labels = torch.as_tensor(labels)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise ConfigError(
            f"labels must be integers in 0..{num_classes - 1}, got {labels.dtype}; convert them "
            "with labels.long()"
        )
    labels = labels.long()
    bad = labels[(labels < 0) | (labels >= num_classes)]
    if bad.numel():
        raise ConfigError(
            f"label {bad[0].item()} is out of range; valid labels are 0..{num_classes - 1}"
        )
    return torch.nn.functional.one_hot(labels, num_classes).float()


def check_class_condition(c: Tensor, batch_shape: Sequence[int]) -> None:
    """Refuse class labels where one-hot class conditions ``(..., C)`` belong.

    A CVAE built for classes broadcasts one condition vector ``(C,)`` over a batch, so a tensor
    of ``C`` labels (a batch of ten images of a ten-class model, one per class) has the shape of
    one condition and was taken as one: labels 0..9 as the "condition" gave log p(x | c) =
    −86,709 nats where their one-hot rows give −22.25. Conditions are weights of classes, each
    in [0, 1] (a one-hot row, or a mix of classes to explore between them); an integer tensor is
    one-hot rows or labels; an integer ``(C,)`` for a batch of ``C`` rows could be either
    (``[0, 1]``: two labels, or class 1 for both), so it is refused too. Made where torch
    validates distribution arguments, as :func:`~torchlvm._checks.check_finite` (the training
    step skips this host read).

    Raises:
        DataError: naming what was found and ``condition_from_labels``.
    """
    if not torch.distributions.Distribution._validate_args:
        return
    C = c.shape[-1]
    integer = not c.is_floating_point()
    outside = (c < 0) | (c > 1)
    fix = "pass model.condition_from_labels(labels)"
    if bool(outside.any()):
        found = f"c holds a value {c[outside][0].item():g}"
    elif integer and bool((c.sum(-1) != 1).any()):
        found = "c holds integer rows that are not one-hot"
    elif integer and c.ndim == 1 and tuple(batch_shape[-1:]) == (C,):
        found = f"c is {C} integers for a batch of {C} rows: {C} labels or one one-hot row"
        fix += " for labels, or c.float() for one condition shared by the batch"
    else:
        return
    raise DataError(
        f"{found}; class conditions are one-hot rows, entries in [0, 1], shape (B, {C}) or "
        f"({C},) for the whole batch; {fix}"
    )


def _spatial(image_shape: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise ConfigError(f"image_shape must be (C, H, W) or (H, W), got {image_shape!r}")
    for size in shape:
        check_positive_int("image_shape size", size)
    return shape  # type: ignore[return-value]


def _random_fraction(kind: str) -> float:
    text = kind.partition(":")[2]
    try:
        fraction = float(text)
    except ValueError:
        fraction = math.nan
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(
            f"mask kind {kind!r} needs a missing fraction in [0, 1] after 'random:', "
            "e.g. 'random:0.5'"
        )
    return fraction


def check_mask_kind(kind: str) -> str:
    """Return ``kind`` if :func:`image_mask` accepts it, else raise ``ConfigError``."""
    if isinstance(kind, str) and kind.startswith("random:"):
        _random_fraction(kind)
        return kind
    if kind not in MASK_KINDS[:-1]:
        raise ConfigError(
            f"mask kind must be one of {', '.join(MASK_KINDS)} (the part that is missing), "
            f"got {kind!r}"
        )
    return kind


def image_mask(
    kind: str, image_shape: Sequence[int], *, generator: torch.Generator | None = None
) -> Tensor:
    """Which pixels of a flattened image are observed, with the part named by ``kind`` missing.

    Args:
        kind: one of :data:`MASK_KINDS`: a half (``"top"`` hides rows ``0..H//2-1``), a quadrant
            (``"top-left"``), or ``"random:<fraction>"`` (that fraction of pixel positions,
            rounded, chosen uniformly with ``generator``). For an odd size the hidden half is the
            ``H // 2`` rows (or columns) at that edge; the middle line stays observed.
        image_shape: ``(C, H, W)`` or ``(H, W)``; every channel of a hidden pixel is hidden.
        generator: random source for ``"random:..."``.

    Returns:
        Bool tensor ``(C·H·W,)``, True where OBSERVED, in the ``(C, H, W)`` flattening order.

    Raises:
        ConfigError: for an unknown kind or a bad image shape.
    """
    kind = check_mask_kind(kind)
    channels, height, width = _spatial(image_shape)
    if kind.startswith("random:"):
        n_missing = round(_random_fraction(kind) * height * width)
        missing = torch.zeros(height * width, dtype=torch.bool)
        missing[torch.randperm(height * width, generator=generator)[:n_missing]] = True
        missing = missing.reshape(height, width)
    else:
        rows = torch.arange(height)[:, None].expand(height, width)
        cols = torch.arange(width)[None, :].expand(height, width)
        edge = {
            "top": rows < height // 2,
            "bottom": rows >= height - height // 2,
            "left": cols < width // 2,
            "right": cols >= width - width // 2,
        }
        missing = torch.ones(height, width, dtype=torch.bool)
        for part in kind.split("-"):
            missing &= edge[part]
    return (~missing).expand(channels, height, width).reshape(-1)


def masked_condition(x: Tensor, observed_mask: Tensor) -> Tensor:
    """The imputation condition concat(x ⊙ m, m) (Sohn et al. 2015, §4.2).

    Missing entries are set to 0 (NaN there is fine), and the mask itself is appended so that
    the model can tell an observed 0 from a missing pixel.

    Args:
        x: data ``(B, D)``.
        observed_mask: bool ``(D,)`` or ``(B, D)``, True where observed.

    Returns:
        Float tensor ``(B, 2D)``.

    Raises:
        DataError: if the mask's width is not D or its batch does not match ``x``.
    """
    mask = torch.as_tensor(observed_mask, dtype=torch.bool, device=x.device)
    if mask.shape[-1:] != x.shape[-1:] or mask.ndim > x.ndim:
        raise DataError(
            f"observed_mask has shape {tuple(mask.shape)} but data has shape {tuple(x.shape)}; "
            f"pass a mask of shape ({x.shape[-1]},) or {tuple(x.shape)}"
        )
    try:
        mask = mask.expand_as(x)
    except RuntimeError:
        raise DataError(
            f"observed_mask of shape {tuple(mask.shape)} does not fit data of shape "
            f"{tuple(x.shape)}"
        ) from None
    observed = torch.where(mask, x, torch.zeros((), dtype=x.dtype, device=x.device))
    return torch.cat([observed, mask.to(x.dtype)], dim=-1)  # (B, 2D)


ConditionKind = Literal["none", "label", "mask"]


@dataclass(frozen=True)
class Condition:
    """What a model is conditioned on: nothing, the one-hot class, or the observed part of x.

    Parse the text form once with :meth:`parse`; ``str(condition)`` gives it back in the
    canonical form that ``config.json`` records. Bind it to the data with :meth:`bind` to build c.

    Attributes:
        kind: ``"none"``, ``"label"`` or ``"mask"``.
        missing: for ``"mask"``, the MISSING part (one of :data:`MASK_KINDS`, e.g. ``"top"`` or
            ``"random:0.5"``); None otherwise.
    """

    kind: ConditionKind = "none"
    missing: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("none", "label", "mask"):
            raise ConfigError(f"condition kind must be none, label or mask, got {self.kind!r}")
        if (self.kind == "mask") != (self.missing is not None):
            raise ConfigError("a mask condition (and only one) names its missing part")
        if self.missing is not None:
            check_mask_kind(self.missing)

    @classmethod
    def parse(cls, text: str | Condition) -> Condition:
        """The condition named by ``text``: ``"none"``, ``"label"`` or ``"mask:KIND"``.

        Raises:
            ConfigError: for any other text, or an unknown mask kind (the message lists them).
        """
        if isinstance(text, Condition):
            return text
        if text in ("none", "label"):
            return cls(text)
        if isinstance(text, str) and text.startswith("mask:"):
            return cls("mask", text.partition(":")[2])
        raise ConfigError(
            f"condition must be 'none', 'label' or 'mask:KIND' (e.g. 'mask:top'), got {text!r}"
        )

    def __str__(self) -> str:
        return f"mask:{self.missing}" if self.kind == "mask" else self.kind

    @property
    def given(self) -> str:
        """What a conditional model's densities are conditioned on, as written after the bar:
        ``""`` for ``"none"``, ``"c"`` for a label, ``"x_o"`` (the observed part) for a mask; so
        the likelihood is ``log p(x | c)`` and every number says which density it is."""
        return {"none": "", "label": "c"}.get(self.kind, "x_o")

    @property
    def conditional(self) -> bool:
        """Whether a model trained under this condition takes c (a CVAE)."""
        return self.kind != "none"

    def dim(self, input_dim: int, num_classes: int | None) -> int | None:
        """C, the width of c for data of ``input_dim`` values and ``num_classes`` classes:
        C for ``"label"``, 2D for a mask (x ⊙ m and m), None for ``"none"``."""
        if self.kind == "label":
            return num_classes
        return 2 * input_dim if self.kind == "mask" else None

    def mask(self, image_shape: Sequence[int], seed: int) -> Tensor:
        """The observed-pixel mask ``(D,)`` of a mask condition, True where observed; a
        ``random:`` mask is drawn with ``seed`` (the run's data seed, as training drew it).

        Raises:
            ConfigError: for a condition that is not a mask.
        """
        if self.missing is None:
            raise ConfigError(f"condition {self} has no mask; only mask:KIND conditions do")
        if len(image_shape) == 1:  # rows of a table: no image part to hide
            raise spelled(ConfigError, lambda spell: (
                f"condition {self} hides part of an image, and these data are rows of "
                f"{image_shape[0]} values, not images; for a table with empty cells train a vae "
                f"with {spell('allow_missing', True)} (the MIWAE bound) and fill them with "
                + (
                    "'torchlvm impute RUN --data FILE.csv --out FILLED.csv'"
                    if spell is on_command_line
                    else "torchlvm.inference.imputation.impute_rows(model, x)"
                )
            ))  # fmt: skip
        generator = torch.Generator().manual_seed(seed)
        observed = image_mask(self.missing, image_shape, generator=generator)
        if observed.all():  # (trained, it divided log p(x_m | x_o) by zero dimensions at evaluate)
            _, height, width = _spatial(image_shape)
            least = f"{1 / (height * width):.2g}"
            raise spelled(ConfigError, lambda spell: (
                f"{spell('condition', str(self))} hides none of the {height * width} pixels of "
                f"{height}x{width} images, so nothing is left to draw from the rest; pass "
                f"a mask that hides some: {spell('condition', 'mask:top')}, or a random "
                f"fraction of at least {least} ({spell('condition', 'mask:random:0.25')})"
            ))  # fmt: skip
        return observed

    def bind(
        self, image_shape: Sequence[int], *, seed: int = 0, num_classes: int | None = None
    ) -> BoundCondition:
        """This condition for data of per-example shape ``image_shape`` (its mask drawn now).

        Raises:
            ConfigError: for ``"label"`` without ``num_classes``.
        """
        if self.kind == "label" and num_classes is None:
            raise ConfigError("condition 'label' needs class labels, and the data have no classes")
        mask = self.mask(image_shape, seed) if self.kind == "mask" else None
        dim = self.dim(math.prod(image_shape), num_classes)
        return BoundCondition(self, dim, num_classes, mask)


@dataclass(frozen=True)
class BoundCondition:
    """A :class:`Condition` bound to the data: it builds c for a batch.

    Attributes:
        condition: what it is. dim: C, the width of c (None for ``"none"``).
        num_classes: classes of a ``"label"`` condition. mask: bool ``(D,)``, True where observed,
            for a mask condition, else None.
    """

    condition: Condition
    dim: int | None
    num_classes: int | None
    mask: Tensor | None

    @property
    def missing(self) -> Tensor | None:
        """bool ``(D,)``, True where a mask condition hides x, else None."""
        return None if self.mask is None else ~self.mask

    def build(self, x: Tensor, y: Tensor | None) -> Tensor | None:
        """The condition c ``(B, C)`` of a batch ``x`` ``(B, D)`` with labels ``y`` ``(B,)``,
        or None for ``"none"``.

        Raises:
            DataError: for ``"label"`` when ``y`` is None.
        """
        if self.condition.kind == "label":
            if y is None:
                raise DataError(
                    "condition 'label' needs class labels, and this data has none; pass "
                    "labelled data"
                )
            return one_hot(y, int(self.num_classes)).to(x.dtype)  # type: ignore[arg-type]
        if self.mask is not None:
            return masked_condition(x, self.mask)
        return None
