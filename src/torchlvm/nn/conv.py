"""Convolutional encoder and decoder for images of any height and width, on flat vectors.

Both take and return flat vectors ``(..., D)`` with ``D = C·H·W`` and reshape inside, so they drop
in wherever an :class:`~torchlvm.nn.MLP` does (``z`` of shape ``(S, B, K)`` decodes to
``(S, B, D)``).

- Encoder: ``len(channels)`` stride-2 3×3 convolutions (padding 1), each halving H and W rounding
  up (28 → 14 → 7; 8 → 4 → 2), then an MLP from the flattened features to ``out_dim``.
- Decoder: the mirror image — an MLP to the smallest feature map, ``len(channels)`` stride-2 4×4
  transposed convolutions, each doubling H and W, then a crop (or pad) to exactly H×W.

The last layer of each is linear: the decoder returns raw parameters (logits or means) for a
likelihood head; no probability code lives here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from torchlvm._checks import check_choice, check_positive_int
from torchlvm.errors import ConfigError
from torchlvm.nn.activations import ACTIVATIONS, make_activation
from torchlvm.nn.mlp import MLP


def check_image_shape(image_shape: Sequence[int]) -> tuple[int, int, int]:
    """Return ``image_shape`` as ``(C, H, W)`` of positive ints, else raise ``ConfigError``."""
    shape = tuple(image_shape)
    if len(shape) != 3 or not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise ConfigError(f"image_shape must be (channels, height, width), got {image_shape!r}")
    for name, size in zip(("channels", "height", "width"), shape, strict=True):
        check_positive_int(f"image_shape {name}", size)
    return shape  # type: ignore[return-value]


def _feature_map_size(image_shape: tuple[int, int, int], depth: int) -> tuple[int, int]:
    """H and W after ``depth`` stride-2 convolutions that round up."""
    _, h, w = image_shape
    for _ in range(depth):
        h, w = math.ceil(h / 2), math.ceil(w / 2)
    return h, w


def _check_channels(channels: Sequence[int]) -> tuple[int, ...]:
    if len(channels) == 0:
        raise ConfigError("channels must list at least one convolution width, got ()")
    return tuple(check_positive_int("channels width", c) for c in channels)


class ConvEncoder(nn.Module):
    """Stride-2 convolutions then an MLP: ``(..., C·H·W [+ extra_dim])`` → ``(..., out_dim)``.

    Args:
        image_shape: ``(C, H, W)``.
        out_dim: size of the output.
        channels: output channels of each convolution, from the image inwards.
        hidden: widths of the MLP between the flattened features and the output.
        activation: name from :data:`torchlvm.nn.ACTIVATIONS`.
        extra_dim: width of a vector appended to the image (e.g. a CVAE's condition); it skips
            the convolutions and joins the flattened features before the MLP.

    Raises:
        ConfigError: for a bad image shape, width or activation name.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        out_dim: int,
        *,
        channels: Sequence[int] = (32, 64),
        hidden: Sequence[int] = (),
        activation: str = "relu",
        extra_dim: int = 0,
    ) -> None:
        super().__init__()
        self.image_shape = check_image_shape(image_shape)
        check_choice("activation", activation, ACTIVATIONS)
        channels = _check_channels(channels)
        if isinstance(extra_dim, bool) or not isinstance(extra_dim, int) or extra_dim < 0:
            raise ConfigError(f"extra_dim must be a non-negative integer, got {extra_dim!r}")
        self.extra_dim, self.out_dim = extra_dim, out_dim
        self.image_dim = math.prod(self.image_shape)
        layers: list[nn.Module] = []
        c_in = self.image_shape[0]
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), make_activation(activation)]
            c_in = c_out
        self.convs = nn.Sequential(*layers)
        h, w = _feature_map_size(self.image_shape, len(channels))
        self.head = MLP(c_in * h * w + extra_dim, tuple(hidden), out_dim, activation)

    def forward(self, x: Tensor) -> Tensor:
        """Args: x ``(..., C·H·W + extra_dim)``. Returns: ``(..., out_dim)``."""
        lead = x.shape[:-1]
        image = x[..., : self.image_dim].reshape(-1, *self.image_shape)  # (N, C, H, W)
        features = self.convs(image).flatten(1)  # (N, F)
        if self.extra_dim:
            extra = x[..., self.image_dim :].reshape(-1, self.extra_dim)  # (N, E)
            features = torch.cat([features, extra], dim=-1)
        return self.head(features).reshape(*lead, self.out_dim)  # (..., out_dim)


class ConvDecoder(nn.Module):
    """An MLP then stride-2 transposed convolutions: ``(..., in_dim)`` → ``(..., C·H·W)``.

    Args:
        in_dim: size of the input (e.g. K, or K + condition width).
        image_shape: ``(C, H, W)`` of the output.
        channels: the matching encoder's channels, from the image inwards; the decoder uses
            them in reverse, so ``ConvEncoder`` and ``ConvDecoder`` with the same argument mirror
            each other.
        hidden: widths of the MLP before the first feature map, listed from the input.
        activation: name from :data:`torchlvm.nn.ACTIVATIONS`.

    Raises:
        ConfigError: for a bad image shape, width or activation name.
    """

    def __init__(
        self,
        in_dim: int,
        image_shape: Sequence[int],
        *,
        channels: Sequence[int] = (32, 64),
        hidden: Sequence[int] = (),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.image_shape = check_image_shape(image_shape)
        check_choice("activation", activation, ACTIVATIONS)
        inward = _check_channels(channels)
        self.in_dim = check_positive_int("in_dim", in_dim)
        self.image_dim = math.prod(self.image_shape)
        self.start = (inward[-1], *_feature_map_size(self.image_shape, len(inward)))
        self.fc = nn.Sequential(
            MLP(in_dim, tuple(hidden), math.prod(self.start), activation),
            make_activation(activation),
        )
        outward = (*reversed(inward), self.image_shape[0])
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(outward[:-1], outward[1:], strict=True)):
            if i > 0:
                layers.append(make_activation(activation))
            layers.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
        self.deconvs = nn.Sequential(*layers)

    def forward(self, z: Tensor) -> Tensor:
        """Args: z ``(..., in_dim)``. Returns: ``(..., C·H·W)``, raw (no output activation)."""
        lead = z.shape[:-1]
        h = self.fc(z.reshape(-1, self.in_dim)).reshape(-1, *self.start)  # (N, C0, h0, w0)
        out = self.deconvs(h)  # (N, C, h0·2^n, w0·2^n)
        _, H, W = self.image_shape
        dh, dw = H - out.shape[-2], W - out.shape[-1]
        out = F.pad(out, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))  # crop or pad to H×W
        return out.reshape(*lead, self.image_dim)  # (..., C·H·W)
