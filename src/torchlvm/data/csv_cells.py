"""A table cell's text as a number, in its file's marks, and what a cell that is none is.

A number may carry thousands separators, as a spreadsheet shows it: the mark that is not the
file's decimal point, between groups of three digits after a first group of one to three that
does not start with 0 (``1,234,567.5`` and quoted ``"1,234"`` in a file of decimal points;
``1.234.567,5`` and ``1.234`` in one of decimal commas). One group without decimals in the
decimal point's own mark is a decimal number (``1,234`` is 1.234 in a file of decimal commas).
Where a file's other numbers do not tell whether such a one-group number's mark is a thousands
separator or a decimal point (``1,234`` in a ``.tsv``, ``1.234`` in a file of semicolons:
:func:`torchlvm.data.csv_dialect.sniff`), it is read as neither, and refused naming both.

Groups separated by a space (French, also with a no-break or narrow no-break space) or an
apostrophe (Swiss) are thousands in any file: ``1 234,5`` with decimal commas, ``1'234.5``.

A cell that is no number is named for what it is where that names the fix: a number with a
percent or currency sign, a typographic minus (``−1.5``, U+2212) or an accounting format's
brackets (``(123)``, as pandas' ``read_csv`` reads none of them), a column of dates, of booleans
(``True``/``False``, ``yes``/``no``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

from torchlvm._dates import all_dates

MISSING_MARKERS: frozenset[str] = frozenset(
    {"", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na", "?"}
)
"""What marks a missing cell, compared case-insensitively, spaces aside: pandas' default
markers (and an empty cell)."""


_MORE: ContextVar[tuple[frozenset[str], frozenset[float]]] = ContextVar(
    "na_values", default=(frozenset(), frozenset())
)
"""The markers a file is read with beyond :data:`MISSING_MARKERS` (:func:`marking_missing`):
as written, and the numbers among them."""


def na_tokens(tokens: Sequence[str]) -> tuple[str, ...]:
    """``tokens`` (``--na-values``, ``na_values=``) as cells are compared with them: spaces
    aside, lower case, sorted, once each, the markers every file has left out."""
    if isinstance(tokens, str):
        tokens = [tokens]
    found = {str(t).strip().lower() for t in tokens}
    return tuple(sorted(found - MISSING_MARKERS))


@contextmanager
def marking_missing(tokens: Sequence[str]) -> Iterator[None]:
    """Within the block, a cell equal to one of ``tokens`` (as :func:`na_tokens` compares
    them; a number token: a cell of that number however written, ``-999.0`` for ``-999``)
    marks a missing value too."""
    texts = na_tokens(tokens)
    numbers = frozenset(float(t) for t in texts if is_number(t))
    reset = _MORE.set((frozenset(texts), numbers))
    try:
        yield
    finally:
        _MORE.reset(reset)


def more_markers() -> frozenset[str]:
    """The markers of :func:`marking_missing` in force, as written (none outside a block)."""
    return _MORE.get()[0]


def is_missing(cell: str) -> bool:
    """Whether ``cell`` marks a missing value (:data:`MISSING_MARKERS`, and the tokens of
    :func:`marking_missing` in force)."""
    text = cell.strip().lower()
    if text in MISSING_MARKERS:
        return True
    texts, numbers = _MORE.get()
    return text in texts or bool(numbers) and is_number(text) and float(text) in numbers


OTHER = {",": ".", ".": ","}
"""The other mark: the thousands separator of a decimal point, and the reverse."""

_GROUPED = {  # thousands separators, then decimals in the other mark
    mark: re.compile(rf"[+-]?[1-9]\d{{0,2}}(?:\{mark}\d{{3}})+(?:\{OTHER[mark]}\d*)?")
    for mark in OTHER
}
_ONE_GROUP = {mark: re.compile(rf"[+-]?[1-9]\d{{0,2}}\{mark}\d{{3}}") for mark in OTHER}
# a space (French: also no-break and narrow no-break) or an apostrophe (Swiss) between groups:
# a thousands separator in any file, the decimals in the file's own mark
_SPACED = re.compile(r"[+-]?[1-9]\d{0,2}(?:[ '\u00a0\u202f]\d{3})+(?:[.,]\d*)?")
_SPACES = re.compile("[ '\u00a0\u202f]")
_CURRENCY = "$€£¥"
_BOOLEANS = (
    {"true", "false"}, {"yes", "no"}, {"y", "n"},
    # as European exports write them (userR #6: a German 'ja'/'nein' column was called text)
    {"ja", "nein"}, {"wahr", "falsch"}, {"j", "n"}, {"oui", "non"}, {"vrai", "faux"},
    {"sí", "no"}, {"si", "no"}, {"sim", "não"}, {"ja", "nee"}, {"ja", "nej"}, {"ja", "nei"},
    {"tak", "nie"}, {"kyllä", "ei"},
)  # fmt: skip


def code_name(code: float) -> str:
    """The class name of a table's whole-number label code (``3.0``: ``"3"``): how a file to
    train on names its codes (:func:`~torchlvm.data.csv_table.read_csv`) and how a later file's
    codes are matched to those names (:meth:`~torchlvm.data.dataset.Dataset.with_classes`),
    which must agree to the character."""
    return f"{code:.0f}"


def is_number(text: str) -> bool:
    """Whether Python's ``float`` reads ``text``."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def one_group(cell: str, mark: str) -> bool:
    """Whether ``cell`` is a number of one thousands group in ``mark`` and no decimals
    (``'1,234'``): 1234 with a thousands separator, or 1.234 with a decimal ``mark``."""
    return mark in cell and _ONE_GROUP[mark].fullmatch(cell.strip()) is not None


def decimal_in(cell: str, mark: str) -> bool:
    """Whether ``cell`` is a number whose ``mark`` can only be its decimal point: ``'3,14'``,
    ``'0,125'``, ``'1.234,5'`` for a comma; ``'3.14'``, ``'1,234.5'`` for a point."""
    text = cell.strip()
    if mark not in text or one_group(text, mark):
        return False
    other = OTHER[mark]
    grouped = _GROUPED[other].fullmatch(text)
    if grouped and other in text:
        return mark in text  # '1.234,5': the other mark groups, this one is decimal
    if _SPACED.fullmatch(text):  # '1 234,5' (French, a no-break space between groups)
        text = _SPACES.sub("", text)
    return text.count(mark) == 1 and other not in text and is_number(text.replace(mark, "."))


def read_number(cell: str, decimal: str) -> str:
    """``cell`` as Python's ``float`` reads it, in a file whose decimal point is ``decimal``:
    thousands separators taken out, a decimal comma made a point; any text as it is."""
    text = cell.strip()
    if _SPACES.search(text) is None:
        if OTHER[decimal] not in text and text.count(decimal) <= 1:  # no thousands: at once
            if decimal == "," and "," in text:
                point = text.replace(",", ".")
                return point if is_number(point) else cell  # text ('a,b'): quoted as written
            return cell
    elif _SPACED.fullmatch(text) and OTHER[decimal] not in text:
        return _SPACES.sub("", text).replace(decimal, ".")
    for mark, pattern in _GROUPED.items():
        if pattern.fullmatch(text):
            if mark == decimal and text.count(mark) == 1 and OTHER[mark] not in text:
                break  # '1,234' in a file of decimal commas: 1.234
            return text.replace(mark, "").replace(OTHER[mark], ".")
    if decimal == "," and text.count(",") == 1 and "." not in text:
        point = text.replace(",", ".")
        return point if is_number(point) else cell  # text ('a,b'): quoted as written
    return cell


_ZERO = "write 0 where it is a spreadsheet's zero (an accounting format shows 0 as -)"
NO_NUMBER: dict[str, str] = {
    "-": _ZERO,
    "–": _ZERO,
    "—": _ZERO,
    ".": "it is how SAS and Stata write a missing value: write NA",
}
"""Marks of no number and their fixes: a dash is a missing value in printed tables and a zero in
Excel's accounting format, a dot a missing value in SAS and Stata exports; which one a file
means, torchlvm does not guess (pandas reads neither as missing)."""


_NUMPY_SCALAR = re.compile(r"np\.(?:float|int|uint)\d*\(([^()]*)\)")
"""A numpy 2 scalar's repr (``np.float64(0.125)``), as ``str(list_of_scalars)`` or a CSV
written with ``%r`` holds it."""


_CENSORED = re.compile(r"([<>≤≥])=?\s*(\S+)")
"""A censored cell, as lab exports write a value beyond a limit of detection: ``<0.01``,
``>1000``, ``≤ 5``."""


def fix_for(cell: str, decimal: str, undecided: str = "") -> str | None:
    """The fix for a cell that is almost a number, or None: a one-group number in the file's
    ``undecided`` mark, a number with a typographic minus, in an accounting format's brackets
    or with a percent or currency sign, or a mark of no number (:data:`NO_NUMBER`)."""
    text = cell.strip()
    if text in NO_NUMBER:
        return NO_NUMBER[text]
    if undecided and one_group(text, undecided):
        whole, other = text.replace(undecided, ""), text.replace(undecided, OTHER[undecided])
        return (
            f"it may be {whole} (with a thousands separator) or {text.replace(undecided, '.')}, "
            f"and no other number in the file shows which; write it as {whole} or as {other}"
        )
    scalar = _NUMPY_SCALAR.fullmatch(text)
    if scalar is not None and is_number(scalar.group(1)):
        return (
            f"write its numbers alone ({scalar.group(1)}: the cell holds numpy 2's repr of a "
            "scalar; write float(x), or save with np.savetxt(..., fmt='%.17g'))"
        )
    if text.startswith("\u2212") and any(is_number(read_number("-" + text[1:], m)) for m in OTHER):
        return "write its minus sign as '-' (it is U+2212, a typographic minus)"
    bare = text[1:-1].strip()
    if text[:1] + text[-1:] == "()" and any(is_number(read_number(bare, m)) for m in OTHER):
        return f"write it as -{bare} (an accounting format shows a negative number in brackets)"
    censored = _CENSORED.fullmatch(text)
    limits = [] if censored is None else [read_number(censored[2], m) for m in OTHER]
    limit = next((v for v in limits if is_number(v)), None)
    if limit is not None:  # (userR #3: '<0.01' was offered only as a missing value)
        below = censored[1] in "<≤"
        such = f"the limit or half of it ({float(limit) / 2:g})" if below else "the limit"
        return (
            f"it is a value {'below' if below else 'above'} a limit of detection, "
            f"{censored[2]} (a missing cell's fill would not know that limit): write it as a "
            f"number, such as {such}"
        )
    for sign, what in (("%", "percent signs"), *((c, "currency signs") for c in _CURRENCY)):
        bare = text.removeprefix(sign).removesuffix(sign).strip()
        if bare != text and any(is_number(read_number(bare, mark)) for mark in OTHER):
            return (
                f"write its numbers without {what} ({bare}; in a spreadsheet, format the cells "
                "as numbers)"
            )
    return None


_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+")
"""A number written with a decimal comma, which a file of cells separated by commas holds as
quoted text ('"14,23"': pandas' ``to_csv(decimal=',')`` with its default separator)."""


def column_kind(cells: Sequence[str]) -> str | None:
    """What a column of text holds where that names its fix: ``"dates"``, ``"booleans"``,
    ``"decimal commas"`` (numbers such as ``14,23``, in a file whose decimal mark is the point),
    ``"scale"`` (a survey's answers: at most :data:`SCALE_LEVELS` texts, most of them words of
    an ordered scale, such as ``Agree`` .. ``Strongly disagree``), else None."""
    given = [c.strip() for c in cells if c.strip()]
    if all_dates(given):
        return "dates"
    if given and all(_DECIMAL_COMMA.fullmatch(c) for c in given):
        if any(len(c.rpartition(",")[2]) != 3 for c in given):  # ('1,234' alone: a thousand?)
            return "decimal commas"
    levels = {c.lower() for c in given}
    if given and any(levels <= pair for pair in _BOOLEANS):
        return "booleans"
    scaled = sum(bool(_SCALE_WORDS.search(level)) for level in levels)
    if 2 <= len(levels) <= SCALE_LEVELS and 2 * scaled > len(levels):
        return "scale"
    return None


SCALE_LEVELS = 11
"""The most texts of a column read as answers on an ordered scale (0..10, as a survey asks)."""

_SCALE_WORDS = re.compile(
    r"\b(?:(?:dis)?agree|neutral|(?:dis|un)?satisfied|(?:un)?likely|never|rarely|seldom|"
    r"sometimes|often|usually|always|poor|fair|good|excellent|(?:un)?important|strongly|"
    r"somewhat|very|low|medium|high|none|mild|moderate|severe)\b"
)
"""Words of an ordered scale's answers (Likert's and the like)."""
