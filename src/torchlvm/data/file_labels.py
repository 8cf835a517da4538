"""A file's class labels, checked: whole numbers 0, 1, 2, ... one per example, and classes
rather than a measured quantity or row names (:data:`MANY_CLASSES`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from torchlvm.data.csv_cells import is_number
from torchlvm.data.file_readers import Read
from torchlvm.data.file_warning import warn_of_file
from torchlvm.errors import DataError, OptionError, Spell, spelled

MANY_CLASSES = 50
"""More distinct labels than this, unless they number the classes 0..C-1 (or name them) with two
rows or more to a class, are a measured quantity or row names, not classes
(:func:`check_not_measured`)."""


def check_not_measured(read: Read, path: Path, column: int | str | None, dropped: Sequence) -> Read:
    """Refuse labels of more than :data:`MANY_CLASSES` values that are no classes: numbers that
    do not number the classes 0..C-1 with two rows or more to a class, a measured quantity
    (sklearn's diabetes 'target', 214 values from 25 to 346 in 442 rows); or text names most of
    which name one row. A conditional model would take them as hundreds of one-row classes, and
    evaluate's probes could not score them. An archive's such array (scikit-learn's X beside a
    regression y), which no option leaves out as a CSV's label column is, is read without it,
    with a warning: a model that needs classes refuses the data then (review13 #17).

    Returns:
        ``read``, without its labels where they are an archive's measured quantity.
    """
    labels = read.labels
    if labels is None or labels.ndim != 1 or labels.dtype.kind not in "biuf":
        return read  # not labels at all: :func:`class_labels` says so
    values = np.unique(labels[np.isfinite(labels)])
    few = 2 * len(values) <= len(labels)  # two rows or more to a class, on average
    names = read.class_names
    if names is not None and all(is_number(n) for n in names):  # whole-number codes, as numbers
        values, names = np.array(names, dtype=np.float64), None
    if names is not None:
        if len(values) <= MANY_CLASSES or few:
            return read
        held = f"holds {len(values)} distinct names in {len(labels)} rows, so it names rows"
    else:
        # codes 0..C-1 or 1..C (a consecutive run of whole numbers from 0 or 1)
        numbered = (
            len(values) > 0 and values[0] in (0, 1) and values[-1] == values[0] + len(values) - 1
        )
        if len(values) <= MANY_CLASSES or (numbered and few):
            return read
        held = (
            f"holds {len(values)} distinct numbers ({values[0]:g} to {values[-1]:g}) in "
            f"{len(labels)} rows, so it is a measured quantity (such as a regression target)"
        )
    if column is None:
        warn_of_file(
            path,
            f"{path}: its labels array {held}, not classes: read without it (a model of classes, "
            "a CVAE on --condition label, has none to learn; save the classes under y for it)",
            stacklevel=2,
        )
        return read._replace(labels=None, class_names=None)
    name, selector = read.label or (
        (f"column {column!r}", column) if isinstance(column, str) else (f"column {column}", column)
    )  # (a CSV's reader names it: column 'proline', not the user's 13, table14)
    drop = [*dropped, selector]

    def given(spell: Spell) -> str:  # (the user's index beside the name it stands for)
        return f" ({spell('label_column', column)})" if isinstance(selector, str) != isinstance(
            column, str) else ""  # fmt: skip

    keep = "keep it as a feature (leave out {}) or " if names is None else ""
    raise spelled(
        OptionError,
        lambda spell: (
            f"{path}: the label column, {name}{given(spell)}, {held}, not "
            f"classes; {keep.format(spell('label_column', None))}leave it out "
            f"({spell('drop_columns', drop)})"
        ),
    )


def class_labels(labels: np.ndarray, n: int, path: Path, lines: np.ndarray | None) -> np.ndarray:
    """``(N,)`` int64 class labels, checked to be whole numbers >= 0."""
    if labels.dtype.kind not in "biuf" or labels.shape != (n,):
        raise DataError(
            f"{path}: labels must be {n} numbers, one per example, got {labels.dtype} of shape "
            f"{labels.shape}; store one integer class label per row"
        )
    bad = ~np.isfinite(labels) | (labels != np.round(labels)) | (labels < 0)
    if bad.any():
        i = int(np.argmax(bad))
        row = f"example {i}" if lines is None else f"line {int(lines[i])}"
        rule = "whole numbers 0, 1, 2, ..." if lines is None else "whole numbers or text"
        raise DataError(
            f"{path}: label of {row} is {labels[i].item()!r}; class labels must be {rule} "
            f"{_not_classes(labels, n, lines is None)}"
        )
    return labels.astype(np.int64)


FEW_VALUES = 20
"""The most distinct values of a label column read as classes written as numbers (diabetes'
standardized sex, 2 values), not as a measured value."""


def _not_classes(labels: np.ndarray, n: int, array: bool) -> str:
    """The fix for labels that are no class codes: a column of few distinct values (at most
    :data:`FEW_VALUES`, fewer than half its rows) holds classes written as numbers, to be written
    as whole numbers or text; else a measured value, such as a regression target, which is no
    class. userU #6: diabetes' standardized 'sex' (2 values, 0.0507 and -0.0446) was told it was
    a measured value, to keep as a feature, with no word of the fix it needed."""
    values = np.unique(labels[np.isfinite(labels)])
    if len(values) > min(FEW_VALUES, n / 2 - 1):
        return "(a measured value, such as a regression target, is no class: keep it as a feature)"
    shown = ", ".join(f"{v:.6g}" for v in values[:3]) + (", ..." if len(values) > 3 else "")
    codes = "class codes 0, 1, 2, ..." if array else "whole numbers or names"
    return (
        f"(the column holds {len(values)} distinct values, {shown}: if they are classes, "
        f"write them as {codes})"
    )
