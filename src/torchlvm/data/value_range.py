"""The range of values a model was trained on, and a later file read in other units.

A run trained on 8-bit images learned values in [0, 1]: their levels are divided by 255 as they
are read (:mod:`torchlvm.data.pixels`). The same images saved as floats, the only way to mark a
missing pixel with NaN, are read as stored, 0..255, and a model whose data are not binarized
(PPCA, a Gaussian VAE) then imputed pixels of -156 and scored rows at 8.6 million nats where
the 8-bit file gave -30 (review13 #7), without a word; so too for uint8 rows ``(N, D)``. A run
on images or on an array's rows records the least and greatest value of its training split
(:func:`range_record`; a table's columns are standardized instead); a later file whose values
reach far above a [0, 1] range is refused (:func:`check_units`), naming the rescaling. Runs
made before the record are taken as in [0, 1] where their data was a dataset of grey levels
(digits, MNIST, Fashion-MNIST).
"""

from __future__ import annotations

from typing import Any

from torchlvm._files import unused_name
from torchlvm.data.binarize import Values
from torchlvm.data.pixels import IMAGE_DATASETS, PIXEL_MAX
from torchlvm.errors import DataError

BEYOND = 2.0
"""A later file whose greatest value exceeds this, given to a model trained on values in
[0, 1], is in other units: images in [0, 1] with noise or a filter reach a little above 1,
8-bit levels (up to 255) and 16-bit ones far above."""


def values_of(dataset: Any) -> Values:
    """The summary of ``dataset``'s values as a model sees them (NaN counted apart): one pass
    over an in-memory split; a memory-mapped one's streamed summary (kept once made)."""
    seen = getattr(dataset.x, "seen", None)
    return seen() if callable(seen) else Values.of(dataset.x)


def range_record(dataset: Any) -> dict[str, list[float]]:
    """``{"value_range": [least, greatest]}`` of the values of a dataset of images or of an
    array's rows (a run's training split, for its ``data`` record: uint8 rows are divided by 255
    as images are, review13 #22), or ``{}`` for a table (its columns are standardized)."""
    if getattr(dataset, "is_table", False) or len(dataset) == 0:
        return {}
    values = values_of(dataset)
    return {"value_range": [values.low, values.high]} if values.seen else {}


def trained_range(data: dict[str, Any]) -> tuple[float, float] | None:
    """The range of values the run whose ``data`` record this is was trained on: recorded, or
    [0, 1] for a dataset of grey levels read by name; None where it is not known."""
    recorded = data.get("value_range")
    if recorded is not None:
        low, high = recorded
        return float(low), float(high)
    name = str(data.get("name") or "").lower()
    return (0.0, 1.0) if name in IMAGE_DATASETS else None


def units_slip(values: Values, name: str, data: dict[str, Any], model: str) -> str | None:
    """Why the values summarized as ``values`` (of the file ``name``) are not in the units of
    the model trained on ``data``: a sentence, or None where nothing says so."""
    trained = trained_range(data)
    if trained is None or not values.seen or trained[1] > 1.0 or values.high <= BEYOND:
        return None
    stem = name[: -len(".npy")] if name.lower().endswith(".npy") else name
    levels = values.whole and values.low >= 0 and values.high <= PIXEL_MAX
    fix = "they are in other units: rescale them as the training data were"
    if levels:
        fix = "they look like 8-bit levels read as stored: divide them by 255"
    if levels and name.lower().endswith(".npy"):
        fix += f", np.save({unused_name(stem + '-01.npy')!r}, np.load({name!r}) / 255)"
    return (
        f"{name} holds values up to {values.high:g}, but {model} was trained on values in "
        f"[{trained[0]:.3g}, {trained[1]:.3g}]; {fix}"
    )


def check_units(values: Values, name: str, data: dict[str, Any], model: str) -> None:
    """Refuse a later image file in other units than the model's training data.

    Raises:
        DataError: naming the greatest value, the trained range and the rescaling.
    """
    slip = units_slip(values, name, data, model)
    if slip is not None:
        raise DataError(slip)
