"""Datasets larger than memory: a ``.npy`` file memory-mapped and read a batch of rows at a time.

``load_dataset("big.npy", split, mmap=True)`` returns a :class:`MemmapDataset` instead of a
:class:`~torchlvm.data.dataset.Dataset`: the same facts (name, split, per-example shape, protocol),
but ``x`` is a :class:`MemmapRows`, which reads rows from the file when indexed, ``x[index]`` →
a ``(B, D)`` float32 tensor. ``LVMDataModule`` batches from it as from a tensor, so training
streams the file: memory holds the batch, not the data.

Resident memory stays flat as the file grows: the pages a batch touched are handed back to the
kernel (``madvise(MADV_DONTNEED)`` on the read-only mapping; they stay in the page cache, so a
second epoch reads from memory if it fits) once the rows read since the last release may have
mapped ``release_bytes`` (each row counts its size plus 64 KiB, the most the kernel's fault-around
maps with it), so the process's resident set holds at most about that much of the file (default
64 MiB). Whole-file checks read the file with ordinary reads, not through the mapping. See
``benchmarks/memmap_memory.py``.

The file: a C-ordered ``.npy`` array of shape ``(N, D)``, ``(N, H, W)`` or ``(N, C, H, W)``
(flattened per row, as :mod:`torchlvm.data.files` does) of a real or integer dtype; values are not
rescaled and become float32 batch by batch. Opening it reads the header and checks the dtype, the
shape and that the file holds all ``N`` rows; ``check=True`` (default) also streams through the
file once to refuse NaN and infinities. Splits are the seeded 80/10/10 row sets of
:mod:`torchlvm.data.files`, kept as index arrays (8 bytes per row), never as copies.

Protocols, applied per batch: ``"threshold"`` (x > 0.5), ``"dynamic"`` (a fresh Bernoulli draw per
training batch, as for in-memory data); :meth:`MemmapDataset.fixed_binarized` gives one seeded
draw per row, made block by block of 256 rows so that it does not depend on how rows are batched.
"""

from __future__ import annotations

import math
import mmap
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.data.splits import PART_NAMES, split_indices
from torchlvm.errors import ConfigError, DataError, DataNotFoundError

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)  # as torchlvm.data.files
RELEASE_BYTES = 64 * 2**20
_FAULT_AROUND = 64 * 2**10  # the most a page fault on a file mapping maps around the page
DRAW_BLOCK = 256  # rows per seeded block of fixed_binarized
_SCAN_BYTES = 32 * 2**20  # rows read at a time by the whole-file checks


@dataclass(frozen=True)
class NpyLayout:
    """Where the array of a ``.npy`` file lies: ``dtype``, ``shape`` and the byte ``offset`` of
    the first value (after the header)."""

    dtype: np.dtype
    shape: tuple[int, ...]
    offset: int

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
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f)
            else:
                header = np.lib.format._read_array_header(f, version)
            offset = f.tell()
    except (ValueError, OSError, EOFError) as err:
        raise DataError(f"cannot read {path} as .npy ({err}); save it with numpy.save") from None
    file_shape, fortran, file_dtype = header
    file_dtype = np.dtype(file_dtype)
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


class MemmapRows:
    """Rows of a memory-mapped ``.npy`` file, read a batch at a time as float32.

    Args:
        path: the ``.npy`` file.
        layout: its :class:`NpyLayout` (from :func:`read_layout`).
        index: the file rows this object exposes, sorted (a split), or None for all.
        threshold: return ``x > 0.5`` (the ``"threshold"`` protocol) instead of the values.
        draw_seed: if not None, return one seeded Bernoulli draw of the values
            (:meth:`MemmapDataset.fixed_binarized`).
        release_bytes: hand the mapped pages back to the kernel after this many bytes of rows.

    ``rows[i]`` for an integer tensor, list, slice or int ``i`` of positions returns
    ``(len(i), D)`` float32 (an int gives ``(D,)``). The mapping is opened lazily in each process,
    so the object can be sent to DataLoader workers.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        layout: NpyLayout,
        index: np.ndarray | None = None,
        *,
        threshold: bool = False,
        draw_seed: int | None = None,
        release_bytes: int = RELEASE_BYTES,
    ) -> None:
        self.path, self.layout = Path(path), layout
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.threshold, self.draw_seed, self.release_bytes = threshold, draw_seed, release_bytes
        self._map: mmap.mmap | None = None
        self._array: np.ndarray | None = None
        self._pid = -1
        self._unreleased = 0
        self.finite: bool | None = None  # set by all_finite once the rows were scanned

    # -- the tensor-like surface LVMDataModule uses ----------------------------------------

    def __len__(self) -> int:
        return self.layout.rows if self.index is None else len(self.index)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((len(self), self.layout.dim))

    @property
    def ndim(self) -> int:
        return 2

    @property
    def dtype(self) -> torch.dtype:
        return torch.float32

    def __getitem__(self, positions: Any) -> Tensor:
        single = isinstance(positions, (int, np.integer))
        pos = np.arange(len(self))[positions] if isinstance(positions, slice) else positions
        pos = np.atleast_1d(np.asarray(pos, dtype=np.int64))
        rows = pos if self.index is None else self.index[pos]
        values = np.take(self._rows(), rows, axis=0)  # (B, D), a copy in the file's dtype
        self._count(len(rows) * (values.itemsize * self.layout.dim + _FAULT_AROUND))
        x = torch.from_numpy(values).to(torch.float32)
        if self.threshold:
            x = (x > 0.5).to(torch.float32)
        if self.draw_seed is not None:
            x = (_block_uniforms(self.draw_seed, pos, x.shape[1]) < x).to(torch.float32)
        return x[0] if single else x

    def __repr__(self) -> str:
        return f"MemmapRows({str(self.path)!r}, rows={len(self)}, dim={self.layout.dim})"

    # -- the mapping ------------------------------------------------------------------------

    def _rows(self) -> np.ndarray:
        if self._array is None or self._pid != os.getpid():
            with open(self.path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            count = self.layout.rows * self.layout.dim
            flat = np.frombuffer(self._map, self.layout.dtype, count, self.layout.offset)
            self._array = flat.reshape(self.layout.rows, self.layout.dim)
            self._pid = os.getpid()
        return self._array

    def _count(self, nbytes: int) -> None:
        self._unreleased += nbytes
        if self._unreleased >= self.release_bytes:
            self.release()

    def release(self) -> None:
        """Drop the file's pages from this process's resident set (they stay in the page
        cache)."""
        self._unreleased = 0
        if self._map is not None and hasattr(mmap, "MADV_DONTNEED"):
            self._map.madvise(mmap.MADV_DONTNEED)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_map=None, _array=None, _pid=-1, _unreleased=0)
        return state

    # -- whole-file checks, streamed -------------------------------------------------------

    def chunks(self) -> Any:
        """Yield the exposed rows in file order, about 32 MiB of the file at a time (raw values,
        read with ordinary file reads, so nothing of the file stays resident)."""
        layout = self.layout
        row_bytes = layout.dim * layout.dtype.itemsize
        step = max(1, _SCAN_BYTES // row_bytes)
        with open(self.path, "rb") as f:
            for start in range(0, layout.rows, step):
                count = min(step, layout.rows - start)
                f.seek(layout.offset + start * row_bytes)
                chunk = np.fromfile(f, layout.dtype, count * layout.dim).reshape(count, -1)
                if self.index is not None:
                    lo, hi = np.searchsorted(self.index, [start, start + count])
                    chunk = chunk[self.index[lo:hi] - start]  # the index is sorted (a split)
                yield chunk


def _block_uniforms(seed: int, positions: np.ndarray, dim: int) -> Tensor:
    """U[0, 1) numbers for rows at ``positions``: row p takes row p mod 256 of the ``(256, D)``
    draw of block p // 256 seeded by (seed, block), whatever batch it comes in."""
    out = torch.empty(len(positions), dim)
    blocks = positions // DRAW_BLOCK
    for b in np.unique(blocks):
        generator = torch.Generator().manual_seed((seed * 1_000_003 + int(b) + 1) % 2**63)
        block = torch.rand(DRAW_BLOCK, dim, generator=generator)
        where = np.nonzero(blocks == b)[0]
        out[torch.from_numpy(where)] = block[torch.from_numpy(positions[where] % DRAW_BLOCK)]
    return out


def all_finite(x: Tensor | MemmapRows) -> bool:
    """Whether ``x`` holds no NaN or infinity (streamed for :class:`MemmapRows`)."""
    if isinstance(x, MemmapRows):
        if x.finite is None:
            kind = x.layout.dtype.kind
            x.finite = kind != "f" or all(bool(np.isfinite(c).all()) for c in x.chunks())
        return x.finite
    return bool(torch.isfinite(x).all())


def is_binary(x: Tensor | MemmapRows) -> bool:
    """Whether every value of ``x`` is 0 or 1 (streamed for :class:`MemmapRows`)."""
    if isinstance(x, MemmapRows):
        if x.threshold or x.draw_seed is not None:
            return True
        return all(bool(((c == 0) | (c == 1)).all()) for c in x.chunks())
    return bool(((x == 0) | (x == 1)).all())


@dataclass(frozen=True, eq=False)
class MemmapDataset:
    """A split of a memory-mapped ``.npy`` file; the attributes of
    :class:`~torchlvm.data.dataset.Dataset`, with ``x`` a :class:`MemmapRows`.

    Attributes:
        x: the rows, ``x[index]`` → ``(B, D)`` float32.
        y: always None (a ``.npy`` file holds no labels).
        name, split, shape, num_classes, class_names, binarize, truth: as for ``Dataset``.
    """

    x: MemmapRows
    name: str
    split: str
    shape: tuple[int, ...]
    binarize: str = "none"
    y: None = None
    num_classes: None = None
    class_names: None = None
    truth: None = None

    def __len__(self) -> int:
        return len(self.x)

    @property
    def dim(self) -> int:
        """D, values per example."""
        return self.x.layout.dim

    def __repr__(self) -> str:
        return (
            f"MemmapDataset(name={self.name!r}, split={self.split!r}, n={len(self)}, "
            f"shape={self.shape}, binarize={self.binarize!r})"
        )

    def with_protocol(self, protocol: str) -> MemmapDataset:
        """This dataset under a binarization protocol (checked by streaming through the rows).

        Raises:
            DataError: for ``"dynamic"`` / ``"threshold"`` on values outside [0, 1].
        """
        if protocol == "none":
            return self
        for chunk in self.x.chunks():
            if chunk.size and (chunk.min() < 0 or chunk.max() > 1):
                raise DataError(
                    f"{self.name}: the {protocol!r} binarization protocol needs intensities in "
                    f"[0, 1], but the file holds values from {chunk.min()} to {chunk.max()}; "
                    "rescale the file, or use binarize='none'"
                )
        rows = _derived(self.x, threshold=True) if protocol == "threshold" else self.x
        return MemmapDataset(rows, self.name, self.split, self.shape, protocol)

    def fixed_binarized(self, seed: int = 0) -> MemmapRows:
        """The rows as evaluation sees them: one seeded Bernoulli draw per row under
        ``"dynamic"`` (drawn when read, the same whichever batch a row is read in), else ``x``."""
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        if self.binarize != "dynamic":
            return self.x
        return _derived(self.x, draw_seed=seed)


def _derived(rows: MemmapRows, **options: Any) -> MemmapRows:
    """The same rows of the same file, read with other ``threshold`` / ``draw_seed`` options."""
    out = MemmapRows(
        rows.path, rows.layout, rows.index, release_bytes=rows.release_bytes, **options
    )
    out.finite = rows.finite
    return out


def load_memmap(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    check: bool = True,
    dtype: Any = None,
    shape: tuple[int, ...] | None = None,
    release_bytes: int = RELEASE_BYTES,
) -> MemmapDataset:
    """Open a ``.npy`` file for streaming: a :class:`MemmapDataset` of the ``split`` rows.

    Args:
        path: the ``.npy`` file.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: seed of the split.
        check: stream through the rows once to refuse NaN and infinities.
        dtype, shape: what the file must hold (see :func:`read_layout`); None accepts any.
        release_bytes: see :class:`MemmapRows`.

    Raises:
        DataNotFoundError, DataError: see :func:`read_layout`; DataError also for NaN or
            infinite values, naming the file.
        ConfigError: for an unknown split or a non-positive ``release_bytes``.
    """
    if split not in (*PART_NAMES, "all"):
        raise ConfigError(f"split must be one of train, val, test, all; got {split!r}")
    if isinstance(release_bytes, bool) or not isinstance(release_bytes, int) or release_bytes < 1:
        raise ConfigError(f"release_bytes must be a positive integer, got {release_bytes!r}")
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ConfigError(f"mmap=True reads .npy files; {path.name} is not one (use numpy.save)")
    layout = read_layout(path, dtype=dtype, shape=shape)
    index = None
    if split != "all":
        index = split_indices(layout.rows, FRACTIONS, seed, None)[PART_NAMES.index(split)]
        if len(index) == 0:
            raise DataError(
                f"{path}: split {split!r} is empty ({layout.rows} rows split 80/10/10); use "
                "split='all' or more data"
            )
    rows = MemmapRows(path, layout, index, release_bytes=release_bytes)
    if check and not all_finite(rows):
        raise DataError(
            f"{path} holds NaN or infinite values; memory-mapped training needs finite data "
            "(fill or drop them, or load the file without mmap and pass allow_missing=True)"
        )
    ndim = len(layout.shape)
    example = layout.shape[1:] if ndim == 2 else (1,) * (4 - ndim) + layout.shape[1:]
    return MemmapDataset(rows, str(path), split, tuple(example))
