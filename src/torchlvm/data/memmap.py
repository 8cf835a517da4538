"""Datasets larger than memory: a ``.npy`` file memory-mapped and read a batch of rows at a time.

``load_dataset("big.npy", split, mmap=True)`` returns a :class:`MemmapDataset` instead of a
:class:`~torchlvm.data.dataset.Dataset`: the same facts (name, split, per-example shape, protocol),
but ``x`` is a :class:`MemmapRows`, which reads rows from the file when indexed, ``x[index]`` →
a ``(B, D)`` float32 tensor. ``LVMDataModule`` batches from it as from a tensor, so training
streams the file: memory holds the batch, not the data.

How rows are read: as with ``numpy.load(path, mmap_mode="r")`` the file is addressed in place
(the header parsed, rows at known offsets), but a batch is read with positioned reads
(``os.preadv``, one per row, in file order, each straight into its place in the batch) rather
than through a memory mapping. Measured on this project's machines (Linux 6.18, ext4): a page fault
on a file mapping maps a whole 2 MiB page-cache folio, so a batch of 128 random rows made up to
256 MiB of the file resident in the process, and an epoch the whole file. Reads leave the file in
the kernel's page cache (shared, reclaimable, reused by the next epoch), keep the process's
resident memory flat as the file grows, and cost less CPU (about 1.7 µs per 3 KiB row from the
page cache). See ``benchmarks/memmap_memory.py``.

The file: a C-ordered ``.npy`` array of shape ``(N, D)``, ``(N, H, W)`` or ``(N, C, H, W)``
or ``(N, H, W, C)`` of a real or integer dtype, read as :mod:`torchlvm.data.pixels` says
(images channels first, 8-bit grey levels divided by 255, float32) batch by batch. Opening it
reads the header and checks the dtype, the shape and that the file holds all ``N`` rows. What
the values are is learned in one streamed pass over the file (:func:`file_values`: NaN count,
least and greatest value, whole numbers or not), made when first needed and kept for the command
(:func:`torchlvm.data.csv_once.parsed_once`, so a train and a validation split share it): whether
images of an integer dtype other than uint8 are 8-bit, and for ``check=True`` (default) and the
binarizing protocols, that the values are finite and in [0, 1]. Where the file's summary cannot
answer for a split (the file holds a NaN or a value out of range, which may lie in another
split's rows), that split is streamed through for its own answer.
Splits are the seeded 80/10/10 row sets of :mod:`torchlvm.data.files`, kept as index arrays (8
bytes per row), never as copies.

Protocols, applied per batch: ``"threshold"`` (x > 0.5), ``"dynamic"`` (a fresh Bernoulli draw per
training batch, as for in-memory data); :meth:`MemmapDataset.fixed_binarized` gives one seeded
draw per row, made block by block of 256 rows so that it does not depend on how rows are batched.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.data import csv_once, files, pixels
from torchlvm.data.binarize import Values, check_values
from torchlvm.data.dataset import Dataset
from torchlvm.data.splits import PART_NAMES, empty_split, split_indices
from torchlvm.errors import ConfigError, DataError, DataNotFoundError, Spell, spelled

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)  # as torchlvm.data.files
DRAW_BLOCK = 256  # rows per seeded block of fixed_binarized
_SCAN_BYTES = 8 * 2**20  # bytes of rows read at a time by the whole-file checks


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
            key = files.npz_data_key(archive.files) or "x"
    except pixels.NUMPY_ERRORS:
        key = "x"
    alone = str(path.with_name(f"{path.stem}-{key}.npy"))
    raise DataError(
        f"{path} is an .npz archive (numpy.savez's), not one array, and streaming reads one "
        f"array; save its data array alone (np.save({alone!r}, np.load({str(path)!r})"
        f"[{key!r}])) and stream that, or rename it to end in .npz and load it whole"
    )


class MemmapRows:
    """Rows of a ``.npy`` file on disk, read a batch at a time as float32.

    Args:
        path: the ``.npy`` file.
        layout: its :class:`NpyLayout` (from :func:`read_layout`).
        index: the file rows this object exposes, sorted (a split), or None for all.
        threshold: return ``x > 0.5`` (the ``"threshold"`` protocol) instead of the values.
        draw_seed: if not None, return one seeded Bernoulli draw of the values
            (:meth:`MemmapDataset.fixed_binarized`).
        summary: the whole file's values summarized (:func:`file_values`), if known; else it is
            made when first needed.

    ``rows[i]`` for an integer tensor, list, slice or int ``i`` of positions returns
    ``(len(i), D)`` float32 (an int gives ``(D,)``). The file is opened lazily in each process,
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
        summary: Values | None = None,
    ) -> None:
        self.path, self.layout = Path(path), layout
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.threshold, self.draw_seed = threshold, draw_seed
        self._summary = summary
        self._fd, self._pid = -1, -1

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
        n = len(self)
        single = isinstance(positions, (int, np.integer))
        pos = np.arange(n)[positions] if isinstance(positions, slice) else positions
        pos = np.atleast_1d(np.asarray(pos, dtype=np.int64))
        if pos.size and (pos.min() < -n or pos.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        pos = np.where(pos < 0, pos + n, pos)
        rows = pos if self.index is None else self.index[pos]
        x = torch.from_numpy(self._values(self._read(rows)))  # (B, D) float32
        if self.threshold:
            x = (x > 0.5).to(torch.float32)
        if self.draw_seed is not None:
            x = drawn_rows(x, pos, self.draw_seed)
        return x[0] if single else x

    def __repr__(self) -> str:
        return f"MemmapRows({str(self.path)!r}, rows={len(self)}, dim={self.layout.dim})"

    # -- reading ----------------------------------------------------------------------------

    def _values(self, raw: np.ndarray, dtype: type = np.float32) -> np.ndarray:
        """File rows ``(B, D)`` as the model sees them (:mod:`torchlvm.data.pixels`: images
        channels first, 8-bit grey levels divided by 255), as ``dtype``."""
        layout = self.layout
        shaped = raw.reshape(len(raw), *layout.shape[1:])
        return pixels.rows(shaped, dtype, scaled=layout.grey_levels)

    def _read(self, rows: np.ndarray) -> np.ndarray:
        """File rows ``rows`` as a ``(B, D)`` array of the file's dtype: one positioned read per
        row, in file order, straight into its place in the result."""
        layout = self.layout
        out = np.empty((len(rows), layout.dim), dtype=layout.dtype)
        row_bytes = layout.dim * layout.dtype.itemsize
        fd = self._file()
        view = memoryview(out).cast("B")
        for j in np.argsort(rows, kind="stable").tolist():
            start = j * row_bytes
            got = _preadv(
                fd, view[start : start + row_bytes], layout.offset + int(rows[j]) * row_bytes
            )
            if got != row_bytes:
                raise DataError(f"{self.path} became shorter while it was read; copy it again")
        return out

    def _file(self) -> int:
        if self._pid != os.getpid():  # a new process (a DataLoader worker) opens its own
            self._fd, self._pid = os.open(self.path, os.O_RDONLY), os.getpid()
        return self._fd

    def close(self) -> None:
        """Close this process's file descriptor (a later read opens it again)."""
        if self._pid == os.getpid() and self._fd >= 0:
            os.close(self._fd)
        self._fd, self._pid = -1, -1

    def __del__(self) -> None:
        try:
            self.close()
        except (OSError, TypeError, AttributeError):  # interpreter shutting down
            pass

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_fd": -1, "_pid": -1}

    # -- whole-file checks, streamed -------------------------------------------------------

    def file_summary(self) -> Values:
        """The whole file's values summarized (:func:`file_values`; not only the rows exposed)."""
        if self._summary is None:
            self._summary = file_values(self.path, self.layout)
        return self._summary

    def chunks(self, dtype: type = np.float32) -> Any:
        """Yield the exposed rows in file order, about 8 MiB of the file at a time, as the
        model sees them (:meth:`_values`, as ``dtype``)."""
        return (self._values(chunk, dtype) for chunk in self.raw_chunks())

    def raw_chunks(self) -> Any:
        """Yield the exposed rows in file order, about 8 MiB of the file at a time, as
        ``(B, D)`` arrays of the file's dtype (read with ordinary file reads, so nothing of the
        file stays resident)."""
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


def _preadv(fd: int, view: memoryview, offset: int) -> int:
    """Read ``len(view)`` bytes at ``offset`` into ``view``; returns the bytes read."""
    if not hasattr(os, "preadv"):  # not on this platform: one copy more
        data = os.pread(fd, len(view), offset)
        view[: len(data)] = data
        return len(data)
    done = os.preadv(fd, [view], offset)
    while 0 < done < len(view):  # a short read (signals, network filesystems)
        more = os.preadv(fd, [view[done:]], offset + done)
        if more <= 0:
            break
        done += more
    return done


def drawn_rows(x: Tensor, positions: np.ndarray, seed: int) -> Tensor:
    """One seeded Bernoulli draw of the grey rows ``x`` ``(B, D)`` that sit at ``positions``
    ``(B,)`` of their split: each row's own draw, whatever rows come with it."""
    return (_block_uniforms(seed, positions, x.shape[1]) < x).to(torch.float32)


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


def file_values(path: Path, layout: NpyLayout) -> Values:
    """The values of the whole ``.npy`` file at ``path`` summarized as stored (its dtype, not
    scaled; :class:`~torchlvm.data.binarize.Values`), in one streamed pass; inside
    :func:`~torchlvm.data.csv_once.parsed_once` made once per file while it is unchanged."""

    def scan() -> Values:
        rows = MemmapRows(path, layout)
        return Values.summed(chunk.reshape(-1) for chunk in rows.raw_chunks())

    return csv_once.kept(path, ("values", layout.dtype, layout.shape, layout.offset), scan)


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _finite(values: Values, grey_levels: bool) -> bool:
    """Whether values so summarized are finite numbers float32 holds (as files.beyond_float32)."""
    return not values.missing and -_FLOAT32_MAX <= values.low and values.high <= _FLOAT32_MAX


def _in_unit_interval(values: Values, grey_levels: bool) -> bool:
    """Whether values so summarized are read in [0, 1] with no NaN."""
    return not values.missing and (grey_levels or (values.low >= 0 and values.high <= 1))


def _zeros_and_ones(values: Values, grey_levels: bool) -> bool:
    """Whether values so summarized are read as 0s and 1s (grey levels: not known from it)."""
    return not grey_levels and _in_unit_interval(values, grey_levels) and values.whole


def _file_shows(rows: MemmapRows, holds: Callable[[Values, bool], bool]) -> bool:
    """Whether the file's summary shows that ``holds(summary, grey_levels)`` of every value of
    the file, hence of ``rows``; False means that the rows must be looked at."""
    return holds(rows.file_summary(), rows.layout.grey_levels)


def all_finite(x: Tensor | MemmapRows) -> bool:
    """Whether ``x`` holds no NaN or infinity (for :class:`MemmapRows`, the file's summary, else
    the rows streamed)."""
    if isinstance(x, MemmapRows):
        if x.layout.dtype.kind != "f" or _file_shows(x, _finite):
            return True
        with np.errstate(over="ignore"):  # a float64 1e300 becomes inf: not finite
            return all(bool(np.isfinite(c).all()) for c in x.chunks())
    return bool(torch.isfinite(x).all())


def is_binary(x: Tensor | MemmapRows) -> bool:
    """Whether every value of ``x`` is 0 or 1 (for :class:`MemmapRows`, the file's summary,
    else the rows streamed)."""
    if isinstance(x, MemmapRows):
        if x.threshold or x.draw_seed is not None or _file_shows(x, _zeros_and_ones):
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
        if not _file_shows(self.x, _in_unit_interval):  # these rows' whole range, not a chunk's
            check_values(Values.summed(c.reshape(-1) for c in self.x.chunks()), protocol, self.name)
        rows = _derived(self.x, threshold=True) if protocol == "threshold" else self.x
        return MemmapDataset(rows, self.name, self.split, self.shape, protocol)

    def in_memory(self) -> Dataset:
        """This split read into memory: a :class:`~torchlvm.data.dataset.Dataset` of the same
        rows and facts, for a command that reads a run's split whole (encode, reconstruct,
        evaluate), which a tensor's operations then serve."""
        return Dataset(
            x=self.x[slice(None)], y=None, name=self.name, split=self.split, shape=self.shape,
            num_classes=None, class_names=None, binarize=self.binarize,
        )  # fmt: skip

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
    return MemmapRows(rows.path, rows.layout, rows.index, summary=rows._summary, **options)


def load_memmap(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    check: bool = True,
    dtype: Any = None,
    shape: tuple[int, ...] | None = None,
) -> MemmapDataset:
    """Open a ``.npy`` file for streaming: a :class:`MemmapDataset` of the ``split`` rows.

    Args:
        path: the ``.npy`` file.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: seed of the split.
        check: stream through the rows once to refuse NaN and infinities.
        dtype, shape: what the file must hold (see :func:`read_layout`); None accepts any.

    Raises:
        DataNotFoundError, DataError: see :func:`read_layout`; DataError also for NaN or
            infinite values, naming the file.
        ConfigError: for an unknown split, or a file that is not ``.npy``.
    """
    if split not in (*PART_NAMES, "all"):
        raise ConfigError(f"split must be one of train, val, test, all; got {split!r}")
    path = Path(path)
    if path.suffix.lower() != ".npy":
        raise ConfigError(f"mmap=True reads .npy files; {path.name} is not one (use numpy.save)")
    layout = read_layout(path, dtype=dtype, shape=shape)
    summary = None  # learned when first needed (file_values)
    if len(layout.shape) in (3, 4) and pixels.wide_integers(layout.dtype):  # 8-bit levels?
        summary = file_values(path, layout)
        eight_bit = pixels.eight_bit_range(summary.low, summary.high)
        if eight_bit:
            pixels.warn_sixteen_bit(layout.dtype, path)
        layout = replace(layout, scaled=eight_bit)
    index = None
    if split != "all":
        index = split_indices(layout.rows, FRACTIONS, seed, None)[PART_NAMES.index(split)]
        if len(index) == 0:
            raise empty_split(str(path), split, layout.rows, FRACTIONS)
    rows = MemmapRows(path, layout, index, summary=summary)
    example = pixels.example_shape(layout.shape, path)
    if check and not all_finite(rows):
        _refuse_nonfinite(MemmapRows(path, layout), example)
    return MemmapDataset(rows, str(path), split, example)


def _refuse_nonfinite(rows: MemmapRows, shape: tuple[int, ...]) -> None:
    """Refuse the file's values that are no finite float32, as an in-memory read does
    (:mod:`torchlvm.data.files`): values too large for float32, infinities, then NaN, each
    counted and the first named by image and pixel (or example and feature), streamed.

    Raises:
        DataError: for the first kind of value found, with its fix under streaming.
    """
    masks = {  # what a value is called, and its mask in (B, D) rows
        files.TOO_LARGE[0]: files.beyond_float32,
        "infinite": np.isinf,
        "missing (NaN)": np.isnan,
    }
    wide = np.float64 if rows.layout.dtype.itemsize > 4 else np.float32
    found: dict[str, tuple[int, int, int]] = {}  # kind -> (count, row, column of the first)
    start = 0
    for chunk in rows.chunks(wide):
        for kind, mask_of in masks.items():
            mask = mask_of(chunk)
            if not mask.any():
                continue
            if kind not in found:
                row, column = np.argwhere(mask)[0]
                found[kind] = (0, start + int(row), int(column))
            count, row, column = found[kind]
            found[kind] = (count + int(mask.sum()), row, column)
        start += len(chunk)
    kind = next(kind for kind in masks if kind in found)
    count, row, column = found[kind]
    said = files.holds(rows.path, count, kind, files.in_rows(shape)(row, column))
    raise spelled(DataError, lambda spell: f"{said}; {_fix_nonfinite(kind, spell)}")


def _fix_nonfinite(kind: str, spell: Spell) -> str:
    """The fix of a file's ``kind`` of non-finite value when it is streamed."""
    if kind == files.TOO_LARGE[0]:
        return files.TOO_LARGE[1]
    if kind == "infinite":
        return files.FIX_INFINITE
    return (
        f"fill the missing values in, or load the file without {spell('mmap', True)} and pass "
        f"{spell('allow_missing', True)}: PPCA's EM and the VAE's MIWAE bound fit around "
        "missing values"
    )
