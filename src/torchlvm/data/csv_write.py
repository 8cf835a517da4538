"""Writing tables as CSV, atomically (a half-written file never replaces anything).

Numbers are written with :func:`number_text`, the shortest text that reads back to the same
float64 (``repr``), so a value survives a round trip bit for bit; values a float32 model computed
are written with float32's shortest text.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Sequence

import numpy as np

from torchlvm._files import atomic_path


def number_text(value: float, *, single: bool = False) -> str:
    """The shortest text of ``value`` that reads back to the same float64 (``single``: to the
    same float32, for a value a float32 model computed: its further digits are rounding noise,
    ``2.5052406787872314`` for ``2.5052407``); NaN is empty."""
    if math.isnan(value):
        return ""
    return str(np.float32(value)) if single else repr(float(value))


def write_csv(
    path: str | os.PathLike[str],
    header: Sequence[str] | None,
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
) -> None:
    """Write ``header`` (if any) and ``rows`` of cell texts to ``path`` atomically, ``delimiter``
    between cells (a file read with semicolons is written back with them)."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
