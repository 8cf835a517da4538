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
a column with no value at all; a row with no value at all; bytes neither UTF-8 nor Windows-1252
can read; another separator than the name says (tabs or bars in a ``.csv``) or a comment line;
two feature columns of one name.

A ``.csv`` may have semicolons between its cells, and then commas as its decimal points, and its
text may be UTF-8, UTF-16 or Windows-1252 (:mod:`torchlvm.data.csv_dialect`); a ``.tsv`` file
is read the same way with tabs between cells (with decimal commas where its numbers have them);
a name ending in ``.gz`` (``.csv.gz``, ``.tsv.gz``) is decompressed as it is read
(:data:`TABLE_SUFFIXES`).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
import warnings
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from torchlvm.data.columns import default_names, lacking, near_miss
from torchlvm.data.csv_cells import (
    column_kind,
    fix_for,
    is_missing,
    is_number,
    one_group,
)
from torchlvm.data.csv_chunks import chunked
from torchlvm.data.csv_dialect import (
    MARK,
    SOME_ENCODINGS,
    Dialect,
    MarkedOtherwise,
    blank,
    decode,
    garbled,
    sniff,
    text_encoding,
    text_lines,
)
from torchlvm.data.csv_form import NumberForm, forms_of
from torchlvm.data.csv_once import shared
from torchlvm.data.csv_stray import stray_line
from torchlvm.errors import ConfigError, DataError, OptionError, Spell, spelled

Selector = int | str

TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
"""The extensions of a table file: commas (``.csv``) or tabs (``.tsv``) between cells, either
compressed with gzip (``.gz``)."""


def _tabs(path: Path) -> bool:
    """Whether ``path`` is a ``.tsv`` (or ``.tsv.gz``): tabs between its cells."""
    return path.name.lower().removesuffix(".gz").endswith(".tsv")


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
        text: the file's whole text as decoded (:func:`read_text`), where the reader kept the
            cells, else None: what a file written back with some cells replaced is made from
            (:mod:`torchlvm.data.csv_rewrite`), read with the cells, not read again.
        forms: how each of the D feature columns writes its numbers
            (:mod:`torchlvm.data.csv_form`), which rows written for a run follow.
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


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``path`` (gunzipped when its name ends in ``.gz``) and its encoding, told or
    the stated ``encoding`` (:func:`~torchlvm.data.csv_dialect.decode`), as :func:`read_csv`
    reads them."""
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:  # BadGzipFile is an OSError
            raise DataError(
                f"cannot read {path} as gzip ({error}); compress it with gzip, or pass the "
                "uncompressed file"
            ) from None
    if raw.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # a zip (.xlsx, .ods) or OLE (.xls)
        raise DataError(
            f"{path} is a spreadsheet's workbook, not a table as text; save the sheet as CSV (in "
            "Excel, File > Save As > 'CSV UTF-8') and pass that file"
        )
    try:
        text, told = decode(raw, encoding)
    except MarkedOtherwise as error:
        marked, stated = error.marked.removesuffix("-sig"), error.stated
    except UnicodeDecodeError as error:
        raise _not_text(path, raw, error, encoding) from None
    else:
        if encoding is None and text.count("\0") * 3 >= len(text) > 0:
            raise _unmarked_utf16(path, raw)
        return text, told
    raise spelled(
        DataError,
        lambda spell: (
            f"{path} starts with the byte-order mark of {marked}, so it is not {stated} text; "
            f"leave out {spell('encoding', None)}"
        ),
    )


def _unmarked_utf16(path: Path, raw: bytes) -> DataError:
    """The refusal of text told UTF-8 or Windows-1252 of which a third or more is NUL
    characters: UTF-16 without its byte-order mark (every other byte of Latin text 0), whose
    order its first bytes tell; the fix states the encoding."""
    order = "utf-16-be" if raw[:1] == b"\0" else "utf-16-le"
    return spelled(
        DataError,
        lambda spell: (
            f"{path} holds NUL bytes between its characters, as UTF-16 text without its "
            f"byte-order mark does; pass its encoding ({spell('encoding', order)}, as its first "
            "bytes say), or save the file as UTF-8 CSV"
        ),
    )


def _not_text(path: Path, raw: bytes, error: UnicodeDecodeError, encoding: str | None):
    """The refusal of bytes that are not text in the encoding the file was read in, naming the
    line and the byte, and the fixes: state its encoding, or save it as UTF-8."""
    line = raw[: error.start].count(b"\n") + 1
    if encoding is not None:
        what = f"is not {text_encoding(encoding)} text"
    elif raw.startswith(codecs.BOM_UTF8):
        what = "is not UTF-8 text, which its byte-order mark says it is"
    else:
        what = "is neither UTF-8 nor Windows-1252 text"

    def message(spell: Spell) -> str:
        state = (
            ""
            if raw.startswith(codecs.BOM_UTF8) and encoding is None
            else (
                f"pass the encoding it is in ({spell('encoding', 'NAME')}, such as "
                f"{SOME_ENCODINGS}), or "
            )
        )
        return (
            f"{path} line {line} {what} (byte 0x{raw[error.start]:02x}); {state}save the "
            "file as UTF-8 CSV"
        )

    return spelled(DataError, message)


_GARBLED_LOOKED_AT = 1 << 16  # characters of a Windows-1252 table looked at for garbled words


def _warn_if_garbled(path: Path, text: str) -> None:
    """Warn where a table read as Windows-1252 (it is not UTF-8, and no encoding was given)
    holds a word that looks like another code page's text misread: its names would be
    garbled (nothing is refused: the numbers read the same in every 8-bit code page)."""
    word = garbled(text)
    if word is not None:
        warnings.warn(
            f"{path} is not UTF-8, so it was read as Windows-1252, in which it holds "
            f"{word!r}; if that looks garbled, give the file's encoding (--encoding NAME, "
            f"encoding='NAME' in Python; such as {SOME_ENCODINGS})",
            stacklevel=2,
        )


# Excel's hint on a first line of its own ('sep=;'): the separator, which the lines below show
SEPARATOR_HINT = re.compile(r"\Asep=[,;\t]?[ \t]*(?=\r|\n)")


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
    header (a name ending each line and a number the file tells: :mod:`torchlvm.data.csv_chunks`
    reads them), for :func:`_all_rows` to read where they are not plain rows of numbers."""
    stated = encoding
    whole, encoding = read_text(path, encoding)
    if stated is None and encoding == "cp1252":
        _warn_if_garbled(path, whole[:_GARBLED_LOOKED_AT])
    text = whole.removeprefix(MARK)  # (a UTF-16 text's byte-order mark)
    text = SEPARATOR_HINT.sub("", text, count=1)  # line 1 left blank: lines keep their numbers
    dialect = replace(sniff(text, tabs=_tabs(path)), encoding=encoding)
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
        header = None if first is None else _header_of(path, *first, dialect)
        if lazy and header is not None and header[-1] and not dialect.undecided:
            return _Rows(whole, header, [], [], dialect, body, text)
        numbered = ([] if first is None or header is not None else [first]) + list(body)
    except csv.Error as error:
        raise DataError(f"cannot read {path} as CSV ({error}); save it as plain CSV") from None
    if first is not None and header is None:
        _check_names_that_are_numbers(path, numbered, dialect)
    lines, rows = [line for line, _ in numbered], [row for _, row in numbered]
    return _Rows(whole, header, lines, rows, dialect)


def _header_of(path: Path, line: int, row: list[str], dialect: Dialect) -> list[str] | None:
    """The first row's names, stripped, where none of them is a number (and not all are
    missing), else None: a row of data."""
    _check_separator(path, line, row)
    first = [cell.strip() for cell in row]
    if not any(is_number(dialect.number(c)) for c in first) and not all(
        is_missing(c) for c in first
    ):
        return first
    return None


def _check_names_that_are_numbers(path: Path, numbered: list, dialect: Dialect) -> None:
    """Refuse a first row of whole numbers over columns of decimals (``2019,2020`` over
    ``5.13,4.87``): names that are numbers (years), which would be read as a row of data,
    silently, or text beside them ('region') named as text in a numeric column."""
    line, first = numbered[0]
    rows = [row for _, row in numbered[1:] if len(row) == len(first)]
    whole = [j for j, c in enumerate(first) if c.strip().lstrip("+-").isdigit()]
    if len(rows) < 2 or not whole:
        return
    for j in whole:
        below = [dialect.number(row[j]).strip() for row in rows if not is_missing(row[j])]
        if not below or not all(is_number(c) and not c.lstrip("+-").isdigit() for c in below):
            return
    if any(is_number(dialect.number(c)) for j, c in enumerate(first) if j not in whole):
        return  # decimals on the first row too: a row of data
    shown = ", ".join(first[j].strip() for j in whole[:3]) + (", ..." if len(whole) > 3 else "")
    raise DataError(
        f"{path} line {line} holds whole numbers ({shown}) over columns of decimals, so it may "
        f"name the columns or be a row of data; if it names them, write names that are not "
        f"numbers (such as 'y{first[whole[0]].strip()}'); if it is a row, write its numbers with "
        f"a decimal point ({first[whole[0]].strip()}.0)"
    )


def _check_separator(path: Path, line: int, row: list[str]) -> None:
    """Refuse a first row that is one cell holding another separator, or a comment: read as
    commas, every row would be one column of text (or of another width), named misleadingly."""
    if len(row) != 1:
        return
    cell = row[0].strip()
    if cell.startswith("#"):
        raise DataError(
            f"{path} line {line} is a comment ({cell[:20]!r}); delete the line, so that the "
            "file starts with its header or its first row"
        )
    if _tabs(path):
        expected = "tabs"
        fixes = {";": "rename it to .csv", ",": "rename it to .csv", "|": "save it with tabs"}
    else:
        expected = "commas or semicolons"
        fixes = {"\t": "rename it to .tsv", "|": "save it as CSV with commas"}
    for separator, name in ((";", "semicolons"), (",", "commas"), ("\t", "tabs"), ("|", "bars")):
        if separator in cell and separator in fixes:
            raise DataError(
                f"{path} separates its cells with {name}, not {expected} (line {line} is one "
                f"cell, {cell[:30]!r}); {fixes[separator]}"
            )


def _trailing_separators(header: list[str] | None, rows: list[list[str]]):
    """``header`` and ``rows`` without the empty cells a separator at the end of each line
    adds (a spreadsheet's ``a,b,`` and ``1,2,``): a last column of no name and no value, and on
    a row one cell more than the header has, empty. A file without header keeps its cells (its
    last column may be a feature with every value missing)."""
    if header is None:
        return header, rows
    while len(header) > 1 and not header[-1] and all(not r[-1].strip() for r in rows):
        if any(len(r) != len(header) for r in rows):
            break  # ragged: named as such
        header, rows = header[:-1], [r[:-1] for r in rows]
    width = len(header)
    if any(len(r) == width + 1 for r in rows):
        rows = [r[:-1] if len(r) == width + 1 and not r[-1].strip() else r for r in rows]
    return header, rows


def _check_width(
    path: Path, header: list[str] | None, lines: list[int], rows: list[list[str]], dialect
) -> int:
    """The file's number of columns; a row of another width is refused, a comment line (one
    cell starting with ``#``, as R's ``read.table`` and numpy's ``loadtxt`` skip, pandas'
    ``read_csv`` only when told ``comment="#"``) named as one, a title or a note as one
    (:func:`~torchlvm.data.csv_stray.stray_line`)."""
    width = len(header) if header is not None else len(rows[0])
    for i, (line, row) in enumerate(zip(lines, rows, strict=True)):
        if len(row) == width:
            continue
        if len(row) == 1 and row[0].lstrip().startswith("#"):
            others = sum(len(r) == 1 and r[0].lstrip().startswith("#") for r in rows) - 1
            also = "" if not others else f" and the {others} other comment line"
            raise DataError(
                f"{path} line {line} is a comment ({row[0].strip()[:20]!r}), not a row of "
                f"{width} cells; delete it{also}{'s' if others > 1 else ''}"
            )
        stray = stray_line(path, header, lines, rows, i, dialect)
        if stray is not None:
            raise stray
        cells = "1 cell" if len(row) == 1 else f"{len(row)} cells"
        columns = "1 column" if width == 1 else f"{width} columns"
        raise DataError(
            f"{path} line {line} has {cells} but the file has {columns}; every row needs "
            "the same number of cells"
        )
    return width


def _check_header_once(path: Path, header, lines: list[int], rows: list[list[str]]) -> None:
    """Refuse a row that repeats the header (files joined with ``cat a.csv b.csv``, or the
    sheets of a workbook saved one after another), named as such, not as text in a numeric
    column."""
    if header is None:
        return
    first = header[0]
    again = [
        n
        for n, row in zip(lines, rows, strict=True)
        if row[0].strip() == first and [c.strip() for c in row] == header
    ]
    if again:
        more = f" ({len(again)} lines do)" if len(again) > 1 else ""
        raise DataError(
            f"{path} line {again[0]} repeats the header{more}, as files joined one after "
            f"another do; delete {'them' if more else 'it'}, keeping the first header"
        )


def _name(header: list[str] | None, j: int) -> str:
    """How a message names column ``j``."""
    if header is None:
        return f"column {j + 1}"
    return f"column {j + 1} ({header[j]!r})" if header[j] else f"column {j + 1} (no name)"


def _selector(header: list[str] | None, j: int) -> int | str:
    """How an option names column ``j``: its name where both interfaces take it as written (not
    empty, no comma and no edge spaces, which ``--drop-columns`` splits or strips, not digits,
    which it reads as an index), else its index."""
    name = header[j] if header else ""
    if not name or name != name.strip() or "," in name or name.lstrip("-").isdigit():
        return j
    return name


def _option(spell: Spell, keyword: str, header: list[str] | None, j: int) -> str:
    """Option ``keyword`` (``drop_columns`` or ``label_column``) set to column ``j`` as
    ``spell`` writes it; an index says that it counts from 0 ("column 14 ... drop_columns=[13]"
    read as a typo)."""
    selector = _selector(header, j)
    text = spell(keyword, [selector] if keyword == "drop_columns" else selector)
    return text if isinstance(selector, str) else f"{text}, its index counting from 0"


def _present(
    selector: Selector | None, header: list[str] | None, width: int, features: Sequence[str]
) -> bool:
    """Whether a later file has the column ``selector`` named in the training file: a name, in
    its header; an index, where the file has a column there that is not one of the run's
    ``features`` (its header's name there; a file without header, by position)."""
    if selector is None:
        return False
    if isinstance(selector, str):
        return header is not None and selector in header
    inside = -width <= selector < width
    return inside and (header is None or header[selector] not in features)


def _index(selector: Selector, header: list[str] | None, width: int, option: str) -> int:
    """The 0-based column index that a name or index ``selector`` of keyword ``option``
    (``label_column`` or ``drop_columns``) names; a refusal names the option as each interface
    spells it (the CLI: ``--label-column``)."""

    def refuse(message: Callable[[str], str]) -> OptionError:
        return spelled(OptionError, lambda spell: message(spell(option)))

    entry = " entry" if option == "drop_columns" else ""
    if isinstance(selector, str):
        if header is None or selector not in header:
            names = ", ".join(header) if header else "the file has no header row"
            near = near_miss(selector, header) if header else None
            meant = "" if near is None else f"did you mean {near!r}? "
            raise refuse(
                lambda name: (
                    f"{name}{entry} {selector!r} is not a column name ({names}); {meant}pass a "
                    "column name from the header or a 0-based column index"
                )
            )
        return header.index(selector)
    if isinstance(selector, bool) or not isinstance(selector, int):
        raise refuse(lambda name: f"{name}{entry} must be a column index or name, got {selector!r}")
    if not -width <= selector < width:
        raise refuse(
            lambda name: (
                f"{name}{entry} {selector} is out of range for {width} columns; pass an "
                f"index in {-width}..{width - 1}"
            )
        )
    return selector % width


def _parse_column(
    path: Path, header, lines, cells: list[str], j: int, dialect, rows: list[list[str]]
) -> np.ndarray:
    """``(N,)`` float64 values of column ``j`` (``cells``, of data ``rows``), read in
    ``dialect``'s marks; missing markers become NaN."""
    if dialect.undecided:  # 1,234: 1234 or 1.234, which the file does not tell
        doubt = next((i for i, c in enumerate(cells) if one_group(c, dialect.undecided)), None)
        if doubt is not None:
            raise DataError(
                f"{path} line {lines[doubt]}, {_name(header, j)}: cannot read "
                f"{cells[doubt].strip()!r} as a number; "
                f"{fix_for(cells[doubt], dialect.decimal, dialect.undecided)}"
            )
    if dialect.decimal == "." and not dialect.undecided:  # the cells as they are, at once
        try:
            return np.array(cells, dtype=np.float64)
        except ValueError:
            pass  # thousands separators, a missing marker or text: read them
    read = [dialect.number(c) for c in cells]
    try:
        return np.array(read, dtype=np.float64)
    except ValueError:
        pass  # a missing marker or text: look cell by cell
    text = [i for i, c in enumerate(read) if not is_missing(c) and not is_number(c)]
    given = [i for i, c in enumerate(read) if not is_missing(c)]
    fixes = [fix_for(cells[i], dialect.decimal, dialect.undecided) for i in text]
    if text and len(text) == len(given) and not any(fixes):
        raise _text_column(path, header, lines, cells, j, text)
    if text:
        i, fix = next(((i, f) for i, f in zip(text, fixes, strict=True) if f), (text[0], None))
        cell = cells[i].strip()
        held = _held(cells, text, fixes, i, fix, len(given))
        stray = None if fix else stray_line(path, header, lines, rows, i, dialect)
        if stray is not None:
            raise stray
        raise DataError(
            f"{path} line {lines[i]}, {_name(header, j)}: cannot read {cell!r} as a number"
            f"{held}; {fix or 'correct the cell'}, or leave it empty to mark it missing"
        )
    return np.array([np.nan if is_missing(c) else float(c) for c in read], dtype=np.float64)


_DIGITS = re.compile(r"[\d.,]+")


def _held(cells: list[str], text: list[int], fixes: list, i: int, fix, given: int) -> str:
    """How many of a column's cells share cell ``i``'s problem: those of the same text, or
    where it has a ``fix``, of the same form (``47.4%`` and ``12%`` alike: digits aside);
    ``given``: the column's cells that are not missing."""
    if fix is None:
        count = sum(cells[k].strip() == cells[i].strip() for k in text)
        return f" ({count} cells of the column hold it)" if count > 1 else ""
    form = _DIGITS.sub("#", fix)
    alike = [k for k, f in zip(text, fixes, strict=True) if f and _DIGITS.sub("#", f) == form]
    if len({cells[k].strip() for k in alike}) == 1:  # one text: '-' in 6 cells
        return f" ({len(alike)} cells of the column hold it)" if len(alike) > 1 else ""
    if len(alike) == given:
        return f" (all {given} numbers of the column are written so)"
    return f" ({len(alike)} cells of the column are written so)"


def _text_column(path: Path, header, lines, cells: list[str], j: int, text: list[int]):
    """The refusal of column ``j``, all text: the fix of dates or booleans, else drop it (a
    row name) or take it as the labels (a class)."""
    first = f"{cells[text[0]].strip()!r} on line {lines[text[0]]}"
    kind = column_kind(cells)

    def message(spell: Spell) -> str:
        drop, label = (_option(spell, k, header, j) for k in ("drop_columns", "label_column"))
        if kind == "dates":
            return (
                f"{path}: {_name(header, j)} holds dates, not numbers ({first}); drop it "
                f"({drop}), or write them as numbers (such as days since the first) to keep them"
            )
        if kind == "booleans":
            return (
                f"{path}: {_name(header, j)} holds booleans, not numbers ({first}); write them "
                f"as 1 and 0 to keep them as a feature, use them as labels ({label}), or drop "
                f"the column ({drop})"
            )
        return (
            f"{path}: {_name(header, j)} holds text, not numbers ({first}); if it names rows, "
            f"drop it ({drop}); if it is a class, use it as labels ({label})"
        )

    return spelled(DataError, message)


SHUFFLED_ROWS = 10
"""From this many rows on, a column holding each whole number of a range once, in another order,
numbers the rows (a shuffled frame's index); below it, a feature may by chance."""


_ID_NAME = re.compile(
    r"unnamed: ?\d+|index|idx|id|.*[ _.-]id|id[ _.-].*|key|n|no\.?|nr\.?|num|number|#|n°"
    r"|rows?|row[ _]?(id|no\.?|nr\.?|num|number)|record|obs",
    re.IGNORECASE,
)
_CAMEL_ID = re.compile(r".*[a-z0-9](ID|Id)")  # PatientID, sampleId (not acid, fluid)
"""Column names that say the column numbers the rows (an ID, an index, a row number)."""


def _numbers_rows(header, j: int) -> bool:
    """Whether column ``j``'s name (none, empty, or one such as ``id``, ``Unnamed: 0``, ``row``)
    says it numbers the rows: such a column that does is refused; one named otherwise, such as
    ``rank`` or ``year``, may be a feature that happens to, and is read with a warning."""
    name = None if header is None else header[j].strip()
    return not name or bool(_ID_NAME.fullmatch(name) or _CAMEL_ID.fullmatch(name))


def _check_not_id(path: Path, header, values: np.ndarray, j: int) -> None:
    """Refuse a column that numbers the rows, an ID or a saved index, no feature: one that counts
    them (k, k+1, k+2, ...), one that holds each number of such a range once in another order
    (from :data:`SHUFFLED_ROWS` rows on: pandas' index of a shuffled frame), or a first column
    of no name holding another whole number on every row (pandas' index of a filtered one).
    Where the column's name does not say so (``rank``, ``year``: a feature may count the rows
    of a sorted table), it is read, with a warning that names the fix if it is an ID."""
    if len(values) < 3 or np.isnan(values).any() or not np.all(values == np.round(values)):
        return
    shown = f"{values[0]:g}, {values[1]:g}, {values[2]:g}, ..."
    if np.all(np.diff(values) == 1):
        held = f"counts the rows ({shown})"
    else:
        distinct = len(np.unique(values)) == len(values)
        low, high = values.min(), values.max()
        pandas = j == 0 and header is not None and not header[0]
        if distinct and len(values) >= SHUFFLED_ROWS and high - low == len(values) - 1:
            held = f"numbers the rows in another order (each of {low:g}..{high:g} once)"
        elif distinct and pandas:
            held = f"holds another whole number on every row ({shown}) under no name"
        else:
            return
    if not _numbers_rows(header, j):
        warnings.warn(
            f"{path}: {_name(header, j)} {held}; it is read as a feature, as its name does not "
            f"say it is an ID or an index; if it is one, drop it (--drop-columns "
            f"{header[j]}, drop_columns=[{header[j]!r}] in Python)",
            stacklevel=2,
        )
        return
    index = header is not None and j == 0 and not header[0]  # how pandas writes its index
    save = (
        ", or save the file without it (pandas: to_csv(index=False); R: write.csv(..., "
        "row.names=FALSE))"
        if index
        else ""
    )
    raise spelled(
        DataError,
        lambda spell: (
            f"{path}: {_name(header, j)} {held}, so it looks like an ID or an index, not a "
            f"feature; drop it ({_option(spell, 'drop_columns', header, j)}){save}"
        ),
    )


def _labels(path: Path, header, lines, cells: list[str], j: int):
    """Numeric labels ``(N,)`` float64, or text classes as int64 indices with their names."""
    empty = [i for i, c in enumerate(cells) if not c.strip()]
    if empty:
        raise DataError(
            f"{path} line {lines[empty[0]]}: the label ({_name(header, j)}) is empty; give "
            "every row a label"
        )
    stripped = [c.strip() for c in cells]
    if all(is_number(c) for c in stripped):
        return np.array(stripped, dtype=np.float64), None
    names = tuple(sorted(set(stripped)))
    lookup = {name: k for k, name in enumerate(names)}
    return np.array([lookup[c] for c in stripped], dtype=np.int64), names


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
    if not len(rare) or (names is None and (not whole or 2 * len(rare) > len(values))):
        return
    said = [
        f"{names[int(values[k])] if names else f'{values[k]:g}'!r} {counts[k]} "
        + ("row" if counts[k] == 1 else "rows")
        for k in rare[:3]
    ]
    more = f" and {len(rare) - 3} more" if len(rare) > 3 else ""
    warnings.warn(
        f"{path}: {_name(header, j)} has classes of fewer than {RARE_CLASS} rows "
        f"({', '.join(said)}{more}), of which a model learns little; if one is a typo of "
        "another class, correct it",
        stacklevel=2,
    )


def delete_such(count: int, noun: str) -> str:
    """The fix for ``count`` rows (or images: ``noun``) with no value: "1 such row; delete it",
    "2 such rows; delete them"."""
    return f"1 such {noun}; delete it" if count == 1 else f"{count} such {noun}s; delete them"


def _check_rows(path: Path, lines: list[int], values: np.ndarray) -> None:
    empty = np.isnan(values).all(1)
    if empty.any():
        i = int(np.argmax(empty))
        raise DataError(
            f"{path} line {lines[i]} has no value in any feature column "
            f"({delete_such(int(empty.sum()), 'row')})"
        )


def _check_unique_names(
    path: Path,
    header: list[str] | None,
    keep: list[int],
    read: tuple[list[int], list[list[str]], Dialect],
) -> None:
    """Refuse two feature columns of one name: a run matches a file's columns by name; where
    the header is a title over the real one (``read``: the lines, rows and dialect), that."""
    if header is None:
        return
    first: dict[str, int] = {}
    for j in keep:
        if header[j] in first:
            lines, rows, dialect = read
            stray = stray_line(path, header, lines, rows, 0, dialect)
            if stray is not None:
                raise stray
            raise DataError(
                f"{path}: columns {first[header[j]] + 1} and {j + 1} are both named "
                f"{header[j]!r}; give each column its own name in the header (a run matches a "
                "file's columns by name)"
            )
        first[header[j]] = j


def read_csv(
    path: str | Path,
    *,
    label_column: Selector | None = None,
    drop_columns: Sequence[Selector] = (),
    allow_empty: bool | Literal["columns"] = False,
    if_present: bool = False,
    features: Sequence[str] = (),
    keep_cells: bool = False,
    encoding: str | None = None,
) -> CSVTable:
    """Read a CSV file of numbers (see the module docstring), once per command
    (:func:`~torchlvm.data.csv_once.parsed_once`).

    Args:
        allow_empty: keep rows and feature columns with no value at all (all NaN), as a table
            for a trained model to fill may hold; ``"columns"``: keep such columns only (a
            table to score, whose rows each need an observed cell); refused by default (no
            model learns anything from them).
        if_present: a ``label_column`` or ``drop_columns`` entry the file lacks is skipped,
            not refused (a file to score or fill may come without its labels or its ID): a
            name not in its header, or an index where it holds one of ``features``, the run's
            feature columns (:func:`_present`); a column of the file's header that is none
            of ``features`` is not read (a later file's own index, notes or extra measures:
            the run reads its own columns, and nothing of the others need be dropped).
        encoding: the file's text encoding (a name Python knows, such as ``"cp1251"`` or
            ``"mac-roman"``), read strictly; None: told from its bytes
            (:mod:`torchlvm.data.csv_dialect`).
        keep_cells: keep the text of every cell (:attr:`CSVTable.cells`, to copy into a file
            written back); else ``cells`` is None, the most memory a table takes.

    Raises:
        DataError: for unreadable text, ragged rows, text in a numeric column, an ID column, an
            empty column or an empty row (unless ``allow_empty``).
        ConfigError: for a ``label_column`` or ``drop_columns`` entry that names no column.
    """
    path = Path(path)
    options = (label_column, tuple(drop_columns), allow_empty, if_present, tuple(features))
    options += (None if encoding is None else text_encoding(encoding),)
    return shared(path, options, keep_cells, lambda: _read(path, *options, keep_cells))


def _read(
    path: Path,
    label_column: Selector | None,
    drop_columns: Sequence[Selector],
    allow_empty: bool | Literal["columns"],
    if_present: bool,
    features: Sequence[str],
    encoding: str | None,
    keep_cells: bool,
) -> CSVTable:
    """:func:`read_csv`'s parse of the file: where it holds plain rows of numbers and the
    cells are not kept, a chunk at a time (:mod:`torchlvm.data.csv_chunks`), else all its
    rows, checked."""
    options = (label_column, drop_columns, if_present, features)
    parsed = _rows(path, encoding, not keep_cells)
    if parsed.body is not None:
        done = _read_chunked(path, parsed, options, allow_empty)
        if done is not None:
            return done
        parsed = _all_rows(path, parsed)
    text, header, lines, rows, dialect = parsed[:5]
    header, rows = _trailing_separators(header, rows)
    if not rows:
        raise DataError(f"{path} holds no data rows; add at least one row of numbers")
    width = _check_width(path, header, lines, rows, dialect)
    _check_header_once(path, header, lines, rows)
    keep, label = _kept(path, header, width, options)
    _check_unique_names(path, header, keep, (lines, rows, dialect))
    columns = list(zip(*rows, strict=True))  # the cells as written stay in ``rows``
    values = np.empty((len(rows), len(keep)))
    for k, j in enumerate(keep):
        values[:, k] = _parse_column(path, header, lines, list(columns[j]), j, dialect, rows)
        _check_column(path, header, values[:, k], j, allow_empty)
    label_cells = None if label is None else list(columns[label])
    cells, text = (rows, text) if keep_cells else (None, None)
    read = (lines, values, label_cells, forms_of(rows, keep, dialect, values))
    return _table(
        path, header, read, (keep, label, dialect), (if_present, allow_empty, cells, text)
    )


def _read_chunked(
    path: Path, parsed: _Rows, options: tuple, allow_empty: bool | Literal["columns"]
) -> CSVTable | None:
    """The table of a file read lazily, its rows a chunk at a time
    (:func:`~torchlvm.data.csv_chunks.chunked`); None where they are not plain rows of numbers
    (or two kept columns share a name), for the reader of all rows to name what they are."""
    header, dialect = parsed.header, parsed.dialect
    assert header is not None and parsed.body is not None  # (lazy rows have both)
    keep, label = _kept(path, header, len(header), options)
    if len({header[j] for j in keep}) < len(keep):
        return None
    found = chunked(parsed.body, header, keep, label, dialect)
    if found is None:
        return None
    for k, j in enumerate(keep):
        _check_column(path, header, found.values[:, k], j, allow_empty)
    read = (
        found.lines,
        found.values,
        found.labels,
        forms_of(found.some, keep, dialect, found.values),
    )
    if_present = options[2]
    return _table(path, header, read, (keep, label, dialect), (if_present, allow_empty, None, None))


def _check_column(path: Path, header, values: np.ndarray, j: int, allow_empty) -> None:
    """Refuse column ``j`` (its ``values``) with no value (unless ``allow_empty``), or one that
    numbers the rows (:func:`_check_not_id`)."""
    if np.isnan(values).all() and not allow_empty:
        raise spelled(
            DataError,
            lambda spell: (
                f"{path}: {_name(header, j)} has no value in any row; drop it "
                f"({_option(spell, 'drop_columns', header, j)})"
            ),
        )
    _check_not_id(path, header, values, j)


def _table(path: Path, header, read: tuple, columns: tuple, how: tuple) -> CSVTable:
    """The :class:`CSVTable` of the rows ``read`` (their lines, feature values, label cells
    and forms), of ``columns`` (the kept ones, the label's and the dialect), read ``how``
    (``if_present``, ``allow_empty``, the cells and text kept): the rows and labels checked."""
    lines, values, label_cells, forms = read
    keep, label, dialect = columns
    if_present, allow_empty, cells, text = how
    if allow_empty is not True:
        _check_rows(path, lines, values)
    labels, class_names = (None, None)
    if label is not None:
        numbers = [dialect.number(c) for c in label_cells]  # '1,0' read as 1.0
        labels, class_names = _labels(path, header, lines, numbers, label)
        if not if_present:  # a file to train on
            _warn_of_rare_classes(path, header, label, labels, class_names)
    names = None if header is None else tuple(header[j] for j in keep)
    lines_ = np.array(lines)
    return CSVTable(
        values, names, labels, class_names, lines_, header, cells, tuple(keep), dialect, text, forms
    )


def _kept(path: Path, header, width: int, options: tuple) -> tuple[list[int], int | None]:
    """The feature columns kept and the label column (or None) of a file of ``width`` columns
    under ``header``, read with ``options`` (:func:`read_csv`'s ``label_column``,
    ``drop_columns``, ``if_present`` and ``features``)."""
    label_column, drop_columns, if_present, features = options
    if if_present:
        drop_columns = [s for s in drop_columns if _present(s, header, width, features)]
        label_column = label_column if _present(label_column, header, width, features) else None
    dropped = {_index(s, header, width, "drop_columns") for s in drop_columns}
    label = None if label_column is None else _index(label_column, header, width, "label_column")
    keep = [j for j in range(width) if j not in dropped and j != label]
    named = bool(features) and tuple(features) != default_names(len(features))
    if if_present and header is not None and named:
        others = [header[j] for j in keep if header[j] not in features]
        keep = [j for j in keep if header[j] in features]  # others: no column of the run's
        missing = [name for name in features if name not in {header[j] for j in keep}]
        if missing:
            raise lacking(path, missing, others, none=not keep)
        if others:
            shown = ", ".join(repr(n) if n else "'' (no name)" for n in others[:5]) + (
                f" and {len(others) - 5} more" if len(others) > 5 else ""
            )
            are = "column {} is" if len(others) == 1 else "columns {} are"
            warnings.warn(
                f"{path}: {are.format(shown)} none of the run's columns, so the model does "
                "not read them",
                stacklevel=2,
            )
    if not keep:
        raise ConfigError(f"{path}: no feature column is left after the label and dropped ones")
    return keep, label
