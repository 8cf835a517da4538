"""The mean of per-example values and its standard error, computed one way for every number
torchlvm prints with an error bar: float64, the sample standard deviation (n − 1), s.e. =
sd / √n; and ``0.300 ± 0.022``, how ``compare``'s table and figure write a value with its error."""

from __future__ import annotations

import math
from typing import Any

from torch import Tensor


def mean_and_stderr(values: Tensor) -> tuple[float, float | None]:
    """(mean, standard error of the mean) of ``values`` ``(N,)``; the s.e. is None for fewer
    than two values (there is no spread to measure)."""
    values = values.double()
    n = values.numel()
    mean = float(values.mean())
    return mean, (float(values.std(correction=1)) / math.sqrt(n) if n > 1 else None)


def number_text(value: Any) -> str:
    """Three significant digits, without an exponent below a million: 0.0614, 24.5, 55,603."""
    value = float(value)
    return f"{value:,.0f}" if 1000 <= abs(value) < 1e6 else f"{value:.3g}"


def with_error(value: float, err: float | None) -> str:
    """``0.300 ± 0.022``: the error to 2 significant digits and the value to the same decimal
    place (0.3 ± 0.022 beside 0.305 ± 0.025 read as a coarser number); the value alone
    (:func:`number_text`) where there is no error (None, not finite, or 0)."""
    if err is None or not math.isfinite(err) or err <= 0:
        return number_text(value)
    decimals = max(0, 1 - math.floor(math.log10(err)))
    return f"{value:.{decimals}f} ± {err:.{decimals}f}"
