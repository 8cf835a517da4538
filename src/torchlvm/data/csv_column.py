"""One column of a table: its cells read as numbers (:func:`numbers`, the rules both readers
share), and the refusals of a column, each naming the line, the column and a fix: text in a
numeric column (dates, booleans, a class, percentages, thousands separators of another mark), no
value at all, or a column that numbers the rows (an ID or a saved index).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from torchlvm.data.columns import drop_option, offered_drop, offered_values, selector_of
from torchlvm.data.csv_cells import (
    column_kind,
    fix_for,
    is_missing,
    is_number,
    more_markers,
    one_group,
)
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_stray import stray_line
from torchlvm.data.file_warning import warn_of_file
from torchlvm.errors import DataError, Spell, in_python, spelled


def column_name(header: list[str] | None, j: int) -> str:
    """How a message names column ``j``, in the one numbering the options take: by its name
    (``column 'alcohol'``), with its 0-based index where an option takes that rather than the
    name (``column '2019' (index 3)``, ``column at index 0 (no name)``; a file without header:
    ``column 14 (index 13)``, the name a run records). A 1-based "column 1 (no name)" beside a
    0-based ``--drop-columns 0`` led a user to drop the real feature at index 1 (userK #14)."""
    if header is None:
        return f"column {j + 1} (index {j})"
    if not header[j]:
        return f"column at index {j} (no name)"
    named = f"column {header[j]!r}"
    return named if isinstance(_selector(header, j), str) else f"{named} (index {j})"


def _selector(header: list[str] | None, j: int) -> int | str:
    """How an option names column ``j``: :func:`~torchlvm.data.columns.selector_of`."""
    return selector_of(j, header)


def option_for(spell: Spell, keyword: str, header: list[str] | None, j: int) -> str:
    """Option ``keyword`` (``drop_columns`` or ``label_column``) set to column ``j`` as
    ``spell`` writes it; an index says that it counts from 0 ("column 14 ... drop_columns=[13]"
    read as a typo)."""
    selector = _selector(header, j)
    dropped, note = offered_drop(spell, [selector], header)
    text, note = (dropped, note) if keyword == "drop_columns" else (spell(keyword, selector), "")
    return (text if isinstance(selector, str) else f"{text}, its index counting from 0") + note


def drop_for(spell: Spell, header: list[str] | None, columns: list[int]) -> str:
    """Option ``drop_columns`` set to ``columns`` (and those already dropped) as ``spell``
    writes it; indices say that they count from 0."""
    selectors = [_selector(header, j) for j in columns]
    text, note = offered_drop(spell, selectors, header)
    if all(isinstance(s, str) for s in selectors):
        return text + note
    indices = [s for s in offered_values(selectors, header)[0] if not isinstance(s, str)]
    return f"{text}, {'its index' if len(indices) == 1 else 'indices'} counting from 0{note}"


def parse_column(
    path: Path, header, lines, cells: list[str], j: int, dialect, rows: list[list[str]]
) -> np.ndarray:
    """``(N,)`` float64 values of column ``j`` (``cells``, of data ``rows``) by
    :func:`numbers`; where a cell is no number, the refusal naming it.

    Raises:
        DataError: naming the first such cell, its line, the column and a fix."""
    found = numbers(cells, dialect)
    if found is not None:
        return found
    if dialect.undecided:  # 1,234: 1234 or 1.234, which the file does not tell
        doubt = next((i for i, c in enumerate(cells) if one_group(c, dialect.undecided)), None)
        if doubt is not None:
            raise _of_column(
                DataError(
                    f"{path} line {lines[doubt]}, {column_name(header, j)}: cannot read "
                    f"{cells[doubt].strip()!r} as a number; "
                    f"{fix_for(cells[doubt], dialect.decimal, dialect.undecided)}"
                ),
                j,
            )
    read = [dialect.number(c) for c in cells]
    text = [i for i, c in enumerate(read) if not is_missing(c) and not is_number(c)]
    assert text  # (numbers reads every column of numbers and missing markers)
    given = [i for i, c in enumerate(read) if not is_missing(c)]
    fixes = [fix_for(cells[i], dialect.decimal, dialect.undecided) for i in text]
    if text and len(text) == len(given) and not any(fixes):
        raise _text_column(path, header, lines, cells, j, text)
    i, fix = next(((i, f) for i, f in zip(text, fixes, strict=True) if f), (text[0], None))
    cell = cells[i].strip()
    held = _held(cells, text, fixes, i, fix, len(given))
    stray = None if fix else stray_line(path, header, lines, rows, i, dialect)
    if stray is not None:
        raise stray
    every = held.startswith(" (all")  # (no cell of the column to leave empty)
    said = (
        f"{path} line {lines[i]}, {column_name(header, j)}: cannot read {cell!r} as a number"
        f"{held}; {fix or 'correct the cell'}"
    )
    if every:
        raise _of_column(DataError(said), j)
    raise _of_column(
        spelled(
            DataError,
            lambda spell: (
                f"{said}, or mark it missing: leave it empty, or name it with "
                f"{spell('na_values', [cell])}"
            ),
        ),
        j,
    )


def _of_column(error: DataError, j: int) -> DataError:
    """``error``, marked as the refusal of column ``j`` alone (``column``), which a reader
    names with the file's other such columns in one line (:func:`refused_columns`)."""
    error.column = j  # type: ignore[attr-defined]
    return error


def numbers(cells: Sequence[str], dialect: Dialect) -> np.ndarray | None:
    """``(N,)`` float64 of a column's ``cells`` by the reader's rules, the one place they are
    (both readers call it: :mod:`torchlvm.data.csv_chunks`, :func:`parse_column`): each cell
    read in ``dialect``'s marks (:meth:`~torchlvm.data.csv_dialect.Dialect.number`), a missing
    marker NaN (:func:`~torchlvm.data.csv_cells.is_missing`); None where a cell is text, or a
    one-group number the file does not tell (``1,234`` where ``dialect.undecided``: 1234 or
    1.234), which :func:`parse_column` names."""
    if dialect.undecided and any(one_group(c, dialect.undecided) for c in cells):
        return None  # (else the cells as they are would read '1.234' as 1.234 unasked)
    if more_markers():  # (a token such as -999 reads as a number: each cell is compared)
        return _marked(cells, dialect)
    if dialect.decimal == ".":  # the cells as they are, at once
        try:
            return np.array(cells, dtype=np.float64)
        except ValueError:
            pass  # thousands separators, a missing marker or text: read them
    read = [dialect.number(c) for c in cells]
    try:
        return np.array(read, dtype=np.float64)
    except ValueError:
        pass  # a missing marker or text: look cell by cell
    try:
        return np.array([np.nan if is_missing(c) else float(c) for c in read], dtype=np.float64)
    except ValueError:
        return None


def _marked(cells: Sequence[str], dialect: Dialect) -> np.ndarray | None:
    """:func:`numbers` of ``cells`` where a file has markers of its own (``--na-values``)."""
    try:
        return np.array(
            [np.nan if is_missing(c) else float(dialect.number(c)) for c in cells],
            dtype=np.float64,
        )
    except ValueError:
        return None


_DIGITS = re.compile(r"[-+]?[\d.,]+(?:[eE][-+]?\d+)?")  # a number, its sign and exponent


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
    """The refusal of column ``j``, all text: the fix of dates, booleans or a scale's answers,
    else drop it (a row name) or take it as the labels (a class). It carries ``text_column``,
    ``(j, first, kind)``, for a refusal of several such columns (:func:`text_columns`)."""
    first = f"{cells[text[0]].strip()!r} on line {lines[text[0]]}"
    kind = column_kind(cells)
    given = [c.strip() for c in cells if not is_missing(c)]
    levels = len(set(given))

    def message(spell: Spell) -> str:
        drop, label = (option_for(spell, k, header, j) for k in ("drop_columns", "label_column"))
        if len(set(given)) == 1:  # one text on every row: nothing to learn or condition on
            return (
                f"{path}: {column_name(header, j)} holds one text, {given[0]!r}, on every row, so "
                f"it is constant: drop it ({drop})"
            )
        if kind == "scale":
            return (
                f"{path}: {column_name(header, j)} holds answers on a scale, not numbers "
                f"({first}; {levels} answers); to keep it, code the answers as numbers "
                f"(1..{levels}, in their order) in your file; else use it as labels ({label}) "
                f"or drop it ({drop})"
            )
        if kind == "dates":
            return (
                f"{path}: {column_name(header, j)} holds dates, not numbers ({first}); drop it "
                f"({drop}), or write them as numbers (such as days since the first) to keep them"
            )
        if kind == "decimal commas":
            return f"{path}: {column_name(header, j)} holds {DECIMAL_COMMAS} ({first}); {RESAVE}"
        if kind == "booleans":
            return (
                f"{path}: {column_name(header, j)} holds booleans, not numbers ({first}); write "
                f"them as 1 and 0 to keep them as a feature, use them as labels ({label}), or "
                f"drop the column ({drop})"
            )
        return (
            f"{path}: {column_name(header, j)} holds text, not numbers ({first}); if it names "
            f"rows, drop it ({drop}); if it is a class, use it as labels ({label})"
        )

    error = _of_column(spelled(DataError, message), j)
    error.text_column = (j, first, kind)  # type: ignore[attr-defined]
    return error


_KINDS = {"scale": "answers on a scale", "dates": "dates", "booleans": "booleans",
          "decimal commas": "numbers with a decimal comma", None: "text"}  # fmt: skip
"""What a column of each :func:`~torchlvm.data.csv_cells.column_kind` holds, in words."""


DECIMAL_COMMAS = (
    "numbers written with a decimal comma in a file whose cells are separated by commas, so "
    "each is quoted text, not a number"
)
RESAVE = (
    "save the file with ';' between its cells (pandas: df.to_csv(path, sep=';', decimal=',', "
    "index=False)) or with decimal points (df.to_csv(path, index=False)), which torchlvm reads "
    "as numbers"
)
"""The fix for numbers with a decimal comma in a comma-separated file (pandas' ``decimal=','``
with its default separator writes '"14,23"'; a file of ';' reads them as numbers)."""


def text_columns(path: Path, header: list[str] | None, refused: list[DataError]) -> DataError:
    """The one refusal of the columns of text ``refused`` names (:func:`parse_column`'s
    refusals, each with its ``text_column``): the first one's, where it is alone; else every
    column named with what it holds, and one option that drops them all (a file of several such
    columns was refused one column a try)."""
    if len(refused) == 1:
        return refused[0]
    found = [error.text_column for error in refused]  # type: ignore[attr-defined]
    shown = "; ".join(
        f"{column_name(header, j)}, {_KINDS[kind]}: {first}" for j, first, kind in found[:6]
    )
    more = f"; and {len(found) - 6} more" if len(found) > 6 else ""
    kinds = {kind for _, _, kind in found}

    def message(spell: Spell) -> str:
        if kinds == {"decimal commas"}:  # (every feature, as pandas' decimal=',' writes them)
            cells = "; ".join(f"{column_name(header, j)}: {first}" for j, first, _ in found[:6])
            return f"{path}: {len(found)} columns hold {DECIMAL_COMMAS} ({cells}{more}); {RESAVE}"
        drop = drop_option(spell, [_selector(header, j) for j, _, _ in found], header)
        keep = [
            *(
                ["code a scale's answers as numbers (1, 2, ... in their order)"]
                * ("scale" in kinds)
            ),
            *(["write booleans as 1 and 0"] * ("booleans" in kinds)),
            *(["write decimal commas as points"] * ("decimal commas" in kinds)),
        ]
        kept = f"; to keep one, {' and '.join(keep)} in your file" if keep else ""
        return (
            f"{path}: {len(found)} columns hold no numbers ({shown}{more}); drop them "
            f"({drop}){kept}; a class can be the labels ({spell('label_column', 'NAME')})"
        )

    return spelled(DataError, message)


SAID = 6
"""The columns a refusal of several names one by one; the rest are counted."""


def refused_columns(path: Path, header: list[str] | None, refused: list[DataError]) -> DataError:
    """The one refusal of the columns ``refused`` (each a column's own refusal, in file
    order, :func:`_of_column`): the first one's, where it is alone; those of text columns
    together (:func:`text_columns`); else each column's, numbered, and one option that drops
    them all (userK #3: a file of a currency, a percent and a yes/no column was refused one
    column a run, each after a full read)."""
    if len(refused) == 1:
        return refused[0]
    if all(hasattr(error, "text_column") for error in refused):
        return text_columns(path, header, refused)
    columns = [error.column for error in refused]  # type: ignore[attr-defined]
    more = f" and {len(refused) - SAID} more" if len(refused) > SAID else ""

    def message(spell: Spell) -> str:
        said = [
            getattr(error, "on_command_line", str(error)) if spell is not in_python else str(error)
            for error in refused[:SAID]
        ]
        parts = " ".join(
            f"({k + 1}) {text.removeprefix(str(path)).lstrip(':, ')}" for k, text in enumerate(said)
        )
        return (
            f"{path}: {len(refused)} columns cannot be read as numbers: {parts}{more}. Drop those "
            f"you do not need ({drop_for(spell, header, columns)}) and fix the others as said"
        )

    return spelled(DataError, message)


def check_column(path: Path, header, values: np.ndarray, j: int, allow_empty) -> None:
    """Refuse column ``j`` (its ``values``) with no value (unless ``allow_empty``), or one that
    numbers the rows (:func:`_check_not_id`); warn of a number coding a missing value
    (:func:`~torchlvm.data.csv_sentinel.warn_of_codes`)."""
    from torchlvm.data.csv_sentinel import warn_of_codes

    if np.isnan(values).all() and allow_empty not in (True, "columns"):
        raise _of_column(
            spelled(
                DataError,
                lambda spell: (
                    f"{path}: {column_name(header, j)} has no value in any row; drop it "
                    f"({option_for(spell, 'drop_columns', header, j)})"
                ),
            ),
            j,
        )
    _check_not_id(path, header, values, j)
    warn_of_codes(path, header, values, j)


SHUFFLED_ROWS = 10
"""From this many rows on, a column holding each whole number of a range once, in another order,
numbers the rows (a shuffled frame's index); below it, a feature may by chance."""


_ID_NAME = re.compile(
    r"unnamed: ?\d+|index|idx|id|.*[ _.-]id|id[ _.-].*|key|n|no\.?|nr\.?|num|number|#|n[°º]"
    r"|rows?|row[ _]?(id|no\.?|nr\.?|num|number)|record|obs"
    # a sample's or a patient's number as European exports name it: 'Proben-Nr.', 'Lfd. Nr.',
    # 'Nummer', 'Patienten-Nummer', 'N° échantillon' (userR #7)
    r"|nummer|.*[ _.-](nr|no|num|number|nummer|n[°º])\.?|n[°º][ _.-].*",
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
        warn_of_file(
            path,
            f"{path}: {column_name(header, j)} {held}; it is read as a feature, as its name does "
            f"not say it is an ID or an index; if it is one, drop it (--drop-columns "
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
    raise _of_column(
        spelled(
            DataError,
            lambda spell: (
                f"{path}: {column_name(header, j)} {held}, so it looks like an ID or an index, "
                f"not a feature; drop it ({option_for(spell, 'drop_columns', header, j)}){save}"
            ),
        ),
        j,
    )
