"""Where the array of a ``.npy`` file lies, read from its header alone: :class:`NpyLayout` and
:func:`read_layout`, which checks the file before a row of it is streamed
(:mod:`torchlvm.data.memmap`): a real or integer dtype, C order, 2 to 4 dimensions, no fewer
bytes than the header promises, and not an ``.npz`` archive under an ``.npy`` name.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from torchlvm._files import unused_name
from torchlvm.data import pixels
from torchlvm.data.npz_keys import npz_data_key
from torchlvm.data.save_lines import objects_refused
from torchlvm.errors import DataError, DataNotFoundError


@dataclass(frozen=True)
class NpyLayout:
    """Where the array of a ``.npy`` file lies: ``dtype``, ``shape`` and the byte ``offset`` of
    the first value (after the header); ``scaled``: whether its values are 8-bit grey levels to
    divide by 255 (:func:`torchlvm.data.pixels.eight_bit` of the whole file), None where the
    dtype alone says (uint8)."""

    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int
    scaled: bool | None = None

    @property
    def grey_levels(self) -> bool:
        """Whether its values are read as 8-bit grey levels, divided by 255."""
        return self.dtype == np.uint8 if self.scaled is None else self.scaled

    @property
    def rows(self) -> int:
        return self.shape[0]

    @property
    def dim(self) -> int:
        return math.prod(self.shape[1:])


def read_layout(
    path: str | os.PathLike[str],
    *,
    dtype: Any = None,
    shape: tuple[int, ...] | None = None,
) -> NpyLayout:
    """Read and check the header of a ``.npy`` file (the data are not read).

    Args:
        path: the file.
        dtype: if given, the dtype the file must hold (e.g. ``"float32"``).
        shape: if given, the per-example shape the file must hold (e.g. ``(784,)`` or
            ``(1, 28, 28)``); rows of ``(N, *shape)`` or ``(N, prod(shape))`` both match.

    Raises:
        DataNotFoundError: if the file does not exist.
        DataError: if it is not a ``.npy`` file, holds a non-numeric or complex dtype, is in
            Fortran order, has the wrong number of dimensions or no rows, is shorter than its
            header says (truncated), or differs from the ``dtype`` / ``shape`` asked for; the
            message names what the file holds and what is needed.
    """
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path} does not exist; check the path")
    _refuse_archive(path)
    try:
        with open(path, "rb") as f:
            header = pixels.npy_header(f)
            offset = f.tell()
    except pixels.NUMPY_ERRORS as err:
        raise DataError(f"cannot read {path} as .npy ({err}); save it with numpy.save") from None
    file_shape, fortran, file_dtype = header
    file_dtype = np.dtype(file_dtype)
    if file_dtype.hasobject:
        raise objects_refused(path, file_shape)
    if file_dtype.kind not in "biuf" or file_dtype.fields is not None:
        raise DataError(
            f"{path} holds {file_dtype} values; memory-mapped training needs a real or integer "
            "dtype (float32 is read without conversion)"
        )
    if dtype is not None and file_dtype != np.dtype(dtype):
        raise DataError(
            f"{path} holds {file_dtype} values but {np.dtype(dtype)} was asked for; convert "
            f"the file (numpy.load(..., mmap_mode='r').astype('{np.dtype(dtype)}')) or ask for "
            f"dtype={file_dtype}"
        )
    if fortran and len(file_shape) > 1:
        raise DataError(
            f"{path} is stored in Fortran (column-major) order, so a row is not contiguous and "
            "cannot be streamed; save numpy.ascontiguousarray(x) instead"
        )
    if len(file_shape) not in (2, 3, 4) or file_shape[0] == 0 or 0 in file_shape[1:]:
        raise DataError(
            f"{path} holds an array of shape {file_shape}; pass (N, D) rows or (N, H, W) / "
            "(N, C, H, W) images with N > 0"
        )
    if shape is not None:
        want = tuple(int(s) for s in shape)
        have = tuple(file_shape[1:])
        if have != want and (len(have), have[0] if have else None) != (1, math.prod(want)):
            raise DataError(
                f"{path} holds examples of shape {have} but {want} was asked for (the model "
                "or the other files expect it); check that this is the right file"
            )
    layout = NpyLayout(file_dtype, tuple(file_shape), offset)
    need = offset + layout.rows * layout.dim * file_dtype.itemsize
    size = path.stat().st_size
    if size < need:
        raise DataError(
            f"{path} is truncated: its header promises {layout.rows} rows of shape "
            f"{tuple(file_shape[1:])} {file_dtype} ({need:,} bytes) but the file has "
            f"{size:,} bytes; copy or save it again"
        )
    return layout


def _refuse_archive(path: Path) -> None:
    """Refuse an ``.npz`` archive named ``.npy`` (a zip), naming the line that saves its data
    array as the one array a stream reads.

    Raises:
        DataError: for a zip file.
    """
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"PK\x03\x04":
                return
        with np.load(path, allow_pickle=False) as archive:
            key = npz_data_key(archive.files) or "x"
    except pixels.NUMPY_ERRORS:
        key = "x"
    alone = unused_name(path.with_name(f"{path.stem}-{key}.npy"))
    raise DataError(
        f"{path} is an .npz archive (numpy.savez's), not one array, and streaming reads one "
        f"array; save its data array alone (np.save({alone!r}, np.load({str(path)!r})"
        f"[{key!r}])) and stream that, or rename it to end in .npz and load it whole"
    )
