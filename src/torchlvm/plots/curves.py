"""Training curves: the bound trained on (ELBO, IWAE or MIWAE) and the ELBO's two terms,
reconstruction and KL, over epochs; the loss (the negative of the bound) is not drawn twice. An
autoencoder's curve is its reconstruction loss (lower is better), not a log-likelihood.

Reads the rows of a Lightning ``CSVLogger`` file (``metrics.csv``) or a list of dicts. Such a
file holds several rows per epoch (train metrics on one, validation metrics on another, blanks
elsewhere); rows are merged by ``epoch``. Columns are ``SPLIT/NAME`` (or ``SPLIT_NAME``) with
SPLIT ``train`` or ``val``; a ``NAME_epoch`` column is preferred to ``NAME`` and ``NAME_step``
columns are ignored. Blank and non-numeric cells are NaN, drawn as gaps.

Epochs are counted from 1 on the x-axis, as everywhere torchlvm shows one
(:mod:`torchlvm._epochs`; ``metrics.csv`` counts from 0), on integer ticks only; one legend below
the panels names the line styles, so it never covers a curve.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from torchlvm import _epochs
from torchlvm.errors import DataError
from torchlvm.plots._style import new_figure

#: metric name → (panel title, y-axis label), in the order the panels are drawn
PANELS: dict[str, tuple[str, str]] = {
    "elbo": ("ELBO", "ELBO [nats per example]"),
    "iwae": ("IWAE bound L_k", "L_k [nats per example]"),
    "miwae": ("MIWAE bound L_k on the observed cells", "L_k [nats per example]"),
    "log_lik": ("Reconstruction  E_q[log p(x|z)]", "log-likelihood [nats per example]"),
    "kl": ("KL(q(z|x) ‖ p(z))", "KL [nats per example]"),
    "reconstruction": (  # an autoencoder's loss
        "Reconstruction loss (lower is better)",
        "reconstruction loss [per example]",
    ),
}
#: an autoencoder's reconstruction loss (``models.autoencoder``) → its y-axis label
RECONSTRUCTION_LOSS = {
    "bernoulli": "−log p(x | x̂) [nats per example]",
    "mse": "‖x − x̂‖² [per example]",
}
#: the same panels of a conditional model (a CVAE: q(z|x,c), p(x|z,c) and its prior p(z|c))
CONDITIONAL_PANELS: dict[str, tuple[str, str]] = {
    **PANELS,
    "log_lik": ("Reconstruction  E_q[log p(x|z,c)]", PANELS["log_lik"][1]),
    "kl": ("KL(q(z|x,c) ‖ p(z|c))", PANELS["kl"][1]),
}
#: other spellings of the panel metrics
ALIASES = {
    "log_likelihood": "log_lik",
    "kl_divergence": "kl",
}
#: split → (colour, line style) of its curves, and its name in the legend
LINES = {"train": ("tab:blue", "-"), "val": ("tab:orange", "--")}
LEGEND = {"train": "training", "val": "validation"}
SPLITS = {"train": "train", "val": "val", "valid": "val", "validation": "val"}
_COLUMN = re.compile(r"^(train|val|valid|validation)[/_](.+)$")
_BOUND_AT_K = re.compile(r"^(iwae|miwae)_\d+$")
#: most panels drawn from unknown metrics when none of PANELS is present
MAX_OTHER_PANELS = 4

Series = dict[str, dict[str, list[float]]]  # metric → split → values per epoch


def read_metrics_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """The rows of a ``metrics.csv`` file as dicts.

    Raises:
        DataError: if the file is missing or is not a CSV file with a header.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"cannot read training metrics from {path}: {err}") from None
    return rows


def _number(value: Any) -> float:
    if value is None or value == "":
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _parse_column(column: str) -> tuple[str, str, int] | None:
    """(split, metric, priority) of a column, or None for columns that are not curves."""
    match = _COLUMN.match(column.strip())
    if not match:
        return None
    split, name = SPLITS[match.group(1)], match.group(2)
    if name.endswith("_step"):
        return None
    priority = 1 if name.endswith("_epoch") else 0
    name = name.removesuffix("_epoch")
    if _BOUND_AT_K.match(name):  # validation logs L_k as iwae_<k>, training as iwae
        name = name.rsplit("_", 1)[0]
    return split, ALIASES.get(name, name), priority


def merge_by_epoch(rows: Iterable[Mapping[str, Any]]) -> tuple[list[float], Series]:
    """Epoch numbers and, per metric and split, one value per epoch (NaN where never logged).

    Rows without an ``epoch`` value are numbered by their position.
    """
    epochs: dict[float, dict[tuple[str, str], tuple[int, float]]] = {}
    for index, row in enumerate(rows):
        epoch = _number(row.get("epoch", index))
        if math.isnan(epoch):
            continue
        merged = epochs.setdefault(epoch, {})
        for column, cell in row.items():
            parsed = _parse_column(str(column)) if column is not None else None
            value = _number(cell)
            if parsed is None or math.isnan(value):
                continue
            split, name, priority = parsed
            if priority >= merged.get((split, name), (-1, 0.0))[0]:
                merged[(split, name)] = (priority, value)
    order = sorted(epochs)
    keys = {key for merged in epochs.values() for key in merged}
    series: Series = {}
    for split, name in sorted(keys):
        values = [epochs[e].get((split, name), (0, math.nan))[1] for e in order]
        series.setdefault(name, {})[split] = values
    return order, series


OFF_SCALE = 3.0
"""A panel's first epoch lies off its scale when it is this many spans of the later epochs'
values beyond them: a Gaussian run's ELBO of -4,100 at epoch 1 beside 0..+700 after drew every
later epoch as a flat line along the top (userM #15)."""


LATER = 3
"""Epochs after the first a panel needs before it is scaled to them: on a 2-epoch run the
'later range' was the gap between training and validation at epoch 2 (readB #6)."""


def _scale_to_later_epochs(ax: Any, epochs: list[float]) -> None:
    """Scale ``ax``'s y axis to the epochs after the first where the first lies far off their
    range (:data:`OFF_SCALE`), and say so on the panel with the first epoch's value."""
    lines = [line.get_data() for line in ax.get_lines()]
    first = [float(y[0]) for x, y in lines if len(x) and x[0] == epochs[0]]
    later = [float(v) for x, y in lines for e, v in zip(x, y, strict=True) if e != epochs[0]]
    if len({e for e in epochs[1:]}) < LATER or not first:  # (too few to have a range of their own)
        return
    low, high = min(later), max(later)
    span = (high - low) or abs(high) or 1.0
    if not any(v < low - OFF_SCALE * span or v > high + OFF_SCALE * span for v in first):
        return
    low, high = low - 0.1 * span, high + 0.1 * span
    ax.set_ylim(low, high)
    shown = ", ".join(f"{v:.4g}" for v in first if not low <= v <= high)  # (each one cut off)
    ax.text(0.02, 0.02, f"epoch {epochs[0]:g}: {shown} (off the scale)", transform=ax.transAxes,
            fontsize=8, color="0.35", va="bottom")  # fmt: skip


def training_curves(
    metrics: Iterable[Mapping[str, Any]] | str | os.PathLike[str],
    *,
    title: str | None = "Training curves",
    per: str = "example",
    conditional: bool = False,
    reconstruction: str | None = None,
) -> Figure:
    """ELBO, reconstruction log-likelihood and KL against epoch, for training and validation.

    Args:
        metrics: the path of a ``metrics.csv`` or its rows as dicts (see the module docstring).
        title: the figure title.
        per: what one data point is, for the axis units (``"row"`` for a table run).
        conditional: whether the model is conditioned on c (a CVAE): its terms are then
            E_q[log p(x|z,c)] and KL(q(z|x,c) ‖ p(z|c)).
        reconstruction: an autoencoder's loss, ``"bernoulli"`` (cross-entropy, nats) or
            ``"mse"`` (squared error), for the unit of its ``reconstruction`` curve; None: the
            axis names no unit.

    Returns:
        One panel per metric found (ELBO, reconstruction, KL; otherwise up to four others), with
        training as solid and validation as dashed lines.

    Raises:
        DataError: if no numeric train or val metric is present.
    """
    rows = read_metrics_csv(metrics) if isinstance(metrics, (str, os.PathLike)) else metrics
    epochs, series = merge_by_epoch(rows)
    drawable = {
        name: splits
        for name, splits in series.items()
        if any(not math.isnan(v) for values in splits.values() for v in values)
    }
    names = [name for name in PANELS if name in drawable]
    if not names:
        names = sorted(drawable)[:MAX_OTHER_PANELS]
    if not names:
        raise DataError(
            "no training metrics to draw: expected columns such as 'train/elbo' or 'val/elbo' "
            "with numbers in them"
        )
    fig = new_figure(4.0 * len(names) + 0.4, 3.6)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    few = len(epochs) <= 40
    counted = [_epochs.shown(e) for e in epochs]
    for ax, name in zip(axes, names, strict=True):
        panels = CONDITIONAL_PANELS if conditional else PANELS
        panel_title, ylabel = panels.get(name, (name, f"{name} (as logged)"))
        if name == "reconstruction":
            ylabel = RECONSTRUCTION_LOSS.get(reconstruction or "", ylabel)
        ylabel = ylabel.replace("per example", f"per {per}")
        for split, (colour, style) in LINES.items():
            values = drawable[name].get(split)
            if values is None or all(math.isnan(v) for v in values):
                continue
            points = [(e, v) for e, v in zip(counted, values, strict=True) if not math.isnan(v)]
            xs, ys = zip(*points, strict=True)
            marker = "o" if few else None
            ax.plot(xs, ys, style, color=colour, marker=marker, markersize=3, label=split)
        _scale_to_later_epochs(ax, counted)
        ax.set_title(panel_title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if counted[-1] - counted[0] < 1:  # one epoch: a whole epoch either side, one tick
            ax.set_xlim(counted[0] - 1, counted[-1] + 1)
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    shown = {line.get_label() for ax in axes for line in ax.get_lines()}
    handles = [
        Line2D([], [], color=colour, linestyle=style, marker="o" if few else None, markersize=3)
        for split, (colour, style) in LINES.items()
        if split in shown
    ]
    labels = [LEGEND[split] for split in LINES if split in shown]
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), frameon=False)
    if title:
        fig.suptitle(title)
    return fig
