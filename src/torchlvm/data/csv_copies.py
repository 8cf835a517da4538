"""A feature column that repeats another (``bmi_copy`` beside ``bmi``), warned of in a file to
train on: a model would count that one measure twice, in log p(x), in each row's score and in
its fit (userJ: a VAE's σ of 0.418 for both, 0.705 for ``bmi`` alone), and no refusal or line
said so. A cell-for-cell copy (empty cells in the same rows) is named, and so is a column that
is another in other units (``income`` = 1713.3 × ``bmi``, ``share`` = 10 × ``s5`` rounded: a
correlation of at least :data:`SAME` on the rows that hold both), which the run's
standardization makes the same column (userK #4). Rows that repeat an earlier one, as a file
exported twice holds them, are counted in one line too (:func:`warn_of_repeated_rows`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from torchlvm.data.csv_column import column_name, drop_for
from torchlvm.data.file_warning import warn_of_file
from torchlvm.errors import in_python, on_command_line


def copies(values: np.ndarray) -> list[tuple[int, int]]:
    """Each column ``k`` of ``values`` ``(N, K)`` (NaN: an empty cell) equal in every row to an
    earlier column ``i``, as ``(i, k)``, the first column it repeats; a column of no value
    repeats none (it is refused or kept as empty elsewhere)."""
    seen: dict[bytes, list[int]] = {}
    found = []
    for k in range(values.shape[1]):
        column = np.ascontiguousarray(values[:, k])
        if np.isnan(column).all():
            continue
        digest = hashlib.blake2b(column.tobytes(), digest_size=16).digest()
        same = [
            i for i in seen.get(digest, []) if np.array_equal(values[:, i], column, equal_nan=True)
        ]
        if same:
            found.append((same[0], k))
        else:
            seen.setdefault(digest, []).append(k)
    return found


SAME = 0.9999
"""The correlation from which a column is taken to be another in other units: a rounded copy
(``48.6`` for ``10 × 4.8598``) still reaches 0.99998, while two measures of one thing (a
tumour's radius and its perimeter: 0.998) stay below."""

SAMPLE = 2000
"""The rows on which every pair of columns is first compared (a pair found is then checked on
every row): 2000 x 300 columns take some 0.2 GFLOP, however long the file."""


BLOCK = 256
"""Columns whose correlations with every other are computed at once: a (K, K) matrix of a wide
table (100 rows x 10,000 genes) took 2.2 GB for a warning (readA #9); a block takes
BLOCK x K values."""


def _correlated_pairs(z: np.ndarray) -> list[tuple[int, int]]:
    """The pairs ``(a, b)``, a < b, of standardized columns of ``z`` ``(n, K)`` whose
    correlation on these rows is at least :data:`SAME` in absolute value, in row-major order,
    a block of :data:`BLOCK` columns at a time."""
    pairs = []
    for start in range(0, z.shape[1], BLOCK):
        r = z[:, start : start + BLOCK].T @ z / len(z)  # (block, K) correlations on the sample
        for a, b in zip(*np.nonzero(np.abs(r) >= SAME), strict=True):
            if b > start + a:
                pairs.append((start + int(a), int(b)))
    return pairs


def rescaled(values: np.ndarray, skip: set[int]) -> list[tuple[int, int, float, float]]:
    """Each column ``k`` of ``values`` ``(N, K)`` (NaN: an empty cell; none of ``skip``) that
    is an earlier column ``i`` in other units, as ``(i, k, slope, correlation)``: a
    correlation of at least :data:`SAME` in absolute value on the rows that hold both, the
    first such ``i``."""
    complete = np.flatnonzero(~np.isnan(values).any(1))
    if len(complete) < 10:
        return []
    rows = values[complete[:: max(1, len(complete) // SAMPLE)]]
    spread = rows.std(0)
    usable = [k for k in range(values.shape[1]) if spread[k] > 0 and k not in skip]
    z = (rows[:, usable] - rows[:, usable].mean(0)) / spread[usable]  # (n, K')
    found: dict[int, tuple[int, int, float, float]] = {}
    for a, b in _correlated_pairs(z):
        i, k = usable[a], usable[b]
        if k in found:
            continue
        both = ~np.isnan(values[:, i]) & ~np.isnan(values[:, k])
        x, y = values[both, i], values[both, k]
        whole = float(np.corrcoef(x, y)[0, 1])
        if abs(whole) >= SAME:
            found[k] = (i, k, float(np.polyfit(x, y, 1)[0]), whole)
    return sorted(found.values(), key=lambda pair: pair[1])


def warn_of_copies(path: Path, header: list[str] | None, values: np.ndarray, keep) -> None:
    """Warn once where feature columns (file column ``keep[k]`` holds ``values[:, k]``)
    repeat others, in every row or in other units, naming the first three pairs and the
    option that drops the copies (with the columns already dropped)."""
    found = copies(values)
    other = rescaled(values, {k for _, k in found})
    if not found and not other:
        return
    named = [f"{column_name(header, keep[k])} equals {column_name(header, keep[i])}"
             for i, k in found]  # fmt: skip
    units = [
        f"{column_name(header, keep[k])} is {column_name(header, keep[i])} in other units "
        f"(about {slope:.4g} times it: correlation {r:.5f})"
        for i, k, slope, r in other
    ]
    count = len(named) + len(units)
    shown = named[:SHOWN]  # the copies first, then the columns in other units
    parts = ["in every row, " + "; ".join(shown)] if shown else []
    parts += units[: SHOWN - len(shown)]
    more = f"; and {count - SHOWN} more copies" if count > SHOWN else ""
    copied = sorted(keep[k] for k in [*(k for _, k in found), *(k for _, k, _, _ in other)])
    one = count == 1
    warn_of_file(
        path,
        f"{path}: {'; '.join(parts)}{more}, so a model counts "
        f"{'that measure' if one else 'those measures'} twice (in log p(x), each row's score "
        f"and its fit); drop the {'copy' if one else 'copies'} "
        f"({drop_for(on_command_line, header, copied)}; in Python "
        f"{drop_for(in_python, header, copied)})",
        stacklevel=3,
    )


SHOWN = 3
"""Pairs of a column and its copy that the warning names."""


def repeated_rows(values: np.ndarray, labels: Sequence[str] | None = None) -> int:
    """How many rows of ``values`` ``(N, K)`` (NaN: an empty cell) repeat an earlier row cell
    for cell (and its label of ``labels``, where given), among those that hold a value with
    decimals: a measurement is not repeated to the last decimal by chance, whereas rows of
    counts, codes or 0/1 cells repeat in any file of them."""
    x = values.astype(np.float64) + 0.0  # (N, K); -0.0 as 0
    x[np.isnan(x)] = np.nan  # (one NaN)
    measured = (np.isfinite(x) & (x != np.round(x))).any(1)
    rows = x[measured]
    if labels is not None:
        codes = np.unique(np.asarray(labels, dtype=str)[measured], return_inverse=True)[1]
        rows = np.column_stack([rows, codes.reshape(-1).astype(np.float64)])
    if len(rows) < 2:
        return 0
    rows = np.ascontiguousarray(rows)
    whole = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))  # (n, 1)
    return int(len(rows) - len(np.unique(whole)))


REPEATED = 0.05
"""The share of a file's rows that must repeat earlier ones before it is warned of: an export
saved twice repeats half of them, whereas a measurement taken twice (iris: 1 of 150) is data,
and its copy's split is a matter of chance (readG G2)."""


def warn_of_repeated_rows(path: Path, values: np.ndarray, labels: Sequence[str] | None) -> None:
    """Warn where rows of a file to train on repeat earlier ones (:func:`repeated_rows`), at
    least :data:`REPEATED` of them: a file holding each row 5 times (one export saved again
    and appended) trained without a word, and a row's copies can fall in the train and test
    splits alike, so the test score reads rows the model trained on (userR #5)."""
    count = repeated_rows(values, labels)
    if count < max(1, REPEATED * len(values)):
        return
    rows = (
        f"{count:,} of {len(values):,} rows repeat"
        if count > 1
        else (f"1 of {len(values):,} rows repeats")
    )
    warn_of_file(
        path,
        f"{path}: {rows} an earlier row, every cell the same, so copies of a row can fall in "
        "the train and the test split alike and the test score read rows the model trained on; "
        "if the file holds an export more than once, drop the repeats (pandas: "
        "df.drop_duplicates())",
        stacklevel=3,
    )
