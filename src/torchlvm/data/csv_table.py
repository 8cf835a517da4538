"""A CSV file as a table of numbers: header, missing-cell markers, label and dropped columns.

- The first non-blank row is a header when none of its cells is a number; its names are kept and
  recorded, so a later file is matched to a run by column name.
- A missing cell is an empty cell or one of
  :data:`~torchlvm.data.csv_cells.MISSING_MARKERS` (pandas' default markers,
  compared case-insensitively); it becomes NaN.
- ``label_column`` (name or 0-based index) takes the class labels out of the features: integers
  0, 1, 2, ... or text classes (numbered in sorted order, their names kept).
- ``drop_columns`` (names or indices) removes columns, e.g. an ID.

Checks, each one line naming the line and the column: text in a numeric column; a column of text
(an ID or a class: drop it or make it the labels); a column that counts rows (1, 2, 3, ...: an ID);
a column with no value at all (:mod:`torchlvm.data.csv_column`); a row with no value at all; bytes
neither UTF-8 nor Windows-1252 can read (:mod:`torchlvm.data.csv_text`); another separator than
the name says (tabs or bars in a ``.csv``) or a comment line (:mod:`torchlvm.data.csv_layout`);
two feature columns of one name (:mod:`torchlvm.data.csv_select`).

A ``.csv`` may have semicolons between its cells, and then commas as its decimal points, and its
text may be UTF-8, UTF-16 or Windows-1252 (:mod:`torchlvm.data.csv_dialect`); a ``.tsv`` file
is read the same way with tabs between cells (with decimal commas where its numbers have them);
a name ending in ``.gz`` (``.csv.gz``, ``.tsv.gz``) is decompressed as it is read
(:data:`TABLE_SUFFIXES`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from torchlvm.data.columns import name_key
from torchlvm.data.csv_cells import code_name, is_number, marking_missing, na_tokens
from torchlvm.data.csv_chunks import chunked
from torchlvm.data.csv_column import check_column, column_name, parse_column, refused_columns
from torchlvm.data.csv_copies import warn_of_copies, warn_of_repeated_rows
from torchlvm.data.csv_dialect import (
    MARK,
    Dialect,
    blank,
    sniff,
    text_encoding,
    text_lines,
)
from torchlvm.data.csv_form import NumberForm, forms_of
from torchlvm.data.csv_layout import (
    SEPARATOR_HINT,
    check_header_once,
    check_names_that_are_numbers,
    check_width,
    header_of,
    tabs,
    trailing_separators,
)
from torchlvm.data.csv_once import shared
from torchlvm.data.csv_select import ENCODED, Selector, check_unique_names, kept
from torchlvm.data.csv_stray import check_totals, stray_line
from torchlvm.data.csv_text import read_text, warn_if_garbled
from torchlvm.data.file_warning import warn_of_file
from torchlvm.errors import DataError, OptionError

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
"""The extensions of a table file: commas (``.csv``) or tabs (``.tsv``) between cells, either
compressed with gzip (``.gz``)."""


@dataclass(frozen=True)
class CSVTable:
    """The numbers of a CSV file.

    Attributes:
        values: ``(N, D)`` float64 features; NaN marks a missing cell.
        columns: the D feature names from the header, or None without a header.
        labels: ``(N,)`` float64 numeric labels, ``(N,)`` int64 class indices for text labels, or
            None. class_names: the text classes in index order, or None.
        lines: ``(N,)`` the file line of each row (1-based).
        header: the header row as read (every column), or None.
        cells: the text of every cell of every data row (every column), as read, where the
            reader kept them (``keep_cells``), else None; shared between reads: read only.
        features: the file column index of each of the D feature columns.
        dialect: its delimiter and decimal point (:mod:`torchlvm.data.csv_dialect`).
        text: the file's whole text as decoded (:func:`~torchlvm.data.csv_text.read_text`),
            where the reader kept the cells, else None: what a file written back with some
            cells replaced is made from (:mod:`torchlvm.data.csv_rewrite`), read with the
            cells, not read again.
        forms: how each of the D feature columns writes its numbers
            (:mod:`torchlvm.data.csv_form`), which rows written for a run follow.
        carried: the cells of each column that is not a feature (the label, the dropped
            columns, a later file's own columns), by file column index, every data row's as
            read, where the reader kept cells (``keep_cells``), else None: what a command
            writes beside its results (an ID), without the text of every other cell.
    """

    values: np.ndarray
    columns: tuple[str, ...] | None
    labels: np.ndarray | None
    class_names: tuple[str, ...] | None
    lines: np.ndarray
    header: list[str] | None = None
    cells: list[list[str]] | None = None
    features: tuple[int, ...] = ()
    dialect: Dialect = Dialect()
    text: str | None = None
    forms: tuple[NumberForm, ...] = ()
    carried: dict[int, list[str]] | None = None


class _Rows(NamedTuple):
    """A file's text (as decoded), header (or None), the line number and the cells of each row
    that is not a blank line, and its :class:`~torchlvm.data.csv_dialect.Dialect`; read lazily
    (:func:`_rows`' ``lazy``): no rows, but ``body``, the rows to come, and ``read``, the text
    they are read from."""

    text: str
    header: list[str] | None
    lines: list[int]
    rows: list[list[str]]
    dialect: Dialect
    body: Iterator[tuple[int, list[str]]] | None = None
    read: str = ""


def _rows(path: Path, encoding: str | None = None, lazy: bool = False) -> _Rows:
    """:class:`_Rows` of the file at ``path``, its dialect's encoding the stated ``encoding``
    where one is (commas, semicolons or tabs); ``lazy``: its rows left to come where it has a
    header (a name ending each line: :mod:`torchlvm.data.csv_chunks` reads them), for
    :func:`_all_rows` to read where they are not plain rows of numbers."""
    stated = encoding
    whole, encoding = read_text(path, encoding)
    if stated is None and encoding == "cp1252":
        warn_if_garbled(path, whole)
    text = whole.removeprefix(MARK)  # (a UTF-16 text's byte-order mark)
    text = SEPARATOR_HINT.sub("", text, count=1)  # line 1 left blank: lines keep their numbers
    dialect = replace(sniff(text, tabs=tabs(path)), encoding=encoding)
    return _parsed(path, whole, text, dialect, lazy)


def _all_rows(path: Path, lazy: _Rows) -> _Rows:
    """The rows of a file read lazily, all read from its text (not read again)."""
    return _parsed(path, lazy.text, lazy.read, lazy.dialect, False)


def _parsed(path: Path, whole: str, text: str, dialect: Dialect, lazy: bool) -> _Rows:
    """:func:`_rows`' rows of ``text`` (``whole`` as decoded, its byte-order mark and ``sep=``
    line taken out)."""
    reader = csv.reader(text_lines(text), delimiter=dialect.delimiter)
    body = ((reader.line_num, row) for row in reader if not blank(row))
    try:
        first = next(body, None)
        header = None if first is None else header_of(path, *first, dialect)
        if lazy and header is not None and header[-1]:
            return _Rows(whole, header, [], [], dialect, body, text)
        numbered = ([] if first is None or header is not None else [first]) + list(body)
    except csv.Error as error:
        raise DataError(f"cannot read {path} as CSV ({error}); save it as plain CSV") from None
    if first is not None and header is None:
        check_names_that_are_numbers(path, numbered, dialect)
    lines, rows = [line for line, _ in numbered], [row for _, row in numbered]
    return _Rows(whole, header, lines, rows, dialect)


def _labels(path: Path, header, lines, cells: list[str], j: int, named: bool = True):
    """Numeric labels ``(N,)`` float64, or text classes as int64 indices with their names;
    whole-number codes other than 0..C-1 as classes named by their values where ``named`` (a
    file to train on; a later file's codes stay numbers, which
    :meth:`~torchlvm.data.dataset.Dataset.with_classes` reads as the run's classes)."""
    empty = [i for i, c in enumerate(cells) if not c.strip()]
    if empty:
        raise DataError(
            f"{path} line {lines[empty[0]]}: the label ({column_name(header, j)}) is empty; give "
            "every row a label"
        )
    stripped = [c.strip() for c in cells]
    if all(is_number(c) for c in stripped):
        numbers = np.array(stripped, dtype=np.float64)
        if named:
            _warn_of_one_number(path, header, j, set(stripped))
        codes = np.unique(numbers)
        whole = bool(np.all(np.isfinite(codes) & (codes == np.round(codes))))
        if not named or not whole or np.array_equal(codes, np.arange(len(codes))):
            return numbers, None  # 0..C-1 codes are the classes; fractions are refused later
        # whole-number codes other than 0..C-1 (wine's 1, 2, 3; grades 1..5) are classes named
        # by their values, in numeric order: "1" is class 0 (as CVAEEstimator reads them)
        return np.searchsorted(codes, numbers), tuple(code_name(c) for c in codes)
    names = tuple(sorted(set(stripped)))
    if named:
        _check_distinct(path, header, lines, stripped, names, j)
    lookup = {name: k for k, name in enumerate(names)}
    return np.array([lookup[c] for c in stripped], dtype=np.int64), names


def _warn_of_one_number(path: Path, header, j: int, texts: set[str]) -> None:
    """Warn where labels written otherwise (``texts``, each once) read as one number, so as
    one class: codes ``01`` and ``1`` (a department, a ZIP code) were merged without a word
    (userK #6)."""
    by_value: dict[float, list[str]] = {}
    for text in sorted(texts):
        by_value.setdefault(float(text), []).append(text)
    merged = [written for written in by_value.values() if len(written) > 1]
    if not merged:
        return
    said = "; ".join(
        f"{', '.join(map(repr, written))} as {float(written[0]):g}" for written in merged[:3]
    )
    more = f" and {len(merged) - 3} more" if len(merged) > 3 else ""
    warn_of_file(
        path,
        f"{path}: {column_name(header, j)} writes one number in several ways, which are read "
        f"as one class ({said}{more}); if they are different classes, write them as text "
        "(such as 'c01')",
        stacklevel=3,
    )


def _check_distinct(path: Path, header, lines, labels: list[str], names, j: int) -> None:
    """Refuse two of the classes ``names`` of a file to train on (its ``labels``, a row's
    each) that differ only in how their letters are encoded
    (:func:`~torchlvm.data.columns.name_key`): they print alike, so no one could tell which a
    result names, and a later file's label is matched to a class by its letters."""
    first: dict[str, str] = {}
    for name in names:
        other = first.setdefault(name_key(name), name)
        if other != name:
            (one, a), (two, b) = sorted((lines[labels.index(n)], n) for n in (other, name))
            raise DataError(
                f"{path}: the labels {ascii(a)} (line {one}) and {ascii(b)} (line {two}) "
                f"of {column_name(header, j)} are {ENCODED}; write them one way, so that they "
                "are one class"
            )


RARE_CLASS = 5
"""Fewer rows than this in a class of a training file's labels are warned of: a model learns
little of it, and one or two rows of a class among hundreds are often a typo of another."""


def _warn_of_rare_classes(path: Path, header, j: int, labels: np.ndarray, names) -> None:
    """Warn of the classes of column ``j``'s ``labels`` with fewer than :data:`RARE_CLASS` rows
    (the first three, rarest first), where the labels are classes (text, or whole numbers of
    which most classes are not rare: a column of measurements is no class)."""
    values, counts = np.unique(labels, return_counts=True)
    rare = np.argsort(counts, kind="stable")[: int((counts < RARE_CLASS).sum())]
    whole = bool(np.all(values == np.round(values)))
    numeric = names is None or all(is_number(n) for n in names)  # (codes named by value)
    if not len(rare) or (numeric and (not whole or 2 * len(rare) > len(values))):
        return
    said = [
        f"{names[int(values[k])] if names else f'{values[k]:g}'!r} {counts[k]} "
        + ("row" if counts[k] == 1 else "rows")
        for k in rare[:3]
    ]
    more = f" and {len(rare) - 3} more" if len(rare) > 3 else ""
    warn_of_file(
        path,
        f"{path}: {column_name(header, j)} has classes of fewer than {RARE_CLASS} rows "
        f"({', '.join(said)}{more}), of which a model learns little; if one is a typo of "
        "another class, correct it",
        stacklevel=2,
    )


def delete_such(count: int, noun: str) -> str:
    """The fix for ``count`` rows (or images: ``noun``) with no value: "1 such row; delete it",
    "2 such rows; delete them"."""
    return f"1 such {noun}; delete it" if count == 1 else f"{count} such {noun}s; delete them"


def _labelled(path: Path, header, j: int, read: tuple) -> tuple:
    """The ``read`` rows (their lines, values and label cells) that have a label in column
    ``j``: a row of none is left out, with one warning naming them (it was refused, one line a
    try; a model learns p(x | class) of labelled rows, and every later read of the file leaves
    out the same rows, so a run's splits are the same)."""
    lines, values, cells = read
    empty = [i for i, c in enumerate(cells) if not c.strip()]
    if not empty or len(empty) == len(cells):  # (a column of no label: refused, named)
        return read
    shown = ", ".join(str(lines[i]) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
    one = len(empty) == 1
    rows, it = ("1 row has", "it") if one else (f"{len(empty)} rows have", "them")
    warn_of_file(
        path,
        f"{path}: {rows} no label in {column_name(header, j)} (line{'' if one else 's'} "
        f"{shown}), so {'it is' if one else 'they are'} left out; give {it} a label to use {it}",
        stacklevel=3,
    )
    kept = np.ones(len(cells), bool)
    kept[empty] = False
    chosen = np.flatnonzero(kept)
    return [lines[i] for i in chosen], values[kept], [cells[i] for i in chosen]


def _check_rows(path: Path, lines: list[int], values: np.ndarray) -> None:
    """Refuse rows with no value in any feature column, naming the first and, where there are
    more, the lines of the first five (userC: named one line a try)."""
    empty = np.flatnonzero(np.isnan(values).all(1))
    if len(empty):
        shown = ", ".join(str(lines[i]) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        such = delete_such(len(empty), "row")
        if len(empty) > 1:
            such = such.replace(" rows;", f" rows, lines {shown};")
        raise DataError(
            f"{path} line {lines[empty[0]]} has no value in any feature column ({such})"
        )


def _observed(path: Path, lines: list[int], values: np.ndarray, label_cells) -> tuple:
    """The rows (their ``lines``, ``(N, D)`` ``values`` and label cells, or None) that hold a
    value in some feature column: a row of none is left out with one warning naming the first
    five lines (a model learns nothing from it; it was refused under --allow-missing)."""
    empty = np.isnan(values).all(1)
    if not empty.any():
        return lines, values, label_cells
    where = np.flatnonzero(empty)
    shown = ", ".join(str(lines[i]) for i in where[:5]) + (", ..." if len(where) > 5 else "")
    one = len(where) == 1
    rows = "1 row has" if one else f"{len(where)} rows have"
    warn_of_file(
        path,
        f"{path}: {rows} no value in any feature column (line{'' if one else 's'} {shown}), "
        f"so {'it is' if one else 'they are'} left out",
        stacklevel=4,
    )
    kept = np.flatnonzero(~empty)
    cells = None if label_cells is None else [label_cells[i] for i in kept]
    return [lines[i] for i in kept], values[kept], cells


def read_csv(
    path: str | Path,
    *,
    label_column: Selector | None = None,
    drop_columns: Sequence[Selector] = (),
    allow_empty: bool | Literal["columns", "rows"] = False,
    if_present: bool = False,
    features: Sequence[str] = (),
    keep_cells: bool | Literal["others"] = False,
    encoding: str | None = None,
    na_values: Sequence[str] = (),
) -> CSVTable:
    """Read a CSV file of numbers (see the module docstring), once per command
    (:func:`~torchlvm.data.csv_once.parsed_once`).

    Args:
        allow_empty: keep rows and feature columns with no value at all (all NaN), as a table
            for a trained model to fill may hold; ``"columns"``: keep such columns only (a
            table to score, whose rows each need an observed cell); ``"rows"``: leave out
            rows of no value with one warning naming their lines, and refuse such columns (a
            table with missing values to train on, read alike each time: its splits stay the
            same); refused by default (no model learns anything from them).
        if_present: a ``label_column`` or ``drop_columns`` entry the file lacks is skipped,
            not refused (a file to score or fill may come without its labels or its ID): a
            name not in its header, or an index where it holds one of ``features``, the run's
            feature columns (:func:`~torchlvm.data.csv_select.kept`); a column of the file's
            header that is none of ``features`` is not read (a later file's own index, notes or
            extra measures: the run reads its own columns, and nothing of the others need be
            dropped).
        encoding: the file's text encoding (a name Python knows, such as ``"cp1251"`` or
            ``"mac-roman"``), read strictly; None: told from its bytes
            (:mod:`torchlvm.data.csv_dialect`).
        na_values: cell texts that mark a missing value in this file beyond
            :data:`~torchlvm.data.csv_cells.MISSING_MARKERS` (``"-"``, ``"ERR"``, ``"-999"``),
            compared as written, case and spaces aside; a number token marks that number
            however written (``-999.0`` for ``-999``).
        keep_cells: keep the text of every cell (:attr:`CSVTable.cells`, to copy into a file
            written back); ``"others"``: of the columns that are not features only
            (:attr:`CSVTable.carried`: an ID to write beside results, 951 against 704 MB on
            200,000 rows of 12 numbers and an ID where every cell was kept); either way every
            row is kept as written (a row of no label too). False: no cells, the least memory
            a table takes.

    Raises:
        DataError: for unreadable text, ragged rows, text in a numeric column, an ID column, an
            empty column or an empty row (unless ``allow_empty``).
        ConfigError: for a ``label_column`` or ``drop_columns`` entry that names no column.
    """
    path = Path(path)
    options = (label_column, tuple(drop_columns), allow_empty, if_present, tuple(features))
    options += (None if encoding is None else text_encoding(encoding), na_tokens(na_values))

    def parse() -> CSVTable:  # a cell of na_values marks a missing value too
        with marking_missing(options[-1]):
            return _parse(path, *options[:-1], keep_cells)

    return shared(path, options, keep_cells, parse)


def _parse(
    path: Path,
    label_column: Selector | None,
    drop_columns: Sequence[Selector],
    allow_empty: bool | Literal["columns", "rows"],
    if_present: bool,
    features: Sequence[str],
    encoding: str | None,
    keep_cells: bool | Literal["others"],
) -> CSVTable:
    """:func:`read_csv`'s parse: where the file holds plain rows of numbers and not every cell is
    kept, a chunk at a time (:mod:`torchlvm.data.csv_chunks`), else all its rows, checked."""
    options = (label_column, drop_columns, if_present, features)
    parsed = _rows(path, encoding, keep_cells is not True)
    if parsed.body is not None:
        done = _read_chunked(path, parsed, options, (allow_empty, keep_cells))
        if done is not None:
            return done
        parsed = _all_rows(path, parsed)
    text, header, lines, rows, dialect = parsed[:5]
    header, rows = trailing_separators(header, rows)
    if not rows:
        raise DataError(f"{path} holds no data rows; add at least one row of numbers")
    width = check_width(path, header, lines, rows, dialect)
    check_header_once(path, header, lines, rows)
    try:
        keep, label = kept(path, header, width, options)
    except OptionError:  # a name not in a title line above the real header: say that (userP #3)
        stray = stray_line(path, header, lines, rows, 0, dialect)
        if stray is not None:
            raise stray from None
        raise
    check_unique_names(path, header, keep, (lines, rows, dialect))
    columns = list(zip(*rows, strict=True))  # the cells as written stay in ``rows``
    values = np.empty((len(rows), len(keep)))
    refused: list[DataError] = []  # the columns that cannot be read, named together
    for k, j in enumerate(keep):
        try:
            values[:, k] = parse_column(path, header, lines, list(columns[j]), j, dialect, rows)
            check_column(path, header, values[:, k], j, allow_empty)
        except DataError as error:
            if not hasattr(error, "column"):  # (the file's, not the column's: a stray line)
                raise
            refused.append(error)
    if refused:
        raise refused_columns(path, header, refused)
    label_cells = None if label is None else list(columns[label])
    cells, text = (rows, text) if keep_cells is True else (None, None)
    carried = _others(columns, keep) if keep_cells else None
    read = (lines, values, label_cells, forms_of(rows, keep, dialect, values))
    how = (if_present, allow_empty, cells, text, carried)
    return _table(path, header, read, (keep, label, dialect), how)


def _others(columns: Sequence[Sequence[str]], keep: Sequence[int]) -> dict[int, list[str]]:
    """The cells of each of ``columns`` (every column's cells) that is not a feature (not in
    ``keep``), by its index: :attr:`CSVTable.carried`."""
    features = set(keep)
    return {j: list(cells) for j, cells in enumerate(columns) if j not in features}


def _read_chunked(path: Path, parsed: _Rows, options: tuple, how: tuple) -> CSVTable | None:
    """The table of a file read lazily, its rows a chunk at a time
    (:func:`~torchlvm.data.csv_chunks.chunked`), read ``how`` (``allow_empty``, and
    ``keep_cells``: False, or ``"others"``); None where they are not plain rows of numbers
    (or two kept columns share a name), for the reader of all rows to name what they are."""
    header, dialect = parsed.header, parsed.dialect
    allow_empty, keep_cells = how
    assert header is not None and parsed.body is not None  # (lazy rows have both)
    try:
        keep, label = kept(path, header, len(header), options)
    except OptionError:
        return None  # (the reader of all rows tells a title line above the header first)
    if len({name_key(header[j]) for j in keep}) < len(keep):
        return None
    carry = [j for j in range(len(header)) if j not in set(keep)] if keep_cells else []
    found = chunked(parsed.body, header, keep, label, dialect, carry)
    if found is None:
        return None
    _check_columns(path, header, found.values, keep, allow_empty)
    read = (
        found.lines,
        found.values,
        found.labels,
        forms_of(found.some, keep, dialect, found.values),
    )
    carried = dict(zip(carry, found.carried, strict=True)) if keep_cells else None
    how = (options[2], allow_empty, None, None, carried)  # (options[2]: if_present)
    return _table(path, header, read, (keep, label, dialect), how)


def _check_columns(path: Path, header, values: np.ndarray, keep: list[int], allow_empty) -> None:
    """:func:`~torchlvm.data.csv_column.check_column` of each column of ``values`` (file
    columns ``keep``), every column refused named in one line."""
    refused: list[DataError] = []
    for k, j in enumerate(keep):
        try:
            check_column(path, header, values[:, k], j, allow_empty)
        except DataError as error:
            refused.append(error)
    if refused:
        raise refused_columns(path, header, refused)


def _table(path: Path, header, read: tuple, columns: tuple, how: tuple) -> CSVTable:
    """The :class:`CSVTable` of the rows ``read`` (their lines, feature values, label cells
    and forms), of ``columns`` (the kept ones, the label's and the dialect), read ``how``
    (``if_present``, ``allow_empty``, the cells and text kept, the other columns' cells): the
    rows and labels checked; every row as written where cells are kept (a file written back,
    or rows carried beside results, keeps every row)."""
    lines, values, label_cells, forms = read
    keep, label, dialect = columns
    if_present, allow_empty, cells, text, carried = how
    written = carried is not None  # (every cell kept carries the other columns too)
    if allow_empty == "rows" and not written:
        lines, values, label_cells = _observed(path, lines, values, label_cells)
    elif allow_empty is not True:
        _check_rows(path, lines, values)
    if not if_present:  # a file to train on
        check_totals(path, lines, values)
        warn_of_copies(path, header, values, keep)
        warn_of_repeated_rows(path, values, None if label is None else label_cells)
    labels, class_names = (None, None)
    if label is not None:
        numbers = [dialect.number(c) for c in label_cells]  # '1,0' read as 1.0
        if not written:  # rows of no label left out
            lines, values, numbers = _labelled(path, header, label, (lines, values, numbers))
        if written and any(not c.strip() for c in numbers):
            pass  # a file written back carries its label cells as written: no labels to read
        else:
            labels, class_names = _labels(path, header, lines, numbers, label, not if_present)
        if not if_present and labels is not None:  # a file to train on
            _warn_of_rare_classes(path, header, label, labels, class_names)
    names = None if header is None else tuple(header[j] for j in keep)
    lines_ = np.array(lines)
    return CSVTable(
        values, names, labels, class_names, lines_, header, cells, tuple(keep), dialect, text,
        forms, carried,
    )  # fmt: skip
