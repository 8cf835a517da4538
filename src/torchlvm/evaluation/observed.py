"""Likelihood of a table's rows on their observed cells: mean log p(x_o) per row.

Every row of the split counts, complete or not; the scores are those of ``torchlvm score``
(:func:`torchlvm.inference.row_scores.score_rows`): exact for PPCA (the missing cells integrated
out), importance-sampled for a VAE (MIWAE: the missing cells dropped from p(x | z)). For a run
trained on standardized columns the mean is given in those units and in the file's own:
log p(x_o) = log p(x'_o) − Σ_{j observed} log scale_j (:meth:`Standardizer.log_jacobian`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm.data.standardize import Standardizer
from torchlvm.evaluation.records import ObservedLikelihood, Quantity, nats_per, table_units
from torchlvm.inference.row_scores import RowScores, score_rows


def observed_likelihood(
    model: Any,
    x: Tensor,
    k: int,
    standardizer: Standardizer | None = None,
    *,
    table: bool = True,
    complete: tuple[Tensor, Tensor] | None = None,
) -> ObservedLikelihood:
    """Mean log p(x_o) over the rows of ``x`` ``(N, D)`` (NaN = missing), in nats per row.

    Args:
        model: a fitted PPCA (exact) or a VAE-like model (``k`` importance samples per row).
        x: the rows in the model's units.
        k: importance samples per row for a VAE.
        standardizer: the run's standardization, when the model was trained on standardized
            columns: the mean is then also given in the file's units (``nats_file_units``),
            log p(x_o) = log p(x'_o) − Σ_{j observed} log scale_j for each row.
        table: whether the rows are a table's (:attr:`Dataset.is_table`: ``nats/row``) or
            other data's (``nats/example``).
        complete: log p(x) and its standard error ``(N_c,)`` of the complete rows of ``x``, in
            order, when they are already scored with the same estimator (evaluate's likelihood
            section: exact for PPCA, importance-sampled with ``k`` for a VAE, whose MIWAE view
            on a complete row is that estimator): only the incomplete rows are scored here.
    """
    scores = _scores(model, x, k, complete)
    log_p = -scores.neg_log_p
    missing = torch.isnan(x)
    how = (
        "exact: the missing cells integrated out"
        if scores.exact
        else f"importance-sampled, k={k}: the missing cells left out of p(x | z) (MIWAE)"
    )
    units, in_file = table_units(standardizer is not None), None
    if standardizer is not None:
        jacobian = standardizer.log_jacobian(~missing).numpy()  # (N,) −Σ_{j observed} log σ_j
        in_file = _mean_per_row(log_p + jacobian, scores, k, f"in the file's units ({how})", table)
    return ObservedLikelihood(
        nats=_mean_per_row(log_p, scores, k, f"{units} ({how})", table),
        rows=len(log_p),
        incomplete_rows=int(missing.any(-1).sum()),
        missing_cells=int(missing.sum()),
        cells=int(missing.numel()),
        nats_file_units=in_file,
    )


def _scores(model: Any, x: Tensor, k: int, complete: tuple[Tensor, Tensor] | None) -> RowScores:
    """The scores of every row of ``x``: the incomplete rows scored, the complete ones as given
    (every row scored when none are given)."""
    if complete is None:
        return score_rows(model, x, samples=k)
    incomplete = torch.isnan(x).any(-1)
    scored = score_rows(model, x[incomplete], samples=k)
    rows = incomplete.cpu().numpy()
    neg_log_p, stderr = np.empty(len(x)), np.empty(len(x))  # (N,) each
    neg_log_p[rows], stderr[rows] = scored.neg_log_p, scored.stderr
    neg_log_p[~rows] = -complete[0].double().cpu().numpy()
    stderr[~rows] = complete[1].double().cpu().numpy()
    observed = (~torch.isnan(x)).sum(-1).cpu().numpy()
    return RowScores(neg_log_p, stderr, observed, scored.exact, x.shape[-1])


def _mean_per_row(log_p: np.ndarray, scores: RowScores, k: int, what: str, table: bool) -> Quantity:
    """The mean of ``log_p`` ``(N,)`` over rows, with its Monte Carlo and data errors."""
    n = len(log_p)
    return Quantity(
        value=float(log_p.mean()),
        unit=nats_per(table),
        kind="exact" if scores.exact else "estimate",
        k=None if scores.exact else k,
        stderr=None if scores.exact else float(math.sqrt(np.square(scores.stderr).sum()) / n),
        data_stderr=float(log_p.std(ddof=1) / math.sqrt(n)) if n > 1 else None,
        note=f"mean log p(x_o) per row on its observed cells only, {what}",
    )
