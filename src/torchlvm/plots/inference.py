"""Figures of inference quality: the ELBO identity along an optimization, and the inference gaps.

* :func:`identity_figure` — log p(x), ELBO(q_t) and KL(q_t ‖ p(z|x)) at every step t of fitting
  q (exact on PPCA): the ELBO rises as the KL falls, and ELBO + KL lies on log p(x) throughout.
* :func:`gaps_figure` — per model or setting, log p(x) − ELBO(q_enc) split into the approximation
  gap (log p(x) − ELBO(q*)) and the amortization gap (ELBO(q*) − ELBO(q_enc)) of Cremer et al.
  2018, in nats per example.

Arrays in, :class:`~matplotlib.figure.Figure` out; :func:`save_figure` writes a PNG atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from torchlvm.errors import ConfigError
from torchlvm.plots._style import as_array, new_figure, save_figure

__all__ = ["gaps_figure", "identity_figure", "save_figure"]

#: nats below which a gap is rounding error (float32 log p(x) of ~100 nats carries ~1e-5)
EXACT_BELOW = 1e-5


def _per_step(values: Any, name: str) -> np.ndarray:
    """(T+1,) or (T+1, B) values → the mean over examples per step, (T+1,)."""
    array = as_array(values, name)
    if array.ndim == 2:
        array = array.mean(1)
    if array.ndim != 1 or array.size == 0:
        raise ConfigError(f"{name} must have shape (steps,) or (steps, B), got {array.shape}")
    return array


def identity_figure(log_px: Any, elbo: Any, kl: Any, *, title: str | None = None) -> Figure:
    """log p(x) = ELBO + KL(q ‖ p(z|x)) along the optimization of q.

    Args:
        log_px: log p(x), a number or per example (B,) (averaged), nats.
        elbo: ELBO at each step, (T+1,) or (T+1, B) (averaged over examples), nats.
        kl: KL(q ‖ p(z|x)) at each step, same shape as ``elbo``, nats.
        title: optional figure title.

    Returns:
        A two-panel figure: left, log p(x), ELBO and ELBO + KL against the step; right, the KL
        on a log scale.
    """
    elbo_t, kl_t = _per_step(elbo, "elbo"), _per_step(kl, "kl")
    if elbo_t.shape != kl_t.shape:
        raise ConfigError(
            f"elbo and kl must have the same length, got {elbo_t.shape}, {kl_t.shape}"
        )
    lp = float(as_array(log_px, "log_px").mean())
    steps = np.arange(elbo_t.size)
    fig = new_figure(9.0, 3.6)
    left, right = fig.subplots(1, 2)
    left.axhline(lp, color="black", lw=2.5, alpha=0.35, label="log p(x) (exact)")
    left.plot(steps, elbo_t, color="tab:blue", label="ELBO(q)")
    left.plot(steps, elbo_t + kl_t, color="tab:red", ls="--", label="ELBO + KL(q ‖ p(z|x))")
    left.set_xlabel("optimization step of q")
    left.set_ylabel("nats per example")
    left.set_title(_identity_title(lp, float(kl_t[-1]), steps.size - 1), fontsize=10)
    left.legend(loc="lower right", fontsize=8)
    positive = np.where(kl_t > 0, kl_t, np.nan)
    right.plot(steps, positive, color="tab:green")
    if np.isfinite(positive).any():
        right.set_yscale("log")
    right.set_xlabel("optimization step of q")
    right.set_ylabel("nats per example")
    right.set_title("KL(q ‖ p(z|x)) = log p(x) − ELBO")
    if title:
        fig.suptitle(title)
    return fig


def _identity_title(log_px: float, kl_last: float, steps: int) -> str:
    """The left panel's title: where q starts, and whether its ELBO reached log p(x) (the KL
    left at the last step, where it is not negligible: then q is not converged)."""
    if kl_last <= 1e-3 * max(1.0, abs(log_px)):
        return "ELBO(q) rises to log p(x) as q is fitted from p(z)"
    return f"q fitted from p(z): not converged at {steps} steps ({kl_last:.3g} nats short)"


def gaps_figure(
    labels: Sequence[str],
    approximation_gap: Any,
    amortization_gap: Any,
    *,
    log_px_stderr: Any | None = None,
    exact_below: float = EXACT_BELOW,
    title: str | None = None,
) -> Figure:
    """Stacked bars of the two inference gaps per label (Cremer et al. 2018, Fig. 1 style).

    Args:
        labels: one name per bar (a model, a family, a number of refinement steps, ...).
        approximation_gap: log p(x) − ELBO(q*) per label (L,), nats per example.
        amortization_gap: ELBO(q*) − ELBO(q_enc) per label (L,), nats per example.
        log_px_stderr: optional standard error of log p(x) per label (L,): an error bar on the
            approximation gap, whose reference it is.
        exact_below: a gap whose size is below this many nats is rounding error, not a gap
            (PPCA's exact posterior leaves ~1e-14): it is drawn as 0, and a bar whose total is
            below it is labelled "0 (exact)".
        title: optional figure title.

    Returns:
        The figure; the bar total is log p(x) − ELBO(q_enc), the inference gap, written above
        each bar; the legend sits below the axes, clear of bars and labels.
    """
    approx = np.atleast_1d(as_array(approximation_gap, "approximation_gap"))
    amort = np.atleast_1d(as_array(amortization_gap, "amortization_gap"))
    names = [str(label) for label in labels]
    if not (len(names) == approx.size == amort.size) or not names:
        raise ConfigError(
            f"labels, approximation_gap and amortization_gap need the same non-zero length, got "
            f"{len(names)}, {approx.size}, {amort.size}"
        )
    stderr = None
    if log_px_stderr is not None:
        stderr = np.atleast_1d(as_array(log_px_stderr, "log_px_stderr"))
    total = approx + amort
    exact = np.abs(total) < exact_below
    approx = below_precision(approx, exact_below)
    amort = below_precision(amort, exact_below)
    x = np.arange(len(names))
    fig = new_figure(max(4.2, 1.3 * len(names) + 1.8), 4.2)
    ax = fig.subplots()
    ax.bar(x, approx, color="tab:orange", label="approximation gap  log p(x) − ELBO(q*)")
    ax.bar(
        x,
        amort,
        bottom=approx,
        color="tab:purple",
        label="amortization gap  ELBO(q*) − ELBO(q_enc)",
    )
    if stderr is not None:
        stderr = np.where(exact, 0.0, stderr)
        ax.errorbar(x, approx, yerr=stderr, fmt="none", ecolor="black", capsize=4)
    reach = (
        None
        if stderr is None
        else np.where(total >= 0, 1, -1) * np.fmax(np.abs(total), np.abs(approx) + stderr)
    )  # past the error bar on the approximation gap
    label_totals(ax, x, total, exact, at=reach)
    ax.axhline(0.0, color="black", lw=0.8)
    gap_limits(ax, approx, np.where(exact, 0.0, total), stderr)
    ax.set_xticks(x)
    ax.set_xticklabels(names)
    ax.set_ylabel("nats per example")
    ax.set_title(title or "Inference gaps (bar total: log p(x) − ELBO(q_enc))", fontsize=10)
    fig.legend(fontsize=8, loc="outside lower center", frameon=False)
    return fig


def label_totals(
    ax: Any, x: np.ndarray, totals: np.ndarray, exact: np.ndarray, at: np.ndarray | None = None
) -> None:
    """Write each bar's total just above (below, if negative) it, or above ``at`` (the top of
    its error bar); "0 (exact)" where ``exact``."""
    heights = totals if at is None else at
    for xi, value, height, is_exact in zip(x, totals, heights, exact, strict=True):
        top = 0.0 if is_exact else float(height)
        ax.annotate(
            "0 (exact)" if is_exact else f"{value:.3g}",
            (xi, top),
            xytext=(0, 3 if top >= 0 else -3),
            textcoords="offset points",
            ha="center",
            va="bottom" if top >= 0 else "top",
            fontsize=9,
        )


def below_precision(values: np.ndarray, exact_below: float = EXACT_BELOW) -> np.ndarray:
    """``values`` with every entry smaller in size than ``exact_below`` set to exactly 0."""
    return np.where(np.abs(values) < exact_below, 0.0, values)


def gap_limits(ax: Any, approx: np.ndarray, totals: np.ndarray, stderr: np.ndarray | None) -> None:
    """y-limits with room above (and below) the bars for their labels; [0, 1] nats when every
    bar is zero, so exact zeros do not stretch rounding error over the axis."""
    spread = np.zeros_like(approx) if stderr is None else np.abs(stderr)
    hi = max(0.0, float(totals.max()), float((approx + spread).max()))
    lo = min(0.0, float(totals.min()), float((approx - spread).min()))
    span = hi - lo
    if span <= 0:
        ax.set_ylim(-0.05, 1.0)
        return
    ax.set_ylim(lo - (0.15 * span if lo < 0 else 0.0), hi + 0.15 * span)
