"""How a table column writes its numbers, learned from its cells, and a new value written so.

``impute`` writes values among the user's cells; each is written as its column writes its own,
so that the file reads back, by pandas' ``read_csv`` as by torchlvm, as one clean numeric column:

- its decimals: a column of whole numbers (``32``, also ``32.0`` as pandas writes an integer
  column with missing cells) gets whole numbers, rounded (half to even), written with the
  column's ``.0``; a column of two decimals (``1060.94``, ``998.10``) two; a column of varying
  decimals (pandas' shortest floats, ``2.0``, ``3.5``, ``1.25``) at most its most, trailing
  zeros dropped but the one after the mark such a column writes (``2.0``); never more digits
  than the model's precision holds (:func:`~torchlvm.data.csv_write.number_text`), so no
  float32 value is padded with noise;
- its thousands separator, where its numbers of four digits or more have one (``1,060.94``,
  ``1.060,94``, ``1 060,94``, ``1'060.94``);
- its decimal mark (the file's: ``3,14`` with decimal commas);
- its leading zeros, where every whole number has the same count of digits and some start with
  a zero (codes ``01``, ``02``, ``10``: userU #1, a CVAE's classes came back as ``1``, ``2``).

A column written in exponents with a fixed count of decimals (``1.054e-01``, ``%.3e``; numpy's
``savetxt``) gets that count in exponents, padded with zeros where the value's shortest text
has fewer (``-4.000e-03``). A column of positional numbers and exponents mixed
(pandas' shortest floats, ``1e-05`` beside ``0.5``), or with fewer than :data:`SHOWN` numbers to
learn from, gets the value's shortest text (:func:`~torchlvm.data.csv_write.number_text`) in the
file's decimal mark.

A form may keep more digits than its column writes (:meth:`NumberForm.finer`): ``impute``
writes a conditional mean 2 decimals finer than its column, as rounding it to the column's own
step would bias every mean or share computed from the filled file.
Quoting is the file's text's, not the number's: :mod:`torchlvm.data.csv_rewrite`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

import numpy as np

from torchlvm.data.csv_cells import is_missing, is_number
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_write import number_text

SHOWN = 3
"""The numbers a column must hold to show its decimals: of a column of one decimal, about 1
number in 10 looks whole (``40.0`` written ``40``), 3 in a row 1 in 1000; with fewer, a value is
written as computed."""

FINER = 2
"""Decimals a model's mean (a filled cell, a reconstruction) keeps beyond its column's: a mean
rounded to the column's own step (a 0/1 column's mean of 0.15 to 0) biases every mean or share
computed from the file, and its error from the input; 2 more move it by at most 1/200 of the
step (0.15 stays 0.15). Draws (``sample``) keep the column's step: they hold the noise."""

FULL = 15
"""Decimals from which a column writes floats in full (a float64's shortest text of a number
near 1 has 15 to 17): rounding to them changes no value in effect, and is not said."""

_GROUPINGS = {
    " ": "spaces",
    "\u00a0": "no-break spaces",
    "\u202f": "narrow no-break spaces",
    "'": "apostrophes",
}
"""Thousands separators by name, where their ``repr`` would not say them."""

_POSITIONAL = re.compile(r"[+-]?(\d*)(?:\.(\d*))?")  # a float's text without an exponent
_CONTEXT = Context(prec=400)  # exact enough for any float64 at any number of places


@dataclass(frozen=True)
class NumberForm:
    """How a column writes its numbers (see the module docstring).

    Attributes:
        places: the decimals a value is rounded to (0: whole numbers); None: as many as its
            shortest text holds (a column written in exponents, or with no number).
        least: the decimals a value is padded to with zeros: a column's fixed count, which
            shows in cells ending in a zero (``2`` in a column of ``1.50``, ``2.25``); ``1``
            in pandas' floats (``32.0``; ``2.0``, ``3.25``), whose cells each have a mark;
            a column in exponents' count (``%.3e``: 3); else 0 (trailing zeros dropped).
        grouping: its thousands separator, ``""`` for none.
        decimal: its decimal mark.
        exponent: ``"e"`` or ``"E"`` for a column written in exponents (``places``: the
            decimals of the number before it), ``""`` for positional numbers.
        pad: the digits a whole number is padded to with leading zeros (``01``: 2); 0 for
            none.
    """

    places: int | None = None
    least: int = 0
    grouping: str = ""
    decimal: str = "."
    exponent: str = ""
    pad: int = 0

    def finer(self, digits: int) -> NumberForm:
        """This form rounding to ``digits`` more decimals (a form written as computed stays
        so)."""
        return self if self.places is None else replace(self, places=self.places + digits)

    def text(self, value: float, *, single: bool = False) -> str:
        """``value`` written in this form, at float32's precision when ``single`` (see
        :func:`~torchlvm.data.csv_write.number_text`); NaN is empty."""
        shortest = number_text(value, single=single)
        if not shortest or not math.isfinite(value) or self.places is None:
            return shortest.replace(".", self.decimal)
        exact = Decimal(shortest)
        if self.exponent:
            return self._in_exponent(value, len(exact.as_tuple().digits) - 1)
        if -exact.as_tuple().exponent > self.places:  # more digits than the column writes
            step = Decimal(1).scaleb(-self.places)
            exact = Decimal(float(value)).quantize(step, ROUND_HALF_EVEN, _CONTEXT)
        whole, _, fraction = format(exact, "f").partition(".")
        fraction = fraction.rstrip("0")
        fraction += "0" * (self.least - len(fraction))
        sign = "-" if whole.startswith("-") and (whole.strip("-0") or fraction.strip("0")) else ""
        digits = whole.lstrip("-").zfill(self.pad)
        if self.grouping:
            digits = f"{int(digits):,}".replace(",", self.grouping)
        return sign + digits + (self.decimal + fraction if fraction else "")

    def _in_exponent(self, value: float, held: int) -> str:
        """``value`` in this form's exponents: rounded to its decimals, at most the ``held``
        decimals of its shortest text (no float noise), then padded with zeros to the
        column's count (``-4.000e-03`` beside ``1.054e-01``)."""
        places = min(self.places or 0, held)
        mantissa, _, power = f"{float(value):.{places}{self.exponent}}".partition(self.exponent)
        pad = max(0, self.least - places)
        if pad and "." not in mantissa:
            mantissa += "."
        return (mantissa + "0" * pad).replace(".", self.decimal) + self.exponent + power

    def in_dialect(self, dialect: Dialect) -> NumberForm:
        """This form in a file written in ``dialect`` (its decimal mark; a thousands separator
        that is that mark left out; one that is its delimiter is quoted by the writer)."""
        grouping = "" if self.grouping == dialect.decimal else self.grouping
        return replace(self, decimal=dialect.decimal, grouping=grouping)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (a run's table: the rows written for it follow it)."""
        record = {"places": self.places, "least": self.least, "grouping": self.grouping}
        record |= {"exponent": self.exponent} if self.exponent else {}
        return record | ({"pad": self.pad} if self.pad else {})

    @classmethod
    def from_dict(cls, record: Any) -> NumberForm:
        """The form ``record`` holds (:meth:`to_dict`; the decimal mark is the file's).

        Raises:
            ValueError: for a record no form has.
        """
        places, least, grouping = record["places"], int(record["least"]), str(record["grouping"])
        if places is not None:
            places = int(places)
        exponent, pad = str(record.get("exponent", "")), int(record.get("pad", 0))
        if exponent and places is not None:  # its count is fixed (earlier runs recorded 0)
            least = max(least, places)
        wrong = (places is not None and places < 0) or least < 0 or len(grouping) > 1
        if wrong or pad < 0 or exponent not in ("", "e", "E"):
            raise ValueError(f"not a column's number form: {record}")
        return cls(places, least, grouping, exponent=exponent, pad=pad)

    def describe(self) -> str:
        """In words, for a command's output: ``whole numbers``, ``2 decimals``, ``up to 4
        decimals``, ``as computed`` (also for a column of floats in full, :data:`FULL`); with
        the thousands separator where there is one."""
        if self.places is None or self.places >= FULL:
            said = "as computed"
        elif self.places == 0:
            said = "whole numbers" + f" of {self.pad} digits" * bool(self.pad)
        else:
            upto = "up to " if self.least < self.places and not self.exponent else ""
            said = f"{upto}{self.places} decimal" + "s" * (self.places != 1)
            said += " in exponents" if self.exponent else ""
        if not self.grouping:
            return said
        return f"{said} with {_GROUPINGS.get(self.grouping, repr(self.grouping))} between thousands"


def number_form(cells: Iterable[str], dialect: Dialect) -> NumberForm:
    """The form of a column of ``cells`` (as read, one per row; missing ones, and floats'
    :func:`noise`, are skipped) in a file of ``dialect`` (see the module docstring)."""
    shapes, exponents, long, wholes = [], [], [], []
    for cell in cells:
        if is_missing(cell):
            continue
        shape = _shape(cell.strip(), dialect)
        if shape is None:  # an exponent, or no number
            exponents.append(_exponent(cell.strip(), dialect))
            if exponents[-1] is None or shapes:
                return NumberForm(decimal=dialect.decimal)
        elif exponents:
            return NumberForm(decimal=dialect.decimal)
        else:
            shapes.append(shape)
            wholes.append(_whole_digits(cell, dialect))
            if len(shape[0]) > SHORT:  # may be noise
                long.append((len(shapes) - 1, shape[4]))
    if exponents:
        return _in_exponents(exponents, dialect)
    if long:
        noisy = noise(np.array([value for _, value in long]))
        skipped = {i for (i, _), skip in zip(long, noisy, strict=True) if skip}
        shapes = [shape for i, shape in enumerate(shapes) if i not in skipped]
    if not shapes:
        return NumberForm(decimal=dialect.decimal)
    if len(shapes) < SHOWN:
        marks = Counter(mark for _, mark, _, _, _ in shapes if mark)
        return NumberForm(decimal=marks.most_common(1)[0][0] if marks else dialect.decimal)
    fractions = _without_slips([fraction for fraction, *_ in shapes])
    whole = not any(fraction.strip("0") for fraction in fractions)
    # a fixed count of decimals shows as a zero at the end of some ('1.50'); shortest floats
    # end in none, but write whole values with one ('2.0')
    fixed = whole or any(f.endswith("0") and f.strip("0") for f in fractions)
    least = min(map(len, fractions)) if fixed else int(all(fractions))
    marks = Counter(mark for _, mark, _, _, _ in shapes if mark)
    groups = Counter(group for _, _, group, large, _ in shapes if large and group)
    ungrouped = sum(large and not group for _, _, group, large, _ in shapes)
    grouping = groups.most_common(1)[0][0] if sum(groups.values()) > ungrouped else ""
    return NumberForm(
        places=0 if whole else max(map(len, fractions)),
        least=least,
        grouping=grouping,
        decimal=marks.most_common(1)[0][0] if marks else dialect.decimal,
        pad=_padding(wholes) if whole and not grouping else 0,
    )


def _whole_digits(cell: str, dialect: Dialect) -> str:
    """The digits of a number cell's whole part as written (``007`` of ``-007.0``)."""
    found = _POSITIONAL.fullmatch(dialect.number(cell).strip())
    return "" if found is None else found.group(1)


def _padding(wholes: list[str]) -> int:
    """The count of digits whole numbers written ``wholes`` are padded to with leading zeros:
    theirs where every one has the same count, of 2 or more, and some start with a zero
    (``01``, ``02``, ``10``); else 0."""
    widths = {len(digits) for digits in wholes}
    if len(widths) != 1 or min(widths) < 2:
        return 0
    return min(widths) if any(digits.startswith("0") for digits in wholes) else 0


_EXPONENT = re.compile(r"[+-]?\d(?:[.,](\d*))?([eE])[+-]?\d+")


def _exponent(text: str, dialect: Dialect) -> tuple[int, str, str] | None:
    """An exponent cell's decimals before its exponent, its decimal mark and its ``e`` or
    ``E`` (``1.054e-01``: 3, ``.``, ``e``); None for any other text."""
    found = _EXPONENT.fullmatch(text)
    if found is None or not is_number(dialect.number(text)):
        return None
    mark = text[1:2] if found.group(1) is not None else ""
    return len(found.group(1) or ""), mark if mark in ".," else "", found.group(2)


def _in_exponents(cells: list, dialect: Dialect) -> NumberForm:
    """The form of a column of cells in exponents (:func:`_exponent`): one count of decimals,
    else as computed."""
    counts = {count for count, _, _ in cells}
    if len(cells) < SHOWN or len(counts) != 1:
        return NumberForm(decimal=dialect.decimal)
    marks = Counter(mark for _, mark, _ in cells if mark)
    mark = marks.most_common(1)[0][0] if marks else dialect.decimal
    letter = Counter(e for _, _, e in cells).most_common(1)[0][0]
    count = counts.pop()
    return NumberForm(count, count, "", mark, letter)


def _shape(text: str, dialect: Dialect) -> tuple[str, str, str, bool, float] | None:
    """A number cell's decimals (the digits after its mark, as written), its decimal mark
    (``""`` for none), its thousands separator (``""`` for none), whether its whole part
    has four digits or more, and its value; None for a cell in exponents or no number."""
    number = dialect.number(text).strip()
    found = _POSITIONAL.fullmatch(number)
    if found is None or not is_number(number):
        return None
    whole, fraction = found.group(1), found.group(2)
    marks = [c for c in text if not c.isdigit() and c not in "+-"]
    mark = marks.pop() if fraction is not None and marks else ""
    large = len(whole.lstrip("0")) > 3
    return fraction or "", mark, marks[0] if marks else "", large, float(number)


LOOKED_AT = (2000, 50_000)
"""At most this many rows, and cells, of a table tell its columns' forms, the rows spread evenly
over it (a cell's text takes some microseconds, so a wide table's forms are told by fewer rows,
30 at least); its decimals are then widened to the most that any row's number holds
(:func:`widened`)."""


def forms_of(
    rows: Sequence[Sequence[str]],
    columns: Sequence[int],
    dialect: Dialect,
    values: np.ndarray,
) -> tuple[NumberForm, ...]:
    """The :class:`NumberForm` of each of ``columns`` of ``rows`` (cells as read), learned from
    at most :data:`LOOKED_AT` rows and cells, each widened to the decimals of its column of
    ``values`` ``(N, len(columns))``, every row's number as read (:func:`widened`)."""
    most, cells = LOOKED_AT
    step = max(1, len(rows) // min(most, max(30, cells // max(1, len(columns)))))
    looked = rows[::step]
    return tuple(
        widened(number_form((row[j] for row in looked), dialect), values[:, k])
        for k, j in enumerate(columns)
    )


SHORT = 6
"""The most decimals of a number that float arithmetic's :func:`noise` is told around."""


def noise(values: np.ndarray) -> np.ndarray:
    """``(N,)`` whether each of ``values`` is float arithmetic's noise around a short decimal,
    as pandas writes a computed column (``0.1 + 0.2`` written ``0.30000000000000004``,
    ``60.400000000000006``): within 8 units in the last place of a number of at most
    :data:`SHORT` decimals, and not that number. Its column is written as its other cells
    are (a form learned from it would write every value with 15 decimals)."""
    values = np.asarray(values, dtype=np.float64)
    tolerance = 8 * np.spacing(np.abs(values))
    exact, near = np.zeros(values.shape, bool), np.zeros(values.shape, bool)
    with np.errstate(over="ignore", invalid="ignore"):
        for places in range(SHORT + 1):
            rounded = np.round(values, places)
            exact |= rounded == values
            near |= np.abs(rounded - values) <= tolerance
    return near & ~exact


SLIP = 3
"""How many decimals more than every other cell of its column a rare cell must write to be an
export's artifact (Excel's ``9.899999`` for 9.9 among numbers of 1 or 2 decimals), which sets no
column's decimals: it made impute write every fill with 8 (userP #2)."""


def _slips(n: int) -> int:
    """How many cells of a column of ``n`` may be such artifacts: 1, or 1 in 100."""
    return max(1, n // 100)


_OTHERS = 20  # the fewest other cells that tell a column's decimals against an artifact


def _without_slips(fractions: list[str]) -> list[str]:
    """``fractions`` (each cell's decimals as written) less the rare artifacts' (:data:`SLIP`)."""
    lengths = sorted(len(f) for f in fractions)
    k = _slips(len(lengths))
    if len(lengths) < k + _OTHERS or lengths[-1] < lengths[-k - 1] + SLIP:
        return fractions
    limit = lengths[-k - 1] + SLIP - 1
    return [f for f in fractions if len(f) <= limit]


def widened(form: NumberForm, values: np.ndarray) -> NumberForm:
    """``form``, learned from some of a column's rows, with as many decimals as the most that
    any of ``values`` (the column's numbers as read, every row) holds: a column of counts with
    a rare ``0.5`` past the rows looked at keeps its 0.5, not rounded to a whole number; beyond
    :data:`FULL` decimals, as computed. A form in exponents is kept (its count is of the digits
    before the exponent, the same in every cell numpy's ``savetxt`` writes).

    A number read from text with ``p`` decimals is the float nearest that text, which
    ``np.round(value, p)`` returns exactly (its product with ``10**p`` is within far less than
    0.5 of the whole number it rounds to), so the test is one vectorised pass per column. A
    value that is float arithmetic's :func:`noise` (``60.400000000000006``) widens nothing."""
    if form.places is None or form.exponent:
        return form
    if form.places > FULL:  # floats in full: as computed
        return replace(form, places=None)
    places, off = form.places, values[np.isfinite(values)]
    with np.errstate(over="ignore", invalid="ignore"):
        off = off[np.round(off, places) != off]
        off = off[~noise(off)]
        rare = off.size <= _slips(values.size) and values.size - off.size >= _OTHERS
        if rare and (np.round(off, places + SLIP - 1) != off).all():
            return form  # (a rare export artifact, 9.899999 among 1-2 decimals: userP #2)
        while off.size and places <= FULL:
            off = off[np.round(off, places) != off]
            places += bool(off.size)
    if places > FULL:
        return replace(form, places=None)
    return form if places == form.places else replace(form, places=places)


def number_cells(
    values: Sequence[Sequence[float]],
    forms: Sequence[NumberForm] | None,
    dialect: Dialect,
    *,
    single: bool = False,
) -> list[list[str]]:
    """Rows of ``values`` ``(N, D)`` as cell texts in ``dialect``: each column in its form
    (``forms``, one per column, as a run recorded them), else as computed
    (:func:`~torchlvm.data.csv_write.number_text`); at float32's precision when ``single``."""
    width = len(values[0]) if len(values) else 0
    given = forms if forms and len(forms) == width else [NumberForm()] * width
    written = [form.in_dialect(dialect) for form in given]
    return [[f.text(v, single=single) for f, v in zip(written, row, strict=True)] for row in values]
