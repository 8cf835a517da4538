"""One reader per file format, each returning what it found (:class:`Read`): an ``.npy`` array,
an ``.npz`` archive's data and labels (under :mod:`torchlvm.data.npz_keys`' names; labels as a
CSV's label column reads them: text as class names, bytes decoded, one-hot rows as classes), and
a CSV table (:mod:`torchlvm.data.csv_table`). :func:`reader_of` picks one by the extension."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from torchlvm._files import unused_name
from torchlvm.data import pixels
from torchlvm.data.csv_column import column_name
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_form import NumberForm
from torchlvm.data.csv_table import TABLE_SUFFIXES, read_csv
from torchlvm.data.npz_keys import X_KEYS, Y_KEYS, npz_data_key
from torchlvm.data.registry import file_suffix, unsupported
from torchlvm.data.save_lines import no_data, objects_refused, two_arrays
from torchlvm.errors import DataError

Labelled = tuple[str, int | str]
"""A label column as a message names it (``column 'proline'``) and as an option does."""


class Read(NamedTuple):
    """What a reader found: values, raw labels, column names and class names (or None)."""

    x: np.ndarray
    labels: np.ndarray | None
    columns: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    lines: np.ndarray | None = None  # a CSV's file line of each row
    dialect: Dialect | None = None  # a CSV's delimiter and decimal point
    forms: tuple[NumberForm, ...] = ()  # how a CSV's columns write their numbers
    places: tuple[int, ...] = ()  # a CSV's file column index of each feature column
    label: Labelled | None = None  # a CSV's label column: how messages and options name it


def read_npy(path: Path, label_column: int | str | None) -> Read:
    """The array of an ``.npy`` file; it has no labels."""
    try:
        array = np.load(path, allow_pickle=False)
    except pixels.NUMPY_ERRORS as error:
        header = pixels.array_header(path)  # (shape, dtype), or None for no .npy
        if header is not None and header[1].hasobject:  # saved by numpy.save: Python objects
            raise objects_refused(path, header[0]) from None
        raise DataError(f"cannot read {path} as .npy ({error}); save it with numpy.save") from None
    if not isinstance(array, np.ndarray):
        array.close()
        raise DataError(f"{path} is an .npz archive, not one array; rename it to end in .npz")
    return Read(array, None)


def read_npz(path: Path, label_column: int | str | None) -> Read:
    """The data and optional labels of an ``.npz`` archive."""
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise DataError(f"{path} holds one array, not an archive; rename it to end in .npy")
        with archive:
            x_key = npz_data_key(archive.files)
            if x_key is None:
                raise DataError(f"{path} has no data array {no_data(path, archive.files)}")
            x = _unpickled(archive, x_key, path)
            _check_one(archive, X_KEYS, "data", path)
            y_key = _check_one(archive, Y_KEYS, "labels", path)
            if y_key is None:
                return Read(x, None)
            return _npz_labels(x, _unpickled(archive, y_key, path), path, (x_key, y_key))
    except DataError:  # our own message and fix: not nested in "cannot read ... as .npz"
        raise
    except pixels.NUMPY_ERRORS as error:
        raise DataError(f"cannot read {path} as .npz ({error}); save it with numpy.savez") from None


def _unpickled(archive: Any, key: str, path: Path) -> np.ndarray:
    """The archive's array ``key``; one of Python objects (which would need unpickling, as a
    list of label strings saved as such becomes) is refused, naming how to store it."""
    try:
        return archive[key]
    except ValueError as error:
        if "allow_pickle" not in str(error):
            raise
        raise DataError(
            f"{path} holds Python objects under {key!r}, which torchlvm does not unpickle; "
            f"save them as numbers, or text labels as strings (f = np.load({str(path)!r}, "
            f"allow_pickle=True), then np.savez(..., {key}=f[{key!r}].astype(str)))"
        ) from None


def _npz_labels(x: np.ndarray, y: np.ndarray, path: Path, keys: tuple[str, str]) -> Read:
    """An archive's data and labels (under ``keys``), its labels read as a CSV's label column
    is: text as class names (numbered in sorted order), bytes (h5py's and Python 2's strings)
    as their UTF-8 text, one-hot rows ``(N, C)`` as their classes, and a column ``(N, 1)`` (one
    label a row, as Keras and scikit-learn often keep it) as ``(N,)``.

    Raises:
        DataError: for byte labels that are not UTF-8, naming the line that decodes them.
    """
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.dtype.kind == "S":  # str(b'cat') is "b'cat'": a class no --condition could name
        try:
            y = np.char.decode(y, "utf-8")
        except UnicodeDecodeError as error:
            new, (xk, yk) = unused_name(path.with_name(f"{path.stem}-text.npz")), keys
            raise DataError(
                f"{path}: its labels ({yk!r}) are bytes that are not UTF-8 text ({error}); "
                f"decode them with their encoding (f = np.load({str(path)!r}); np.savez("
                f"{new!r}, x=f[{xk!r}], y=np.char.decode(f[{yk!r}], 'latin-1'))) and pass "
                "that file"
            ) from None
    if y.dtype.kind in "US" and y.ndim == 1:
        names, labels = np.unique(y, return_inverse=True)
        return Read(x, labels, class_names=tuple(str(name) for name in names))
    one_hot = y.ndim == 2 and y.shape[1] > 1 and y.dtype.kind in "biuf"
    if one_hot and bool(((y == 0) | (y == 1)).all() and (y.sum(1) == 1).all()):
        return Read(x, y.argmax(1))
    return Read(x, y)


def _check_one(archive: Any, keys: Sequence[str], what: str, path: Path) -> str | None:
    """The first of ``keys`` the archive holds, None for none; an archive that holds several
    of them with different arrays (``y`` beside torchvision's ``targets``) is refused."""
    held = [key for key in keys if key in archive.files]
    first = _unpickled(archive, held[0], path) if held else None
    for other in held[1:]:
        if not np.array_equal(first, _unpickled(archive, other, path)):
            raise two_arrays(archive.files, what, path, (held[0], other))
    return held[0] if held else None


def read_table(
    path: Path,
    label_column: int | str | None,
    drop_columns=(),
    allow_empty: bool | Literal["columns"] = False,
    if_present: bool = False,
    features: Sequence[str] = (),
    encoding: str | None = None,
    na_values: Sequence[str] = (),
) -> Read:
    """The values of a CSV file, its column names, and its label column when one is named."""
    table = read_csv(
        path,
        label_column=label_column,
        drop_columns=drop_columns,
        allow_empty=allow_empty,
        if_present=if_present,
        features=features,
        encoding=encoding,
        na_values=na_values,
    )
    return Read(
        table.values,
        table.labels,
        table.columns,
        table.class_names,
        table.lines,
        table.dialect,
        table.forms,
        tuple(table.features),
        _label_named(table.header, label_column),
    )


def _label_named(header: list[str] | None, column: int | str | None) -> Labelled | None:
    """How a message names the label ``column`` of a file of ``header`` (``column 'proline'``,
    ``column 14 (index 13)``: :func:`~torchlvm.data.csv_column.column_name`) and how an option
    names it (its name where that is how it is named, else its index); None for none."""
    names = header or []
    j = names.index(column) if isinstance(column, str) and column in names else column
    if isinstance(j, int) and header and -len(header) <= j < 0:
        j %= len(header)  # (-1: the last column, as the reader takes it; readC C7)
    if not isinstance(j, int) or (header is not None and not 0 <= j < len(header)):
        return None
    said = column_name(header, j)
    return said, names[j] if header and said == f"column {names[j]!r}" else j


READERS: dict[str, Callable[..., Read]] = {
    ".npy": read_npy,
    ".npz": read_npz,
    **dict.fromkeys(TABLE_SUFFIXES, read_table),
}


def reader_of(path: Path) -> Callable[..., Read]:
    """The reader of ``path``'s format, by its extension."""
    reader = READERS.get(file_suffix(path))
    if reader is None:
        raise unsupported(path)
    return reader
