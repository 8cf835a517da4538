"""A column's code for a missing value written as a number (-999, 9999: SPSS, Stata and survey
exports use them): read as a measured value, which a model fits, and so warned of, naming the
column, the code and its count; not guessed away (a -99 may be a real value)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from torchlvm.data.csv_column import column_name
from torchlvm.data.file_warning import warn_of_file

CODES: tuple[float, ...] = (-99999.0, -9999.0, -999.0, -99.0, 99.0, 999.0, 9999.0, 99999.0)
"""The numbers that exports write for a missing value."""


def warn_of_codes(path: Path, header: list[str] | None, values: np.ndarray, j: int) -> None:
    """Warn where column ``j``'s ``(N,)`` ``values`` hold a :data:`CODES` number further from
    the range of the column's other values than that range is wide (-999 among values in
    -3 .. 3; not -99 among percentages 0 .. 100)."""
    finite = values[np.isfinite(values)]
    for code in CODES:
        hits = finite == code
        if not hits.any():  # (most columns hold none: no copy of the column for them)
            continue
        others = finite[~hits]
        if np.unique(others).size < 2:
            continue
        low, high = float(others.min()), float(others.max())
        if max(low - code, code - high) <= high - low:
            continue
        n = int(hits.sum())
        rows = "1 row" if n == 1 else f"{n} rows"
        warn_of_file(
            path,
            f"{path}: {column_name(header, j)} holds {code:g} in {rows}, far outside its other "
            f"values ({low:.4g} .. {high:.4g}): a code for a missing value? if so, read the "
            f"file with --na-values {code:g} (with --allow-missing to fit or train on it; "
            f"na_values=['{code:g}'], allow_missing=True in Python); as it is, {code:g} is read "
            "as a measured value",
            stacklevel=2,
        )
