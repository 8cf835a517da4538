"""Lines of a spreadsheet's table that are no rows of data, named as what they are.

A sheet saved as CSV often holds more than the table: a title above the header (``Sales report
2024``), a line of units under it (``kg,m,s``), a note under the rows (``Source: ...``), a totals
row at the end (``Total,1234,56``). Read as rows, each fails a check made for other causes (two
columns both named ``''``, a row of another width, text in a numeric column), whose fix would
not help. Where such a check fails, the reader first asks :func:`stray_line` whether the line
at fault is one of these, and names it and its fix (delete the line) instead.

A line is taken for a title, units or a note when it holds no number and no missing marker
(text alone) while a column it fills holds numbers on the rows by it; for a total, when a
cell says so (:data:`_TOTAL`: ``Total``, ``Sum``, ``Mean``, ``Subtotal``, ...) and its others
are numbers (or empty). It is looked for only on the way to an error: a good file pays
nothing. A last row of sums whose word is in a dropped column, or in none, is read as numbers:
:func:`check_totals` looks at the last row of a file to train on (one sum per column).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

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
    said = _total_word(row, dialect)
    if said is not None:
        where = "starts with" if said == row[0].strip() else "holds"
        return DataError(
            f"{path} line {lines[i]} {where} {said[:30]!r} beside numbers: a totals row, "
            "which is no row of data; delete it (and any other row that sums the rows above it)"
        )
    return None


def _total_word(row: list[str], dialect: Dialect) -> str | None:
    """The word of :data:`_TOTAL` that ``row`` holds beside numbers, its other cells numbers
    or empty, else None. In any column: 'Total' under a numeric label column (the first one
    an ID's) was offered as ``--na-values Total`` (userP #14)."""
    words = [cell.strip() for cell in row if cell.strip() and not is_number(dialect.number(cell))]
    numbers = any(is_number(dialect.number(cell)) for cell in row)
    if not words or not numbers or not all(_TOTAL.fullmatch(w.rstrip(":")) for w in words):
        return None
    return words[0]


def check_totals(path: Path, lines: list[int], values: np.ndarray) -> None:
    """Refuse a last row whose values are the sums of the rows above it, column by column (its
    'Total' in an ID column left out, or in no column): read as data it was the far cell of
    every column, and its columns 'copies' of each other (diabetes with a sums row: 'bmi is
    column age in other units', userP #14). Its observed cells (2 at least) must each be its
    column's sum (the observed cells above, as a spreadsheet's SUM adds them) to 1e-5, and no
    sum 0 (a row of zeros under centred columns is data).

    Raises:
        DataError: naming its line and the first sums."""
    if len(values) < 4:
        return
    last, above = values[-1], values[:-1]  # (D,), (N - 1, D)
    seen = ~np.isnan(last)
    if seen.sum() < 2:
        return
    sums = np.nansum(above[:, seen], axis=0)
    sizes = np.nansum(np.abs(above[:, seen]), axis=0)
    if not np.all(np.abs(sums) > 1e-9 * sizes) or not np.allclose(
        last[seen], sums, rtol=1e-5, atol=0
    ):
        return
    shown = ", ".join(f"{v:g}" for v in last[seen][:3]) + (", ..." if seen.sum() > 3 else "")
    raise DataError(
        f"{path} line {lines[-1]} (the last row) holds the sums of the rows above it, column by "
        f"column ({shown}): a totals row, which is no row of data; delete it"
    )
