"""The range of values a model was trained on, and a later file read in other units.

A run trained on 8-bit images learned values in [0, 1]: their levels are divided by 255 as they
are read (:mod:`torchlvm.data.pixels`). The same images saved as floats, the only way to mark a
missing pixel with NaN, are read as stored, 0..255, and a model whose data are not binarized
(PPCA, a Gaussian VAE) then imputed pixels of -156 and scored rows at 8.6 million nats where
the 8-bit file gave -30 (review13 #7), without a word; so too for uint8 rows ``(N, D)``. A run
on images or on an array's rows records the least and greatest value of its training split
(:func:`range_record`; a table run, each column's, in the user's units: :func:`column_range`,
by which ``impute`` counts fills outside their column's range). A later file given to a
model trained in [0, 1] is refused (:func:`check_units`), naming the rescaling, where its values
are mostly far above that range: at least :data:`FEW` of them above :data:`BEYOND`, and the
median size of those not 0 above it too (a file read streamed: whole 8-bit levels above it); a
few values far out are outliers, which ``score`` is there to rank. Runs
made before the record are taken as in [0, 1] where their data was a dataset of grey levels
(digits, MNIST, Fashion-MNIST), or a file of integer levels they read divided by 255.
"""

from __future__ import annotations

import functools
import math
import os
from typing import Any, NamedTuple

import torch
from torch import Tensor

from torchlvm._files import unused_name
from torchlvm.data.binarize import Values
from torchlvm.data.pixels import (
    IMAGE_DATASETS,
    PIXEL_MAX,
    array_header,
    earlier_reading,
    stored_levels,
)
from torchlvm.errors import DataError

BEYOND = 2.0
"""How far above a [0, 1] training range a later file's values must mostly lie to be in other
units (:func:`units_slip`): images in [0, 1] with noise or a filter reach a little above 1,
8-bit levels (up to 255) and 16-bit ones far above."""


LEVELS = 16.0
"""A model trained on images of values up to this or more (levels stored as read: 0..255
floats), given a later file wholly within [0, 1], is given other units: the same images divided
by 255 scored as far more likely than its own training data, inverting an outlier ranking
(readA #16). Only images of whole levels are judged so: rows of measurements may all be small
(readA #18), and an image model of other values may be given values in [0, 1] (review13 #29)."""
FEW = 10
"""Values above :data:`BEYOND` a later file holds at least before it can be in other units: a
mostly-zero row with one spike of 5 was refused as 8-bit levels (review13 #26)."""
SAMPLE = 1 << 20
"""Values the typical size of a later file is measured on at most (evenly strided)."""


def values_of(dataset: Any) -> Values:
    """The summary of ``dataset``'s values as a model sees them (NaN counted apart): one pass
    over an in-memory split; a memory-mapped one's streamed summary (kept once made)."""
    seen = getattr(dataset.x, "seen", None)
    return seen() if callable(seen) else Values.of(dataset.x)


def typical_size(x: Any) -> float | None:
    """The median of the absolute values of tensor ``x`` that are finite and not 0 (at most
    :data:`SAMPLE` of them, evenly strided): how large its values are, which a few far out do
    not move; None for values that are not an in-memory tensor (a memory-mapped file's rows,
    not read again for it); 0 where fewer than :data:`FEW` of them lie above :data:`BEYOND`."""
    if not isinstance(x, torch.Tensor) or not x.numel():
        return None
    flat = x.reshape(-1)
    flat = flat[:: max(1, flat.numel() // SAMPLE)].abs()
    seen = flat[torch.isfinite(flat) & (flat != 0)]
    if int((seen > BEYOND).sum()) < FEW:  # (a row of zeros and one spike: an outlier)
        return 0.0
    return float(seen.median())


def range_record(dataset: Any) -> dict[str, Any]:
    """``{"value_range": [least, greatest], "value_whole": bool}`` of the values of a dataset of
    images or of an array's rows (a run's training split, for its ``data`` record: uint8 rows
    are divided by 255 as images are, review13 #22; whether every value is whole, levels stored
    as read), or for a table :func:`column_range` (its columns are each in their own units)."""
    if len(dataset) == 0:
        return {}
    if getattr(dataset, "is_table", False):
        return column_range(dataset)
    values = values_of(dataset)
    if not values.seen:
        return {}
    return {"value_range": [values.low, values.high], "value_whole": bool(values.whole)}


def column_range(table: Any) -> dict[str, Any]:
    """``{"column_range": [[least, ...], [greatest, ...]]}``: each column's least and greatest
    value in a table's training split, in the user's units (``table.x`` unstandardized; None
    for a column of no value), or ``{}`` where it holds no column. A Gaussian model's fills
    are not bounded: impute wrote a negative proline and a magnesium of 400 without a word
    (userP #5)."""
    standardizer = getattr(table, "standardizer", None)
    x = table.x.double()  # (N, D)
    if standardizer is not None:
        x = standardizer.inverse(x)
    if x.ndim != 2 or not x.shape[1]:
        return {}
    seen = ~torch.isnan(x)
    spread = (x - torch.nanmean(x, 0)).square().nanmean(0).sqrt()  # (D,), NaN: none seen
    low = _rounded(torch.where(seen, x, torch.inf).min(0).values, spread)
    high = _rounded(torch.where(seen, x, -torch.inf).max(0).values, spread)
    return {"column_range": [low, high]}


def _rounded(values: Tensor, spread: Tensor) -> list[float | None]:
    """``values`` ``(D,)`` to 1e-5 of their column's ``spread`` (None for a column of no
    value): the round trip through a float32 standardization moves a value by about 1e-7 of
    it times its z, and the record showed wine's 14.83 as 14.8300001 (0.74 as
    0.7399999999999998 in float64)."""
    spread = torch.where(spread > 0, spread, values.abs().clamp(min=1.0))
    step = 10.0 ** (torch.floor(torch.log10(spread)) - 5)  # (D,)
    rounded = (values / step).round() * step
    return [float(f"{v:.12g}") if math.isfinite(v) else None for v in rounded.tolist()]


def trained_range(data: dict[str, Any]) -> tuple[float, float] | None:
    """The range of values the run whose ``data`` record this is was trained on: recorded, or
    [0, 1] for a dataset of grey levels read by name or a file of integer levels read divided
    by 255; None where it is not known."""
    recorded = data.get("value_range")
    if recorded is not None:
        low, high = recorded
        return float(low), float(high)
    name = str(data.get("name") or "")
    return (0.0, 1.0) if name.lower() in IMAGE_DATASETS or _levels_divided(data) else None


def _levels_divided(data: dict[str, Any]) -> bool:
    """Whether the run of ``data``, made before the range record, was trained on an image file
    (still in place) of integer levels that it read divided by 255, as they are read now: its
    values were in [0, 1]. Such a run took a later file of 0..255 floats with NaN cells, and
    impute filled them with values in [0, 1] among the 0..255 ones (userM #6)."""
    path = str(data.get("name") or "")
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return False
    return _divided(path, stat.st_mtime_ns, stat.st_size, int(data.get("pixels", 1)))


@functools.lru_cache(maxsize=8)
def _divided(path: str, mtime_ns: int, size: int, reading: int) -> bool:
    """:func:`_levels_divided` of the file ``path`` as it is (its time and size key the cache:
    a command asks several times, and each answer reads the whole file; review14 R7)."""
    header = array_header(path)
    if header is None or len(header[0]) not in (3, 4) or header[1].kind not in "iu":
        return False
    if earlier_reading(path, reading) is not None:
        return False  # (read otherwise then: not said here)
    return stored_levels(path) is not None


class Outside(NamedTuple):
    """Values of a model's output that lie outside the range it was trained on (of a table:
    outside their column's, and ``columns`` says which)."""

    count: int  # values outside [low, high]
    total: int  # values looked at
    least: float  # the smallest value looked at
    most: float  # the greatest
    low: float  # the trained range (a table's: the least and greatest of its columns')
    high: float
    columns: tuple[tuple[int, Outside], ...] = ()  # a table's: (j, column j's), where any


def outside_trained(values: Any, data: dict[str, Any]) -> Outside | None:
    """How many of ``values`` (a tensor or an array, any shape; NaN: not looked at) lie outside
    the range the run of images or array rows whose ``data`` record this is was trained on
    (:func:`trained_range`): a Gaussian decoder's means are not bounded, so PPCA fills and
    draws of pixels in [0, 1] reach -0.6 and 1.4. None where none do, none are given, or the
    range is not known (a run made before its record). ``impute`` and ``sample`` of images say
    it in their words (review14 R1); a table's values are counted by column
    (:func:`outside_columns`), in one line
    (:func:`~torchlvm.cli._table_outside.outside_line`)."""
    x = torch.as_tensor(values).double()
    known = trained_range(data)
    if known is None or x.numel() == 0:
        return None
    return _outside(x, *known)


def _outside(x: Tensor, low: float, high: float) -> Outside | None:
    """The values of ``x`` (NaN left out) outside ``[low, high]``, or None where none are."""
    x = x[~torch.isnan(x)]
    count = int(((x < low) | (x > high)).sum())
    if not count:
        return None
    return Outside(count, x.numel(), float(x.min()), float(x.max()), low, high)


def outside_columns(
    values: Any, columns: list[list[float | None]], places: Any = (), *, binary: bool = False
) -> Outside | None:
    """The values of a table's rows ``values`` ``(..., D)`` (user units; NaN: not looked at)
    outside their column's range ``columns`` (``[[least, ...], [greatest, ...]]``, as
    :func:`column_range` records it; None: a column of no value), by column (its
    ``columns``, in column order); None where none are. The one rule of ``impute``'s fills and
    ``sample``'s draws of a table (review15 R9). ``places``: each column's decimals as its file
    writes them (None: as computed), by which values and bounds are compared as the file holds
    them (review9: a draw of -0.03 written '0' is not below 0). ``binary``: the values are a
    Bernoulli's 0/1 draws, compared with each column's range as the model sees it (grey levels
    drawn as 0/1: 0 where its least is below 1, 1 where its greatest is above 0; review11)."""
    x = as_written(torch.as_tensor(values).double(), places)
    flat = x.reshape(-1, x.shape[-1])  # (M * N, D)
    seen = [j for j, b in enumerate(zip(*columns, strict=True)) if None not in b]
    bounds = torch.tensor([[float(b or 0) for b in side] for side in columns], dtype=torch.float64)
    low, high = as_written(bounds, places)  # (D,) each
    if binary:
        low, high = (low >= 1).double(), (high > 0).double()
    found = []
    for j in seen:
        if (out := _outside(flat[:, j], float(low[j]), float(high[j]))) is not None:
            found.append((j, out))
    if not found:
        return None
    values_seen = flat[~torch.isnan(flat)]
    count = sum(out.count for _, out in found)
    least, most = float(values_seen.min()), float(values_seen.max())
    return Outside(count, values_seen.numel(), least, most, float(low[seen].min()),
                   float(high[seen].max()), tuple(found))  # fmt: skip


def as_written(values: Tensor, places: Any) -> Tensor:
    """``values`` ``(..., D)`` (float64, user units) rounded as each column's file writes them,
    ``places`` its decimals (None, or none given: as computed), -0.0 as 0."""
    out = values.clone()
    for j, digits in enumerate(places):
        if digits is not None:
            out[..., j] = torch.round(values[..., j], decimals=int(digits))
    return out + 0.0  # (-0.0 said as 0)


def units_slip(
    values: Values, name: str, data: dict[str, Any], model: str, typical: float | None = None
) -> str | None:
    """Why the values summarized as ``values`` (of the file ``name``; ``typical``: the median
    size of its values that are not 0, where known) are not in the units of the model trained
    on ``data``: a sentence, or None where nothing says so. Most values far above [0, 1] are
    other units; a few are outliers, which ``score`` is there to rank: a later row with one
    cell of 3.0 was refused whole (readA #1, #5). Without ``typical`` (a streamed file) only
    whole 8-bit levels are judged."""
    trained = trained_range(data)
    if trained is None or not values.seen:
        return None
    levels = len(data.get("shape") or ()) == 3 and data.get("value_whole") is True  # (review13 #29)
    if levels and trained[1] >= LEVELS and not values.whole and 0 <= values.low <= values.high <= 1:
        return (  # the mirror: a model of levels 0..255 given them divided (readA #16)
            f"{name} holds values in [{values.low:.3g}, {values.high:.3g}] only, but {model} "
            f"was trained on values in [{trained[0]:.3g}, {trained[1]:.3g}]; they look like "
            "levels divided by 255: multiply them by 255, as the training data were"
        )
    if trained[1] > 1.0 or values.high <= BEYOND:
        return None
    levels = values.whole and values.low >= 0 and values.high <= PIXEL_MAX
    if (typical is None and not levels) or (typical is not None and typical <= BEYOND):
        return None  # (its values are mostly where the model learned them: outliers)
    stem = name[: -len(".npy")] if name.lower().endswith(".npy") else name
    fix = "they are in other units: rescale them as the training data were"
    if levels:
        fix = "they look like 8-bit levels read as stored: divide them by 255"
    if levels and name.lower().endswith(".npy"):
        fix += f", np.save({unused_name(stem + '-01.npy')!r}, np.load({name!r}) / 255)"
    size = "" if typical is None else f" (half of those not 0 above {typical:.3g})"
    return (
        f"{name} holds values up to {values.high:g}{size}, but {model} was trained on values "
        f"in [{trained[0]:.3g}, {trained[1]:.3g}]; {fix}"
    )


def check_units(x: Any, name: str, data: dict[str, Any], model: str) -> None:
    """Refuse a later file in other units than the model's training data; ``x``: its values
    (a tensor), or a dataset (its ``x``; a memory-mapped one's streamed summary).

    Raises:
        DataError: naming the greatest value, the trained range and the rescaling.
    """
    values = Values.of(x) if isinstance(x, torch.Tensor) else values_of(x)
    typical = typical_size(x if isinstance(x, torch.Tensor) else x.x)
    slip = units_slip(values, name, data, model, typical)
    if slip is not None:
        raise DataError(slip)
