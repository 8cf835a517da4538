"""The mean of per-example values and its standard error, computed one way for every number
torchlvm prints with an error bar: float64, the sample standard deviation (n − 1), s.e. =
sd / √n. How such a number is written (``0.300 ± 0.022``) is
:func:`torchlvm.report.metrics.format_measured`'s."""

from __future__ import annotations

import math

from torch import Tensor


def mean_and_stderr(values: Tensor) -> tuple[float, float | None]:
    """(mean, standard error of the mean) of ``values`` ``(N,)``; the s.e. is None for fewer
    than two values (there is no spread to measure)."""
    values = values.double()
    n = values.numel()
    mean = float(values.mean())
    return mean, (float(values.std(correction=1)) / math.sqrt(n) if n > 1 else None)
