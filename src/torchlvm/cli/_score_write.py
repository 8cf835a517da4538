"""What ``torchlvm score`` writes and prints of its scores: the ranks, the scores file's columns
and cells, and a row's score as ``--top`` prints it.

−log p(x_o) of a row with missing cells is a density over fewer dimensions, and over other
columns, so its size says how many and which cells were seen as much as how unusual the row is:
where rows miss unlike cells, each row is also ranked among the rows missing the same cells
(:func:`ranks_within_pattern`), the one comparison among rows scored on the same density.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def patterns(missing: np.ndarray) -> np.ndarray:
    """``(B, ⌈D/8⌉)`` uint8 keys of rows' missingness patterns, from ``missing`` ``(B, D)``
    bool: rows missing the same cells have equal keys."""
    return np.packbits(missing, axis=1)


def ranks_within_pattern(neg_log_p: np.ndarray, keys: np.ndarray):
    """``(B, 2)``: each scored row's rank (1: the highest −log p) among the rows missing the
    same cells (:func:`patterns` ``keys``), and how many rows those are (a rank 1 of 1 is no
    finding), 0 and 0 for a row not scored (NaN: no value); None where every scored row misses
    the same cells (``rank`` is then the comparison)."""
    scored = ~np.isnan(neg_log_p)
    kinds, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    if len(np.unique(group[scored])) < 2:
        return None
    within = np.zeros((len(neg_log_p), 2), dtype=np.int64)
    for g in np.unique(group[scored]):
        rows = np.flatnonzero((group == g) & scored)
        within[rows[np.argsort(-neg_log_p[rows], kind="stable")], 0] = np.arange(1, len(rows) + 1)
        within[rows, 1] = len(rows)
    return within


def among(within: np.ndarray, i: int, scores: Any) -> str:
    """Row ``i``'s rank among the rows missing the same cells (:func:`ranks_within_pattern`),
    as its printed line ends: the complete rows are named so (they miss no cell)."""
    rows = "complete rows" if int(scores.observed[i]) == scores.cells else "missing the same cells"
    return f", rank {within[i, 0]} of {within[i, 1]} {rows}"


def pattern_note(within: np.ndarray, keys: np.ndarray, scored: np.ndarray) -> str:
    """The printed line on ``rank_within_pattern``: why, how many patterns, how many rows are
    in a pattern of fewer than 10 rows (a coarse rank), of the ``scored`` rows ``(B,)``."""
    _, group, sizes = np.unique(keys[scored], axis=0, return_inverse=True, return_counts=True)
    small = int((sizes[group.reshape(-1)] < 10).sum())
    few = "; 1 row is" if small == 1 else f"; {small} rows are"
    few = f"{few} in patterns of fewer than 10 rows" if small else ""
    return (
        "  −log p(x) of a row with missing cells is a density over fewer (and other) columns, "
        "smaller or larger for that alone, so `rank` compares unlike rows; `rank_within_pattern`"
        f" ranks each row among the rows missing the same cells ({len(sizes)} patterns{few})"
    )


def empty_rows(observed: np.ndarray, lines: list[int] | None) -> str:
    """The rows with no value in any column, by their file lines (else 1-based rows): ``1 row
    has no value in any column (line 5)``, ``2 rows have ... (lines 5, 12)``."""
    empty = np.flatnonzero(observed == 0)
    where = [str(i + 1 if lines is None else lines[i]) for i in empty[:5]]
    more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
    noun = "1 row has" if len(empty) == 1 else f"{len(empty)} rows have"
    kind = ("row" if lines is None else "line") + ("s" if len(empty) > 1 else "")
    return f"{noun} no value in any column ({kind} {', '.join(where)}{more})"


def where(i: int, read: Any) -> str:
    """Row ``i`` of ``read`` (a :class:`~torchlvm.cli._score_read.ScoreInput`) as ``--top``
    names it: ``row 18 (line 19, id 'r17')`` (a column with no name, a pandas index, by its
    value alone), ``row 674 (class '8')`` (a dataset's labels); its place in the file where a
    split of it was read."""
    (names, cells), lines = read.carried, read.lines
    parts = ([] if lines is None else [f"line {lines[i]}"]) + [
        f"{name} {cell!r}".lstrip()
        for name, cell in zip(names, cells[i] if names else [], strict=True)
    ]
    number = read.numbers[i] if read.numbers else i + 1
    return f"row {number}" + (f" ({', '.join(parts)})" if parts else "")


def score_text(scores: Any, i: int, symbol: str = "−log p(x)") -> str:
    """Row ``i``'s score as ``--top`` prints it: ``−log p(x) = −2.040 nats`` (``symbol``: what
    the score is, such as ``−log p(x | c)``; one minus sign,
    the label's) for an exact score, to 4 significant digits; an importance-sampled one to the
    digit its standard error justifies, with that error (the CSV's ``stderr``); the cells it
    was scored on where the row has empty ones."""
    from torchlvm.report.headline import num  # (the report's measured number, typographic minus)

    err = None if scores.exact else float(scores.stderr[i])  # num drops a non-positive or NaN one
    seen = int(scores.observed[i])
    cells = "" if seen == scores.cells else f" (on {seen} of {scores.cells} cells)"
    return f"{symbol} = {num(float(scores.neg_log_p[i]), err)} nats{cells}"


def header(
    lines: list[int] | None,
    carried: list[str],
    threshold: float | None,
    within: Any,
    score: str = "neg_log_p",
    ess: bool = False,
) -> list[str]:
    """The columns of the scores file: ``row``, ``line`` for a CSV, the ``carried`` columns
    (the run's dropped ones, by their names), the ``score`` column (what it is:
    ``neg_log_p_given_<label>`` of a CVAE's conditional score) and its ``stderr``, ``ess`` (an
    importance-sampled score's effective sample size), ``observed``,
    ``rank``, ``rank_within_pattern`` and ``pattern_rows`` where rows miss unlike cells,
    ``outlier`` with a threshold."""
    line = ["line"] if lines is not None else []
    ranks = ["rank"] + (["rank_within_pattern", "pattern_rows"] if within is not None else [])
    sampled = ["ess"] if ess else []
    return ["row", *line, *carried, score, "stderr", *sampled, "observed", *ranks] + (
        ["outlier"] if threshold is not None else []
    )


def write(
    out: Path,
    scores: Any,
    read: Any,
    options: tuple[float | None, Any, str],
    dialect: Any,
    *,
    single: bool,
) -> None:
    """The scores file (:func:`header`) of the :class:`~torchlvm.cli._score_read.ScoreInput`
    ``read``, at the model's precision (float32's digits when ``single``), in ``dialect`` (the
    scored file's separator and decimal point); ``options``: the threshold, the
    :func:`ranks_within_pattern` and the score's column name. A row not scored (no value, or a
    CVAE's row of no class it knows) has empty scores and ranks; a score of one draw (``--samples
    1``) an empty ``stderr``: one draw gives no standard error (its estimate is inf)."""
    from torchlvm.data.csv_write import number_text, write_csv

    threshold, within, column = options
    names, carried = read.carried
    lines, rows = read.lines, []
    sampled = scores.ess is not None
    for i, (score, err, seen, rank) in enumerate(
        zip(scores.neg_log_p, scores.stderr, scores.observed, scores.rank, strict=True)
    ):
        row = [str(read.numbers[i] if read.numbers else i + 1)]
        row += [str(lines[i])] if lines is not None else []
        row += carried[i] if names else []
        if not np.isnan(score):  # (no standard error of one draw: its inf is left empty)
            row += [dialect.text(number_text(v, single=single)) if np.isfinite(v) else ""
                    for v in (score, err)]  # fmt: skip
            row += [dialect.text(_ess_text(scores.ess[i]))] if sampled else []
            row += [str(seen), str(rank)] + (
                [str(v) for v in within[i]] if within is not None else []
            )
            row += [str(int(score > threshold))] if threshold is not None else []
        else:
            row += ["", ""] + ([""] if sampled else []) + [str(seen), ""]
            row += [""] * (2 * (within is not None) + (threshold is not None))
        rows.append(row)
    columns = header(lines, names, threshold, within, column, ess=sampled)
    write_csv(out, columns, rows, dialect=dialect)


def _ess_text(ess: float) -> str:
    """An effective sample size to one decimal, rounded down, so that a row the printed line
    counts as under 10 is not written "10.0" (userN #5: 9.96 was)."""
    return f"{math.floor(ess * 10) / 10:.1f}"
