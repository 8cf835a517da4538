"""Encoder and decoder networks by architecture name, and the checks their settings need.

Models store ``arch`` (``"mlp"`` or ``"conv"``), ``hidden``, ``activation`` and ``image_shape``
in their configs; these functions turn those into networks so that every model builds its
networks the same way. The decoder mirrors the encoder: hidden widths in reverse.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from torchlvm._checks import check_choice, check_floating, check_positive_int, check_tensor
from torchlvm.errors import ConfigError, DataError
from torchlvm.nn.activations import ACTIVATIONS
from torchlvm.nn.conv import ConvDecoder, ConvEncoder, check_image_shape
from torchlvm.nn.mlp import MLP

Arch = Literal["mlp", "conv"]
ARCHS: tuple[str, ...] = ("mlp", "conv")
MAX_DEPTH = 64  # no network with more hidden layers than this is accepted


def check_width(name: str, value: object, max_width: int) -> int:
    """Return ``value`` if it is an int in ``1..max_width``, else raise ``ConfigError``."""
    check_positive_int(name, value)
    if value > max_width:  # type: ignore[operator]
        raise ConfigError(f"{name} must be at most {max_width}, got {value!r}")
    return value  # type: ignore[return-value]


def check_architecture(
    *,
    input_dim: int,
    latent_dim: int,
    hidden: Sequence[int],
    activation: str,
    arch: str,
    image_shape: Sequence[int] | None,
    max_width: int,
) -> None:
    """Validate the network fields shared by every deep model's config.

    Raises:
        ConfigError: naming the field, its value and what is allowed — e.g.
            ``latent_dim must be a positive integer, got 0``, or a conv ``arch`` without an
            ``image_shape`` whose product is ``input_dim``.
    """
    check_width("input_dim", input_dim, max_width)
    check_width("latent_dim", latent_dim, max_width)
    if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
        width = isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool)
        one = f"; one layer of {hidden} is hidden=({hidden},)" if width else ""
        raise ConfigError(f"hidden must be a tuple of layer widths, got {hidden!r}{one}")
    if len(hidden) > MAX_DEPTH:
        raise ConfigError(f"hidden may list at most {MAX_DEPTH} layers, got {len(hidden)}")
    for width in hidden:
        check_width("hidden width", width, max_width)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("arch", arch, ARCHS)
    if image_shape is None:
        if arch == "conv":
            raise ConfigError(
                "arch='conv' needs image_shape=(channels, height, width), got None; "
                "e.g. image_shape=(1, 28, 28) for input_dim=784"
            )
        return
    shape = check_image_shape(image_shape)
    for size in shape:
        check_width("image_shape size", size, max_width)
    if math.prod(shape) != input_dim:
        raise ConfigError(
            f"image_shape {shape} holds {math.prod(shape)} values but input_dim is {input_dim}; "
            "they must match"
        )


def encoder_network(
    arch: str,
    input_dim: int,
    out_dim: int,
    *,
    hidden: Sequence[int],
    activation: str,
    image_shape: Sequence[int] | None = None,
    extra_dim: int = 0,
) -> nn.Module:
    """``(..., input_dim + extra_dim)`` → ``(..., out_dim)``: an MLP or a :class:`ConvEncoder`.

    For ``"conv"`` the first ``input_dim`` entries are the image and the last ``extra_dim`` (a
    condition) join after the convolutions.
    """
    if check_choice("arch", arch, ARCHS) == "conv":
        assert image_shape is not None  # checked by check_architecture
        return ConvEncoder(
            image_shape, out_dim, hidden=hidden, activation=activation, extra_dim=extra_dim
        )
    return MLP(input_dim + extra_dim, tuple(hidden), out_dim, activation)


def decoder_network(
    arch: str,
    in_dim: int,
    output_dim: int,
    *,
    hidden: Sequence[int],
    activation: str,
    image_shape: Sequence[int] | None = None,
) -> nn.Module:
    """``(..., in_dim)`` → ``(..., output_dim)``, mirroring :func:`encoder_network`'s ``hidden``."""
    mirrored = tuple(reversed(tuple(hidden)))
    if check_choice("arch", arch, ARCHS) == "conv":
        assert image_shape is not None  # checked by check_architecture
        return ConvDecoder(in_dim, image_shape, hidden=mirrored, activation=activation)
    return MLP(in_dim, mirrored, output_dim, activation)


def check_features(x: object, width: int, *, name: str = "data", what: str = "features") -> Tensor:
    """Return ``x`` if it is a floating tensor of shape ``(..., width)``, else raise ``DataError``.

    Args:
        x: the tensor a public method received.
        width: the size its last dimension must have.
        name: how the message refers to ``x`` (``"data"``, ``"z"``).
        what: how the message refers to the last dimension.
    """
    check_tensor(name, x)
    if x.ndim == 0 or x.shape[-1] != width:
        got = "a scalar" if x.ndim == 0 else f"{x.shape[-1]} {what}"
        raise DataError(
            f"{name} has {got} but the model expects {width}; "
            f"{_flattened(tuple(x.shape), width)} (shape given: {tuple(x.shape)})"
        )
    check_floating(name, x)
    return x


def _flattened(shape: tuple[int, ...], width: int) -> str:
    """How to pass a batch of ``shape`` to a model of ``width`` inputs: a batch of images of
    ``width`` pixels is flattened channels first, (C, H, W), the order in which every command
    reads an image file; a channels-last batch ``(B, H, W, C)`` flattened as it is puts its
    pixels out of that order, and the model reads it without an error, wrongly (userS #4: log
    p(x) -23,629 against +2,596 on an RGB run)."""
    if len(shape) < 3 or math.prod(shape[1:]) != width:
        return f"pass a tensor of shape (B, {width})"
    if len(shape) == 4 and shape[-1] in (1, 3, 4) and shape[1] not in (1, 3, 4):
        return (
            "these look like channels-last images (B, H, W, C): pass "
            "x.permute(0, 3, 1, 2).reshape(len(x), -1), the model reads pixels in (C, H, W) order"
        )
    return "pass the images flattened, x.reshape(len(x), -1), pixels in (C, H, W) order"
