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

This module reads a file into a dataset and splits it; the parts are their own modules: the
reader of each format (:mod:`torchlvm.data.file_readers`, an archive's key names in
:mod:`torchlvm.data.npz_keys`), the checks of its values (:mod:`torchlvm.data.file_values`) and
labels (:mod:`torchlvm.data.file_labels`), and the lines a refusal offers to save a file anew
(:mod:`torchlvm.data.save_lines`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from torchlvm._checks import check_choice
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.data.columns import default_names, dropping, match_columns, position_name
from torchlvm.data.dataset import Dataset
from torchlvm.data.file_labels import check_not_measured, class_labels
from torchlvm.data.file_readers import Read, read_npy, read_table, reader_of
from torchlvm.data.file_values import check_finite, check_rows_observed, features, in_rows, in_table
from torchlvm.data.npz_keys import Y_KEYS
from torchlvm.data.registry import file_suffix, is_file_name
from torchlvm.data.save_lines import labels_fix
from torchlvm.data.splits import PART_NAMES, empty_split, select_split, split_parts
from torchlvm.data.standardize import Standardizer, check_observed
from torchlvm.errors import (
    ConfigError,
    DataError,
    DataNotFoundError,
    OptionError,
    Spell,
    spelled,
)

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)


def _check_options(path: Path, reader: Callable[..., Read], options: dict[str, Any]) -> None:
    """Refuse options that only a CSV file takes for other files."""
    for name, value in options.items():
        if value not in (None, ()) and reader is not read_table:
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
        raise DataNotFoundError(f"{path} does not exist; {_near(path)}check the path")
    if not path.is_file():
        raise DataError(f"{path} is not a file; pass the path of a {file_suffix(path)} file")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); pass a file that holds data")


def _near(path: Path) -> str:
    """ "did you mean 'wine_holes.csv'? " for a data file of a close name in ``path``'s folder,
    else "" (a mistyped --data file was told only to check the path: userP #10), its case
    aside (``WineL.CSV`` for ``winel.csv``, which difflib reads as four letters wrong)."""
    folder = path.parent
    try:
        names = [n for n in os.listdir(folder) if is_file_name(n) and (folder / n).is_file()]
    except OSError:
        return ""
    lowered = {}  # (case aside: 'WineL.CSV' for 'winel.csv', review14 R35)
    for name in sorted(names):
        lowered.setdefault(name.casefold(), name)
    close = difflib.get_close_matches(path.name.casefold(), list(lowered), n=1, cutoff=0.75)
    return f"did you mean {quoted(str(folder / lowered[close[0]]))}? " if close else ""


def load_file(
    path: str | os.PathLike[str],
    split: str = "all",
    *,
    seed: int = 0,
    mmap: bool = False,
    stratify: bool = False,
    **options: Any,
) -> Dataset:
    """Load a user's ``.npy``, ``.npz`` or ``.csv`` file as a dataset: :func:`read_rows`, then
    its seeded split.

    Args:
        path: The file; its extension picks the format.
        split: ``"train"``, ``"val"``, ``"test"`` (seeded 80/10/10) or ``"all"``.
        seed: Seed of the split (and of the train split ``standardize=True`` is fitted on).
        stratify: Split by class (each class's share of every part within one row of its
            share of the file) where the file has labels; else at random. A run records it in
            its data options (a run given a table's label column); a run without it was split
            at random.
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
    data = read_rows(path, seed=seed, stratify=stratify, **options).data
    return select_split(data, split, fractions=FRACTIONS, seed=seed, stratify=stratify)


def _load_memmap(path: Path, split: str, seed: int, options: dict[str, Any]) -> Dataset:
    """``load_file(..., mmap=True)``: an ``.npy`` file streamed from disk, as stored."""
    from torchlvm.data.memmap import load_memmap

    reader = reader_of(path)
    _check_options(
        path,
        reader,
        {k: options.get(k) for k in ("label_column", "drop_columns", "encoding", "na_values")},
    )
    allow_missing = bool(options.get("allow_missing"))
    wide = options.get("dtype", "float32") != "float32"
    standardize = options.get("standardize", False) is not False
    if reader is not read_npy or allow_missing or wide or standardize:

        def why(spell: Spell) -> str:
            if reader is not read_npy:
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
    stratify: bool = False,
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
        stratify: That split is by class (:func:`load_file`'s).
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
        reader = reader_of(path)
        _check_options(
            path,
            reader,
            {"label_column": label_column, "drop_columns": drop_columns, "encoding": encoding,
             "na_values": tuple(na_values)},
        )  # fmt: skip
        check_choice("dtype", dtype, tuple(PRECISIONS))
        _check_path(path)
        if reader is read_table:
            empty = (allow_empty or "rows") if allow_missing else False  # rows of none left out
            read = read_table(
                path, label_column, drop_columns, empty, if_present, columns or (), encoding,
                na_values,
            )  # fmt: skip
        else:
            read = reader(path, label_column)
        x, shape = features(read.x, path, in_table(read.lines, read.columns, read.places))
        names, forms = read.columns, read.forms
        if columns is not None:
            x, names = match_columns(x, names, tuple(columns), path)
            shape = (x.shape[1],)
            if read.columns is not None and forms:  # in the run's order
                by_name = dict(zip(read.columns, forms, strict=True))
                forms = tuple(by_name[n] for n in names)
        images = len(shape) == 3  # (C, H, W)
        where = in_rows(shape) if images else in_table(read.lines, names, read.places)
        options = {"drop_columns": list(drop_columns), "label_column": label_column,
                   "na_values": list(na_values), "encoding": encoding}  # fmt: skip
        csv = read.lines is not None
        check_finite(x, path, allow_missing, where, images=images, csv=csv, read_with=options)
        if allow_empty is not True and read.lines is None:  # a CSV's reader checked its rows
            check_rows_observed(x, path, images)
        if not if_present:  # a file to train on (a later file's labels are the run's classes)
            read = check_not_measured(read, path, label_column, drop_columns)
        y = None if read.labels is None else class_labels(read.labels, len(x), path, read.lines)
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
        if names is None and read.lines is not None:  # a CSV without a header is a table too
            names = _placed(read.places, data.dim)
            data = replace(data, columns=names)
        places = read.places if read.columns is None else ()  # (a file without header)
        if standardize is not False:
            parts = None  # (a given standardization is applied as it is)
            if standardize is True:
                parts = split_parts(data, fractions=FRACTIONS, seed=seed, stratify=stratify)
            data = standardized(data, standardize, parts=parts, lines=read.lines, places=places)
        elif allow_missing and allow_empty is not True and not if_present and not images:
            train = split_parts(data, fractions=FRACTIONS, seed=seed, stratify=stratify)[0]
            names = data.columns if read.columns is not None else None  # (a file to train on)
            check_observed(data.x[train], names, source=str(path), places=places)
        x = data.x.to(PRECISIONS[dtype])  # (N, D), in ``dtype`` once standardized
        data = replace(data, x=x)
        return FileRows(data, read.lines)


def _placed(places: Sequence[int], dim: int) -> tuple[str, ...]:
    """The names of the features of a CSV without a header: their places in the file
    (``column 2`` .. ``column 14`` where the label was the first), as its run records them
    and its messages name them; ``column 1`` .. where the places are not known."""
    return tuple(map(position_name, places)) if len(places) == dim else default_names(dim)


def standardized(
    data: Dataset,
    how: bool | Standardizer,
    *,
    parts: tuple[np.ndarray, ...] | None,
    lines: np.ndarray | None = None,
    places: Sequence[int] = (),
) -> Dataset:
    """``data`` (every row) standardized by ``how``: a given :class:`Standardizer`, or one
    fitted on the rows of its train split when ``how`` is True (``parts``: the rows of each
    part of its split, :func:`~torchlvm.data.splits.split_parts`, the one computation of it
    that the part read is taken of too; None for a given :class:`Standardizer`; ``lines``: a
    CSV's file line of each row, which a warning of a far cell names; ``places``: a CSV
    without a header's file index of each column, by which a message names it).

    Raises:
        ValueError: for ``how`` True without the three ``parts``."""
    if how is True:
        if parts is None or len(parts) != len(PART_NAMES):
            raise ValueError("standardized(data, True) fits on the train part: pass parts=")
        for part in ("val", "test", "train"):  # too few rows to split: say so, not "constant"
            if not len(parts[PART_NAMES.index(part)]):
                raise empty_split(data.name, part, len(data), FRACTIONS)
        rows = parts[0]
        at = None if lines is None else lines[rows].tolist()
        x = data.x[torch.from_numpy(rows)]  # (train rows, D)
        how = Standardizer.fit(x, data.columns, source=data.name, lines=at, places=places)
    elif not isinstance(how, Standardizer):
        raise ConfigError(f"standardize must be True, False or a Standardizer, got {how!r}")
    return replace(data, x=how.transform(data.x), standardizer=how)
