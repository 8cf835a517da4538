"""Outlier scores per row: −log p(x), exact for PPCA, importance-sampled for a VAE.

A row with missing cells (NaN) is scored on its observed cells, log p(x_o): PPCA integrates the
missing cells out exactly; a VAE uses the MIWAE view (:mod:`torchlvm.inference.miwae`), whose
importance-sampled estimate on complete rows is the usual one (Burda et al. 2016). The scores
are computed on the model's device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm import _device
from torchlvm.inference.miwae import log_marginal_observed

ROWS = 256  # rows scored at a time by a VAE


@dataclass(frozen=True)
class RowScores:
    """Scores of N rows, in nats.

    Attributes:
        neg_log_p: ``(N,)`` −log p(x) (observed cells only where cells are missing).
        stderr: ``(N,)`` standard error of the estimate (0 where it is exact).
        observed: ``(N,)`` observed cells per row.
        exact: whether the scores are exact (PPCA) or estimates (VAE).
        cells: D, the cells of a complete row.
    """

    neg_log_p: np.ndarray
    stderr: np.ndarray
    observed: np.ndarray
    exact: bool
    cells: int

    @property
    def order(self) -> np.ndarray:
        """Row indices from the most outlying (highest −log p(x)) down; ties keep file order."""
        return np.argsort(-self.neg_log_p, kind="stable")

    @property
    def rank(self) -> np.ndarray:
        """``(N,)`` rank of each row, 1 = most outlying."""
        rank = np.empty(len(self.neg_log_p), dtype=np.int64)
        rank[self.order] = np.arange(1, len(rank) + 1)
        return rank

    @property
    def partial_rows(self) -> int:
        """Rows scored on fewer than all their cells (not merely fewer than the fullest row: a
        column missing from every row makes every row partial)."""
        return int((self.observed < self.cells).sum())


@torch.no_grad()
def score_rows(
    model: Any,
    x: Tensor,
    *,
    samples: int = 1000,
    log_jacobian: Tensor | None = None,
    advance: Callable[[int], None] | None = None,
) -> RowScores:
    """−log p(x) of every row of ``x`` ``(N, D)`` (NaN = missing).

    Args:
        model: a fitted PPCA (``log_marginal``: exact) or a VAE-like model (importance sampling
            with ``samples`` draws from q(z | x̃)).
        x: rows in the model's units.
        samples: importance samples per row for a VAE.
        log_jacobian: ``(N,)`` added to log p(x) (e.g. :meth:`Standardizer.log_jacobian` to get
            the density in the user's units), or None.
        advance: called with the number of rows just scored after each batch of :data:`ROWS`
            importance-sampled rows (a progress bar's update); not called for an exact score.

    Returns:
        :class:`RowScores`.
    """
    observed = (~torch.isnan(x)).sum(-1).cpu()
    (x,) = _device.to_model(model, x)
    if hasattr(model, "log_marginal"):
        log_p = model.log_marginal(x.to(model.W.dtype)).double().cpu()
        stderr = torch.zeros_like(log_p)
    else:
        parts = []
        for xb in x.split(ROWS):
            parts.append(log_marginal_observed(model, xb, num_samples=samples))
            if advance is not None:
                advance(len(xb))
        log_p = torch.cat([p.mean.cpu() for p in parts]).double()
        stderr = torch.cat([p.stderr.cpu() for p in parts]).double()
    if log_jacobian is not None:
        log_p = log_p + log_jacobian.to(log_p)
    exact = hasattr(model, "log_marginal")
    return RowScores((-log_p).numpy(), stderr.numpy(), observed.numpy(), exact, x.shape[-1])
