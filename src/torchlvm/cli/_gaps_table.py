"""The table ``torchlvm gaps`` prints: each quantity per example with its standard error, to the
digits that error justifies, and how each per-point fit ended."""

from __future__ import annotations

from typing import Any


def print_table(
    result: dict[str, Any], summary: dict[str, float], report: Any, n: int, px: str, noun: str
) -> None:
    """The gaps table; ``px`` names the likelihood (``log p(x | c)`` for a conditional model),
    ``noun`` one data point (``"row"`` of a table, else ``"example"``). Each gap is shown to the
    digits its (paired, small) standard error justifies, and log p(x) and the ELBOs, whose
    standard error over the examples is far larger, to as many decimals as the finest gap, so
    that a reader can take their differences (userH #18: "-248" and "-250" beside a gap of
    2.41)."""
    exact = report.log_px_method == "exact"
    if exact:
        px_how = "exact"
    elif report.k is None:
        px_how = f"estimate, {report.log_px_method}"
    else:
        px_how = f"estimate, importance sampling k={report.k}"
    elbo_how = "exact" if report.elbo_method == "exact" else f"bound, {report.elbo_samples} draws"
    print(
        f"Inference gaps: {result['model']} on {result['data']} {result['split']}, n={n}, "
        f"data protocol: {result['protocol']}, q* family: {report.family}, "
        f"{report.local_steps} steps"
    )
    rows = [
        ("log p(x)", "log_px", px_how),
        ("ELBO of best per-point q*", "best_elbo", elbo_how),
        ("ELBO of encoder q", "encoder_elbo", elbo_how),
        ("approximation gap", "approximation_gap", "log p(x) − ELBO(q*)"),
        ("amortization gap", "amortization_gap", "ELBO(q*) − ELBO(q_enc)"),
        ("inference gap", "inference_gap", "log p(x) − ELBO(q_enc)"),
    ]
    if report.flow_elbo is not None:
        what = f"{elbo_how}, {report.flow_steps} coupling steps"
        rows.insert(1, ("ELBO of per-point flow q*", "flow_elbo", what))
        rows.append(("gap left by the flow", "flow_approximation_gap", "log p(x) − ELBO(flow)"))
    print(f"  {'quantity':<28}{f'nats/{noun}':>14}{'± s.e.':>10}  what")
    for label, (value, se), what in _rows(rows, summary):
        label, what = label.replace("log p(x)", px), what.replace("log p(x)", px)
        print(f"  {label:<28}{value:>14}{se:>10}  {what}")
    se = f"standard error of the mean over these {noun}s"
    print(f"  (± s.e.: {se if report.log_px.numel() > 1 else f'none, one {noun} has no spread'})")
    if noun == "row":
        print(f"  (unit: {result['unit']}, as the model was trained)")
    if not exact:
        _estimator_lines(result, summary, report, px)
    if "ppca_mean_field_gap" in result:
        print(
            "  exact mean-field (diagonal q) approximation gap of this PPCA: "
            f"{_shown(result['ppca_mean_field_gap'], 6)} nats/{noun}"
        )
    for line in _settled(report.settling, noun):
        print(line)


AT_OPTIMUM = 1e-6
"""A per-point fit whose mean objective moved less than this (nats) in all and over its second
half started at its optimum: PPCA's q* starts at the exact posterior, and Adam's wiggle there
(1e-8 nats) was told as a finding, or divided by a whole rise of exactly 0 (userL #6)."""


def _estimator_lines(result: dict[str, Any], summary: dict[str, float], report: Any, px: str):
    """The estimator's standard error of mean ``px`` and its mean ESS, with the caveat of one
    that rests on a few draws (readD D7: the rule evaluate says it by,
    :func:`torchlvm.inference.ess.few_effective`)."""
    from torchlvm.inference.ess import few_effective, few_text
    from torchlvm.report.metrics import format_error

    print(
        f"  estimator's standard error of mean {px}: {format_error(summary['log_px_stderr'])} "
        f"nats (mean ESS {result['mean_ess']:.1f} of {report.k or 'the chains'})"
    )
    if report.k and few_effective(result["mean_ess"], report.k):
        print(
            f"  (a mean ESS {few_text(report.k)}: a few weights carry {px}, which may sit nats "
            "below the true value, and the approximation and inference gaps with it; raise --k)"
        )


def _settled(fits: dict[str, Any], noun: str) -> list[str]:
    """A line per per-point fit (q*, the flow q*) of how its mean objective moved over the second
    half of its steps: a fit that settled said nothing (only gaps.json held it); one still
    rising is said in a warning too, with the options that let it settle. "No sign of rising
    further" is said only of a rise within 2 standard errors; a rise beyond them is said with its
    share of the fit's whole rise, also where that share is small enough to count as settled
    (userH #17: +0.122 ± 0.034, 3.6 s.e., read "no sign of rising further")."""
    from torchlvm.inference.settling import SETTLED_SHARE

    lines = []
    for name, fit in fits.items():
        if fit is None:
            continue
        if max(abs(fit.total), abs(fit.rise)) < AT_OPTIMUM:  # (PPCA: q* starts exact)
            lines.append(
                f"  {name}: started at its optimum and stayed there (it moved "
                f"{fit.total:+.2g} nats/{noun} in all over its {fit.steps} steps: float rounding)"
            )
            continue
        value, se = _measured(fit.rise, fit.rise_se)
        moved = f"{'' if value.startswith('-') else '+'}{value} ± {se}"
        state = f"still rising: {fit.share}" if fit.still_rising else "no sign of rising further"
        if not fit.still_rising and fit.rise > 2 * fit.rise_se:  # risen beyond its noise
            state = (
                f"rising back toward its start, {abs(fit.total):.2g} below it in all"
                if fit.total <= 0
                else f"still rising slowly: {fit.share}, under the {SETTLED_SHARE:.0%} taken as "
                "settled"
            )
        lines.append(
            f"  {name}: its mean ELBO moved {moved} nats/{noun} over the second half of its "
            f"{fit.steps} steps ({state})"
        )
    return lines


def _measured(value: float, se: float | None) -> tuple[str, str]:
    """``value`` to the digit its standard error ``se`` justifies, and ``se`` to 2 digits
    (``-23.77``, ``0.25``); an exact number, or float noise about one (an exact gap of 0 computed
    as -4e-15 ± 1e-16), to 4 decimals; without a standard error (one example), ``—``."""
    from torchlvm.report.metrics import format_measured

    if se is None:
        return _shown(value, 4), "—"
    if not se > 1e-9:
        return _shown(value, 4), _shown(se, 4)
    text, _, error = format_measured(float(value), float(se)).partition(" ± ")
    return text, error


def _rows(
    rows: list[tuple[str, str, str]], summary: dict[str, float]
) -> list[tuple[str, tuple[str, str], str]]:
    """Each row's (label, (value, standard error) as printed, what): a gap to the digit of its
    standard error, log p(x) and the ELBOs to at least the finest gap's decimals."""
    shown = {key: _measured(summary[key], summary[f"{key}_se"]) for _, key, _ in rows}
    places = max(_decimals(shown[key][0]) for _, key, _ in rows if key.endswith("_gap"))
    for _, key, _ in rows:
        value, se = shown[key]
        if not key.endswith("_gap") and _decimals(value) < places:  # the gaps' differences
            shown[key] = _shown(summary[key], places), se
    return [(label, shown[key], what) for label, key, what in rows]


def _decimals(text: str) -> int:
    """The decimals of a number as printed (``-29.40``: 2)."""
    return len(text.partition(".")[2])


def _shown(value: float, digits: int) -> str:
    """``value`` to ``digits`` decimals, without the sign of a number that rounds to zero (an
    exact gap of 0 computed as -4e-15 reads 0.0000, not -0.0000)."""
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text
