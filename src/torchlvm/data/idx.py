"""Reader of IDX files, the format of MNIST and Fashion-MNIST, raw or gzipped.

Format (LeCun et al., http://yann.lecun.com/exdb/mnist/, "FILE FORMATS"): two zero bytes, a type
byte (``0x08`` = unsigned byte, the only type MNIST-style data uses and the only one read here),
a byte giving the number of dimensions, one big-endian uint32 per dimension, then the values in
row-major order. Every check happens before the data is allocated: the declared size is compared
with the bytes actually present, so a corrupt header cannot make the reader allocate more than the
file holds. Any malformed input raises :class:`~torchlvm.errors.DataError` naming the file.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from torchlvm.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08
_CHUNK = 1 << 24  # bytes read at a time, so memory follows the data present, not the header

_FIX = "re-download or re-extract it"
_T = TypeVar("_T")


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at end of stream; reads in bounded chunks."""
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(min(left, _CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _parse_header(stream: BinaryIO, path: Path) -> tuple[int, ...]:
    """Read the magic number and dimensions; return the dimensions."""
    magic = _read_exact(stream, 4)
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise DataError(
            f"{path} is not an IDX file: it must start with two zero bytes, got "
            f"{magic[:2].hex() or 'nothing'}; {_FIX}"
        )
    if magic[2] != UBYTE:
        raise DataError(
            f"{path} has IDX type byte 0x{magic[2]:02x}, but only unsigned bytes (0x08) are "
            f"read, as in MNIST-style data; {_FIX}"
        )
    ndim = magic[3]
    if ndim == 0:
        raise DataError(f"{path} declares 0 dimensions in its IDX header; {_FIX}")
    raw_dims = _read_exact(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataError(f"{path} is truncated inside its IDX header ({ndim} dimensions); {_FIX}")
    return struct.unpack(f">{ndim}I", raw_dims)


def _parse(stream: BinaryIO, path: Path) -> np.ndarray:
    """Parse a whole IDX stream whose compression, if any, is already undone."""
    dims = _parse_header(stream, path)
    size = math.prod(dims)
    declared = "x".join(map(str, dims))
    data = _read_exact(stream, size)
    if len(data) < size:
        raise DataError(
            f"{path} is truncated: its header declares {declared} = {size} data bytes but only "
            f"{len(data)} follow; {_FIX}"
        )
    if stream.read(1):
        raise DataError(
            f"{path} has bytes after the {declared} = {size} data bytes its header declares; "
            f"the file is corrupt, {_FIX}"
        )
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def _opened(path: Path, parse: Callable[[BinaryIO, bool], _T]) -> _T:
    """``parse(stream, raw)`` on the file's IDX stream, its gzip compression (detected from the
    content) undone; ``raw`` tells an uncompressed file. A failure of the system or of gzip is a
    DataError naming the file."""
    try:
        with path.open("rb") as file:
            compressed = file.read(2) == GZIP_MAGIC
            file.seek(0)
            if not compressed:
                return parse(file, True)
            try:
                with gzip.GzipFile(fileobj=file) as unzipped:
                    return parse(unzipped, False)
            except (OSError, EOFError, zlib.error) as error:
                raise DataError(f"{path} is not a valid gzip file ({error}); {_FIX}") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error}); check the path") from None


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an unsigned-byte IDX file, raw or gzip-compressed (detected from its content).

    Args:
        path: The file, e.g. ``train-images-idx3-ubyte`` or ``train-images-idx3-ubyte.gz``.

    Returns:
        Read-only uint8 array with the dimensions the header declares, e.g. ``(60000, 28, 28)``
        for images or ``(60000,)`` for labels.

    Raises:
        DataError: If the file cannot be read, is not valid gzip, or is not a well-formed IDX file
            (wrong magic, unsupported type, truncated, trailing bytes).
    """
    path = Path(path)
    array = _opened(path, lambda stream, raw: _parse(stream, path))
    array.flags.writeable = False
    return array


def _gzip_size(path: Path) -> int:
    """The uncompressed size (mod 2**32) a gzip file's trailer records in its last 4 bytes
    (RFC 1952, ISIZE); of a truncated file, these bytes are whatever the cut left there."""
    with path.open("rb") as file:
        file.seek(-4, os.SEEK_END)
        return struct.unpack("<I", file.read(4))[0]


def read_idx_shape(path: str | os.PathLike[str]) -> tuple[int, ...]:
    """The dimensions an IDX file's header declares, e.g. ``(60000, 28, 28)``, without reading
    its data. A raw file's size is checked against them; a gzipped one's trailer (the
    uncompressed size, RFC 1952) is, and only where they disagree (a truncated file, or several
    gzip members) is the file decompressed, to tell which.

    Raises:
        DataError: as :func:`read_idx`, for a malformed header, a raw file whose size is not the
            header's, or a gzipped one that does not decompress to the header's size.
    """
    path = Path(path)

    def header(stream: BinaryIO, raw: bool) -> tuple[int, ...]:
        dims = _parse_header(stream, path)
        if not raw:
            if _gzip_size(path) != (4 + 4 * len(dims) + math.prod(dims)) % 2**32:
                read_idx(path)  # raises what is wrong; a file of several members reads whole
            return dims
        size = os.fstat(stream.fileno()).st_size - stream.tell()
        if size != math.prod(dims):
            declared = "x".join(map(str, dims))
            raise DataError(
                f"{path} holds {size} data bytes but its header declares {declared} = "
                f"{math.prod(dims)}; {_FIX}"
            )
        return dims

    return _opened(path, header)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    """:func:`read_idx` memoized on the file's identity; the key changes when the file does."""
    del mtime_ns, size  # part of the cache key only
    return read_idx(path)


def read_idx_cached(path: str | os.PathLike[str]) -> np.ndarray:
    """:func:`read_idx`, reusing the parsed array while the file is unchanged (same path,
    modification time and size), so loading one split after another parses each file once.

    Args:
        path: The IDX file, raw or gzipped.

    Returns:
        Read-only uint8 array, shared between calls: copy before modifying.

    Raises:
        DataError: As :func:`read_idx`.
    """
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as error:
        raise DataError(f"cannot read {path} ({error.strerror or error}); check the path") from None
    return _read_idx_cached(str(resolved), stat.st_mtime_ns, stat.st_size)
