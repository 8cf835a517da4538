"""The layout of the image arrays ``sample --npy`` and ``reconstruct --out FILE.npy`` write:
that of the array file the images came from (the run's training file, or ``--data``), so that
a channels-last ``(N, H, W, C)`` file, as PIL and imageio give, gets ``(N, H, W, C)`` images
back and ``np.concatenate([x, samples])`` lines up (userM #7, review13 #13); images of a
dataset by name, or of a file that is gone, are written ``(N, H, W)`` (one channel) or
``(N, C, H, W)``. Rows are flattened channels first (:func:`torchlvm.data.pixels.rows`); this
is the way back."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LAYOUTS: dict[int, str] = {2: "N, D", 3: "N, H, W", 4: "N, C, H, W"}
"""The axes of an array written channels first, by its number of axes."""


def as_file_images(
    rows: Any,
    shape: tuple[int, ...],
    path: str | os.PathLike[str] | None,
    recorded: Sequence[int] | None = None,
    *,
    divided_by: int | None = None,
) -> tuple[Any, str]:
    """``rows`` ``(N, D)`` (flattened channels first) as images in the layout of the array file
    at ``path``: ``recorded`` (one image's axes as the run's record keeps them,
    ``data["stored_shape"]``), else its header, where either holds images of this ``shape``;
    else channels first. And the axes written, in words ("N, H, W, C, as rgb.npy"). Where the
    file's values were divided by ``divided_by`` as they were read (8-bit levels: 255,
    :func:`torchlvm.data.pixels.levels_divisor`), the images are multiplied back to its scale,
    as float32 (decoder means, not rounded to levels), and the words say so: a run on a uint8
    file wrote samples in [0, 1] "as" that file of 0..255 (readD D5).

    Args:
        rows: ``(N, D)`` NumPy array, ``D = C·H·W``.
        shape: the run's per-example image shape, ``(C, H, W)`` or ``(H, W)``.
        path: the file the images came from (None, a dataset's name or a folder: channels
            first).
        recorded: the stored axes the run recorded of ``path`` (a run trained before the
            record, or a later ``--data`` file: None, the header is read): a moved or deleted
            training file keeps its layout (review14 R9).

    Returns:
        The images, ``(N, *stored)`` for a file of shape ``(M, *stored)``, else ``(N, H, W)``
        or ``(N, C, H, W)``; and their axes (and scale), in words.
    """
    import numpy as np

    shape = (1, *shape) if len(shape) == 2 else tuple(shape)
    images = rows.reshape(len(rows), *shape)  # (N, C, H, W)
    if divided_by is not None:
        images = images.astype(np.float32) * np.float32(divided_by)
    stored = _recorded(recorded, shape) or _stored_shape(path, shape)
    if stored is None:
        images = images[:, 0] if shape[0] == 1 else images  # (N, H, W) for one channel
        whose = "the file's" if path is None else f"{Path(path).name}'s"
        return images, LAYOUTS[images.ndim] + _on_scale(divided_by, whose)
    from torchlvm.data.pixels import channels_last

    images = in_stored_axes(images, stored[1:])  # (the file's own axes, of one channel)
    axes = "N, H, W, C" if channels_last(stored) else LAYOUTS[images.ndim]
    return images, f"{axes}, as {Path(path).name}{_on_scale(divided_by, 'its')}"


def _on_scale(divided_by: int | None, whose: str) -> str:
    """``", on its 0..255 scale (float32)"`` for images multiplied back by ``divided_by``;
    "" for none."""
    return "" if divided_by is None else f", on {whose} 0..{divided_by} scale (float32)"


def in_stored_axes(images: Any, stored: Sequence[int]) -> Any:
    """Channels-first images ``(..., C, H, W)`` in the axes of one image of an array file,
    ``stored``: ``(H, W, C)`` for channels last, ``(H, W)`` for one channel dropped, else
    ``(C, H, W)``; the leading axes (N, or M draws of N) kept."""
    import numpy as np

    from torchlvm.data.pixels import channels_last

    lead = images.shape[:-3]  # (N,) or (M, N)
    if channels_last((1, *stored)):
        images = np.moveaxis(images, -3, -1)  # (..., C, H, W) -> (..., H, W, C)
    return images.reshape(*lead, *stored)


def _recorded(recorded: Sequence[int] | None, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """``(1, *recorded)``, the shape of an array of one image as the run recorded its file's,
    where it holds images of ``shape``; else None."""
    from torchlvm.data import pixels
    from torchlvm.errors import DataError

    if not recorded or len(recorded) not in (2, 3):
        return None
    stored = (1, *(int(n) for n in recorded))
    try:
        return stored if pixels.example_shape(stored, "the record") == shape else None
    except DataError:
        return None


def _stored_shape(
    path: str | os.PathLike[str] | None, shape: tuple[int, ...]
) -> tuple[int, ...] | None:
    """The shape of the image array in the ``.npy`` / ``.npz`` file at ``path``, read from its
    header, where it holds images of per-example ``shape`` ``(C, H, W)``; else None (no such
    file, rows, or images of another shape: the file changed since)."""
    from torchlvm.data import pixels
    from torchlvm.errors import DataError

    header = None if path is None else pixels.array_header(path)
    if header is None or len(header[0]) not in (3, 4):
        return None
    stored = tuple(header[0])
    try:
        same = pixels.example_shape(stored, path) == shape
    except DataError:  # (neither axis holds 1 or 3 channels)
        return None
    return stored if same and math.prod(stored[1:]) == math.prod(shape) else None
