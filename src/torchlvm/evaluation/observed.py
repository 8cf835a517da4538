"""Likelihood of a table's rows on their observed cells: mean log p(x_o) per row.

Every row of the split counts, complete or not; the scores are those of ``torchlvm score``
(:func:`torchlvm.inference.row_scores.score_rows`): exact for PPCA (the missing cells integrated
out), importance-sampled for a VAE (MIWAE: the missing cells dropped from p(x | z)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.evaluation.records import ObservedLikelihood, Quantity, nats_per
from torchlvm.inference.row_scores import score_rows


def observed_likelihood(model: Any, x: Tensor, k: int) -> ObservedLikelihood:
    """Mean log p(x_o) over the rows of ``x`` ``(N, D)`` (NaN = missing), in nats per row.

    Args:
        model: a fitted PPCA (exact) or a VAE-like model (``k`` importance samples per row).
        x: the rows in the model's units.
        k: importance samples per row for a VAE.
    """
    scores = score_rows(model, x, samples=k)
    log_p = -scores.neg_log_p
    n = len(log_p)
    missing = torch.isnan(x)
    how = (
        "exact: the missing cells integrated out"
        if scores.exact
        else f"importance-sampled, k={k}: the missing cells left out of p(x | z) (MIWAE)"
    )
    nats = Quantity(
        value=float(log_p.mean()),
        unit=nats_per(True),
        kind="exact" if scores.exact else "estimate",
        k=None if scores.exact else k,
        stderr=None if scores.exact else float(math.sqrt(np.square(scores.stderr).sum()) / n),
        data_stderr=float(log_p.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        note=f"mean log p(x_o) per row on its observed cells only ({how})",
    )
    return ObservedLikelihood(
        nats=nats,
        rows=n,
        incomplete_rows=int(missing.any(-1).sum()),
        missing_cells=int(missing.sum()),
        cells=int(missing.numel()),
    )
