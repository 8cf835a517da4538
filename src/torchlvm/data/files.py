"""The user's own data from ``.npy``, ``.npz`` or ``.csv`` files.

- ``.npy``: one array, ``(N, D)``, or images ``(N, H, W)`` / ``(N, C, H, W)`` / ``(N, H, W, C)``
  that are flattened row-major with the per-example shape recorded (``(1, H, W)`` /
  ``(C, H, W)``); 8-bit grey levels (uint8, or images of another integer dtype whose every value
  lies in 0..255) are divided by 255 (:mod:`torchlvm.data.pixels`).
- ``.npz``: the data under key ``x``, ``X``, ``data`` or ``images``, or an archive's only array
  under another name than a label's (same shapes as ``.npy``); class labels optionally under
  ``y``, ``Y``, ``labels``, ``label``, ``targets`` (torchvision's name) or ``target``
  (scikit-learn's). An archive holding two of
  one kind's names with different arrays is refused: which one is meant is the user's to say.
- ``.csv``: a table of numbers, one example per line, with an optional header row whose names
  are kept; empty cells and markers such as ``NA`` are missing values; ``label_column`` and
  ``drop_columns`` pick columns out (:mod:`torchlvm.data.csv_table`). ``.tsv`` (tabs between
  cells), ``.csv.gz`` and ``.tsv.gz`` (gzipped) are read the same way.

Values are stored as read unless ``standardize`` (:mod:`torchlvm.data.standardize`: fitted on
the train split, recorded on the dataset). NaN marks a missing value: loading refuses it unless
``allow_missing=True`` (PPCA's EM and the VAE's MIWAE bound fit data with missing values);
infinities are always refused. ``columns`` matches a file to a run's recorded columns
(:mod:`torchlvm.data.columns`). Splits are seeded 80% train, 10% val, 10% test; ``"all"`` is
every row in file order.

``mmap=True`` (``.npy`` only) leaves the file on disk and reads it a batch of rows at a time, for
data larger than memory: see :mod:`torchlvm.data.memmap`.
"""

from __future__ import annotations

import os
import shlex
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from torchlvm._checks import check_choice
from torchlvm._files import unused_name
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.data import pixels
from torchlvm.data.columns import default_names, dropping, listed, match_columns
from torchlvm.data.csv_cells import is_number
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_form import NumberForm
from torchlvm.data.csv_table import TABLE_SUFFIXES, delete_such, read_csv
from torchlvm.data.dataset import Dataset
from torchlvm.data.registry import file_suffix, unsupported
from torchlvm.data.splits import select_split
from torchlvm.data.standardize import Standardizer
from torchlvm.errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    OptionError,
    Spell,
    on_command_line,
    spelled,
)

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
MANY_CLASSES = 50
"""More distinct labels than this, unless they number the classes 0..C-1 (or name them) with two
rows or more to a class, are a measured quantity or row names, not classes
(:func:`_check_not_measured`)."""
X_KEYS: tuple[str, ...] = ("x", "X", "data", "images")
"""The names an archive's data array is read under (torchvision's datasets keep it as ``data``)."""
Y_KEYS: tuple[str, ...] = ("y", "Y", "labels", "label", "targets", "target")
"""The names its class labels are read under: torchvision's datasets keep them as ``targets``,
scikit-learn's ``Bunch`` as ``target``."""


class Read(NamedTuple):
    """What a reader found: values, raw labels, column names and class names (or None)."""

    x: np.ndarray
    labels: np.ndarray | None
    columns: tuple[str, ...] | None = None
    class_names: tuple[str, ...] | None = None
    lines: np.ndarray | None = None  # a CSV's file line of each row
    dialect: Dialect | None = None  # a CSV's delimiter and decimal point
    forms: tuple[NumberForm, ...] = ()  # how a CSV's columns write their numbers


Where = Callable[[int, int], str]  # (row, feature) -> where a message says the value is


def _in_array(row: int, column: int) -> str:
    return f"in example {row}, feature {column}, counting from 0"


def in_rows(shape: tuple[int, ...]) -> Where:
    """Where a value of an array's rows flattened from per-example ``shape`` is: by image,
    channel and pixel for images ``(C, H, W)``, else by example and feature."""
    return _in_images(shape) if len(shape) == 3 else _in_array


def holds(path: Path, count: int, what: str, first: str) -> str:
    """What a file holds that is refused, as every reader of it says so: "x.npy holds 2
    infinite values (the first in image 1, pixel row 0, column 3, counting from 0)"."""
    return f"{path} holds {_values(count, what)} (the first {first})"


def _in_images(shape: tuple[int, ...]) -> Where:
    """Where a value of images flattened from per-example ``shape`` ``(C, H, W)`` is: its image,
    channel (of several), and pixel's row and column."""
    channels, height, width = shape

    def where(row: int, column: int) -> str:
        channel, pixel = divmod(column, height * width)
        y, x = divmod(pixel, width)
        which = f"channel {channel}, " if channels > 1 else ""
        return f"in image {row}, {which}pixel row {y}, column {x}, counting from 0"

    return where


def _values(count: int, what: str) -> str:
    """``count`` values of a kind, the noun agreeing: "1 infinite value", "2 infinite values"."""
    return f"{count} {what} value{'' if count == 1 else 's'}"


def _in_table(lines: np.ndarray | None, names: Sequence[str] | None) -> Where:
    """Where a cell of a CSV is, as a spreadsheet shows it: its line and its column's name."""
    if lines is None:
        return _in_array

    def where(row: int, column: int) -> str:
        name = f"column {names[column]!r}" if names else f"feature column {column + 1}"
        return f"on line {int(lines[row])}, {name}"

    return where


def _read_npy(path: Path, label_column: int | str | None) -> Read:
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


def objects_refused(path: Path, shape: tuple[int, ...]) -> DataError:
    """The refusal of an ``.npy`` of Python objects (dtype object), which torchlvm does not
    unpickle, of shape ``shape``, with a line that saves its numbers in a new file: an array of
    rows or images stacked as float32; one object (shape ``()``, as ``np.save(F, {'x': ...})``
    writes a dict: review12 #9, where the stacking line raised 'iteration over a 0-d array') as
    an archive of its arrays."""
    if shape != ():
        new = unused_name(path.with_name(f"{path.stem}-numbers.npy"))
        return DataError(
            f"{path} holds Python objects (dtype object), which torchlvm does not unpickle; "
            f"save them as numbers (np.save({new!r}, np.stack(list(np.load({str(path)!r}, "
            "allow_pickle=True))).astype('float32')), which also stacks an array of images "
            "of one size) and pass that file"
        )
    new = unused_name(path.with_name(f"{path.stem}-arrays.npz"))
    read = f"np.load({str(path)!r}, allow_pickle=True).item()"
    return DataError(
        f"{path} holds one pickled Python object (shape (), as np.save writes a dict), which "
        f"torchlvm does not unpickle; for a dict of arrays, np.savez({new!r}, **{read}) saves "
        f"them as an archive torchlvm reads (data under one of {', '.join(X_KEYS)}; labels "
        f"under one of {', '.join(Y_KEYS)}), then pass that file; {read} shows what it holds"
    )


def _read_npz(path: Path, label_column: int | str | None) -> Read:
    """The data and optional labels of an ``.npz`` archive."""
    try:
        archive = np.load(path, allow_pickle=False)
        if isinstance(archive, np.ndarray):
            raise DataError(f"{path} holds one array, not an archive; rename it to end in .npy")
        with archive:
            x_key = npz_data_key(archive.files)
            if x_key is None:
                raise DataError(f"{path} has no data array {_no_data(path, archive.files)}")
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
            raise _two_arrays(archive.files, what, path, (held[0], other))
    return held[0] if held else None


def _two_arrays(names: Sequence[str], what: str, path: Path, pair: tuple[str, str]) -> DataError:
    """The refusal of an archive of ``names`` holding ``what`` (data or labels) under both keys
    of ``pair`` with different arrays, naming the line that keeps either."""
    roles = {"x": npz_data_key(names), "y": next((k for k in Y_KEYS if k in names), None)}
    role = "x" if what == "data" else "y"

    one = unused_name(path.with_name(f"{path.stem}-one.npz"))  # (a free name beside it)

    def keep(key: str) -> str:
        kept = {**roles, role: key}
        return f"np.savez({one!r}, {', '.join(f'{r}=f[{k!r}]' for r, k in kept.items() if k)})"

    return DataError(
        f"{path} holds {what} under both {pair[0]!r} and {pair[1]!r}, and they differ; keep "
        f"the one meant: f = np.load({str(path)!r}); {keep(pair[0])} or {keep(pair[1])}"
    )


def npz_data_key(names: Sequence[str]) -> str | None:
    """The data array's key among an archive's ``names``: the first of :data:`X_KEYS`, or an
    archive's only array under any other name than a label's (``numpy.savez(path, x)`` names
    it ``arr_0``; ``numpy.savez(path, pixels=x)`` was refused as holding no data, review13
    #3)."""
    key = next((key for key in X_KEYS if key in names), None)
    only = len(names) == 1 and names[0] not in Y_KEYS
    return names[0] if key is None and only else key


def array_expression(path: Path) -> str:
    """The Python that loads the data array of the file ``path``: ``np.load('F.npy')``, or
    for an archive ``np.load('F.npz')['x']`` (its data key: an offered line of
    ``np.load('F.npz').reshape(...)`` failed on the archive object, and pandas made a CSV of its
    key names: readA #7, #8)."""
    data = f"np.load({str(path)!r})"
    if file_suffix(path) != ".npz":
        return data
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile):
        names = []
    return data + f"[{npz_data_key(names) or 'x'!r}]"


def npz_as_npy(path: Path) -> tuple[Path, str]:
    """A free ``.npy`` name for the data array of the archive ``path`` and the ``np.save`` line
    that writes it there: the first step of filling an archive's NaN cells, which impute reads
    from an ``.npy`` (fit's offered commands and impute's refusal say the same: readA #4)."""
    npy = Path(unused_name(path.with_name(f"{path.stem}-data.npy")))
    return npy, f"np.save({str(npy)!r}, {array_expression(path)})"


def labels_fix(name: str | os.PathLike[str]) -> str | None:
    """How to give the array file ``name`` (``.npy`` / ``.npz``) class labels: the ``np.savez``
    line that stores its data beside them (under ``y``, :data:`Y_KEYS`) and the ``--data`` that
    then reads them; None for any other data (a table names its label column, a dataset none)."""
    path = Path(name)
    suffix = file_suffix(path)
    if suffix not in (".npy", ".npz"):
        return None
    out = unused_name(path.with_name(f"{path.name[: -len(suffix)]}-labelled.npz"))
    data = array_expression(path)
    return (
        f"save the data with one class label per example (labels: an array of N integers or "
        f"names): np.savez({str(out)!r}, x={data}, y=labels), then pass --data "
        f"{shlex.quote(str(out))}"
    )


def _no_data(path: Path, names: Sequence[str]) -> str:
    """What an archive without a data array holds, and how to save one that has it (Keras'
    ``mnist.npz`` keeps x_train, y_train, x_test, y_test)."""
    held = f"(keys: {', '.join(names) or 'none'}"
    if {"x_train", "x_test"} <= set(names):
        both = "np.concatenate([f['{0}_train'], f['{0}_test']])"
        labels = f", y={both.format('y')}" if {"y_train", "y_test"} <= set(names) else ""
        every = unused_name(path.with_name(f"{path.stem}-all.npz"))  # (a free name beside it)
        return (
            f"{held}, Keras' layout); save train and test as one archive: "
            f"f = np.load({str(path)!r}); np.savez({every!r}, x={both.format('x')}{labels}) "
            "(torchlvm then draws its own seeded train/val/test split from all rows, so the "
            "file's test rows are no longer held out: compare with published numbers with care)"
        )
    return f"{held}); store the data under one of {', '.join(X_KEYS)}"


def _read_csv(
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
    )


_READERS: dict[str, Callable[..., Read]] = {
    ".npy": _read_npy,
    ".npz": _read_npz,
    **dict.fromkeys(TABLE_SUFFIXES, _read_csv),
}


def _features(
    array: np.ndarray, path: Path, where: Where = _in_array
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(N, D)`` rows and the per-example shape they were flattened from, by the rule of
    :mod:`torchlvm.data.pixels` (images channels first, 8-bit levels divided by 255): float64 values
    (every CSV; and wider floats, once checked to fit float32) stay float64 until after
    standardization, which would see a column such as 1.7e9 + noise as constant in float32
    (spacing 128); everything else is float32."""
    if array.dtype.kind not in "biuf" or array.dtype.names is not None:
        raise _not_numbers(array, path)
    if array.ndim not in (2, 3, 4):
        one = ""
        if array.ndim == 1 and array.size:  # one feature of N examples (review13 #19)
            new = unused_name(path.with_name(f"{path.stem}-rows.npy"))
            one = (
                f"; if it holds one feature of {len(array)} examples, save it as rows "
                f"(np.save({new!r}, {array_expression(path)}.reshape(-1, 1))) and pass that file"
            )
        raise DataError(
            f"{path} holds an array of shape {array.shape}; pass (N, D) rows or (N, H, W) / "
            f"(N, C, H, W) images{one}"
        )
    if 0 in array.shape:
        raise DataError(f"{path} holds no data (array shape {array.shape}); add examples")
    shape = pixels.example_shape(array.shape, path)
    pixels.warn_of_either_order(array.shape, path)
    if len(shape) == 3:  # images: a value is a pixel, its channel first
        where = in_rows(shape)
    _refuse(beyond_float32(pixels.channels_first(array)), path, *TOO_LARGE, where)
    wide = array.dtype.kind == "f" and array.dtype.itemsize > 4
    levels = pixels.integer_levels(array)  # (min and max read once: a pass over every value)
    scaled = levels is not None and pixels.eight_bit_range(*levels)
    if scaled:
        pixels.warn_of_levels(array.dtype, float(levels[1]), path)
    return pixels.rows(array, np.float64 if wide else np.float32, scaled=scaled), shape


TOO_LARGE = (
    "finite but too large",
    f"torchlvm computes in float32, whose largest value is {np.finfo(np.float32).max:.3g}: "
    "rescale the data (other units, or their logarithm)",
)
"""What a value float32 cannot hold is called, and the fix."""


def beyond_float32(array: np.ndarray) -> np.ndarray:
    """``(N, D)`` mask of the finite values of ``(N, ...)`` ``array`` that float32 cannot hold,
    which would become inf and be called infinite; ``(N, 0)`` for a dtype float32 holds (no
    copy of a channels-last view, no mask of every value)."""
    if array.dtype.kind != "f" or array.dtype.itemsize <= 4:
        return np.zeros((len(array), 0), dtype=bool)
    rows = array.reshape(len(array), -1)
    return np.isfinite(rows) & (np.abs(rows) > np.finfo(np.float32).max)


def _check_not_measured(
    read: Read, path: Path, column: int | str | None, dropped: Sequence
) -> Read:
    """Refuse labels of more than :data:`MANY_CLASSES` values that are no classes: numbers that
    do not number the classes 0..C-1 with two rows or more to a class, a measured quantity
    (sklearn's diabetes 'target', 214 values from 25 to 346 in 442 rows); or text names most of
    which name one row. A conditional model would take them as hundreds of one-row classes, and
    evaluate's probes could not score them. An archive's such array (scikit-learn's X beside a
    regression y), which no option leaves out as a CSV's label column is, is read without it,
    with a warning: a model that needs classes refuses the data then (review13 #17).

    Returns:
        ``read``, without its labels where they are an archive's measured quantity.
    """
    labels = read.labels
    if labels is None or labels.ndim != 1 or labels.dtype.kind not in "biuf":
        return read  # not labels at all: :func:`_labels` says so
    values = np.unique(labels[np.isfinite(labels)])
    few = 2 * len(values) <= len(labels)  # two rows or more to a class, on average
    names = read.class_names
    if names is not None and all(is_number(n) for n in names):  # whole-number codes, as numbers
        values, names = np.array(names, dtype=np.float64), None
    if names is not None:
        if len(values) <= MANY_CLASSES or few:
            return read
        held = f"holds {len(values)} distinct names in {len(labels)} rows, so it names rows"
    else:
        # codes 0..C-1 or 1..C (a consecutive run of whole numbers from 0 or 1)
        numbered = (
            len(values) > 0 and values[0] in (0, 1) and values[-1] == values[0] + len(values) - 1
        )
        if len(values) <= MANY_CLASSES or (numbered and few):
            return read
        held = (
            f"holds {len(values)} distinct numbers ({values[0]:g} to {values[-1]:g}) in "
            f"{len(labels)} rows, so it is a measured quantity (such as a regression target)"
        )
    if column is None:
        warnings.warn(
            f"{path}: its labels array {held}, not classes: read without it (a model of classes, "
            "a CVAE on --condition label, has none to learn; save the classes under y for it)",
            stacklevel=2,
        )
        return read._replace(labels=None, class_names=None)
    name = repr(column) if isinstance(column, str) else f"{column} (counting from 0)"
    drop = [*dropped, column]
    keep = "keep it as a feature (leave out {}) or " if names is None else ""
    raise spelled(
        OptionError,
        lambda spell: (
            f"{path}: the label column {name} {held}, not classes; "
            f"{keep.format(spell('label_column', None))}leave it out "
            f"({spell('drop_columns', drop)})"
        ),
    )


def _labels(labels: np.ndarray, n: int, path: Path, lines: np.ndarray | None) -> np.ndarray:
    """``(N,)`` int64 class labels, checked to be whole numbers >= 0."""
    if labels.dtype.kind not in "biuf" or labels.shape != (n,):
        raise DataError(
            f"{path}: labels must be {n} numbers, one per example, got {labels.dtype} of shape "
            f"{labels.shape}; store one integer class label per row"
        )
    bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0)
    if bad.any():
        i = int(np.argmax(bad))
        row = f"example {i}" if lines is None else f"line {int(lines[i])}"
        raise DataError(
            f"{path}: label of {row} is {labels[i].item()!r}; class labels must be "
            "whole numbers 0, 1, 2, ... (a measured value, such as a regression target, is no "
            "class: keep it as a feature column)"
        )
    return labels.astype(np.int64)


def _refuse(mask: np.ndarray, path: Path, what: str, fix: str, where: Where) -> None:
    """Raise if ``mask`` (shaped like the data) marks any value, naming the first."""
    if mask.any():
        row, column = np.argwhere(mask)[0]
        first = where(int(row), int(column))
        raise DataError(f"{holds(path, int(mask.sum()), what, first)}; {fix}")


FIX_INFINITE = "replace infinite values with finite numbers"


def _check_finite(
    x: np.ndarray,
    path: Path,
    allow_missing: bool,
    where: Where,
    *,
    images: bool,
    csv: bool,
    read_with: dict[str, Any] | None = None,
) -> None:
    """Refuse infinities always and NaN unless ``allow_missing``; ``images``: x holds images'
    pixels, ``csv``: x was read from a CSV (whose empty cells are NaN too), with the column
    options ``read_with`` (which the command that fills it is given too)."""
    _refuse(
        np.isinf(x), path, "infinite", f"{FIX_INFINITE}, or with NaN to mark them missing", where
    )
    if allow_missing:
        return

    def fix(spell: Spell) -> str:  # fit ppca takes --allow-missing with its EM only
        cli = spell is on_command_line
        em = "with --method em for fit ppca" if cli else "method='em' for PPCA"
        given = "".join(
            f" {spell(k, v)}" for k, v in (read_with or {}).items() if v not in (None, [])
        )
        python = "PPCA(method='em').fit(X).impute(X) on its rows X"
        fill = _fill_line(path, x.shape[1], given, csv) if cli else python
        return (
            f"pass {spell('allow_missing', True)} ({em}): PPCA's EM and the VAE's MIWAE bound "
            f"fit around missing values; or fill them in first ({fill})"
        )

    incomplete = np.isnan(x).any(1)
    rows, cell = ("images", "pixel") if images else ("rows", "cell")
    if len(x) > 1 and incomplete.all():
        raise spelled(
            DataError,
            lambda spell: (
                f"{path}: every one of its {len(x)} {rows} has a missing {cell}, so no complete "
                f"{rows[:-1]} is left; {fix(spell)}"
            ),
        )
    mask = np.isnan(x)
    if mask.any():
        row, column = np.argwhere(mask)[0]
        what = "missing (NaN or empty)" if csv else "missing (NaN)"
        said = holds(path, int(mask.sum()), what, where(int(row), int(column)))
        raise spelled(DataError, lambda spell: f"{said}; {fix(spell)}")


def _fill_line(path: Path, dim: int, given: str, csv: bool) -> str:
    """The commands that fill the missing cells of file ``path`` (``dim`` values a row, read
    with the column options ``given``), as they run when pasted: a PPCA fitted around them by
    EM, then ``impute`` (a CVAE, which --allow-missing cannot train, trains on the filled
    file). impute fills a table or an .npy: an archive's data array is saved as an .npy first."""
    from torchlvm.data.table_schema import table_latent_dim  # (fit's default for a table)

    data, out, first = path, "filled.csv", ""
    if not csv:  # fit ppca takes no default --latent-dim for an array file: a table's, then
        given = f" --latent-dim {max(1, min(table_latent_dim(dim), dim - 1))}"
        out = "filled.npy"
        if file_suffix(path) == ".npz":
            data, line = npz_as_npy(path)
            first = f"{line}, then "
    return (
        f"{first}torchlvm fit ppca --data {quoted(data)}{given} --allow-missing --method em "
        f"--out RUN, then torchlvm impute RUN --data {quoted(data)} --out {out}"
    )


def _not_numbers(array: np.ndarray, path: Path) -> DataError:
    """The refusal of an array of other values than numbers; for a structured array (pandas'
    ``to_records``, a NumPy record array), whose fields are named columns, the line that saves
    it as the CSV table it is (it printed its whole dtype and no way out: review13 #19)."""
    names = array.dtype.names
    if names is None:
        return DataError(f"{path} holds {array.dtype} values; torchlvm needs a numeric array")
    new = unused_name(path.with_name(f"{path.stem}.csv"))
    return DataError(
        f"{path} holds a structured array, a table of {len(names)} named columns "
        f"({listed(names, 4)}); "
        f"save it as one (pandas.DataFrame({array_expression(path)}).to_csv({new!r}, "
        "index=False, mode='x')) and pass that file, with --label-column or --drop-columns "
        "for columns that are not features"
    )


def _check_options(path: Path, reader: Callable[..., Read], options: dict[str, Any]) -> None:
    """Refuse options that only a CSV file takes for other files."""
    for name, value in options.items():
        if value not in (None, ()) and reader is not _read_csv:
            fix = {
                "label_column": labels_fix(path)
                or f"store labels in an .npz under one of {', '.join(Y_KEYS)}",
                "drop_columns": "remove those columns from the array",
            }.get(name, "leave it out (an array file holds numbers, not text)")
            raise spelled(
                OptionError,
                lambda spell, name=name, fix=fix: (
                    f"{spell(name)} applies to .csv files, not {path.name}; {fix}"
                ),
            )


def _check_path(path: Path) -> None:
    if not path.exists():
        if (home := unexpanded_home(path, reading=True, error=DataNotFoundError)) is not None:
            raise home
        raise DataNotFoundError(f"{path} does not exist; check the path")
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass the path of a {file_suffix(path)} file")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); pass a file that holds data")


def load_file(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    mmap: bool = False,
    **options: Any,
) -> Dataset:
    """Load a user's ``.npy``, ``.npz`` or ``.csv`` file as a dataset: :func:`read_rows`, then
    its seeded split.

    Args:
        path: The file; its extension picks the format.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: Seed of the split (and of the train split ``standardize=True`` is fitted on).
        mmap: For ``.npy``: stream rows from the file on disk; returns a
            :class:`~torchlvm.data.memmap.MemmapDataset` (refuses NaN, column options and
            standardization).
        **options: :func:`read_rows`'s: ``allow_missing``, ``label_column``, ``drop_columns``,
            ``columns``, ``standardize``, ``allow_empty``, ``encoding``, ``na_values``,
            ``dtype``.

    Returns:
        ``x`` of shape ``(N, D)`` float32, or ``dtype`` (standardized if asked;
        ``standardizer`` says how),
        ``y`` ``(N,)`` int64 when the file has labels; ``name`` is ``str(path)``; ``columns``
        the feature names.

    Raises:
        DataNotFoundError, DataError, ConfigError: as :func:`read_rows`; ConfigError for
            ``mmap`` on a file or with options it cannot stream.
    """
    path = Path(path)
    if mmap:
        return _load_memmap(path, split, seed, options)
    data = read_rows(path, seed=seed, **options).data
    return select_split(data, split, fractions=FRACTIONS, seed=seed)


def _load_memmap(path: Path, split: str, seed: int, options: dict[str, Any]) -> Dataset:
    """``load_file(..., mmap=True)``: an ``.npy`` file streamed from disk, as stored."""
    from torchlvm.data.memmap import load_memmap

    reader = _reader(path)
    _check_options(
        path,
        reader,
        {k: options.get(k) for k in ("label_column", "drop_columns", "encoding", "na_values")},
    )
    allow_missing = bool(options.get("allow_missing"))
    wide = options.get("dtype", "float32") != "float32"
    standardize = options.get("standardize", False) is not False
    if reader is not _read_npy or allow_missing or wide or standardize:

        def why(spell: Spell) -> str:
            if reader is not _read_npy:
                return "it is not an .npy file"
            if wide:  # (a Python option: no command streams a file in float64)
                return f"dtype={options['dtype']!r}"
            return spell("allow_missing") if allow_missing else spell("standardize")

        raise spelled(OptionError, lambda spell: (
            f"{spell('mmap', True)} streams .npy files of finite values as stored; {path.name} "
            f"needs a full load ({why(spell)}); drop {spell('mmap', True)}"
        ))  # fmt: skip
    return load_memmap(path, split, seed=seed)  # type: ignore[return-value]


PRECISIONS = {"float32": torch.float32, "float64": torch.float64}
"""The precisions a file's values are read in (:func:`read_rows`'s ``dtype``)."""


class FileRows(NamedTuple):
    """Every row of a file, in file order (split ``"all"``), and for a CSV the file line of each
    (what a spreadsheet shows: it differs from the row number after a header or a blank
    line), else None."""

    data: Dataset
    lines: np.ndarray | None


def read_rows(
    path: str | os.PathLike[str],
    *,
    seed: int = 0,
    allow_missing: bool = False,
    label_column: int | str | None = None,
    drop_columns: Sequence[int | str] = (),
    columns: Sequence[str] | None = None,
    standardize: bool | Standardizer = False,
    allow_empty: bool | Literal["columns"] = False,
    if_present: bool = False,
    encoding: str | None = None,
    dtype: Literal["float32", "float64"] = "float32",
    na_values: Sequence[str] = (),
) -> FileRows:
    """Every row of a file, read once, in file order, with a CSV's file lines.

    Args:
        path: The file; its extension picks the format.
        seed: Seed of the train split a ``standardize=True`` is fitted on.
        allow_missing: Keep NaN values (missing data) instead of refusing them.
        label_column: For ``.csv``: the column holding class labels, as a 0-based index or a
            header name; it is removed from ``x``. Text labels are numbered in sorted order.
        drop_columns: For ``.csv``: columns to leave out (names or 0-based indices), e.g. an ID.
        columns: The feature columns a run was trained on (its recorded names, or
            ``"column 1"``... for a file without header): the file must hold exactly these; a
            file with the same names in another order is reordered.
        standardize: ``True``: fit a :class:`Standardizer` on the train split (same ``seed``)
            and return standardized values; a :class:`Standardizer` (a run's): apply it.
        allow_empty: With ``allow_missing``: keep rows and (``.csv``) feature columns with no
            value at all (a table for a trained model to fill); ``"columns"``: keep such
            columns only (a table to score); refused by default, a row named by its file line
            (a CSV) or index (an array).
        if_present: A label or dropped column the file lacks is skipped, not refused (an
            index where the file holds one of ``columns`` is taken as lacking).
        encoding: For ``.csv``: its text encoding, as Python names it (``"cp1251"``,
            ``"mac-roman"``), read strictly and recorded in ``dialect``; None: UTF-8, UTF-16 by
            its byte-order mark, else Windows-1252 (:mod:`torchlvm.data.csv_dialect`).
        na_values: For ``.csv``: cell texts that mark a missing value beyond the common
            markers (:data:`~torchlvm.data.csv_cells.MISSING_MARKERS`): ``["-", "ERR",
            "-999"]``, compared as written, case and spaces aside (a number however written:
            ``-999.0`` for ``-999``); such a cell is NaN (so
            ``allow_missing`` is needed).
        dtype: The precision of ``x``: a model that computes in float64 (PPCA) reads a table
            in float64, every digit of a cell that float64 holds kept (in float32 a cell
            keeps about 7, and PPCA's log p(x) moved by up to 2.7e-5 nats a row; userG #3).

    Raises:
        DataNotFoundError: If the file does not exist.
        DataError: If it is empty, unreadable, non-numeric, holds infinities, or NaN without
            ``allow_missing``, or its columns differ from ``columns``.
        ConfigError: If the extension is not supported or a column option does not fit.
    """
    with dropping(drop_columns):  # (each fix that drops a column names these too)
        path = Path(path)
        reader = _reader(path)
        _check_options(
            path,
            reader,
            {"label_column": label_column, "drop_columns": drop_columns, "encoding": encoding,
             "na_values": tuple(na_values)},
        )  # fmt: skip
        check_choice("dtype", dtype, tuple(PRECISIONS))
        _check_path(path)
        if reader is _read_csv:
            empty = (allow_empty or "rows") if allow_missing else False  # rows of none left out
            read = _read_csv(
                path, label_column, drop_columns, empty, if_present, columns or (), encoding,
                na_values,
            )  # fmt: skip
        else:
            read = reader(path, label_column)
        x, shape = _features(read.x, path, _in_table(read.lines, read.columns))
        names, forms = read.columns, read.forms
        if columns is not None:
            x, names = match_columns(x, names, tuple(columns), path)
            shape = (x.shape[1],)
            if read.columns is not None and forms:  # in the run's order
                by_name = dict(zip(read.columns, forms, strict=True))
                forms = tuple(by_name[n] for n in names)
        images = len(shape) == 3  # (C, H, W)
        where = in_rows(shape) if images else _in_table(read.lines, names)
        options = {"drop_columns": list(drop_columns), "label_column": label_column,
                   "na_values": list(na_values), "encoding": encoding}  # fmt: skip
        csv = read.lines is not None
        _check_finite(x, path, allow_missing, where, images=images, csv=csv, read_with=options)
        if allow_empty is not True and read.lines is None:  # a CSV's reader checked its rows
            _check_rows_observed(x, path, images)
        if not if_present:  # a file to train on (a later file's labels are the run's classes)
            read = _check_not_measured(read, path, label_column, drop_columns)
        y = None if read.labels is None else _labels(read.labels, len(x), path, read.lines)
        num_classes = None if y is None else int(y.max()) + 1
        if read.class_names is not None:
            num_classes = len(read.class_names)
        data = Dataset(
            x=torch.from_numpy(x),
            y=None if y is None else torch.from_numpy(y),
            name=str(path),
            split="all",
            shape=shape,
            num_classes=num_classes,
            class_names=read.class_names,
            binarize="none",
            columns=names,
            dialect=read.dialect,
            forms=forms,
        )
        if standardize is not False:
            data = standardized(data, standardize, seed=seed)
        if names is None and read.lines is not None:  # a CSV without a header is a table too
            names = default_names(data.dim)
        x = data.x.to(PRECISIONS[dtype])  # (N, D), in ``dtype`` once standardized
        data = replace(data, x=x, columns=names)
        return FileRows(data, read.lines)


def _reader(path: Path) -> Callable[..., Read]:
    """The reader of ``path``'s format, by its extension."""
    reader = _READERS.get(file_suffix(path))
    if reader is None:
        raise unsupported(path)
    return reader


def _check_rows_observed(x: np.ndarray, path: Path, images: bool) -> None:
    """Refuse an array's row (an image, for ``images``) with no value at all (a model learns,
    fills and scores nothing from it: its log p(x_o) is 0), as a CSV's reader refuses one, by
    its line."""
    empty = np.isnan(x).all(1)
    if empty.any():
        what, noun = ("image", "image") if images else ("example", "row")
        raise DataError(
            f"{path}: {what} {int(np.argmax(empty))} (counting from 0) has no value at all "
            f"({delete_such(int(empty.sum()), noun)})"
        )


def standardized(data: Dataset, how: bool | Standardizer, *, seed: int) -> Dataset:
    """``data`` (every row) standardized by ``how``: a given :class:`Standardizer`, or one
    fitted on the rows of its seeded train split when ``how`` is True."""
    if how is True:
        for part in ("val", "test"):  # too few rows to split: say so, not "constant column"
            select_split(data, part, fractions=FRACTIONS, seed=seed)
        train = select_split(data, "train", fractions=FRACTIONS, seed=seed)
        how = Standardizer.fit(train.x, data.columns)
    elif not isinstance(how, Standardizer):
        raise ConfigError(f"standardize must be True, False or a Standardizer, got {how!r}")
    return replace(data, x=how.transform(data.x), standardizer=how)
