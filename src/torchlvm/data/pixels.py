"""How an array file's axes and values become rows: the one rule every reader of ``.npy`` /
``.npz`` files follows (:mod:`torchlvm.data.files`, and :mod:`torchlvm.data.memmap` batch by
batch), so every command reads a file the same way.

- **Axes.** ``(N, D)`` are rows. ``(N, H, W)`` are grey images, per-example shape ``(1, H, W)``.
  ``(N, C, H, W)`` with C = 1 (grey) or 3 (RGB) are images as PyTorch stores them; an array
  whose axis 1 is no such C but whose last axis is, ``(N, H, W, C)`` as PIL, matplotlib and
  TensorFlow store images ("channels last"), is moved to ``(N, C, H, W)``. Any other 4-D array
  is refused: its channels are neither first nor last as images are saved. An image is
  flattened row-major, channel by channel, to ``D = C·H·W`` values.
- **Values.** ``uint8`` values are 8-bit grey levels, 0..255, and are divided by 255, so they
  lie in [0, 1] as the MNIST loaders' do (:mod:`torchlvm.data.mnist`) and a binarizing protocol
  can draw from them. Every other dtype is read as stored; a float file of values above 1
  meets the protocols' check (:func:`torchlvm.data.binarize.check_intensities`), whose message
  names the rescaling.
"""

from __future__ import annotations

import math
import os
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from torchlvm.errors import DataError

CHANNELS: tuple[int, ...] = (1, 3)
"""The channel counts an image may have: grey or RGB (what the figures draw)."""
PIXEL_MAX = 255
"""The largest 8-bit grey level: uint8 values are divided by it."""
IMAGE_DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist")
"""Datasets of grey-level images in [0, 1]."""
READING = 2
"""The version of this rule, recorded by a run trained on an image file (``"pixels"`` in its
``data`` record). Runs without it were trained under the first reading, which took uint8
values as 0..255 and channels-last arrays in their own order (:func:`earlier_reading`)."""


COLOUR_DEFAULTS: dict[str, object] = {
    "likelihood": "gaussian",
    "variance": "diagonal",
    "scale": 0.1,
}
"""What an RGB image file trains with unless told a likelihood or a protocol: a Gaussian p(x | z)
with a learned σ per pixel, starting at 0.1, on the colours as they are. Measured against the
grey images' Bernoulli on dynamically binarized pixels (benchmarks/results/rgb_likelihood.md):
on colour Fashion-MNIST its reconstruction error and sample Fréchet distance were lower; on
8 × 8 colour digits its reconstructions were too, its samples' distance higher; and it is a
likelihood of the colours themselves, where a Bernoulli puts no mass on a pixel that is not 0
or 1 and binarizing each channel leaves 8 colours. Binarization is the protocol of the MNIST
benchmarks (Burda et al. 2016); colour-image VAEs model the values (a Gaussian with a learned
σ, Rybkin et al. 2021; a discretized logistic, Kingma et al. 2016, Vahdat & Kautz 2020). A σ
starting at 1, the Gaussian's default, weighed the pixels so little against the KL term that
the digits' reconstructions were near their mean image after 20 epochs."""


def is_image_data(name: str) -> bool:
    """Whether data ``name`` are images, trained by default with a Bernoulli likelihood on
    dynamically binarized pixels: an image dataset, or an image file (:func:`is_image_file`),
    as MNIST is whether it comes by name or as a user's ``.npy``; an RGB file
    (:func:`is_colour_file`) takes :data:`COLOUR_DEFAULTS` instead."""
    return name in IMAGE_DATASETS or is_image_file(name)


def is_colour_file(path: str | os.PathLike[str]) -> bool:
    """Whether the ``.npy`` / ``.npz`` file at ``path`` holds RGB images, ``(N, 3, H, W)`` or
    ``(N, H, W, 3)``, read from its header alone."""
    header = _array_header(path)
    if header is None or len(header[0]) != 4:
        return False
    try:
        return example_shape(header[0], path)[0] == 3
    except DataError:
        return False


def example_shape(shape: tuple[int, ...], path: str | os.PathLike[str]) -> tuple[int, ...]:
    """The per-example shape rows of an array of ``shape`` (``(N, ...)``) are flattened from:
    ``(D,)`` for rows, ``(C, H, W)`` for images (channels first, whatever the file's order).

    Raises:
        DataError: for a 4-D array whose channels are neither first nor last.
    """
    if len(shape) == 2:
        return (shape[1],)
    if len(shape) == 3:
        return (1, *shape[1:])
    if shape[1] in CHANNELS:
        return tuple(shape[1:])
    if shape[-1] in CHANNELS:
        return (shape[-1], *shape[1:-1])
    raise DataError(
        f"{path} holds images of shape {tuple(shape[1:])} each: neither the first nor the last "
        "axis holds 1 (grey) or 3 (RGB) channels; save them as (N, C, H, W) or (N, H, W, C) "
        "with C 1 or 3, or as (N, D) rows (numpy: x.reshape(len(x), -1))"
    )


def channels_last(shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` (checked by :func:`example_shape`) holds ``(N, H, W, C)``
    images, to be moved to ``(N, C, H, W)``."""
    return len(shape) == 4 and shape[1] not in CHANNELS and shape[-1] in CHANNELS


def channels_first(array: np.ndarray) -> np.ndarray:
    """``array`` (``shape``-checked) with an ``(N, H, W, C)`` array's channels moved first (a
    view), so that its values flatten in the order of the rows made from it."""
    if channels_last(array.shape):
        return array.transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)
    return array


def rows(array: np.ndarray, dtype: type = np.float32) -> np.ndarray:
    """``(N, D)`` rows of ``dtype`` from an array of ``(N, ...)`` or of raw file rows ``(B, D)``
    of a ``(B, H, W, C)`` file (pass ``shape``-checked arrays): channels moved first, ``uint8``
    divided by :data:`PIXEL_MAX`."""
    array = channels_first(array)
    out = np.asarray(array, dtype=dtype).reshape(len(array), -1)
    if array.dtype == np.uint8:  # (out is a new array: the dtype changed)
        out /= dtype(PIXEL_MAX)
    return out


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the ``.npy`` / ``.npz`` file at ``path`` holds images, ``(N, H, W)`` or
    ``(N, C, H, W)``, read from its header alone; False for rows, another file, or one that
    cannot be read (reading it says why)."""
    header = _array_header(path)
    return header is not None and len(header[0]) in (3, 4)


def earlier_reading(path: str | os.PathLike[str]) -> str | None:
    """How torchlvm read the image file at ``path`` before this rule (before
    :data:`READING`), where that differs from how it reads it now: uint8 values as 0..255, an
    ``(N, H, W, C)`` array's values in its own order; None where the reading is the same."""
    header = _array_header(path)
    if header is None or len(header[0]) not in (3, 4):
        return None
    shape, dtype = header
    changes = []
    if dtype == np.uint8:
        changes.append("its uint8 values as 0..255 (now divided by 255)")
    if channels_last(shape):
        changes.append("its (N, H, W, C) images channels last (now moved first)")
    return " and ".join(changes) or None


def _array_header(path: str | os.PathLike[str]) -> tuple[tuple[int, ...], np.dtype] | None:
    """``(shape, dtype)`` of the array a ``.npy`` / ``.npz`` file holds (an archive's data
    array), from its header alone; None for another file or one that cannot be read."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            with open(path, "rb") as f:
                shape, _, dtype = npy_header(f)
                return shape, dtype
        if path.suffix.lower() == ".npz":
            with zipfile.ZipFile(path) as archive:
                from torchlvm.data.files import npz_data_key

                names = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
                key = npz_data_key(names)
                if key is None:
                    return None
                with archive.open(f"{key}.npy") as f:
                    shape, _, dtype = npy_header(f)
                    return shape, dtype
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, SyntaxError):
        return None
    return None


def npy_header(f: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the header of the ``.npy`` stream ``f``, left at
    the first value (numpy's own parser, every format version)."""
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    return np.lib.format._read_array_header(f, version)


def check_same_images(
    shape: tuple[int, ...], trained: tuple[int, ...] | None, name: str, model: str
) -> None:
    """Refuse images of per-example ``shape`` ``(C, H, W)`` for a model ``trained`` on images of
    another shape with as many values (28 × 20 images as 20 × 28: each row would be read in the
    trained layout, silently other pictures); rows ``(D,)`` and a model of no recorded image
    shape pass.

    Raises:
        DataError: naming both shapes and, for swapped height and width, the transposition.
    """
    if trained is None or len(shape) != 3 or len(trained) != 3 or tuple(trained) == shape:
        return
    c, h, w = trained
    fix = (
        "swap their axes (numpy: np.save('swapped.npy', x.transpose(0, 2, 1)))"
        if shape == (c, w, h) and c == 1
        else f"save them as (N, {c}, {h}, {w}) images"
    )
    raise DataError(
        f"{name} holds images of {' x '.join(map(str, shape[1:]))} pixels with {shape[0]} "
        f"channel{'s' * (shape[0] != 1)}, but {model} was trained on {h} x {w} with {c}; as many "
        f"values, another layout: each would be read as another picture; {fix}"
    )


def flattened_images(shape: tuple[int, ...]) -> str:
    """For rows of per-example ``shape`` ``(D,)`` that may be square grey images flattened
    (D = H², as MNIST's 784 are 28 × 28), the clause naming how to train on them as images;
    "" otherwise (an RGB row's channel order is not known from D)."""
    side = math.isqrt(shape[0]) if len(shape) == 1 else 0
    if side < 2 or side * side != shape[0]:
        return ""
    return (
        f"; or, if they are {side} x {side} images flattened, save them as (N, {side}, {side}) "
        f"(numpy: x.reshape(-1, {side}, {side})) and train on that file"
    )
