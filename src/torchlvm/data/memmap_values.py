"""What the values of a streamed ``.npy`` file are, each split's rows read at most once.

Three questions are asked of the rows a command streams (:class:`~torchlvm.data.memmap.MemmapRows`):
are they finite (every load that checks), in [0, 1] (a binarizing protocol), 0s and 1s (a
Bernoulli likelihood on data left as they are). Each is answered from a
:class:`~torchlvm.data.binarize.Values` summary of the values as the model sees them (float32,
8-bit grey levels divided by 255), so one summary answers all three:

- the whole file's summary (:meth:`MemmapRows.file_summary`, one streamed pass, kept for the
  command), where it vouches for every value of the file, hence for the split's; the file's
  values as stored are read as the model reads them (:func:`seen_as_float32`), and whether they
  are whole after that is not taken from it (it answers False, and the rows are read);
- else the rows' own summary (:meth:`MemmapRows.seen`, made once and shared by the same rows read
  with another protocol), read straight from the rows where that costs less than a pass over
  the file (a test split of a float file that nothing else has read: evaluate's).

:func:`refuse_nonfinite` names the values of the file that no float32 holds, as a full read does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.data import file_values
from torchlvm.data.binarize import Values
from torchlvm.errors import DataError, Spell, spelled

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def seen_as_float32(stored: Values, grey_levels: bool) -> Values:
    """A summary of values as stored read as the model reads them: float32 (a float64 beyond its
    range becomes an infinity, one just above 1 becomes 1), divided by 255 for ``grey_levels``.
    Float32 rounding keeps the order, so the least and greatest are those of the values read;
    whether the values read are whole is not known from it (False): grey levels are whole only
    at 0 and 255, and a float64 may round to a whole float32."""
    with np.errstate(over="ignore"):  # a float64 1e300 becomes inf: not finite
        low, high = np.float32(stored.low), np.float32(stored.high)
    if grey_levels:
        low, high = low / np.float32(255), high / np.float32(255)
    return Values(stored.missing, stored.seen, float(low), float(high), False)


def finite(values: Values) -> bool:
    """Whether values so summarized are finite numbers float32 holds (as beyond_float32)."""
    return not values.missing and -_FLOAT32_MAX <= values.low and values.high <= _FLOAT32_MAX


def finite_where_seen(values: Values) -> bool:
    """Whether the values so summarized that are not NaN are finite numbers float32 holds."""
    return -_FLOAT32_MAX <= values.low and values.high <= _FLOAT32_MAX


def in_unit_interval(values: Values) -> bool:
    """Whether values so summarized lie in [0, 1], with no NaN."""
    return not values.missing and values.low >= 0 and values.high <= 1


def zeros_and_ones(values: Values) -> bool:
    """Whether values so summarized are all 0 or 1."""
    return in_unit_interval(values) and values.whole


def holds(rows: Any, question: Any) -> bool:
    """Whether ``question`` (:func:`finite`, :func:`in_unit_interval`, :func:`zeros_and_ones`)
    holds of every value of ``rows`` (a :class:`~torchlvm.data.memmap.MemmapRows`): from the
    file's summary where it says yes, else from the rows' own summary; the file is read whole
    only where that costs less than reading the rows alone, or is done already."""
    summary = rows.file_summary(learn=not rows.cheaper_alone())
    if summary is not None and question(seen_as_float32(summary, rows.layout.grey_levels)):
        return True
    return question(rows.seen())


def all_finite(x: Any) -> bool:
    """Whether ``x`` (a tensor, or a file's rows) holds no NaN or infinity."""
    if isinstance(x, Tensor):
        return bool(torch.isfinite(x).all())
    return x.layout.dtype.kind != "f" or holds(x, finite)


def is_binary(x: Any) -> bool:
    """Whether every value of ``x`` (a tensor, or a file's rows) is 0 or 1."""
    if isinstance(x, Tensor):
        return bool(((x == 0) | (x == 1)).all())
    return x.threshold or x.draw_seed is not None or holds(x, zeros_and_ones)


def refuse_nonfinite(rows: Any, shape: tuple[int, ...]) -> None:
    """Refuse the values of the file of ``rows`` (every row of it) that are no finite float32,
    as an in-memory read does (:mod:`torchlvm.data.file_values`): values too large for float32,
    infinities, then NaN, each counted and the first named by image and pixel (or example and
    feature), streamed.

    Raises:
        DataError: for the first kind of value found, with its fix under streaming.
    """
    masks = {  # what a value is called, and its mask in (B, D) rows
        file_values.TOO_LARGE[0]: file_values.beyond_float32,
        "infinite": np.isinf,
        "missing (NaN)": np.isnan,
    }
    wide = np.float64 if rows.layout.dtype.itemsize > 4 else np.float32
    found: dict[str, tuple[int, int, int]] = {}  # kind -> (count, row, column of the first)
    start = 0
    for chunk in rows.chunks(wide):
        for kind, mask_of in masks.items():
            mask = mask_of(chunk)
            if not mask.any():
                continue
            if kind not in found:
                row, column = np.argwhere(mask)[0]
                found[kind] = (0, start + int(row), int(column))
            count, row, column = found[kind]
            found[kind] = (count + int(mask.sum()), row, column)
        start += len(chunk)
    kind = next(kind for kind in masks if kind in found)
    count, row, column = found[kind]
    said = file_values.holds(rows.path, count, kind, file_values.in_rows(shape)(row, column))
    raise spelled(DataError, lambda spell: f"{said}; {_fix_nonfinite(kind, spell)}")


def refuse_empty_rows(rows: Any, shape: tuple[int, ...]) -> None:
    """Refuse a row of ``rows`` with no value at all (all NaN: its log p(x_o) is 0 under every
    model), named as a full read names it (:func:`torchlvm.data.files.read_rows`), streamed.

    Raises:
        DataError: naming the first such row (counting from 0 in ``rows``) and how many.
    """
    empty = np.concatenate([np.isnan(chunk).all(1) for chunk in rows.chunks()])  # (N,)
    if empty.any():  # files' own check and words, on a column that is NaN where a row is
        file_values.check_rows_observed(
            np.where(empty, np.nan, 0.0)[:, None], rows.path, len(shape) == 3
        )


def _fix_nonfinite(kind: str, spell: Spell) -> str:
    """The fix of a file's ``kind`` of non-finite value when it is streamed."""
    if kind == file_values.TOO_LARGE[0]:
        return file_values.TOO_LARGE[1]
    if kind == "infinite":
        return file_values.FIX_INFINITE
    return (
        f"fill the missing values in, or load the file without {spell('mmap', True)} and pass "
        f"{spell('allow_missing', True)}: PPCA's EM and the VAE's MIWAE bound fit around "
        "missing values"
    )
