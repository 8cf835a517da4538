"""How a table file is written: its text encoding, the character between its cells, and its
decimal point.

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

The text is UTF-8 (Excel's "CSV UTF-8" starts with a byte-order mark, kept on files written
back), UTF-16 with its byte-order mark (Excel's "Unicode Text"), or, when it is not UTF-8,
Windows-1252: the code page of Excel's plain "CSV" in Western Europe and the Americas, a superset
of Latin-1's printable characters (``é``, ``°``, ``µ``). UTF-8 is tried first: a Windows-1252
text of accented letters is almost never valid UTF-8. A file in another 8-bit code page (Mac
Roman, Windows-1251) has the same digits, and its names read as Windows-1252 shows them, written
back byte for byte; bytes that Windows-1252 leaves undefined are refused (:func:`decode`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

DELIMITERS = (",", ";", "\t")
"""The cell separators of the table files torchlvm reads."""

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252")
"""The text encodings of the table files torchlvm reads (Python's codec names; ``utf-8-sig``:
UTF-8 after a byte-order mark; ``utf-16``: after its byte-order mark)."""

_GROUPED = re.compile(r"[+-]?\d{1,3},\d{3}")  # '1,234': a decimal comma or a thousands separator


@dataclass(frozen=True)
class Dialect:
    """How a table file writes its cells.

    Attributes:
        delimiter: between cells: ``","``, ``";"`` or ``"\\t"``.
        decimal: the decimal point of its numbers: ``","`` with semicolons (unless no cell is a
            number written with a comma) and in a ``.tsv`` of decimal commas, else ``"."``.
        encoding: its text encoding, one of :data:`ENCODINGS`; files written from it use it.
    """

    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"

    def number(self, cell: str) -> str:
        """``cell`` as Python's ``float`` reads it: one decimal comma made a point (``'3,14'``
        to ``'3.14'``) in a file of decimal commas; any other cell as it is."""
        if self.decimal != "," or cell.count(",") != 1 or "." in cell:
            return cell
        point = cell.replace(",", ".")
        try:
            float(point)
        except ValueError:
            return cell  # text ('a,b'): a message quotes it as written
        return point

    def text(self, number: str) -> str:
        """A number's text (``repr``, with a point) as this file writes it: ``'3,14'``."""
        return number.replace(".", ",") if self.decimal == "," else number

    def for_csv(self, width: int) -> Dialect:
        """How a ``.csv`` of ``width`` cells a row is written in this dialect: as it is, but a
        file read from a ``.tsv`` with semicolons for its tabs where it has decimal commas (the
        CSV of the Excel that wrote it), else commas; and with commas and points for a single
        column of decimal commas (no semicolon on a line for a reader to find: ``3,14`` would
        read back as two cells). The encoding stays."""
        if self.decimal == "," and width < 2:
            return Dialect(encoding=self.encoding)
        if self.delimiter == "\t":
            return replace(self, delimiter=";" if self.decimal == "," else ",")
        return self

    def to_dict(self) -> dict[str, str]:
        """JSON-ready record (a run's table: later files it writes follow it)."""
        return {"delimiter": self.delimiter, "decimal": self.decimal, "encoding": self.encoding}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Dialect:
        """The dialect ``record`` holds; a record without one (a run recorded before
        dialects were) is a comma file's, and one without an encoding (recorded before
        encodings were) a UTF-8 file's.

        Raises:
            ValueError: for a delimiter, decimal point or encoding no table file has.
        """
        fields = ("delimiter", "decimal", "encoding")
        dialect = cls(**{k: record[k] for k in fields if k in record})
        if (
            dialect.delimiter not in DELIMITERS
            or dialect.decimal not in (".", ",")
            or dialect.encoding not in ENCODINGS
        ):
            raise ValueError(f"not a table file's dialect: {dialect}")
        return dialect


def _rows(text: str, delimiter: str) -> list[list[str]]:
    """The rows of ``text`` that are not blank lines, read with ``delimiter``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [row for row in reader if len(row) > 1 or any(row)]


def decode(raw: bytes) -> tuple[str, str]:
    """The text of a table file's bytes and its encoding (see the module docstring).

    Raises:
        UnicodeDecodeError: for bytes that are neither UTF-8 nor Windows-1252 (``start``: the
            first byte Windows-1252 leaves undefined).
    """
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw.decode("utf-16"), "utf-16"
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


def _decimal_commas(rows: list[list[str]]) -> bool:
    """Whether a ``.tsv``'s ``rows`` write numbers with decimal commas: one of them has a comma
    that cannot be a thousands separator."""
    commas = Dialect("\t", ",")
    return any(
        commas.number(cell) != cell and not _GROUPED.fullmatch(cell.strip())
        for row in rows
        for cell in row
    )


def sniff(text: str, *, tabs: bool) -> Dialect:
    """The dialect of a table file's ``text`` (see the module docstring); ``tabs``: a ``.tsv``.
    The encoding is left as UTF-8 (:func:`decode` tells it)."""
    if tabs:
        try:
            rows = _rows(text, "\t")
        except csv.Error:  # the reader names the broken line
            return Dialect("\t")
        return Dialect("\t", "," if _decimal_commas(rows) else ".")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if ";" not in first:
        return Dialect()
    try:
        rows = _rows(text, ";")
    except csv.Error:  # the comma reader names the broken line
        return Dialect()
    widths = {len(row) for row in rows}
    if len(rows[0]) < 2 or ("," in first and len(widths) > 1):
        return Dialect()
    commas = Dialect(";", ",")
    numbers = any(commas.number(cell) != cell for row in rows for cell in row)
    return commas if numbers else Dialect(";")
