"""Which character separates a table file's cells, and which one is its decimal point.

A ``.tsv`` has tabs. A ``.csv`` has commas, or semicolons where the spreadsheet that wrote it uses
the comma as its decimal point (Excel and LibreOffice in most of continental Europe: ``3,14;2,5``;
pandas' ``to_csv(sep=";", decimal=",")``). A ``.csv`` is taken to have semicolons when its first
non-blank line holds one and, read with semicolons, has two cells or more; where that line also
holds a comma (a file without header whose numbers have decimal commas, or a comma file with a
``;`` inside a name) every row must then have the same number of cells, else commas are kept.

In a file of semicolons a comma in a number is its decimal point (``3,14`` is 3.14; ``1,234`` is
1.234, never a thousands separator); a number written with a point (``3.14``) reads as well, and a
file of semicolons none of whose cells is a number with a comma writes its numbers with points.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DELIMITERS = (",", ";", "\t")
"""The cell separators of the table files torchlvm reads."""


@dataclass(frozen=True)
class Dialect:
    """How a table file writes its cells.

    Attributes:
        delimiter: between cells: ``","``, ``";"`` or ``"\\t"``.
        decimal: the decimal point of its numbers: ``","`` with semicolons (unless no cell is a
            number written with a comma), else ``"."``.
    """

    delimiter: str = ","
    decimal: str = "."

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
        """How a ``.csv`` of ``width`` cells a row is written in this dialect: as it is, but with
        commas for tabs (a file read from a ``.tsv``), and with commas and points for a single
        column of decimal commas (no semicolon on a line for a reader to find: ``3,14`` would
        read back as two cells)."""
        if self.delimiter == "\t" or (self.decimal == "," and width < 2):
            return Dialect()
        return self

    def to_dict(self) -> dict[str, str]:
        """JSON-ready record (a run's table: later files it writes follow it)."""
        return {"delimiter": self.delimiter, "decimal": self.decimal}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Dialect:
        """The dialect ``record`` holds; a record without one (a run recorded before
        dialects were) is a comma file's.

        Raises:
            ValueError: for a delimiter or decimal point no table file has.
        """
        dialect = cls(record.get("delimiter", ","), record.get("decimal", "."))
        if dialect.delimiter not in DELIMITERS or dialect.decimal not in (".", ","):
            raise ValueError(f"not a table file's dialect: {dialect}")
        return dialect


def _rows(text: str, delimiter: str) -> list[list[str]]:
    """The rows of ``text`` that are not blank lines, read with ``delimiter``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return [row for row in reader if len(row) > 1 or any(row)]


def sniff(text: str, *, tabs: bool) -> Dialect:
    """The dialect of a table file's ``text`` (see the module docstring); ``tabs``: a ``.tsv``."""
    if tabs:
        return Dialect("\t")
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
