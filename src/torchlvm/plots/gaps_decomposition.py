"""The inference-gap decomposition of Cremer, Li & Duvenaud 2018 (their Table 2 / Fig. 3), drawn
from numbers: for each model, the ladder of bounds log p(x) ≥ ELBO(q*_Flow), ELBO(q*) ≥
ELBO(q_enc), and the gaps between the rungs, each with its standard error.

One legend below both panels (over no point, bar or label); each stacked bar's total,
log p(x) − ELBO(q_enc), written above it; a gap below numerical precision (PPCA's exact
posterior leaves ~1e-14 nats) drawn as 0 and labelled exact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from torchlvm.errors import ConfigError
from torchlvm.plots._style import new_figure
from torchlvm.plots.inference import below_precision, gap_limits, label_totals

#: the rungs of the ladder: summary key, legend label, colour
RUNGS = (
    ("log_px", "log p(x)", "black"),
    ("flow_elbo", "ELBO(q*_Flow), a flow per point", "tab:green"),
    ("best_elbo", "ELBO(q*), best q of the family", "tab:orange"),
    ("encoder_elbo", "ELBO(q_enc), the encoder", "tab:purple"),
)
GAPS = (
    ("approximation_gap", "approximation gap  log p(x) − ELBO(q*)", "tab:orange"),
    ("amortization_gap", "amortization gap  ELBO(q*) − ELBO(q_enc)", "tab:purple"),
    ("flow_approximation_gap", "gap left by a flow  log p(x) − ELBO(q*_Flow)", "tab:green"),
)


def decomposition_figure(
    labels: Sequence[str], summaries: Sequence[Mapping[str, float]], *, title: str | None = None
) -> Figure:
    """Two panels per set of models: the bounds (left) and the gaps (right), nats per example.

    Args:
        labels: one name per model.
        summaries: per model, a mapping with the means ``log_px``, ``best_elbo``,
            ``encoder_elbo``, ``approximation_gap``, ``amortization_gap`` and optionally
            ``inference_gap`` (the error bar of the stacked total), ``flow_elbo`` and
            ``flow_approximation_gap``, each with its standard error under
            ``<name>_se`` (as :meth:`~torchlvm.inference.gaps.GapReport.summary` returns).
        title: optional figure title.

    Returns:
        The figure.

    Raises:
        ConfigError: for no models, mismatched lengths or a missing required key.
    """
    names = [str(label) for label in labels]
    if not names or len(names) != len(summaries):
        raise ConfigError(
            f"labels and summaries need the same non-zero length, got {len(names)} and "
            f"{len(summaries)}"
        )
    for key in ("log_px", "best_elbo", "encoder_elbo", "approximation_gap", "amortization_gap"):
        missing = [n for n, s in zip(names, summaries, strict=True) if key not in s]
        if missing:
            raise ConfigError(f"summary of {missing[0]!r} has no {key!r}")
    fig = new_figure(max(7.6, 2.2 * len(names) + 4.0), 4.4)
    bounds, gaps = fig.subplots(1, 2)
    x = np.arange(len(names))
    _ladder(bounds, x, summaries)
    _gap_bars(gaps, x, summaries)
    for ax in (bounds, gaps):
        ax.set_xticks(x)
        ax.set_xticklabels(names)
        ax.set_ylabel("nats per example")
    handles, texts = [], []
    for ax in (bounds, gaps):
        h, t = ax.get_legend_handles_labels()
        handles, texts = handles + h, texts + t
    fig.legend(handles, texts, fontsize=7, loc="outside lower center", ncol=2, frameon=False)
    # the bounds' bars are mostly how the examples differ; each gap is a paired difference on
    # the same examples, whose error is far smaller: say so, lest overlapping bars read as 'no gap'
    bounds.set_title("bounds (± s.e. over the examples)", fontsize=9)
    gaps.set_title("gaps (± s.e. of the paired difference)", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _values(summaries: Sequence[Mapping[str, float]], key: str) -> tuple[np.ndarray, np.ndarray]:
    mean = np.array([s.get(key, np.nan) for s in summaries], dtype=float)
    se = np.array([s.get(f"{key}_se", np.nan) for s in summaries], dtype=float)
    return mean, np.nan_to_num(se, nan=0.0)


def _ladder(ax, x: np.ndarray, summaries: Sequence[Mapping[str, float]]) -> None:
    width = 0.6 / len(RUNGS)
    for i, (key, label, colour) in enumerate(RUNGS):
        mean, se = _values(summaries, key)
        if np.isnan(mean).all():
            continue
        offset = (i - (len(RUNGS) - 1) / 2) * width
        ax.errorbar(x + offset, mean, yerr=se, fmt="o", color=colour, capsize=3, label=label)


def _gap_bars(ax, x: np.ndarray, summaries: Sequence[Mapping[str, float]]) -> None:
    """Stacked approximation + amortization gaps (and the flow's gap beside them, if any)."""
    approx, approx_se = _values(summaries, "approximation_gap")
    amort, amort_se = _values(summaries, "amortization_gap")
    flow, flow_se = _values(summaries, "flow_approximation_gap")
    total = approx + amort
    recorded, total_se = _values(summaries, "inference_gap")  # the printed total's own error
    total_se = np.where(np.isnan(recorded), amort_se, total_se)  # (older records lack it)
    exact = np.abs(below_precision(total)) == 0
    approx, amort = below_precision(approx), below_precision(amort)
    approx_se, amort_se = np.where(exact, 0.0, approx_se), np.where(exact, 0.0, amort_se)
    total_se = np.where(exact, 0.0, total_se)
    has_flow = not np.isnan(flow).all()
    width = 0.38 if has_flow else 0.6
    left = x - width / 2 if has_flow else x
    (_, approx_label, approx_colour), (_, amort_label, amort_colour), flow_style = GAPS
    ax.bar(left, approx, width, color=approx_colour, label=approx_label)
    ax.bar(left, amort, width, bottom=approx, color=amort_colour, label=amort_label)
    ax.errorbar(left, approx, yerr=approx_se, fmt="none", ecolor="black", capsize=3)
    ax.errorbar(left, approx + amort, yerr=total_se, fmt="none", ecolor="black", capsize=3)
    label_totals(ax, left, np.where(exact, 0.0, total), exact, at=total + np.sign(total) * total_se)
    if has_flow:
        _, flow_label, flow_colour = flow_style
        flow = below_precision(flow)
        ax.bar(x + width / 2, flow, width, color=flow_colour, label=flow_label)
        ax.errorbar(x + width / 2, flow, yerr=flow_se, fmt="none", ecolor="black", capsize=3)
    ax.axhline(0.0, color="black", lw=0.8)
    shown = np.where(exact, 0.0, approx + amort)
    spread = np.maximum(approx_se, total_se)
    tops = shown if not has_flow else np.fmax(shown, np.nan_to_num(flow) + flow_se)
    gap_limits(ax, approx, tops + spread, None)


__all__ = ["decomposition_figure"]
