"""Which columns of a table are its features: ``label_column`` and ``drop_columns`` (names or
0-based indices) taken out; for a later file read for a run, only the run's own feature columns
(:func:`kept`), and two feature columns of one name refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from torchlvm.data.columns import (
    NameIndex,
    find_name,
    is_default,
    lacking,
    name_key,
    near_miss,
    position_name,
    position_of,
)
from torchlvm.data.csv_dialect import (
    Dialect,
)
from torchlvm.data.csv_stray import stray_line
from torchlvm.errors import ConfigError, DataError, OptionError, spelled

Selector = int | str


def _present(
    selector: Selector | None, header: list[str] | None, width: int, features: Sequence[str]
) -> bool:
    """Whether a later file has the column ``selector`` named in the training file: a name, in
    its header; an index, where the file has a column there that is not one of the run's
    ``features`` (its header's name there; a file without header, by position)."""
    if selector is None:
        return False
    if isinstance(selector, str) and header is None:
        return position_of(selector, width) is not None
    if isinstance(selector, str):
        return find_name(selector, header) is not None
    inside = -width <= selector < width
    return inside and (header is None or find_name(header[selector], features) is None)


def _index(selector: Selector, header: list[str] | None, width: int, option: str) -> int:
    """The 0-based column index that a name or index ``selector`` of keyword ``option``
    (``label_column`` or ``drop_columns``) names; a refusal names the option as each interface
    spells it (the CLI: ``--label-column``)."""

    def refuse(message: Callable[[str], str]) -> OptionError:
        return spelled(OptionError, lambda spell: message(spell(option)))

    entry = " entry" if option == "drop_columns" else ""
    if isinstance(selector, str):
        found = position_of(selector, width) if header is None else find_name(selector, header)
        if found is None:
            names = _named(header) if header else "the file has no header row"
            near = near_miss(selector, header) if header else None
            meant = "" if near is None else f"did you mean {near!r}? "
            fix = "pass a column name from the header or a 0-based column index"
            if header is None:  # its columns' names are their places (position_name)
                places = f"{position_name(0)!r} to {position_name(width - 1)!r}"
                fix = f"pass a name from {places} or a 0-based column index"
            split = _split_name(selector, header)
            if split is not None:  # 'Total, USD' split at its comma by --drop-columns
                meant = f"did you mean {header[split]!r}, a name with a comma? "
                fix = f"pass the whole name, {header[split]!r}, or its 0-based index, {split}"
            raise refuse(
                lambda name: (
                    f"{name}{entry} {selector!r} is not a column name ({names}); {meant}{fix}"
                )
            )
        return found
    if isinstance(selector, bool) or not isinstance(selector, int):
        raise refuse(lambda name: f"{name}{entry} must be a column index or name, got {selector!r}")
    if not -width <= selector < width:
        raise refuse(
            lambda name: (
                f"{name}{entry} {selector} is out of range for {width} columns; pass an "
                f"index in {-width}..{width - 1}"
            )
        )
    return selector % width


def split_lists(selectors: Sequence[Selector], header: list[str] | None, width: int) -> list:
    """``selectors`` with each name that is no column of ``header`` but a comma-separated list
    of columns (``'id,city'``: one command-line word listing two) as those columns; a name
    the header holds stays whole, commas and all (``'Total, USD'``)."""
    out: list[Selector] = []
    for selector in selectors:
        parts = _parts(selector) if isinstance(selector, str) else None
        names = parts is not None and header is not None and find_name(selector, header) is not None
        listed = parts is not None and all(_present(p, header, width, ()) for p in parts)
        out += parts if listed and not names else [selector]  # type: ignore[list-item]
    return out


def _parts(text: str) -> list[Selector] | None:
    """The names or indices of a comma-separated list ``text``, or None where it has no comma."""
    if "," not in text:
        return None
    words = [w.strip() for w in text.split(",") if w.strip()]
    return [int(w) if w.lstrip("-").isdigit() else w for w in words]


def check_unique_names(
    path: Path,
    header: list[str] | None,
    keep: list[int],
    read: tuple[list[int], list[list[str]], Dialect],
) -> None:
    """Refuse two feature columns of one name: a run matches a file's columns by name (however
    its letters are encoded: two names that differ only so print alike, and a later file could
    not tell them apart); where the header is a title over the real one (``read``: the lines,
    rows and dialect), that."""
    if header is None:
        return
    first: dict[str, int] = {}
    for j in keep:
        key = name_key(header[j])
        if key in first:
            lines, rows, dialect = read
            stray = stray_line(path, header, lines, rows, 0, dialect)
            if stray is not None:
                raise stray
            k = first[key]
            named = f"both named {header[j]!r}"
            if header[k] != header[j]:
                named += f" (written {ascii(header[k])} and {ascii(header[j])}: {ENCODED})"
            raise DataError(
                f"{path}: the columns at index {k} and {j} are {named}; give each column its own "
                "name in the header (a run matches a file's columns by name)"
            )
        first[key] = j


ENCODED = "the same letters encoded two ways, composed and decomposed, which print alike"
"""Why two texts that print alike differ (Unicode NFC and NFD), for the refusals that name them."""


def _warn_label_dropped(path: Path, header, j: int) -> None:
    """Warn where the label column is among the dropped ones: its classes were read and the
    drop left out without a word (userU #10), though the user may have meant to read no
    labels."""
    from torchlvm.data.csv_column import column_name
    from torchlvm.data.file_warning import FileWarning, warn_of_file

    def message(spell: Callable[..., str]) -> str:
        label, drop = spell("label_column"), spell("drop_columns")
        return (
            f"{path}: {column_name(header, j)} is the label column and among the dropped ones "
            f"too; its classes are read as labels (a label column is never a feature): leave "
            f"it out of {drop}, or leave out {label} to read no labels"
        )

    warn_of_file(path, spelled(FileWarning, message), stacklevel=4)


def kept(path: Path, header, width: int, options: tuple) -> tuple[list[int], int | None]:
    """The feature columns kept and the label column (or None) of a file of ``width`` columns
    under ``header``, read with ``options``
    (:func:`~torchlvm.data.csv_table.read_csv`'s ``label_column``, ``drop_columns``,
    ``if_present`` and ``features``)."""
    label_column, drop_columns, if_present, features = options
    drop_columns = split_lists(drop_columns, header, width)
    if not if_present:
        check_spaced(drop_columns, header)
    if if_present:
        drop_columns = [s for s in drop_columns if _present(s, header, width, features)]
        label_column = label_column if _present(label_column, header, width, features) else None
    dropped = {_index(s, header, width, "drop_columns") for s in drop_columns}
    label = None if label_column is None else _index(label_column, header, width, "label_column")
    if label in dropped and not if_present:
        _warn_label_dropped(path, header, label)
    keep = [j for j in range(width) if j not in dropped and j != label]
    named = bool(features) and not is_default(features)
    if if_present and header is not None and named:
        of_features = NameIndex(features)
        others = [header[j] for j in keep if of_features.find(header[j]) is None]
        keep = [j for j in keep if of_features.find(header[j]) is not None]  # (the run's)
        kept = NameIndex([header[j] for j in keep])
        missing = [name for name in features if kept.find(name) is None]
        if missing:
            raise lacking(path, missing, others, none=not keep)
        if others:
            shown = ", ".join(repr(n) if n else "'' (no name)" for n in others[:5]) + (
                f" and {len(others) - 5} more" if len(others) > 5 else ""
            )
            one = len(others) == 1
            are = "column {} is not one" if one else "columns {} are none"
            warnings.warn(
                f"{path}: {are.format(shown)} of the run's columns, so the model does not read "
                f"{'it' if one else 'them'}",
                stacklevel=2,
            )
    if not keep:
        raise spelled(
            ConfigError,
            lambda spell: (
                f"{path}: no feature column is left once the label column and the dropped ones "
                f"are taken out of its {width} column{'s' * (width > 1)}; leave at least one "
                f"out of {spell('drop_columns', None)} and {spell('label_column', None)}"
            ),
        )
    return keep, label


def listed_names(header: list[str]) -> str:
    """A header's names for a message: as they are (``a, b, y``), or quoted where one holds a
    comma (``'Total, USD'`` would read as two columns) or a character that does not print (a
    line break in a quoted name broke the one-line message: escaped, ``'a\\nb'``)."""
    if any("," in name or not name.isprintable() for name in header):
        return ", ".join(repr(name) for name in header)
    return ", ".join(header)


def _named(header: list[str]) -> str:
    """A header's names for a refusal, those that are empty counted, not listed (a title line
    over the header read as one: 'Weinanalyse 2024, , , , , ,', userP #3)."""
    names = [name for name in header if name.strip()]
    unnamed = len(header) - len(names)
    more = "" if not unnamed else f"{', ' if names else ''}{unnamed} without a name"
    return listed_names(names) + more


def check_spaced(selectors: Sequence[Selector], header: list[str] | None) -> None:
    """Refuse ``drop_columns`` entries that are the words of one column's name split at its
    spaces (``--drop-columns patient id``, unquoted: 'patient' is not a column name, userP #4),
    offering the option with the name quoted."""
    if header is None:
        return
    index = NameIndex(header)
    for i, first in enumerate(selectors):
        if not isinstance(first, str) or index.find(first) is not None:
            continue
        for span in range(2, min(6, len(selectors) - i) + 1):
            words = selectors[i : i + span]
            joined = " ".join(str(w) for w in words)
            if index.find(joined) is None:
                continue
            fixed = [*selectors[:i], joined, *selectors[i + span :]]
            raise spelled(
                OptionError,
                lambda spell, words=words, joined=joined, fixed=fixed: (
                    f"{spell('drop_columns')} entries {', '.join(repr(str(w)) for w in words)} "
                    f"are the words of one column's name, {joined!r}: quote it "
                    f"({spell('drop_columns', fixed)})"
                ),
            )


def _split_name(selector: str, header: list[str] | None) -> int | None:
    """The index of the header's name with a comma of which ``selector`` is a part
    (``'Total'`` of ``'Total, USD'``: a command line's list split it at its comma), or None."""
    for j, name in enumerate(header or ()):
        if "," in name and selector.strip() in [part.strip() for part in name.split(",")]:
            return j
    return None
