"""The model comparison as a figure: one panel of horizontal bars per measured row.

``torchlvm compare`` scores an autoencoder, a VAE, a β-VAE and a CVAE on three questions
(interpretability, separability, generation); this draws those scores, a bar per model, with
the row's reference (raw pixels, the real-data reference) as a dashed line and a direction of
"better" on each axis. The numbers come in as a plain mapping (:func:`comparison_scores` reads
them off the JSON record ``compare.json`` holds), not as model or evaluation objects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from torchlvm._nested import lookup
from torchlvm.errors import ConfigError
from torchlvm.plots._style import new_figure
from torchlvm.report.metrics import format_measured

#: bar colours, by model position (matplotlib's default cycle)
#: what each row asks, in plain words, and the number that answers it
QUESTIONS = {
    "interpretability": (
        "does each latent dimension follow one known factor?",
        "mutual information gap (MIG) on shapes",
    ),
    "separability": (
        "can a linear probe read the class off the code?",
        "logistic-probe accuracy on posterior means",
    ),
    "generation": (
        "do samples look like the data?",
        "Fréchet distance of samples to test images",
    ),
}
#: white behind a value label, so a reference line crossing it does not strike it through
LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.85}
#: a bar that answers another question than its panel's (drawn pale, with hatching)
HATCHED = {"hatch": "//", "alpha": 0.45, "edgecolor": "black"}
COLOURS = ("tab:gray", "tab:blue", "tab:purple", "tab:green", "tab:orange", "tab:red")


def comparison_figure(
    scores: Mapping[str, Mapping[str, Any]], *, title: str | None = None
) -> Figure:
    """One panel per row of the comparison, one bar per model.

    Args:
        scores: row name → a mapping with
            ``question`` (what the row asks, in plain words),
            ``measure`` (what the number is, e.g. "mutual information gap (MIG)"),
            ``higher_is_better`` (bool),
            ``values`` (model label → number, or None where it cannot be measured),
            and optionally ``errors`` (model label → standard error or None),
            ``notes`` (model label → words after its value, e.g. how it was measured),
            ``marks`` (model label → a second measure of that model, drawn as a diamond on
            its bar; its words belong in the bar's note, as a label beside the diamond covered
            the bar's own value),
            ``hatched`` (model labels whose bar answers another question, e.g. a CVAE's probe,
            which reads back the class its encoder was handed: drawn hatched and pale),
            ``reference`` (a number drawn as a dashed line) with ``reference_label``.
            Every row names the same models, in the same order.
        title: the figure title.

    Returns:
        The figure: rows top to bottom in the order given.

    Raises:
        ConfigError: for no rows, or rows that name different models.
    """
    rows = list(scores.items())
    if not rows:
        raise ConfigError("comparison_figure needs at least one row of scores, got none")
    models = list(rows[0][1]["values"])
    for name, row in rows:
        if list(row["values"]) != models:
            raise ConfigError(
                f"every row must score the same models in the same order: row {name!r} has "
                f"{list(row['values'])}, the first row {models}"
            )
    label_width = 0.09 * max(len(m) for m in models)
    panel = 0.34 * len(models) + 1.15
    fig = new_figure(6.8 + label_width, panel * len(rows) + (0.35 if title else 0.0))
    axes = fig.subplots(len(rows), 1, squeeze=False)[:, 0]
    for ax, (name, row) in zip(axes, rows, strict=True):
        _panel(ax, name, row, models)
    if title:
        fig.suptitle(title)
    return fig


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _panel(ax: Any, name: str, row: Mapping[str, Any], models: Sequence[str]) -> None:
    """Horizontal bars of one row with their values written at their ends."""
    values = np.array([_number(row["values"][m]) for m in models])
    errors = row.get("errors") or {}
    errs = np.array([_number(errors.get(m)) for m in models])
    y = np.arange(len(models))[::-1]  # first model on top
    colours = [COLOURS[i % len(COLOURS)] for i in range(len(models))]
    measured = np.isfinite(values)
    hatched = np.array([m in (row.get("hatched") or ()) for m in models])
    for shown, style in ((measured & ~hatched, {}), (measured & hatched, HATCHED)):
        if shown.any():
            ax.barh(y[shown], values[shown], color=np.array(colours)[shown], height=0.62, **style)
    has_err = measured & np.isfinite(errs)
    if has_err.any():
        ax.errorbar(values[has_err], y[has_err], xerr=errs[has_err], fmt="none", ecolor="black",
                    capsize=3, lw=1)  # fmt: skip
    reference = row.get("reference")
    extent = [0.0, *values[measured], *(values[has_err] + errs[has_err])]
    if reference is not None:
        extent.append(float(reference))
    hi = max(extent) if extent else 1.0
    hi = hi if hi > 0 else 1.0
    notes = row.get("notes") or {}
    for model, yi, value, err, ok in zip(models, y, values, errs, measured, strict=True):
        if ok:
            text = format_measured(float(value), None if math.isnan(err) else float(err))
            text += f" ({notes[model]})" if notes.get(model) else ""
            end = value + (err if math.isfinite(err) else 0.0)
            ax.annotate(text, (max(end, 0.0), yi), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8, bbox=LABEL_BOX)  # fmt: skip
        else:
            ax.annotate("not measurable", (0.0, yi), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8, color="0.4", style="italic",
                        bbox=LABEL_BOX)  # fmt: skip
    for model, yi in zip(models, y, strict=True):
        if (mark := (row.get("marks") or {}).get(model)) is not None:
            ax.plot([mark], [yi], marker="D", color="black", ms=5, zorder=3)
    top = len(models) - 0.4
    if reference is not None:
        ax.axvline(float(reference), color="black", ls="--", lw=1, zorder=1)
        named = f"{row.get('reference_label', 'reference')} {format_measured(float(reference))}"
        ax.annotate(named, (float(reference), top), xytext=(3, 0), textcoords="offset points",
                    va="bottom", fontsize=8)  # fmt: skip
    ax.set_ylim(-0.6, len(models) - 0.1)  # a free band on top for the reference's label
    ax.set_xlim(min(0.0, float(np.nanmin(values)) if measured.any() else 0.0), hi * 1.28)
    ax.set_yticks(y)
    ax.set_yticklabels(models)
    better = "higher is better →" if row.get("higher_is_better", True) else "← lower is better"
    ax.set_xlabel(f"{row['measure']}   ({better})", fontsize=9)
    ax.set_title(f"{name}: {row['question']}", loc="left", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    ax.tick_params(axis="y", length=0)


def comparison_scores(result: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The numbers of a ``torchlvm compare`` result (``compare.json``) as
    :func:`comparison_figure` draws them.

    Args:
        result: ``{"models": {key: {"label", "metrics", "interpretability"}}, ...}``, the record
            :func:`torchlvm.evaluation.compare.compare` returns: per model its metrics.json
            content and its MIG record.

    Returns:
        Rows interpretability (MIG ± its bootstrap standard error), separability (logistic
        probe accuracy ± its standard error, raw pixels as reference; a conditional model's
        bar hatched and said to be given the class) and generation (Fréchet distance, the
        real-vs-real distance at the same n as reference; the autoencoder's bar from N(0, I)
        codes, the fitted-Gaussian codes' distance marked on it and named in its note).
    """
    entries = list(result["models"].values())
    labels = [str(entry["label"]) for entry in entries]

    def each(*path: str) -> dict[str, Any]:
        """model label → the value at ``path`` of its entry (None where absent)."""
        return {label: lookup(e, *path) for label, e in zip(labels, entries, strict=True)}

    def first(*path: str) -> Any:
        """The value at ``path`` of the first model's entry that holds it."""
        return next((v for v in each(*path).values() if v is not None), None)

    def row(name: str, higher: bool, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        question, measure = QUESTIONS[name]
        return {"question": question, "measure": measure, "higher_is_better": higher,
                "values": values, **extra}  # fmt: skip

    probe = ("metrics", "separability", "latent", "logistic")
    return {
        "interpretability": row(
            "interpretability",
            True,
            each("interpretability", "mig", "value"),
            errors=each("interpretability", "mig", "stderr"),
        ),
        "separability": row(
            "separability",
            True,
            each(*probe, "value"),
            errors=each(*probe, "stderr"),
            reference=first("metrics", "separability", "pixels", "logistic", "value"),
            reference_label="raw pixels",
            **_given_class(each("metrics", "protocol", "condition")),
        ),
        "generation": row(
            "generation",
            False,
            each("metrics", "sample_quality", "frechet", "value"),
            reference=first("metrics", "sample_quality", "frechet_real_reference", "value"),
            reference_label="real vs real",
            **_fitted_codes(each("metrics", "sample_quality", "frechet_fitted_codes")),
        ),
    }


def _fitted_codes(fitted: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The generation row's ``notes`` and ``marks`` for an autoencoder: its bar is of N(0, I)
    codes; a Gaussian fitted to its training codes (what ``sample`` draws) gives another
    distance, marked on the bar."""
    notes, marks = {}, {}
    for label, record in fitted.items():
        value = record.get("value") if isinstance(record, Mapping) else None
        if value is not None:
            notes[label] = f"N(0, I) codes; ◆ fitted-Gaussian codes {format_measured(value)}"
            marks[label] = float(value)
    return {"notes": notes, "marks": marks} if notes else {}


def _given_class(conditions: Mapping[str, Any]) -> dict[str, Any]:
    """The separability row's ``notes`` and ``hatched`` for a model whose encoder is given the
    class (a label CVAE): its probe reads back the class it was handed, which a CVAE aims to
    keep out of z, so its bar, the longest under "higher is better", answers another question
    (userB, userD: drawn unmarked, it ranked the CVAE most separable)."""
    given = [label for label, condition in conditions.items() if condition == "label"]
    notes = dict.fromkeys(given, "q(z|x,c) is given the class; lower is its aim")
    return {"notes": notes, "hatched": given} if given else {}
