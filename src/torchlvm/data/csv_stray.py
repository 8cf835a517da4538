"""Lines of a spreadsheet's table that are no rows of data, named as what they are.

A sheet saved as CSV often holds more than the table: a title above the header (``Sales report
2024``), a line of units under it (``kg,m,s``), a note under the rows (``Source: ...``), a totals
row at the end (``Total,1234,56``). Read as rows, each fails a check made for other causes (two
columns both named ``''``, a row of another width, text in a numeric column), whose fix would
not help. Where such a check fails, the reader first asks :func:`stray_line` whether the line
at fault is one of these, and names it and its fix (delete the line) instead.

A line is taken for a title, units or a note when it holds no number and no missing marker
(text alone) while a column it fills holds numbers on the rows by it; for a total, when its
first cell says so (:data:`_TOTAL`: ``Total``, ``Sum``, ``Mean``, ``Subtotal``, ...) and its
others are numbers. It is looked for only on the way to an error: a good file pays nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from torchlvm.data.csv_cells import is_missing, is_number
from torchlvm.data.csv_dialect import Dialect
from torchlvm.errors import DataError

_TOTAL = re.compile(
    r"(?:sub|grand )?totals?|sum|sums|mean|average|avg|summe|somme|suma|totale|totaal|gesamt",
    re.IGNORECASE,
)
"""What the first cell of a totals row says (English, German, French, Spanish, Italian,
Dutch), a colon after it aside."""


def _text_only(row: list[str], dialect: Dialect) -> bool:
    """Whether ``row`` holds text and nothing else: no number, no missing marker; empty cells
    aside, one cell at least."""
    given = [cell for cell in row if cell.strip()]
    return bool(given) and not any(
        is_missing(cell) or is_number(dialect.number(cell)) for cell in given
    )


def _numbers_by(rows: list[list[str]], i: int, row: list[str], dialect: Dialect) -> bool:
    """Whether a column that ``row`` fills with text holds a number on one of the (up to 5)
    rows after row ``i`` of ``rows``, or before it where it is among the last."""
    filled = [j for j, cell in enumerate(row) if cell.strip()]
    return any(
        j < len(other) and is_number(dialect.number(other[j]))
        for other in rows[i + 1 : i + 6] or rows[max(0, i - 5) : i]
        for j in filled
    )


def _shown(row: list[str]) -> str:
    """The text of ``row``'s first filled cells, for a message."""
    given = [cell.strip() for cell in row if cell.strip()]
    return ", ".join(repr(c[:30]) for c in given[:3]) + (", ..." if len(given) > 3 else "")


def stray_line(
    path: Path,
    header: list[str] | None,
    lines: list[int],
    rows: list[list[str]],
    i: int,
    dialect: Dialect,
) -> DataError | None:
    """The refusal of data row ``i`` (file line ``lines[i]``) where it is no row of data (see
    the module docstring), else None; row 0 under a header of text alone is named with it (a
    title above the header, or units under it: which is the header only the user knows)."""
    row = rows[i]
    if _text_only(row, dialect) and _numbers_by(rows, i, row, dialect):
        if i == 0 and header is not None:
            return DataError(
                f"{path} line {lines[0]} holds text alone ({_shown(row)}), as the header line "
                f"above it does ({_shown(header)}), and numbers follow; a table has one header "
                "line: delete the line that does not name the columns (a title above the "
                "header, or units under it)"
            )
        last = " (the last row)" if i == len(rows) - 1 else ""
        return DataError(
            f"{path} line {lines[i]}{last} holds text alone ({_shown(row)}) among rows of "
            "numbers: it is no row of data (a note, a title or a units line); delete it"
        )
    first, others = (row[0].strip(), row[1:]) if row else ("", [])
    if (
        _TOTAL.fullmatch(first.rstrip(":"))
        and any(cell.strip() for cell in others)
        and all(not cell.strip() or is_number(dialect.number(cell)) for cell in others)
    ):
        return DataError(
            f"{path} line {lines[i]} starts with {first[:30]!r} beside numbers: a totals row, "
            "which is no row of data; delete it (and any other row that sums the rows above it)"
        )
    return None
