"""The values a user's file may hold, checked as it is read, each refusal naming the first
offending value where the user can find it (:data:`Where`: an example and feature, an image's
pixel, or a CSV's line and column): numbers only, in a shape of rows or images (flattened as
:mod:`torchlvm.data.pixels` says), no value float32 cannot hold, no infinity, NaN (missing) only
when asked for, and no row with no value at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from torchlvm.data import pixels
from torchlvm.data.csv_column import column_name
from torchlvm.data.csv_table import delete_such
from torchlvm.data.save_lines import fill_line, not_numbers, one_feature
from torchlvm.errors import DataError, Spell, on_command_line, spelled

Where = Callable[[int, int], str]  # (row, feature) -> where a message says the value is


def in_array(row: int, column: int) -> str:
    return f"in example {row}, feature {column}, counting from 0"


def in_rows(shape: tuple[int, ...]) -> Where:
    """Where a value of an array's rows flattened from per-example ``shape`` is: by image,
    channel and pixel for images ``(C, H, W)``, else by example and feature."""
    return _in_images(shape) if len(shape) == 3 else in_array


def holds(path: Path, count: int, what: str, first: str) -> str:
    """What a file holds that is refused, as every reader of it says so: "x.npy holds 2
    infinite values (the first in image 1, pixel row 0, column 3, counting from 0)"."""
    return f"{path} holds {_values(count, what)} (the first {first})"


def _in_images(shape: tuple[int, ...]) -> Where:
    """Where a value of images flattened from per-example ``shape`` ``(C, H, W)`` is: its image,
    channel (of several), and pixel's row and column."""
    channels, height, width = shape

    def where(row: int, column: int) -> str:
        channel, pixel = divmod(column, height * width)
        y, x = divmod(pixel, width)
        which = f"channel {channel}, " if channels > 1 else ""
        return f"in image {row}, {which}pixel row {y}, column {x}, counting from 0"

    return where


def _values(count: int, what: str) -> str:
    """``count`` values of a kind, the noun agreeing: "1 infinite value", "2 infinite values"."""
    return f"{count} {what} value{'' if count == 1 else 's'}"


def in_table(
    lines: np.ndarray | None, names: Sequence[str] | None, places: Sequence[int] = ()
) -> Where:
    """Where a cell of a CSV is, as a spreadsheet shows it: its line and its column's name (of
    a file without header, as the options count it: ``column 3 (index 2)``, its file column
    index from ``places``; it said a 1-based "feature column 3" beside 0-based options)."""
    if lines is None:
        return in_array

    def where(row: int, column: int) -> str:
        if names:
            name = f"column {names[column]!r}"
        elif places:
            name = column_name(None, places[column])
        else:
            name = f"feature {column} (counting from 0)"
        return f"on line {int(lines[row])}, {name}"

    return where


def features(
    array: np.ndarray, path: Path, where: Where = in_array
) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(N, D)`` rows and the per-example shape they were flattened from, by the rule of
    :mod:`torchlvm.data.pixels` (images channels first, 8-bit levels divided by 255): float64 values
    (every CSV; and wider floats, once checked to fit float32) stay float64 until after
    standardization, which would see a column such as 1.7e9 + noise as constant in float32
    (spacing 128); everything else is float32."""
    if array.dtype.kind not in "biuf" or array.dtype.names is not None:
        raise not_numbers(array, path)
    if array.ndim not in (2, 3, 4):
        one = ""
        if array.ndim == 1 and array.size:  # one feature of N examples (review13 #19)
            one = f"; {one_feature(path, len(array))}"
        raise DataError(
            f"{path} holds an array of shape {array.shape}; pass (N, D) rows or (N, H, W) / "
            f"(N, C, H, W) images{one}"
        )
    if 0 in array.shape:
        raise DataError(f"{path} holds no data (array shape {array.shape}); add examples")
    shape = pixels.example_shape(array.shape, path)
    pixels.warn_of_either_order(array.shape, path)
    if len(shape) == 3:  # images: a value is a pixel, its channel first
        where = in_rows(shape)
    _refuse(beyond_float32(pixels.channels_first(array)), path, *TOO_LARGE, where)
    wide = array.dtype.kind == "f" and array.dtype.itemsize > 4
    levels = pixels.integer_levels(array)  # (min and max read once: a pass over every value)
    scaled = levels is not None and pixels.eight_bit_range(*levels)
    if scaled:
        pixels.warn_of_levels(array.dtype, float(levels[1]), path)
    return pixels.rows(array, np.float64 if wide else np.float32, scaled=scaled), shape


TOO_LARGE = (
    "finite but too large",
    f"torchlvm computes in float32, whose largest value is {np.finfo(np.float32).max:.3g}: "
    "rescale the data (other units, or their logarithm)",
)
"""What a value float32 cannot hold is called, and the fix."""


def beyond_float32(array: np.ndarray) -> np.ndarray:
    """``(N, D)`` mask of the finite values of ``(N, ...)`` ``array`` that float32 cannot hold,
    which would become inf and be called infinite; ``(N, 0)`` for a dtype float32 holds (no
    copy of a channels-last view, no mask of every value)."""
    if array.dtype.kind != "f" or array.dtype.itemsize <= 4:
        return np.zeros((len(array), 0), dtype=bool)
    rows = array.reshape(len(array), -1)
    return np.isfinite(rows) & (np.abs(rows) > np.finfo(np.float32).max)


def _refuse(mask: np.ndarray, path: Path, what: str, fix: str, where: Where) -> None:
    """Raise if ``mask`` (shaped like the data) marks any value, naming the first."""
    if mask.any():
        row, column = np.argwhere(mask)[0]
        first = where(int(row), int(column))
        raise DataError(f"{holds(path, int(mask.sum()), what, first)}; {fix}")


FIX_INFINITE = "replace infinite values with finite numbers"


def check_finite(
    x: np.ndarray,
    path: Path,
    allow_missing: bool,
    where: Where,
    *,
    images: bool,
    csv: bool,
    read_with: dict[str, Any] | None = None,
) -> None:
    """Refuse infinities always and NaN unless ``allow_missing``; ``images``: x holds images'
    pixels, ``csv``: x was read from a CSV (whose empty cells are NaN too), with the column
    options ``read_with`` (which the command that fills it is given too)."""
    _refuse(
        np.isinf(x), path, "infinite", f"{FIX_INFINITE}, or with NaN to mark them missing", where
    )
    if allow_missing:
        return

    def fix(spell: Spell) -> str:  # fit ppca takes --allow-missing with its EM only
        cli = spell is on_command_line
        em = "with --method em for fit ppca" if cli else "method='em' for PPCA"
        given = "".join(
            f" {spell(k, v)}" for k, v in (read_with or {}).items() if v not in (None, [])
        )
        python = "PPCA(method='em').fit(X).impute(X) on its rows X"
        fill = fill_line(path, x.shape[1], given, csv) if cli else python
        return (
            f"pass {spell('allow_missing', True)} ({em}): PPCA's EM and the VAE's MIWAE bound "
            f"fit around missing values; or fill them in first ({fill})"
        )

    incomplete = np.isnan(x).any(1)
    rows, cell = ("images", "pixel") if images else ("rows", "cell")
    if len(x) > 1 and incomplete.all():
        raise spelled(
            DataError,
            lambda spell: (
                f"{path}: every one of its {len(x)} {rows} has a missing {cell}, so no complete "
                f"{rows[:-1]} is left; {fix(spell)}"
            ),
        )
    mask = np.isnan(x)
    if mask.any():
        row, column = np.argwhere(mask)[0]
        what = "missing (NaN or empty)" if csv else "missing (NaN)"
        said = holds(path, int(mask.sum()), what, where(int(row), int(column)))
        raise spelled(DataError, lambda spell: f"{said}; {fix(spell)}")


def check_rows_observed(x: np.ndarray, path: Path, images: bool) -> None:
    """Refuse an array's row (an image, for ``images``) with no value at all (a model learns,
    fills and scores nothing from it: its log p(x_o) is 0), as a CSV's reader refuses one, by
    its line."""
    empty = np.isnan(x).all(1)
    if empty.any():
        what, noun = ("image", "image") if images else ("example", "row")
        raise DataError(
            f"{path}: {what} {int(np.argmax(empty))} (counting from 0) has no value at all "
            f"({delete_such(int(empty.sum()), noun)})"
        )
