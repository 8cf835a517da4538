"""Matching a file's columns to the columns a run was trained on.

A run records its feature names (a CSV header) or, for a file without one, ``"column 1"``, ...,
``"column D"`` (:func:`default_names`). A later file must hold the same features: by name when
both have names (the same names in another order are reordered), by count otherwise. A name
matches however its letters are encoded (:func:`find_name`): macOS writes 'Größe' decomposed
(NFD: 'o' and a combining diaeresis), other systems composed (NFC), and the two print alike.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import unicodedata
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path

import numpy as np

from torchlvm.errors import DataError, Spell, spelled

_DROPPED: ContextVar[tuple[int | str, ...]] = ContextVar("dropped", default=())
"""The ``drop_columns`` entries of the file being read (:func:`dropping`)."""


@contextlib.contextmanager
def dropping(drop_columns: Sequence[int | str]) -> Iterator[None]:
    """Read a file whose ``drop_columns`` are these: each fix offered meanwhile that drops a
    column names them too (:func:`drop_option`)."""
    token = _DROPPED.set(tuple(drop_columns))
    try:
        yield
    finally:
        _DROPPED.reset(token)


def drop_option(
    spell: Spell, selectors: Sequence[int | str], header: Sequence[str] | None = None
) -> str:
    """``drop_columns`` set to the columns already dropped (:func:`dropping`) and
    ``selectors``, as ``spell`` writes it: the whole option to pass. A fix naming only the new
    column (``--drop-columns visit``) undid the user's ``--drop-columns patient_id``, which was
    then refused again: a loop between two refusals (userG). An index the user gave that names
    a named column of ``header`` (the file's, where known) is not carried but said: a user's
    ``--drop-columns 1``, meant as the 1-based "column 1", was offered back as ``--drop-columns
    1 0`` and dropped the real feature 'alcohol' unseen (userK #14, review14 R27)."""
    text, note = offered_drop(spell, selectors, header)
    return text + note


def offered_drop(
    spell: Spell, selectors: Sequence[int | str], header: Sequence[str] | None = None
) -> tuple[str, str]:
    """:func:`drop_option`'s option, and its note of each index the user gave that it leaves
    out (``"; your --drop-columns 1 is column 'alcohol', counting from 0: add it if you mean
    it"``), or ``""``."""
    values, left = offered_values(selectors, header)
    said = [f"your {spell('drop_columns', [s])} is column {name!r}" for s, name in left]
    note = f"; {', '.join(said)}, counting from 0: add it if you mean it" if said else ""
    return spell("drop_columns", values), note


def offered_values(
    selectors: Sequence[int | str], header: Sequence[str] | None = None
) -> tuple[list[int | str], list[tuple[int, str]]]:
    """:func:`offered_drop`'s values (those already dropped, then ``selectors``), and each
    index the user gave that they leave out, with the name it is."""
    given, left = [], []
    for s in _DROPPED.get():
        name = selector_of(s, header)
        if isinstance(s, int) and isinstance(name, str) and name not in selectors:
            left.append((s, name))
        else:
            given.append(s)
    return [*given, *(s for s in selectors if s not in given)], left


def selector_of(selector: int | str, header: Sequence[str] | None) -> int | str:
    """Index ``selector`` as its name in ``header`` where both interfaces take that name as
    written (not empty, no edge spaces, which the command line strips, not digits, which it
    reads as an index), else ``selector``."""
    if (
        header is None
        or isinstance(selector, (str, bool))
        or not -len(header) <= selector < len(header)
    ):
        return selector
    name = header[selector]
    usable = name and name == name.strip() and not name.lstrip("-").isdigit()
    return name if usable else selector


def name_key(text: str) -> str:
    """``text`` as names are compared: its Unicode composed form (NFC), so a name written
    decomposed (NFD, as macOS writes 'Größe') is the name typed or written elsewhere."""
    return unicodedata.normalize("NFC", text)


class NameIndex:
    """``names`` looked up by :func:`find_name`'s rule, built once: a wide table's column
    bookkeeping called it per column over all the names (60 rows x 20,000 columns: 43.7 s of an
    encode spent matching names, readA #10)."""

    def __init__(self, names: Sequence[str]) -> None:
        self.exact: dict[str, int] = {}
        self.keyed: dict[str, list[int]] = {}
        for j, name in enumerate(names):
            self.exact.setdefault(name, j)
            self.keyed.setdefault(name_key(name), []).append(j)

    def find(self, name: str) -> int | None:
        """:func:`find_name` of ``name`` among the indexed names."""
        j = self.exact.get(name)
        if j is not None:
            return j
        same = self.keyed.get(name_key(name), [])
        return same[0] if len(same) == 1 else None


def find_name(name: str, names: Sequence[str]) -> int | None:
    """The index of ``name`` among ``names``: where it is written so, else of the one name
    that is it written in another Unicode form (:func:`name_key`), else None. One lookup; many
    among the same names go through one :class:`NameIndex` (building it per lookup made a
    20,000-column score run past 5 minutes: readA #20)."""
    if name in names:
        return list(names).index(name)
    key = name_key(name)
    same = [j for j, other in enumerate(names) if name_key(other) == key]
    return same[0] if len(same) == 1 else None


def class_index(names: Sequence[str], label: str) -> int | None:
    """The class among a run's class ``names`` that ``label`` names (a later file's label, as
    written, or one typed): the name written so, else the one equal to it but for case, Unicode
    form and typographic quotes ('Rot' for 'rot'; 'Kätze' that a file saved on macOS writes
    decomposed; "Men's" for 'Men’s'), else the one equal to it as a number ('2.0' for 2); None
    where none or two are. The one rule for ``--condition`` and a file's label column alike
    (userK #7)."""
    return list(names).index(label) if label in names else named_class(names, label)


def named_class(names: Sequence[str], value: str) -> int | None:
    """The index of the one class name equal to ``value`` but for case, Unicode form and
    typographic quotes (:func:`label_key`: a name written decomposed, as macOS writes 'Kätze', or
    with ’, could not be typed), else of the one equal to it as a number ('2.0' for a class the
    file writes 2, or '2' for '2.0'), else None."""
    key = label_key(value)
    folded = [i for i, name in enumerate(names) if label_key(name) == key]
    if len(folded) == 1:
        return folded[0]
    number = number_of(value)
    same = [i for i, name in enumerate(names) if number is not None and number_of(name) == number]
    return same[0] if len(same) == 1 else None


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
"""Typographic quotes as their typewriter forms: a spreadsheet or a phone writes 'Men’s' where
a terminal types "Men's" (userP #9)."""


def label_key(text: str) -> str:
    """``text`` as class names are compared: its Unicode form (NFC), its typographic quotes
    and apostrophes as typed (``’`` as ``'``), and case folded."""
    return name_key(text).translate(_QUOTES).casefold()


def number_of(text: str) -> float | None:
    """``text`` as a number (``2.0``, ``1e3``), else None (NaN too: it equals nothing)."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value else None  # (NaN equals nothing)


def whole_number(label: int | float | str) -> int | None:
    """``label`` as a whole number (``2``, ``2.0``, ``'2'``, ``'2.0'``, ``-1``), else None (a
    bool too): how a class code is read, typed or in Python (``--condition 2.0``,
    ``condition_from_labels(2.0)``)."""
    if isinstance(label, bool):
        return None
    number = number_of(str(label))
    whole = number is not None and abs(number) < 2**53 and number == round(number)
    return int(number) if whole else None  # type: ignore[arg-type]


def default_names(dim: int) -> tuple[str, ...]:
    """The names of ``dim`` unnamed columns: ``"column 1"``, ..., ``"column D"``."""
    return tuple(position_name(j) for j in range(dim))


def position_name(j: int) -> str:
    """The name of the column at 0-based index ``j`` of a file without a header: ``"column
    14"`` for 13, as the README and a run's record name it (``--label-column "column 14"``)."""
    return f"column {j + 1}"


_POSITION = re.compile(r"column ([1-9][0-9]*)")


def position_of(name: str, width: int) -> int | None:
    """The 0-based index that :func:`position_name` ``name`` names in a file of ``width``
    columns without a header, or None where it names none."""
    found = _POSITION.fullmatch(name.strip())
    return None if found is None or int(found[1]) > width else int(found[1]) - 1


def is_default(names: Sequence[str]) -> bool:
    """Whether ``names`` are a file's without a header (:func:`position_name`, in file
    order, some left out where a column was dropped: ``column 2``, ..., ``column 14``): a run
    trained on a file without a header, whose later files are read by position."""
    found = [_POSITION.fullmatch(name) for name in names]
    numbers = [int(f[1]) for f in found if f is not None]
    return len(numbers) == len(found) and numbers == sorted(set(numbers))


def listed(names: Sequence[str], limit: int = 5) -> str:
    """``'a', 'b', 'c' and 4 more``: the first ``limit`` names, quoted, and how many are left."""
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _columns(names: list[str]) -> str:
    return ("columns " if len(names) > 1 else "column ") + listed(names)


def match_columns(
    x: np.ndarray, names: tuple[str, ...] | None, expected: tuple[str, ...], path: Path
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``x`` ``(N, D)`` with its columns in the order of ``expected``.

    Args:
        x: the file's features. names: their names (None for a file without a header).
        expected: the run's feature names. path: the file, for messages.

    Returns:
        ``x`` with its columns reordered to match, and their names in that order as the file
        writes them (``expected``, but for a name the file writes in another Unicode form, and
        a file's own header read by position where the run's columns had no names).

    Raises:
        DataError: for a missing or extra column (by name), or another number of columns.
    """
    if names is None or is_default(expected) or is_default(names):
        if x.shape[1] != len(expected):
            raise DataError(
                f"{path} has {x.shape[1]} feature columns but the run was trained on "
                f"{len(expected)}; pass a file with the run's columns"
            )
        return x, expected if names is None else tuple(names)  # (by position, as named)
    among, of_expected = NameIndex(names), NameIndex(expected)
    missing = [n for n in expected if among.find(n) is None]
    extra = [n for n in names if of_expected.find(n) is None]
    if missing:
        raise lacking(path, missing, extra)
    if extra:
        raise spelled(
            DataError,
            lambda spell: (
                f"{path} has {_columns(extra)} that the run was not trained on; drop "
                f"{'them' if len(extra) > 1 else 'it'} ({drop_option(spell, extra)})"
            ),
        )
    order = [among.find(n) for n in expected]
    return np.ascontiguousarray(x[:, order]), tuple(names[j] for j in order)


_SPELLING = re.compile(r"[\s_.-]+")


def near_miss(name: str, others: Sequence[str]) -> str | None:
    """The one of ``others`` that is ``name`` spelt otherwise: in another case, spacing or
    punctuation (``'Age'``, ``'age '``, ``'Monthly_Income'`` for ``'monthly income'``), its
    words in another order (``'texture_mean'`` for ``'mean texture'``: userR #2), else the
    closest by :func:`difflib.get_close_matches` (``'incme'``); None where none is close."""
    key = _SPELLING.sub("", name).casefold()
    same = [o for o in others if _SPELLING.sub("", o).casefold() == key]
    if same:
        return same[0]
    words = _words(name)
    reordered = [o for o in others if len(words) > 1 and _words(o) == words]
    if reordered:
        return reordered[0]
    close = difflib.get_close_matches(name, others, n=1, cutoff=0.8)
    return close[0] if close else None


def _words(name: str) -> list[str]:
    """The words of a column's ``name``, in case-folded sorted order."""
    return sorted(w for w in _SPELLING.split(name.casefold()) if w)


def lacking(
    path: Path, missing: Sequence[str], others: Sequence[str], *, none: bool = False
) -> DataError:
    """The refusal of a file that lacks the run's columns ``missing``, holding ``others`` (its
    columns that are none of the run's), naming those spelt otherwise to rename; ``none``: it
    holds none of the run's columns, so it may be another file than meant."""
    near = {name: near_miss(name, others) for name in missing}
    renames = [f"{near[n]!r} to {n!r}" for n in missing if near[n] is not None]
    them = "them" if len(missing) > 1 else "it"
    add = f"add {them} (empty cells mark missing values)"
    if none and not renames:
        has = listed(list(others), 3) if others else "no other column"
        return DataError(
            f"{path} holds none of the columns the run was trained on ({listed(list(missing))}), "
            f"and has {has}; pass a file of the run's table (with its header), or {add}"
        )
    message = f"{path} lacks {_columns(list(missing))} that the run was trained on"
    if renames:
        shown = ", ".join(renames[:3]) + (
            f" and {len(renames) - 3} more" if len(renames) > 3 else ""
        )
        spelt = "them" if len(renames) > 1 else "it"
        return DataError(f"{message}; rename {shown} (the file spells {spelt} otherwise), or {add}")
    if others:  # (a column renamed past recognition is among them: userR #2)
        which = "it" if len(missing) == 1 else "one of them"
        return DataError(
            f"{message}; the file has {listed(list(others), 3)}, which the run was not trained "
            f"on: if {which} is there under another name, rename that back, or {add}"
        )
    return DataError(f"{message}; {add}")
