"""Outlier scores per row: −log p(x), exact for PPCA, importance-sampled for a VAE; for a CVAE of
class labels, −log p(x | c) of each row's class, or without labels the class mixture
−log Σ_c π_c p(x | c) (:mod:`torchlvm.inference.class_mixture`).

A row with missing cells (NaN) is scored on its observed cells, log p(x_o): PPCA integrates the
missing cells out exactly; a VAE uses the MIWAE view (:mod:`torchlvm.inference.miwae`), whose
importance-sampled estimate on complete rows is the usual one (Burda et al. 2016), drawn for a
row with missing cells from :func:`~torchlvm.inference.miwae.defensive_proposal`. The scores
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
from torchlvm.inference.class_mixture import mixture_of_estimates
from torchlvm.inference.exact import exact_log_px
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
        ess: ``(N,)`` effective sample size of each estimate (of the mixture's dominant
            class, π_c p(x | c) largest), or None for exact scores. Under the rule of
            :func:`torchlvm.inference.ess.few_effective`, a few weights carry the estimate: its
            ``stderr`` understates its error and it may sit nats low.
    """

    neg_log_p: np.ndarray
    stderr: np.ndarray
    observed: np.ndarray
    exact: bool
    cells: int
    ess: np.ndarray | None = None

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
    def scored(self) -> np.ndarray:
        """``(N,)`` bool: the rows with a score (NaN: not scored, such as a row with no value)."""
        return ~np.isnan(self.neg_log_p)

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
    labels: Tensor | None = None,
    class_log_prior: Tensor | None = None,
) -> RowScores:
    """−log p(x) of every row of ``x`` ``(N, D)`` (NaN = missing).

    Args:
        model: a fitted PPCA (``log_marginal``: exact) or a VAE-like model (importance sampling
            with ``samples`` draws from :func:`~torchlvm.inference.miwae.defensive_proposal`,
            q(z | x̃) for a complete row); a CVAE of class labels with ``labels`` or
            ``class_log_prior``.
        x: rows in the model's units.
        samples: importance samples per row (per class for the mixture) for a VAE.
        log_jacobian: ``(N,)`` added to log p(x) (e.g. :meth:`Standardizer.log_jacobian` to get
            the density in the user's units), or None.
        advance: called with the number of rows just scored after each batch of :data:`ROWS`
            importance-sampled rows (a progress bar's update); not called for an exact score.
        labels: ``(N,)`` each row's class (a CVAE): −log p(x | c) of that class.
        class_log_prior: ``(C,)`` log π (a CVAE scored without labels): −log p(x) =
            −log Σ_c π_c p(x | c) (:func:`~torchlvm.inference.class_mixture.log_mixture`, as
            ``evaluate``'s outlier score and ``CVAEEstimator.score_samples`` without y), each
            p(x | c) from its own draws, the standard error to first order
            (:func:`~torchlvm.inference.class_mixture.mixture_stderr`).

    Returns:
        :class:`RowScores`.
    """
    observed = (~torch.isnan(x)).sum(-1).cpu()
    (x,) = _device.to_model(model, x)
    ess = None
    exact = exact_log_px(model)
    if exact:
        log_p = model.log_marginal(x.to(model.W.dtype)).double().cpu()
        stderr = torch.zeros_like(log_p)
    else:
        log_p, stderr, ess = _sampled(model, x, samples, advance, labels, class_log_prior)
    if log_jacobian is not None:
        log_p = log_p + log_jacobian.to(log_p)
    return RowScores(
        (-log_p).numpy(), stderr.numpy(), observed.numpy(), exact, x.shape[-1],
        None if ess is None else ess.numpy(),
    )  # fmt: skip


def _sampled(
    model: Any,
    x: Tensor,
    samples: int,
    advance: Callable[[int], None] | None,
    labels: Tensor | None,
    log_prior: Tensor | None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Importance-sampled log p(x_o [| c]) ``(N,)``, its standard error ``(N,)`` and effective
    sample size ``(N,)``, float64 on the CPU, :data:`ROWS` rows at a time: of each row's class in
    ``labels``, or of the mixture over the classes weighted by ``log_prior``, or of a model
    without a condition."""
    means, errors, sizes = [], [], []
    for start in range(0, len(x), ROWS):
        xb = x[start : start + ROWS]  # (B, D)
        if log_prior is not None:
            mean, err, ess = _mixture(model, xb, samples, log_prior)
        else:
            c = None if labels is None else _condition(model, labels[start : start + ROWS], xb)
            estimate = _observed(model, xb, c, samples)
            mean, err = estimate.mean.cpu().double(), estimate.stderr.cpu().double()
            ess = estimate.ess.cpu().double()
        means.append(mean)
        errors.append(err)
        sizes.append(ess)
        if advance is not None:
            advance(len(xb))
    return torch.cat(means), torch.cat(errors), torch.cat(sizes)


def _condition(model: Any, labels: Tensor, xb: Tensor) -> Tensor:
    """One-hot c ``(B, C)`` of class ``labels`` ``(B,)`` on the device of ``xb``."""
    return model.condition_from_labels(labels.to(xb.device))


def _mixture(
    model: Any, xb: Tensor, samples: int, log_prior: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """log Σ_c π_c p(x | c) ``(B,)`` of the rows ``xb``, its standard error ``(B,)``, and the
    effective sample size ``(B,)`` of the class whose π_c p(x | c) is largest (the term that
    carries the sum)."""
    each = []
    for j in range(len(log_prior)):
        c = _condition(model, torch.full((len(xb),), j, dtype=torch.long), xb)
        each.append(_observed(model, xb, c, samples))
    return mixture_of_estimates(each, log_prior)


def _observed(model: Any, xb: Tensor, c: Tensor | None, samples: int) -> Any:
    """The importance-sampled log p(x_o [| c]) of the rows ``xb`` ``(B, D)`` (an
    :class:`~torchlvm.inference.Estimate`), drawn from
    :func:`~torchlvm.inference.miwae.defensive_proposal`."""
    return log_marginal_observed(model, xb, c, num_samples=samples)
