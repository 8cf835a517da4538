"""A feature column that repeats another in every row (``bmi_copy`` beside ``bmi``), warned of in
a file to train on: a model would count that one measure twice, in log p(x), in each row's
score and in its fit (userJ: a VAE's σ of 0.418 for both, 0.705 for ``bmi`` alone), and no
refusal or line said so. Only a cell-for-cell copy is named (empty cells in the same rows): a
column that is another in other units may be wanted, and is not guessed at."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np

from torchlvm.data.csv_column import column_name, drop_for
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


def warn_of_copies(path: Path, header: list[str] | None, values: np.ndarray, keep) -> None:
    """Warn once where feature columns (file column ``keep[k]`` holds ``values[:, k]``)
    repeat others in every row, naming the first three pairs and the option that drops the
    copies (with the columns already dropped)."""
    found = copies(values)
    if not found:
        return
    pairs = [f"{column_name(header, keep[k])} equals {column_name(header, keep[i])}"
             for i, k in found[:SHOWN]]  # fmt: skip
    more = f"; and {len(found) - SHOWN} more copies" if len(found) > SHOWN else ""
    copied = [keep[k] for _, k in found]
    one = len(found) == 1
    warnings.warn(
        f"{path}: in every row, {'; '.join(pairs)}{more}, so a model counts "
        f"{'that measure' if one else 'those measures'} twice (in log p(x), each row's score "
        f"and its fit); drop the {'copy' if one else 'copies'} "
        f"({drop_for(on_command_line, header, copied)}; in Python "
        f"{drop_for(in_python, header, copied)})",
        stacklevel=3,
    )


SHOWN = 3
"""Pairs of a column and its copy that the warning names."""
