"""A table file written back with some of its cells replaced and every other byte as it was.

``impute`` fills a file's missing cells; the rest of the file is the user's: its line ends (LF,
CRLF or CR, even mixed), its quoting (``"1.5"``), the spaces around a cell, blank lines, Excel's
``sep=;`` first line, a byte-order mark, a last line with no line end. So the file is not parsed
and written anew (Python's ``csv`` writer would requote, end every line in CRLF and drop the
blank lines): its text is scanned for the place of each cell, by the rules of Python's ``csv``
reader with its default dialect (RFC 4180: a cell that starts with ``"`` runs to the matching
``"``, ``""`` inside it being one quote; a line end outside quotes ends a record), and only the
replaced cells' text changes.

A new cell is written as its column writes its cells: quoted where its column's numbers all are
(``"32"``, pandas' ``quoting=QUOTE_ALL``; in a column with none, where the cell it replaces was,
``""``), and wherever its text needs quotes (a thousands separator in a file of commas:
``"1,055.12"``), else bare; padded with spaces as its column's cells are (`` 0.105 `` where
every cell has a space on each side; ``   -0.08`` where every cell is right-aligned to one width,
as numpy's ``savetxt('%8.3f')`` writes), else with none.

The text is the one the table was read from (:attr:`~torchlvm.data.csv_table.CSVTable.text`,
kept with its cells: the file is not read again), and the scan is checked against the reader's
cells: each record's cells, unquoted, must be the rows the table was read as
(:attr:`~torchlvm.data.csv_table.CSVTable.cells`). Where they are not (a text the scan and the
reader would read differently, or another text than the rows'), :func:`rewritten` returns None
and the caller writes the table anew.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import NamedTuple

from torchlvm.data.csv_cells import is_missing
from torchlvm.data.csv_dialect import LINE_END, MARK, Dialect, blank
from torchlvm.data.csv_layout import SEPARATOR_HINT

Replacements = Mapping[tuple[int, int], str]
"""New cell values by (data row, file column), both counted from 0: as a reader reads them,
unquoted (the text quotes them as its column does)."""

Record = tuple[int, int, int]
"""A record of the text: where it starts, where its cells end and where it ends (after its line
end, if any)."""

_LINE = re.compile(r"[^\r\n]*")


@cache
def _cell(delimiter: str) -> re.Pattern[str]:
    """A cell: a quoted part (a ``"`` at its start to the matching one, or to the end of the
    text), then anything up to the next ``delimiter`` or line end, as Python's reader reads a
    quote inside a cell literally."""
    other = rf"[^{re.escape(delimiter)}\r\n]*"
    return re.compile(rf'(?:"(?:[^"]|"")*(?:"|\Z))?{other}')


def _spans(text: str, start: int, delimiter: str) -> list[tuple[int, int]]:
    """The (start, stop) of each cell of the record that starts at ``start``."""
    cell, spans = _cell(delimiter), []
    while True:
        stop = cell.match(text, start).end()
        spans.append((start, stop))
        if stop >= len(text) or text[stop] != delimiter:
            return spans
        start = stop + 1


def _records(text: str, start: int, delimiter: str) -> Iterator[Record]:
    """Each record of ``text`` from ``start`` (a line, or more where a quoted cell holds line
    ends)."""
    length = len(text)
    while start < length:
        stop = _LINE.match(text, start).end()
        if text.find('"', start, stop) >= 0:  # a line end may be inside quotes
            stop = _spans(text, start, delimiter)[-1][1]
        line_end = LINE_END.match(text, stop)
        end = stop if line_end is None else line_end.end()
        yield start, stop, end
        start = end


def _value(text: str) -> str:
    """A cell's text as the reader reads it: its quotes taken out."""
    if not text.startswith('"'):
        return text
    closing = text.find('"', 1)
    while 0 < closing < len(text) - 1 and text[closing + 1] == '"':
        closing = text.find('"', closing + 2)
    if closing < 0:  # no closing quote: the cell runs to the end of the text
        return text[1:].replace('""', '"')
    return text[1:closing].replace('""', '"') + text[closing + 1 :]


def _cells(text: str, record: Record, delimiter: str) -> list[str]:
    """The cells of ``record`` as the reader reads them."""
    start, stop, _ = record
    if text.find('"', start, stop) < 0:
        return text[start:stop].split(delimiter)
    return [_value(text[a:b]) for a, b in _spans(text, start, delimiter)]


def _data_records(
    text: str, delimiter: str, header: Sequence[str] | None, rows: Sequence[Sequence[str]]
) -> tuple[Record | None, list[Record]] | None:
    """The header's record (None without one) and the data rows' records of ``text``, checked
    against the ``header`` and ``rows`` the reader read (header names stripped, as it strips
    them; a row may have more cells, the empty ones a separator at the end of the line adds);
    None where they differ."""
    hint = SEPARATOR_HINT.match(text)
    found: list[Record] = []
    expected = [header, *rows] if header is not None else list(rows)
    for record in _records(text, 0 if hint is None else hint.end(), delimiter):
        cells = _cells(text, record, delimiter)
        if blank(cells):  # which the reader skips
            continue
        if len(found) == len(expected):
            return None
        want = list(expected[len(found)])
        got = cells[: len(want)]
        if header is not None and not found:
            got = [c.strip() for c in got]
        if got != want:
            return None
        found.append(record)
    if len(found) != len(expected):
        return None
    return (found[0], found[1:]) if header is not None else (None, found)


def rewritten(
    text: str,
    dialect: Dialect,
    header: Sequence[str] | None,
    rows: Sequence[Sequence[str]],
    copies: Sequence[Replacements],
) -> str | None:
    """``text`` (a table file's, decoded; the ``header`` and data ``rows`` the reader read from
    it, in ``dialect``) with the cells of ``copies[0]`` given their new texts and every other
    character as it was; None where ``text`` does not hold those rows (see the module
    docstring).

    Several ``copies`` (multiple imputations) stack the data rows once per copy, each row
    given a first cell, its copy's number (1, 2, ...), and the header (if any) a first name,
    ``draw``; what precedes the first data row is written once, and each row ends with its
    line end (the file's, ``dialect.newline``, where the last line has none). A UTF-16 text's
    byte-order mark (:data:`~torchlvm.data.csv_dialect.MARK`) stays first.
    """
    if text.startswith(MARK):
        done = rewritten(text[len(MARK) :], dialect, header, rows, copies)
        return None if done is None else MARK + done
    delimiter = dialect.delimiter
    found = _data_records(text, delimiter, header, rows)
    if found is None:
        return None
    head, records = found
    columns = {j for c in copies for _, j in c}
    quoted = _quoted_columns(text, records, delimiter, columns)
    quoted = {j: (quoted.get(j), pad) for j, pad in _paddings(text, records, delimiter, columns)}
    by_row = [_by_row(replace) for replace in copies]
    if len(copies) == 1:
        return _replaced(text, records, by_row[0], (delimiter, quoted), (0, len(text)))
    first = records[0][0] if records else len(text)
    pieces = [text[:first]]
    if head is not None:
        pieces = [text[: head[0]], "draw", delimiter, text[head[0] : first]]
    for number, replace in enumerate(by_row, start=1):
        for i, record in enumerate(records):
            start, stop, end = record
            pieces += [str(number), delimiter]
            pieces.append(
                _replaced(text, [record], replace, (delimiter, quoted), (start, end), row=i)
            )
            if end == stop:  # the last line, without a line end
                pieces.append(dialect.newline)
    return "".join(pieces)


def _by_row(replace: Replacements) -> dict[int, dict[int, str]]:
    """``replace``'s new texts by row, then by column."""
    changed: dict[int, dict[int, str]] = {}
    for (i, j), cell in replace.items():
        changed.setdefault(i, {})[j] = cell
    return changed


def _replaced(
    text: str,
    records: Sequence[Record],
    changed: Mapping[int, Mapping[int, str]],
    marks: tuple[str, Mapping[int, tuple[bool | None, _Pad]]],
    part: tuple[int, int],
    *,
    row: int = 0,
) -> str:
    """``text[part[0]:part[1]]``, holding ``records`` (data rows ``row``, ``row`` + 1, ...),
    with the cells ``changed`` names (by row, then column) given their new values; ``marks``:
    the delimiter, and by column whether its numbers are quoted (:func:`_quoted_columns`) and
    how its cells are padded (:func:`_paddings`)."""
    delimiter, quoted = marks
    pieces, at = [], part[0]
    for i, (start, _, _) in enumerate(records, start=row):
        if i not in changed:
            continue
        for j, (a, b) in enumerate(_spans(text, start, delimiter)):
            if j in changed[i]:
                written = _written(changed[i][j], text[a:b], delimiter, quoted[j][0])
                pieces += [text[at:a], quoted[j][1].padded(written)]
                at = b
    return "".join([*pieces, text[at : part[1]]])


def _written(value: str, old: str, delimiter: str, quoted: bool | None) -> str:
    """The text of a cell of ``value`` replacing the cell written ``old``: quoted where
    ``quoted`` (its column's numbers are), or where ``old`` was in a column of none
    (``quoted`` None), or where ``value`` needs quotes; else bare (and so read back as
    ``value``, no space around it)."""
    needs = any(c in value for c in (delimiter, '"', "\r", "\n"))
    if needs or quoted or (quoted is None and old.lstrip(" \t").startswith('"')):
        return '"' + value.replace('"', '""') + '"'
    return value


class _Pad(NamedTuple):
    """How a column's cells are padded with spaces (or tabs): ``lead`` and ``trail`` around
    each, where every cell has the same; else every cell ``width`` characters, aligned to the
    ``right`` (the spaces before it vary; ``trail`` after it) or to the left (``lead`` before
    it); else none."""

    lead: str = ""
    trail: str = ""
    width: int = 0
    right: bool = False

    def padded(self, cell: str) -> str:
        """``cell`` (its text, quoted or bare) padded so; a quoted one with nothing before it,
        as a quote opens a cell only as its first character (else it is read as text)."""
        if cell.startswith('"'):
            return cell.ljust(self.width) if self.width and not self.right else cell + self.trail
        if not self.width:
            return self.lead + cell + self.trail
        if self.right:
            return (cell + self.trail).rjust(self.width)
        return (self.lead + cell).ljust(self.width)


_PADDED = re.compile(r"(?:^|[,;\t|\r\n])[ \t]|[ \t](?:$|[,;\t|\r\n])", re.MULTILINE)
"""A space or tab beside a separator or a line's edge: some cell of the text is padded."""


def _paddings(
    text: str, records: Sequence[Record], delimiter: str, columns: set[int]
) -> Iterator[tuple[int, _Pad]]:
    """How each of ``columns`` pads its cells that are not missing (:class:`_Pad`); a column
    of no such cell, or of cells padded unalike, is not padded."""
    if _PADDED.search(text) is None:  # (the common file: one C-level pass)
        yield from ((j, _Pad()) for j in columns)
        return
    cells: dict[int, list[str]] = {j: [] for j in columns}
    for start, _, _ in records:
        spans = _spans(text, start, delimiter)
        for j in columns:
            cell = text[slice(*spans[j])] if j < len(spans) else ""
            if not is_missing(_value(cell.strip(" \t"))):
                cells[j].append(cell)
    for j, found in cells.items():
        yield j, _pad_of(found)


def _pad_of(cells: list[str]) -> _Pad:
    """The :class:`_Pad` that every one of ``cells`` (as written) shows."""
    lead = _one({c[: len(c) - len(c.lstrip(" \t"))] for c in cells})
    trail = _one({c[len(c.rstrip(" \t")) :] for c in cells})
    width = _one({len(c) for c in cells})
    if width and trail is not None and (lead is None or (lead and not trail)):
        return _Pad(trail=trail, width=width, right=True)  # spaces before each, to one width
    if width and lead is not None and (trail is None or (trail and not lead)):
        return _Pad(lead=lead, width=width)
    return _Pad() if lead is None or trail is None else _Pad(lead, trail)


def _one(found: set):
    """The one member of ``found``, or None."""
    return next(iter(found)) if len(found) == 1 else None


def _quoted_columns(
    text: str, records: Sequence[Record], delimiter: str, columns: set[int]
) -> dict[int, bool]:
    """Whether the numbers of each of ``columns`` are quoted: True where each of the column's
    cells that is not missing, and holds no character that needs quotes (``"1,234.5"`` in a
    file of commas), is quoted, False where one is not; a column of no such cell is left
    out."""
    if '"' not in text:
        return dict.fromkeys(columns, False)
    found: dict[int, bool] = {}
    for start, _, _ in records:
        spans = _spans(text, start, delimiter)
        for j in columns:
            cell = text[slice(*spans[j])].strip(" \t") if j < len(spans) else ""
            value = _value(cell)
            if found.get(j) is False or is_missing(value) or delimiter in value or '"' in value:
                continue
            found[j] = cell.startswith('"')
        if len(found) == len(columns) and not any(found.values()):
            break
    return found
