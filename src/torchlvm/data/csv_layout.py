"""The shape of a table file's rows: which first row is a header (none of its names a number),
and the refusals of rows the reader cannot take as one table: a comment line, another separator
than the name says, a row of another width, the header repeated, whole-number names over columns
of decimals (years); a separator ending every line is taken out.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from torchlvm.data.csv_cells import is_missing, is_number
from torchlvm.data.csv_dialect import Dialect, blank
from torchlvm.data.csv_stray import stray_line
from torchlvm.errors import DataError


def tabs(path: Path) -> bool:
    """Whether ``path`` is a ``.tsv`` (or ``.tsv.gz``): tabs between its cells."""
    return path.name.lower().removesuffix(".gz").endswith(".tsv")


# Excel's hint on a first line of its own ('sep=;'): the separator, which the lines below show
SEPARATOR_HINT = re.compile(r"\Asep=[,;\t]?[ \t]*(?=\r|\n)")


def header_of(path: Path, line: int, row: list[str], dialect: Dialect) -> list[str] | None:
    """The first row's names, stripped, where none of them is a number (and not all are
    missing), else None: a row of data."""
    _check_separator(path, line, row)
    first = [cell.strip() for cell in row]
    if not any(is_number(dialect.number(c)) for c in first) and not all(
        is_missing(c) for c in first
    ):
        return first
    return None


def check_names_that_are_numbers(path: Path, numbered: list, dialect: Dialect) -> None:
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
    if tabs(path):
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


def trailing_separators(header: list[str] | None, rows: list[list[str]]):
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


def check_width(
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
            f"the same number of cells{_split_number(row, width, dialect)}"
        )
    return width


_GROUP = re.compile(r"[+-]?\d{1,3}")  # a number's digits before a thousands separator
_THOUSANDS = re.compile(r"\d{3}(?:\.\d*)?")  # the three digits after it (and any decimals)


def _split_number(row: list[str], width: int, dialect: Dialect) -> str:
    """Where a comma file's ``row`` holds more cells than its ``width`` and as many pairs of a
    cell of at most three digits followed by one of exactly three (``1``, ``234``: an unquoted
    ``1,234``), the words that name the thousands separator and the fixes; else "" (userR #7:
    it was told only that the row has 4 cells)."""
    if dialect.delimiter != "," or len(row) <= width:
        return ""
    cells = [cell.strip() for cell in row]
    pairs = [
        i
        for i in range(len(cells) - 1)
        if _GROUP.fullmatch(cells[i]) and _THOUSANDS.fullmatch(cells[i + 1])
    ]
    if len(pairs) < len(row) - width:
        return ""
    parts = [cells[pairs[0]]]
    for cell in cells[pairs[0] + 1 :]:  # each group of three digits ('1', '234', '567.5')
        if "." in parts[-1] or not _THOUSANDS.fullmatch(cell):
            break
        parts.append(cell)
    said = ", ".join(map(repr, parts[:-1])) + f" and {parts[-1]!r}"
    return (
        f"; its cells {said} look like one number, {','.join(parts)}, split at its thousands "
        "separator: quote the numbers that hold a comma, or save the file without thousands "
        "separators"
    )


def check_header_once(path: Path, header, lines: list[int], rows: list[list[str]]) -> None:
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


def header_names(path: Path, dialect: Dialect, lines: int = 64) -> list[str] | None:
    """The names of the header of the table file at ``path`` in ``dialect`` (its first row
    that is not blank, Excel's ``sep=`` line and a byte-order mark aside), read from its first
    ``lines`` lines only; None where that row is no header (:func:`header_of`) or cannot be
    read so (a quoted name holding a line end past them: :func:`first_rows`)."""
    first = first_rows(path, dialect, lines)
    return None if first is None else first[0]


def first_rows(
    path: Path, dialect: Dialect, lines: int = 64
) -> tuple[list[str] | None, list[list[str]]] | None:
    """The header (or None, :func:`header_of`) and the rows of data in the first ``lines``
    lines of the table file at ``path`` in ``dialect`` (blank rows, Excel's ``sep=`` line and
    a byte-order mark aside), up to a quoted cell holding a line end past them; None where
    they hold no row."""
    import gzip
    import io
    from itertools import islice

    opened = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb")
    with opened as raw, io.TextIOWrapper(raw, dialect.encoding, errors="replace", newline="") as f:
        text = "".join(islice(f, lines)).lstrip("\ufeff")
    text = SEPARATOR_HINT.sub("", text, count=1)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not blank(row):
                rows.append((reader.line_num, row))
    except csv.Error:  # (a quoted cell running past the lines read: the rows before it)
        pass
    if not rows:
        return None
    try:
        header = header_of(path, rows[0][0], rows[0][1], dialect)
    except DataError:
        return None
    return header, [row for _, row in rows[header is not None :]]
