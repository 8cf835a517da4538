"""How good an imputation of one fixed hidden part is, against a baseline fill, with its noise.

The error of a fill is the mean squared error per missing value. Model and baseline are
compared on the same N examples, so their difference is measured per example,
d_n = e_n(model) − e_n(baseline), and its standard error is the paired one,
s.e. = sd(d_1..d_N) / √N (sample standard deviation). It is smaller than either error's own
standard error where the examples that are hard for one fill are hard for the other too: the
digits of the comparison are the ones this s.e. justifies.

Every example hides the same entries, so the mean of the per-example errors is the mean over
every missing value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor

from torchlvm.evaluation.stats import mean_and_stderr


@dataclass(frozen=True)
class ImputationError:
    """Mean squared error per missing value of a model's fill and of a baseline's.

    Attributes:
        model: the model's mean squared error per missing value.
        baseline: the baseline's, on the same examples and entries.
        difference_stderr: the standard error of ``model − baseline``, paired over the
            examples (NaN for one example).
        n: the number of examples.
    """

    model: float
    baseline: float
    difference_stderr: float
    n: int

    @property
    def difference(self) -> float:
        """``model − baseline``: negative where the model fills better."""
        return self.model - self.baseline


def imputation_error(
    x: Tensor, imputed: Tensor, baseline: Tensor, missing: Tensor
) -> ImputationError:
    """Compare the fills ``imputed`` ``(N, D)`` and ``baseline`` (``(D,)`` or ``(N, D)``) of the
    entries ``missing`` (bool ``(D,)``, at least one True) of the true values ``x`` ``(N, D)``."""
    model = (imputed - x)[:, missing].double().pow(2).mean(1)  # (N,) per example
    base = (baseline.expand_as(x) - x)[:, missing].double().pow(2).mean(1)  # (N,)
    _, stderr = mean_and_stderr(model - base)
    stderr = math.nan if stderr is None else stderr
    return ImputationError(float(model.mean()), float(base.mean()), stderr, len(x))
