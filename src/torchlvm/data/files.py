"""The user's own data from ``.npy``, ``.npz`` or ``.csv`` files.

- ``.npy``: one array, ``(N, D)``, or images ``(N, H, W)`` / ``(N, C, H, W)`` that are flattened
  row-major with the per-example shape recorded (``(1, H, W)`` / ``(C, H, W)``).
- ``.npz``: the data under key ``x``, ``X`` or ``data`` (same shapes as ``.npy``); integer class
  labels optionally under ``y``, ``Y`` or ``labels``.
- ``.csv``: comma-separated numbers, one example per line, with an optional header row (a first
  row in which no cell is a number). Empty cells are missing values. Option ``label_column``
  (0-based index or header name) takes the labels from one column.

Values are not rescaled. NaN marks a missing value: loading refuses it unless
``allow_missing=True`` (PPCA's EM fits data with missing values); infinities are always refused.
Splits are seeded 80% train, 10% val, 10% test; ``"all"`` is every row in file order.

``mmap=True`` (``.npy`` only) leaves the file on disk and reads it a batch of rows at a time, for
data larger than memory: see :mod:`torchlvm.data.memmap`.
"""

from __future__ import annotations

import csv
import os
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.data.splits import select_split
from torchlvm.errors import ConfigError, DataError, DataNotFoundError

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
X_KEYS: tuple[str, ...] = ("x", "X", "data")
Y_KEYS: tuple[str, ...] = ("y", "Y", "labels")
# what numpy raises on a damaged file: a mangled header is parsed by ast.literal_eval, so
# SyntaxError and tokenize's TokenError too, and a mangled dict the lookups' KeyError/TypeError
_NUMPY_ERRORS = (
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

Arrays = tuple[np.ndarray, np.ndarray | None]


def _read_npy(path: Path, label_column: int | str | None) -> Arrays:
    """The array of an ``.npy`` file; it has no labels."""
    try:
        array = np.load(path, allow_pickle=False)
    except _NUMPY_ERRORS as error:
        raise DataError(f"cannot read {path} as .npy ({error}); save it with numpy.save") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{path} is an .npz archive, not one array; rename it to end in .npz")
    return array, None


def _read_npz(path: Path, label_column: int | str | None) -> Arrays:
    """The data and optional labels of an ``.npz`` archive."""
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise DataError(f"{path} holds one array, not an archive; rename it to end in .npy")
        with archive:
            x_key = next((key for key in X_KEYS if key in archive.files), None)
            if x_key is None:
                raise DataError(
                    f"{path} has no data array (keys: {', '.join(archive.files) or 'none'}); "
                    f"store the data under one of {', '.join(X_KEYS)}"
                )
            y_key = next((key for key in Y_KEYS if key in archive.files), None)
            return archive[x_key], None if y_key is None else archive[y_key]
    except _NUMPY_ERRORS as error:
        raise DataError(f"cannot read {path} as .npz ({error}); save it with numpy.savez") from None


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_rows(path: Path) -> tuple[list[str] | None, list[int], list[list[str]]]:
    """Header (or None), line numbers and cells of the non-blank rows of a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            numbered = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"cannot read {path} as CSV text ({error}); save it as UTF-8 CSV") from None
    header = None
    if numbered:
        first = [cell.strip() for cell in numbered[0][1]]
        if not any(_is_number(cell) for cell in first if cell):
            header = first
            numbered = numbered[1:]
    return header, [line for line, _ in numbered], [row for _, row in numbered]


def _csv_values(path: Path, header: list[str] | None, lines: list[int], rows: list[list[str]]):
    """``(N, C)`` float64 values of the CSV cells; empty cells become NaN."""
    width = len(header) if header is not None else len(rows[0])
    for line, row in zip(lines, rows, strict=True):
        if len(row) != width:
            raise DataError(
                f"{path} line {line} has {len(row)} cells but the file has {width} columns; "
                "every row needs the same number of cells"
            )
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError:
        pass  # an empty or non-numeric cell: find it, slowly
    values = np.empty((len(rows), width))
    for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
        for j, cell in enumerate(row):
            text = cell.strip()
            try:
                values[i, j] = float(text) if text else np.nan
            except ValueError:
                column = f"column {j + 1}" + (f" ({header[j]!r})" if header else "")
                raise DataError(
                    f"{path} line {line}, {column}: cannot read {cell!r} as a number; "
                    "a CSV file must hold only numbers, apart from one optional header row"
                ) from None
    return values


def _label_index(label_column: int | str, header: list[str] | None, width: int) -> int:
    """The 0-based column index that ``label_column`` names."""
    if isinstance(label_column, str):
        if header is None or label_column not in header:
            names = ", ".join(header) if header else "the file has no header row"
            raise ConfigError(
                f"label_column {label_column!r} is not a column name ({names}); pass a column "
                "name from the header or a 0-based column index"
            )
        return header.index(label_column)
    if isinstance(label_column, bool) or not isinstance(label_column, int):
        raise ConfigError(f"label_column must be a column index or name, got {label_column!r}")
    if not -width <= label_column < width:
        raise ConfigError(
            f"label_column {label_column} is out of range for {width} columns; pass an index "
            f"in {-width}..{width - 1}"
        )
    return label_column % width


def _read_csv(path: Path, label_column: int | str | None) -> Arrays:
    """The values of a CSV file, and its label column when one is named."""
    header, lines, rows = _csv_rows(path)
    if not rows:
        raise DataError(f"{path} holds no data rows; add at least one row of numbers")
    values = _csv_values(path, header, lines, rows)
    if label_column is None:
        return values, None
    j = _label_index(label_column, header, values.shape[1])
    return np.delete(values, j, axis=1), values[:, j]


_READERS: dict[str, Callable[[Path, int | str | None], Arrays]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    ".csv": _read_csv,
}


def _features(array: np.ndarray, path: Path) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(N, D)`` float32 rows and the per-example shape they were flattened from."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path} holds {array.dtype} values; torchlvm needs a numeric array")
    if array.ndim not in (2, 3, 4):
        raise DataError(
            f"{path} holds an array of shape {array.shape}; pass (N, D) rows or (N, H, W) / "
            "(N, C, H, W) images"
        )
    shape = tuple(array.shape[1:]) if array.ndim == 2 else (1,) * (4 - array.ndim) + array.shape[1:]
    if array.shape[0] == 0 or 0 in shape:
        raise DataError(f"{path} holds no data (array shape {array.shape}); add examples")
    return np.asarray(array, dtype=np.float32).reshape(array.shape[0], -1), shape


def _labels(labels: np.ndarray, n: int, path: Path) -> np.ndarray:
    """``(N,)`` int64 class labels, checked to be whole numbers >= 0."""
    if labels.dtype.kind not in "biuf" or labels.shape != (n,):
        raise DataError(
            f"{path}: labels must be {n} numbers, one per example, got {labels.dtype} of shape "
            f"{labels.shape}; store one integer class label per row"
        )
    bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{path}: label of example {i} is {labels[i].item()!r}; class labels must be "
            "whole numbers 0, 1, 2, ..."
        )
    return labels.astype(np.int64)


def _refuse(mask: np.ndarray, path: Path, what: str, fix: str) -> None:
    """Raise if ``mask`` (shaped like the data) marks any value, naming the first."""
    if mask.any():
        row, column = np.argwhere(mask)[0]
        raise DataError(
            f"{path} holds {int(mask.sum())} {what} values (the first in example {row}, "
            f"feature {column}, counting from 0); {fix}"
        )


def _check_finite(x: np.ndarray, path: Path, allow_missing: bool) -> None:
    """Refuse infinities always and NaN unless ``allow_missing``."""
    fix_inf = "replace them with finite numbers, or NaN to mark them missing"
    _refuse(np.isinf(x), path, "infinite", fix_inf)
    if not allow_missing:
        _refuse(
            np.isnan(x),
            path,
            "missing (NaN or empty)",
            "pass allow_missing=True (on the command line: torchlvm fit ppca --method em "
            "--allow-missing) to keep them as NaN, as PPCA's EM fits missing values, or fill "
            "them in",
        )


def load_file(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    allow_missing: bool = False,
    label_column: int | str | None = None,
    mmap: bool = False,
) -> Dataset:
    """Load a user's ``.npy``, ``.npz`` or ``.csv`` file as a dataset.

    Args:
        path: The file; its extension picks the format.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: Seed of the split.
        allow_missing: Keep NaN values (missing data) instead of refusing them.
        label_column: For ``.csv``: the column holding class labels, as a 0-based index or a
            header name; it is removed from ``x``.
        mmap: For ``.npy``: stream rows from the file on disk; returns a
            :class:`~torchlvm.data.memmap.MemmapDataset` (refuses NaN; no ``allow_missing``).

    Returns:
        ``x`` of shape ``(N, D)`` float32, values as stored; ``y`` ``(N,)`` int64 when the file
        has labels; ``name`` is ``str(path)``.

    Raises:
        DataNotFoundError: If the file does not exist.
        DataError: If it is empty, unreadable, non-numeric, holds infinities, or NaN without
            ``allow_missing``.
        ConfigError: If the extension is not supported or ``label_column`` does not fit.
    """
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise ConfigError(
            f"cannot read {path}: unsupported extension {path.suffix!r}; torchlvm reads "
            f"{', '.join(_READERS)} files"
        )
    if label_column is not None and reader is not _read_csv:
        raise ConfigError(
            f"label_column applies to .csv files, not {path.name}; store labels in an .npz "
            f"under one of {', '.join(Y_KEYS)}"
        )
    if mmap:
        from torchlvm.data.memmap import load_memmap

        if reader is not _read_npy or allow_missing:
            raise ConfigError(
                f"mmap=True streams .npy files of finite values; {path.name} needs a full load"
                + (" (allow_missing)" if allow_missing else "")
            )
        return load_memmap(path, split, seed=seed)  # type: ignore[return-value]
    if not path.exists():
        raise DataNotFoundError(f"{path} does not exist; check the path")
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass the path of a {path.suffix} file")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); pass a file that holds data")
    array, raw_labels = reader(path, label_column)
    x, shape = _features(array, path)
    _check_finite(x, path, allow_missing)
    y = None if raw_labels is None else _labels(raw_labels, len(x), path)
    num_classes = None if y is None else int(y.max()) + 1
    data = Dataset(
        x=torch.from_numpy(x),
        y=None if y is None else torch.from_numpy(y),
        name=str(path),
        split="all",
        shape=shape,
        num_classes=num_classes,
        class_names=None,
        binarize="none",
    )
    return select_split(data, split, fractions=FRACTIONS, seed=seed)
