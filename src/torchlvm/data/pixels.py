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
  can draw from them. So are the values of a file of another integer dtype (int64 from pandas or
  a Python list, int32, int16, uint16...) when every one of them lies in 0..255
  (:func:`eight_bit`): those are 8-bit pixels stored wide, as Kaggle's MNIST CSV read by pandas
  gives them. torchvision's ``ToTensor`` scales uint8 alone and ``ToDtype(scale=True)`` divides
  by the dtype's maximum (int64 0..255 becomes ~1e-17), neither of which reads such a file as
  the images it holds; a 16-bit image whose brightest pixel is 255 of 65535 (0.4% of its range)
  would be read 257 times too bright, a case only the user can tell: a ``uint16`` or ``int16``
  file (the dtypes of 16-bit images: PNG, TIFF, DICOM) read so is read with a warning naming
  both readings and the fix of each (:func:`warn_sixteen_bit`). An integer file with a value
  outside 0..255, a float file and a ``bool`` file are read as stored; values above 1 meet the
  protocols' check (:func:`torchlvm.data.binarize.check_intensities`), whose message names the
  rescaling.
"""

from __future__ import annotations

import math
import os
import struct
import tokenize
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from torchlvm.data.file_warning import warn_of_file
from torchlvm.data.npz_keys import npz_data_key
from torchlvm.errors import DataError

# what numpy raises on a damaged file: a mangled header is parsed by ast.literal_eval, so
# SyntaxError and tokenize's TokenError too, and a mangled dict the lookups' KeyError/TypeError
NUMPY_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OSError,
    EOFError,
    MemoryError,
    zipfile.BadZipFile,
    zlib.error,
    SyntaxError,
    tokenize.TokenError,
    KeyError,
    TypeError,
    IndexError,
    struct.error,
    NotImplementedError,  # zipfile: an unsupported version or compression
    RuntimeError,  # zipfile: an encrypted member
    OverflowError,
)

CHANNELS: tuple[int, ...] = (1, 3)
"""The channel counts an image may have: grey or RGB (what the figures draw)."""
PIXEL_MAX = 255
"""The largest 8-bit grey level: uint8 values (and integers of 0..255) are divided by it."""
DARK_LEVELS = 32
"""Integer images whose brightest value is below this are read with a warning
(:func:`warn_of_levels`): their white would be an eighth of the 8-bit range or less."""
IMAGE_DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist")
"""Datasets of grey-level images in [0, 1]."""
READING = 4
"""The version of this rule, recorded by a run trained on an image file (``"pixels"`` in its
``data`` record). Runs without it were trained under the first reading, which took uint8
values as 0..255 and channels-last arrays in their own order; runs of reading 2 took the values
of other integer dtypes as stored, 0..255; runs of reading 3 divided integer images of only 0
and 1 by 255 (:func:`earlier_reading`)."""


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
    header = array_header(path)
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
    if 4 in (shape[1], shape[-1]):  # (what PIL gives for a picture with transparency)
        alpha = "x[..., :3]" if shape[-1] == 4 else "x[:, :3]"
        raise DataError(
            f"{path} holds images of shape {tuple(shape[1:])} each: 4 channels, as RGBA "
            f"pictures have; drop the alpha channel (numpy: {alpha}) and save the array again"
        )
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


def rows(array: np.ndarray, dtype: type = np.float32, *, scaled: bool | None = None) -> np.ndarray:
    """``(N, D)`` rows of ``dtype`` from an array of ``(N, ...)`` or of raw file rows ``(B, ...)``
    of a file (pass ``shape``-checked arrays): channels moved first, 8-bit grey levels divided
    by :data:`PIXEL_MAX`: where ``scaled`` says so, or where it is None, where ``array`` holds
    such levels (:func:`eight_bit`; a part of a file takes the whole file's answer)."""
    if scaled is None:
        scaled = eight_bit(array)
    array = channels_first(array)
    out = np.asarray(array, dtype=dtype).reshape(len(array), -1)
    if scaled:
        if np.may_share_memory(out, array):  # (a float array: not the caller's to change)
            out = out.copy()
        out /= dtype(PIXEL_MAX)
    return out


def eight_bit_range(low: float, high: float) -> bool:
    """Whether integer image values from ``low`` to ``high`` are 8-bit grey levels: they lie in
    0..255 and are not only 0 and 1, which are binary images (binarized MNIST and Omniglot ship
    so, as ``(x > 127).astype(np.uint8)``), read as stored as a ``bool`` file is."""
    return low >= 0 and 1 < high <= PIXEL_MAX


def integer_levels(array: np.ndarray) -> tuple[int, int] | None:
    """The lowest and highest value of ``array`` (``(N, ...)``), read once, where it may hold
    8-bit grey levels: images ``(N, H, W)`` / ``(N, C, H, W)`` of an integer dtype, or any
    ``uint8`` array; ``(0, 0)`` for an empty one; None for another array. Rows ``(N, D)`` of
    another integer dtype are read as stored: counts in a table are no pixels."""
    if not (array.dtype == np.uint8 or (array.ndim in (3, 4) and wide_integers(array.dtype))):
        return None
    return (int(array.min()), int(array.max())) if array.size else (0, 0)


def eight_bit(array: np.ndarray) -> bool:
    """Whether ``array`` (``(N, ...)``) holds 8-bit grey levels, to be divided by
    :data:`PIXEL_MAX`: its :func:`integer_levels` lie in 0..255 and are not only 0 and 1
    (:func:`eight_bit_range`)."""
    levels = integer_levels(array)
    return levels is not None and (array.size == 0 or eight_bit_range(*levels))


def warn_of_either_order(shape: tuple[int, ...], path: str | os.PathLike[str]) -> None:
    """Warn where a 4-D array's first and last axes both could hold the channels (``(N, 3, H,
    3)``): it is read channels first (:func:`example_shape`), which the file does not tell;
    read whole or streamed (``--mmap``) alike."""
    if len(shape) != 4 or shape[1] not in CHANNELS or shape[-1] not in CHANNELS:
        return
    if shape[1] == shape[-1] == 1:
        return  # (N, 1, H, 1): either reading gives the same pixels
    warn_of_file(
        path,
        f"{path} holds an array of shape {tuple(shape)}, whose first or last axis may be the "
        f"channels: read as {shape[1]} channel{'s' * (shape[1] > 1)} of {shape[2]}x{shape[3]} "
        "images (N, C, H, W); if its channels are last, save it as (N, C, H, W) (numpy: "
        "x.transpose(0, 3, 1, 2))",
        stacklevel=3,
    )


def warn_of_levels(dtype: np.dtype, high: float, path: str | os.PathLike[str]) -> None:
    """Warn of integer images read as 8-bit grey levels (:func:`eight_bit`) that may be other
    levels: of a 16-bit dtype (:func:`warn_sixteen_bit`), or whose brightest value ``high`` is
    far below 255 (sklearn's digits hold 0..16), so they are read as dark images whose white is
    ``high`` / 255; nothing otherwise."""
    warn_sixteen_bit(dtype, path)
    if high < DARK_LEVELS:
        warn_of_file(
            path,
            f"{path} holds integer images whose brightest value is {high:g}: read as 8-bit grey "
            f"levels (divided by {PIXEL_MAX}), its white is {high / PIXEL_MAX:.3f}; if {high:g} "
            f"is white, save them divided by it as float32 (numpy: (x / {high:g})"
            ".astype('float32'))",
            stacklevel=2,
        )


def warn_sixteen_bit(dtype: np.dtype, path: str | os.PathLike[str]) -> None:
    """Warn, for images of a 16-bit integer ``dtype`` (``uint16``, ``int16``, of either byte
    order: the dtypes of 16-bit images) read as 8-bit grey levels (:func:`eight_bit`), that
    16-bit levels would be read 257 times too bright, naming the fix of each reading; nothing
    for another dtype."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu" or dtype.itemsize != 2:
        return
    warn_of_file(
        path,
        f"{path} holds {dtype.name} images whose values all lie in 0..255: read as 8-bit grey "
        f"levels (divided by {PIXEL_MAX}); if they are 16-bit levels (of 0..65535) they are "
        "read 257 times too bright: save them divided by 65535 as float32 (numpy: "
        "(x / 65535).astype('float32')); if they are 8-bit, save them as uint8 "
        "(x.astype('uint8')) to read them so without this warning",
        stacklevel=2,
    )


def wide_integers(dtype: np.dtype) -> bool:
    """Whether images of ``dtype`` are 8-bit grey levels when every value lies in 0..255, which
    only the values tell: an integer dtype other than ``uint8`` and ``bool``."""
    return dtype.kind in "iu" and dtype != np.uint8


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """Whether the ``.npy`` / ``.npz`` file at ``path`` holds images, ``(N, H, W)`` or
    ``(N, C, H, W)``, read from its header alone; False for rows, another file, or one that
    cannot be read (reading it says why)."""
    header = array_header(path)
    return header is not None and len(header[0]) in (3, 4)


def reading_record(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"pixels": READING, "stored_shape": [H, W, C], "divided_by": 255}`` for an image file
    (the rule its run was trained under; the axes of one image as the file stores them:
    ``[H, W]``, ``[C, H, W]`` or ``[H, W, C]``; what its values were divided by as they were
    read, :func:`levels_divisor`), for a ``data`` record, else ``{}``: the entries every
    command that writes a run adds. They are kept so that images written back in the file's
    layout and scale (``sample --npy``) keep them once the file has moved (review14 R9, readD
    D5)."""
    if not is_image_file(path):
        return {}
    header = array_header(path)
    stored = {} if header is None else {"stored_shape": [int(n) for n in header[0][1:]]}
    return {"pixels": READING, **stored, "divided_by": levels_divisor(path)}


def levels_divisor(path: str | os.PathLike[str]) -> int | None:
    """What the values of the image file at ``path`` are divided by as they are read:
    :data:`PIXEL_MAX` for 8-bit grey levels of an integer dtype (:func:`eight_bit`), None for
    values read as stored (floats, ``bool``, integers of only 0 and 1 or beyond 0..255)."""
    header = array_header(path)
    if header is None or len(header[0]) not in (3, 4) or header[1].kind not in "iu":
        return None
    levels = stored_levels(path)
    return PIXEL_MAX if levels is not None and levels != (0, 1) else None


def recorded_divisor(data: dict[str, Any]) -> int | None:
    """What the values of the image file a run was trained on were divided by as they were
    read (:func:`levels_divisor`), from its ``data`` record; for a run made before the record
    said it, from the file, where it is still in place and read under the same rule; None
    where they were read as stored, or it is not known."""
    if "divided_by" in data:
        return None if data["divided_by"] is None else int(data["divided_by"])
    path = str(data.get("name") or "")
    if not os.path.isfile(path) or earlier_reading(path, int(data.get("pixels", 1))):
        return None
    return levels_divisor(path)


def earlier_reading(path: str | os.PathLike[str], reading: int = 1) -> str | None:
    """How torchlvm read the image file at ``path`` under an earlier ``reading`` of this rule
    (a run's record; 1 where it has none), where that differs from how it reads it now: under
    reading 1, uint8 values as 0..255 and an ``(N, H, W, C)`` array's values in its own order;
    under 1 and 2, other integers of 0..255 as stored; under 2 (uint8) and 3 (any integer),
    images of only 0 and 1 divided by 255; None where the reading is the same."""
    header = array_header(path)
    if reading >= READING or header is None or len(header[0]) not in (3, 4):
        return None
    shape, dtype = header
    integers = dtype == np.uint8 or wide_integers(dtype)
    levels = stored_levels(path) if integers else None
    binary = levels == (0, 1)
    changes = []
    if dtype == np.uint8 and reading < 2 and not binary:
        changes.append("its uint8 values as 0..255 (now divided by 255)")
    if wide_integers(dtype) and reading < 3 and levels is not None and not binary:
        changes.append(f"its {dtype} values of 0..255 as stored (now divided by 255)")
    if binary and (reading == 3 or (dtype == np.uint8 and reading == 2)):
        changes.append(f"its {dtype} values of only 0 and 1 divided by 255 (now read as 0 and 1)")
    if channels_last(shape) and reading < 2:
        changes.append("its (N, H, W, C) images channels last (now moved first)")
    return " and ".join(changes) or None


def stored_levels(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The least and greatest values of the integer image array of the ``.npy`` / ``.npz`` file
    at ``path``, where they are 8-bit levels or only 0 and 1; None for other values, or a file
    that cannot be read (reading it says why)."""
    try:
        if Path(path).suffix.lower() == ".npy":
            array = np.load(path, mmap_mode="r", allow_pickle=False)
            low, high = (int(array.min()), int(array.max())) if array.size else (0, 0)
        else:
            with np.load(path, allow_pickle=False) as archive:
                key = npz_data_key(archive.files)
                array = None if key is None else archive[key]  # (each lookup decompresses)
                if array is None or array.size == 0:
                    return None
                low, high = int(array.min()), int(array.max())
    except NUMPY_ERRORS:
        return None
    if low >= 0 and high <= 1:
        return (0, 1)
    return (low, high) if eight_bit_range(low, high) else None


def array_header(path: str | os.PathLike[str]) -> tuple[tuple[int, ...], np.dtype] | None:
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
                names = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
                key = npz_data_key(names)
                if key is None:
                    return None
                with archive.open(f"{key}.npy") as f:
                    shape, _, dtype = npy_header(f)
                    return shape, dtype
    except NUMPY_ERRORS:
        return None
    return None


def npy_header(f: BinaryIO) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from the header of the ``.npy`` stream ``f``, left at
    the first value (numpy's own parser, every format version: 3.0 differs from 2.0 only in
    reading the header as UTF-8, which only the names of a structured dtype use).

    Raises:
        ValueError: for a format version numpy does not write (a damaged file).
    """
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version in ((2, 0), (3, 0)):
        return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f"format version {version[0]}.{version[1]} is not one numpy writes")


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
