"""How a table file is written: its text encoding, the character between its cells, its
decimal point and its line end.

A ``.tsv`` has tabs. A ``.csv`` has commas, or semicolons where the spreadsheet that wrote it uses
the comma as its decimal point (Excel and LibreOffice in most of continental Europe: ``3,14;2,5``;
pandas' ``to_csv(sep=";", decimal=",")``). A ``.csv`` is taken to have semicolons when its first
non-blank line holds one and, read with semicolons, has two cells or more; where that line also
holds a comma (a file without header whose numbers have decimal commas, or a comma file with a
``;`` inside a name) every row must then have the same number of cells, else commas are kept.

In a file of semicolons a comma in a number is its decimal point (``3,14`` is 3.14; ``1,234`` is
1.234, never a thousands separator); a number written with a point (``3.14``) reads as well, and a
file of semicolons none of whose cells is a number with a comma writes its numbers with points.
A ``.tsv`` has decimal commas when one of its numbers has a comma that cannot be a thousands
separator (``3,14``, ``0,5``, ``12,3456``: not ``1,234``, which an English export also writes).
Thousands separators, the mark that is not the decimal point, are read
(:mod:`torchlvm.data.csv_cells`): ``"1,234.5"`` in a file of commas, ``1.234,5`` in one of
decimal commas.

The text is UTF-8 (Excel's "CSV UTF-8" starts with a byte-order mark, kept on files written
back), UTF-16 with its byte-order mark (Excel's "Unicode Text", little-endian; big-endian
files are written back big-endian: the text keeps the mark, :data:`MARK`), or, when it is not
UTF-8,
Windows-1252: the code page of Excel's plain "CSV" in Western Europe and the Americas, a superset
of Latin-1's printable characters (``é``, ``°``, ``µ``). UTF-8 is tried first: a Windows-1252
text of accented letters is almost never valid UTF-8. A file in another 8-bit code page (Mac
Roman, Windows-1251) has the same digits, and its names read as Windows-1252 shows them, written
back byte for byte; bytes that Windows-1252 leaves undefined are refused (:func:`decode`). Its
encoding can be stated instead (``encoding="mac-roman"``, ``--encoding cp1251``, as pandas'
``read_csv`` takes it): any text encoding Python knows (:func:`text_encoding`), the file then
read in it, strictly, and written back in it.

Its line end is that of its first line (``\\n``, ``\\r\\n`` or ``\\r``), and the files written from
it end their lines so, as they keep its separator, decimal point and encoding.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from torchlvm.data.csv_cells import decimal_in, one_group, read_number
from torchlvm.errors import OptionError, spelled

DELIMITERS = (",", ";", "\t")
"""The cell separators of the table files torchlvm reads."""

NEWLINES = ("\r\n", "\n", "\r")
"""The line ends of the table files torchlvm reads, kept in the files it writes from them."""

LINE_END = re.compile(r"\r\n|\n|\r")
"""A line end of a table file: one of :data:`NEWLINES`."""

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\n|\r)|[^\r\n]+\Z")


def text_lines(text: str) -> Iterator[str]:
    """The lines of ``text``, each with its line end (:data:`LINE_END`), as a file opened with
    ``newline=""`` gives them to Python's ``csv`` reader; one at a time: ``io.StringIO(text)``
    held a copy of the text at 4 bytes a character (135 MiB for a 47 MB table)."""
    return (found.group() for found in _LINE.finditer(text))


def first_line(text: str) -> str:
    """The first line of ``text`` that is not blank (without its line end), or ``""``."""
    return next((line.rstrip("\r\n") for line in text_lines(text) if line.strip()), "")


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "cp1252")
"""The text encodings torchlvm tells table files' text by (Python's codec names; ``utf-8-sig``:
UTF-8 after a byte-order mark; ``utf-16-le`` / ``utf-16-be``: told by their byte-order mark,
which their text keeps as its first character, :data:`MARK`, so that it is written back in the
file's byte order); any other is stated. (Runs recorded ``utf-16``, Python's UTF-16 after a
mark in the machine's byte order, before the order was kept.)"""

MARK = "\ufeff"
"""The byte-order mark as a character: the first of a UTF-16 text of :data:`ENCODINGS`, which
readers skip, and of a new file written in UTF-16 of either order (:data:`UTF16`), so that a
reader tells its order."""

UTF16 = ("utf-16-le", "utf-16-be")
"""The UTF-16 encodings of one byte order, whose codecs read and write no byte-order mark."""

_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SOME_ENCODINGS = "utf-8, cp1252, cp1251, latin2 or mac-roman"
"""Encodings a message offers as examples."""


def text_encoding(name: object) -> str:
    """Python's name of the text encoding ``name``: ``'latin2'`` is ``'iso8859-2'``,
    ``'MacRoman'`` ``'mac-roman'``, ``'UTF8'`` ``'utf-8'``.

    Raises:
        OptionError: for a name no text encoding of Python's has (``base64`` is a codec of
            bytes, no text), naming ``encoding`` / ``--encoding``.
    """
    try:
        found = codecs.lookup(name).name if isinstance(name, str) else None
        if found is not None:
            "".encode(found)  # a codec of bytes to bytes (base64, zlib) raises LookupError
    except LookupError:
        found = None
    if found is None:
        raise spelled(
            OptionError,
            lambda spell: (
                f"{spell('encoding')} {name!r} is not a text encoding Python knows; pass the "
                f"file's, such as {SOME_ENCODINGS} (Python's list: "
                "https://docs.python.org/3/library/codecs.html#standard-encodings)"
            ),
        )
    return found


class MarkedOtherwise(ValueError):
    """A file whose byte-order mark says another encoding than the one stated."""

    def __init__(self, marked: str, stated: str) -> None:
        super().__init__(f"marked {marked}, stated {stated}")
        self.marked, self.stated = marked, stated


@dataclass(frozen=True)
class Dialect:
    """How a table file writes its cells.

    Attributes:
        delimiter: between cells: ``","``, ``";"`` or ``"\\t"``.
        decimal: the decimal point of its numbers: ``","`` with semicolons (unless no cell is a
            number written with a comma) and in a ``.tsv`` of decimal commas, else ``"."``.
        encoding: its text encoding, Python's name of it (one of :data:`ENCODINGS` where
            torchlvm told it, any text encoding where it was stated); files written from it
            use it.
        undecided: ``","`` or ``"."`` where the file's numbers do not tell whether a one-group
            number in that mark (``1,234``) has a thousands separator or a decimal point (such
            numbers are refused, naming both: :mod:`torchlvm.data.csv_cells`), else ``""``.
        newline: its line end, that of its first line: ``"\\n"`` (Unix, pandas' ``to_csv``),
            ``"\\r\\n"`` (Windows, Excel, Python's ``csv`` module) or ``"\\r"`` (old Mac
            Excel); ``"\\r\\n"`` for a file of one line without one, and for a file written
            from no file (RFC 4180's).
    """

    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    undecided: str = ""
    newline: str = "\r\n"

    def number(self, cell: str) -> str:
        """``cell`` as Python's ``float`` reads it: thousands separators taken out and a decimal
        comma made a point (``'1.234,5'`` to ``'1234.5'`` in a file of decimal commas,
        ``'1,234.5'`` to ``'1234.5'`` in one of points); any other cell as it is
        (:func:`~torchlvm.data.csv_cells.read_number`; a reader refuses an :attr:`undecided`
        one-group number first)."""
        return read_number(cell, self.decimal)

    def text(self, number: str) -> str:
        """A number's text (``repr``, with a point) as this file writes it: ``'3,14'``."""
        return number.replace(".", ",") if self.decimal == "," else number

    def for_csv(self, width: int) -> Dialect:
        """How a ``.csv`` of ``width`` cells a row is written in this dialect: as it is, but a
        file read from a ``.tsv`` with semicolons for its tabs where it has decimal commas (the
        CSV of the Excel that wrote it), else commas; and with commas and points for a single
        column of decimal commas (no semicolon on a line for a reader to find: ``3,14`` would
        read back as two cells). The encoding and the line end stay."""
        if self.decimal == "," and width < 2:
            return Dialect(encoding=self.encoding, newline=self.newline)
        if self.delimiter == "\t":
            return replace(self, delimiter=";" if self.decimal == "," else ",")
        return self

    def to_dict(self) -> dict[str, str]:
        """JSON-ready record (a run's table: later files it writes follow it)."""
        fields = ("delimiter", "decimal", "encoding", "newline")
        return {name: getattr(self, name) for name in fields}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Dialect:
        """The dialect ``record`` holds; a record without one (a run recorded before
        dialects were) is a comma file's, one without an encoding (recorded before
        encodings were) a UTF-8 file's, and one without a line end (recorded before line ends
        were) ends its lines as files were written then, ``"\\r\\n"``.

        Raises:
            ValueError: for a delimiter, decimal point, encoding or line end no table file has.
        """
        fields = ("delimiter", "decimal", "encoding", "newline")
        dialect = cls(**{k: record[k] for k in fields if k in record})
        marks = dialect.delimiter in DELIMITERS and dialect.decimal in (".", ",")
        if not marks or dialect.newline not in NEWLINES:
            raise ValueError(f"not a table file's dialect: {dialect}")
        try:
            if text_encoding(dialect.encoding) != dialect.encoding:
                raise ValueError(f"not a table file's dialect: {dialect}")
        except OptionError:
            raise ValueError(f"not a table file's dialect: {dialect}") from None
        return dialect


def blank(row: list[str]) -> bool:
    """Whether a row Python's csv reader read is a blank line (no cell, or one cell of nothing
    but spaces or tabs: ``""``, ``"   "``, which looks as empty), which table readers skip; a
    line of separators alone is a row of empty cells."""
    return len(row) < 2 and not any(cell.strip(" \t") for cell in row)


def _rows(text: str, delimiter: str) -> list[list[str]]:
    """The rows of ``text`` that are not blank lines, read with ``delimiter``."""
    reader = csv.reader(text_lines(text), delimiter=delimiter)
    return [row for row in reader if not blank(row)]


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of a table file's bytes and its encoding: told (see the module docstring), or
    ``encoding`` where it is stated, read after a byte-order mark that agrees with it.

    Raises:
        UnicodeDecodeError: for bytes that are neither UTF-8 nor Windows-1252, or not text in
            the stated ``encoding`` (``start``: the first such byte).
        MarkedOtherwise: for a byte-order mark of another encoding than the stated one.
        OptionError: for an ``encoding`` that is no text encoding (:func:`text_encoding`).
    """
    if encoding is not None:
        return _decode_as(raw, text_encoding(encoding))
    for mark, name in _MARKS[1:]:  # UTF-16: the mark read as MARK, written back so
        if raw.startswith(mark):
            return raw.decode(name), name
    encoding = "utf-8-sig" if raw.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as error:
        if encoding == "utf-8-sig":  # said UTF-8 by its mark: no other code page
            mark = len(codecs.BOM_UTF8)  # the error counts from after it
            raise UnicodeDecodeError(
                "utf-8", raw, error.start + mark, error.end + mark, error.reason
            ) from None
    return raw.decode("cp1252"), "cp1252"


# Text of another 8-bit code page read as Windows-1252 (its fallback) shows characters that
# Western text does not put inside a word: a Windows-1252 symbol or a letter of its 0x80-0x9F
# block between two letters (Mac Roman's 'Größe' reads 'Grš§e', Latin-2's 'Wysokość'
# 'Wysoko¶æ'), or three letters in a row from its accented block (Windows-1251's 'Рост' reads
# 'Ðîñò')
_ODD = "\u00a1-\u00b4\u00b6-\u00bf\u0160\u0161\u0178\u017d\u017e\u0192\u2013-\u2030\u20ac\u2122"
_GARBLED = re.compile(rf"\w*(?:(?<=[^\W\d_])[{_ODD}](?=[^\W\d_])|[\u00c0-\u00ff]{{3}})\w*")


def garbled(text: str) -> str | None:
    """The first word of ``text`` (a table read as Windows-1252 for want of another encoding)
    that looks like another code page's text misread (see :data:`_GARBLED`), or None."""
    found = _GARBLED.search(text)
    return None if found is None else found.group(0)


def _decode_as(raw: bytes, encoding: str) -> tuple[str, str]:
    """``raw`` read in the stated ``encoding`` (a Python codec name); UTF-8 or UTF-16 stated for
    a file with their byte-order mark is read after it, and written back with it."""
    marked = next((name for mark, name in _MARKS if raw.startswith(mark)), None)
    if marked is not None:
        if marked.split("-")[:2] != encoding.split("-")[:2]:  # utf-8(-sig), utf-16(-le)
            raise MarkedOtherwise(marked, encoding)
        encoding = marked
    return raw.decode(encoding), encoding


def _dialect(rows: list[list[str]], delimiter: str) -> Dialect:
    """The decimal point of a file of ``delimiter`` (``";"`` or ``"\\t"``) with ``rows``: a comma
    where a number shows it (in a file of semicolons, any number with one comma; in a ``.tsv``,
    one whose comma cannot be a thousands separator), else a point; undecided where one-group
    numbers in the mark of the other reading (``1.234`` with semicolons, ``1,234`` with tabs)
    have no number of the reading taken to tell them apart."""

    def cells(mark: str) -> Iterator[str]:  # those that hold ``mark``, lazily (any() stops)
        return (cell for row in rows for cell in row if mark in cell)

    semicolons = delimiter == ";"
    if any(decimal_in(c, ",") or (semicolons and one_group(c, ",")) for c in cells(",")):
        return Dialect(delimiter, ",")
    doubt = "." if semicolons else ","
    if any(decimal_in(c, ".") for c in cells(".")) or not any(
        one_group(c, doubt) for c in cells(doubt)
    ):
        return Dialect(delimiter)
    return Dialect(delimiter, undecided=doubt)


def sniff(text: str, *, tabs: bool) -> Dialect:
    """The dialect of a table file's ``text`` (see the module docstring); ``tabs``: a ``.tsv``.
    The encoding is left as UTF-8 (:func:`decode` tells it)."""
    end = LINE_END.search(text)
    return replace(_marks(text, tabs=tabs), newline=Dialect.newline if end is None else end[0])


def _marks(text: str, *, tabs: bool) -> Dialect:
    """:func:`sniff`'s delimiter and decimal point."""
    delimiter = "\t" if tabs else ";"
    first = first_line(text)
    if not tabs and ";" not in first:
        return Dialect()
    try:
        rows = _rows(text, delimiter)
    except csv.Error:  # the reader of the file names the broken line
        return Dialect(delimiter) if tabs else Dialect()
    widths = {len(row) for row in rows}
    if not tabs and (len(rows[0]) < 2 or ("," in first and len(widths) > 1)):
        return Dialect()
    return _dialect(rows, delimiter)
