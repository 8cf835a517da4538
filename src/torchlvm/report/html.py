"""The report's HTML: one self-contained page, inline CSS, figures as base64 PNG, no scripts.

A run's report reads top to bottom as: the header (run, model, data and protocol), the headline
card of the numbers that matter (:mod:`torchlvm.report.headline`), the figures in a grid, the
detailed metric tables (collapsible; protocol and bookkeeping closed) and the config.

Every piece of text that comes from a file passes through :func:`esc` (HTML escaping, quotes
included) before it reaches the page; nothing is inserted raw except markup built here.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from torchlvm._nested import lookup
from torchlvm.report.headline import Headline, headline, missing_headlines
from torchlvm.report.metrics import Row, Section, format_value, sections
from torchlvm.report.network import network_text
from torchlvm.report.run import FigureFile, RunContents
from torchlvm.report.style import CSS

#: what each binarization protocol means (:mod:`torchlvm.data.binarize`)
PROTOCOLS = {
    "dynamic": "pixels redrawn as Bernoulli(intensity) at every pass (the IWAE paper's protocol)",
    "threshold": "pixels binarized once as x > 0.5",
    "none": "grey levels, not binarized",
}
#: what protocol ``none`` means for colour images (C > 1 channels): not grey levels
COLOUR_PROTOCOL = "colour levels of each channel, not binarized"
#: what protocol ``none`` means for rows of features (a table, flat vectors): not grey levels
ROWS_PROTOCOL = {
    True: "real values, each feature standardized with the train split's mean and standard "
    "deviation (undone on every output)",
    False: "real values as in the file, not binarized",
}
#: metric sections about how the evaluation ran rather than how good the model is: shown closed
BOOKKEEPING = ("protocol", "model", "seconds", "figures", "meta")
#: figures that are grids of images (enlarged with square pixels)
IMAGE_FIGURES = (
    "samples",
    "conditional",
    "reconstructions",
    "traversals",
    "interpolation",
    "manifold",
    "imputation",
)
#: width / height from which a figure spans both columns of the grid
WIDE = 2.0
#: characters from which a text value is shown across the value and details columns
PROSE = 40
#: training settings shown in the header, in order (the rest is in config.json)
TRAINING_FACTS = ("objective", "k", "beta", "warmup_epochs", "free_bits")
#: their values that change nothing, left out of the header
TRAINING_NO_OP = {"k": 1, "beta": 1, "warmup_epochs": 0, "free_bits": 0}


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str, style: str = "") -> str:
    """A whole HTML document with the report's style, and ``style``'s rules after it."""
    from torchlvm import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}{style}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n<footer>Written by torchlvm {esc(__version__)} on {stamp}. "
        "Self-contained: figures are embedded, nothing is fetched. Click a figure to enlarge "
        "it.</footer>\n</main>\n</body>\n</html>\n"
    )


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def training_text(training: dict[str, Any], result: dict[str, Any] | None = None) -> str:
    """``objective elbo · 40 epochs · batch 128 · lr 0.001``: the settings that tell runs apart.

    Settings at their no-op value (k 1, β 1, no warm-up, no free bits) are left out; a section
    with none of the known keys is shown whole. ``result`` (config.json's) gives the epochs
    trained where they fell short of the setting: ``196 of 300 epochs (stopped early)``.
    """
    parts = []
    for key in TRAINING_FACTS:
        value = training.get(key)
        if value is not None and _scalar(value) and value != TRAINING_NO_OP.get(key):
            parts.append(f"{key} {format_value(value)}")
    epochs = _epochs_text(training.get("max_epochs"), result or {})
    if epochs:
        parts.append(epochs)
    for key, form in (("batch_size", "batch {}"), ("lr", "lr {}")):
        value = training.get(key)
        if value is not None and _scalar(value):
            parts.append(form.format(format_value(value)))
    if not parts:
        parts = [f"{k} {format_value(v)}" for k, v in training.items() if _scalar(v)]
    return " · ".join(parts)


def _epochs_text(setting: Any, result: dict[str, Any]) -> str | None:
    """``40 epochs``, or ``196 of 300 epochs (stopped early)`` when fewer were trained."""
    if setting is None or not _scalar(setting):
        return None
    trained = result.get("epochs")
    unit = "epoch" if setting == 1 else "epochs"
    if not isinstance(trained, int) or isinstance(trained, bool) or trained >= setting:
        return f"{format_value(setting)} {unit}"
    why = " (stopped early)" if result.get("stopped_early") else ""
    return f"{trained} of {format_value(setting)} {unit}{why}"


def facts(config: Any) -> list[tuple[str, str]]:
    """(label, text) pairs describing the run: model, data, protocol, training settings."""
    model_type = lookup(config, "model_type")
    out = [("model", str(model_type) if model_type is not None else "unknown")]
    latent = lookup(config, "model", "latent_dim")
    if latent is not None:
        out.append(("latent dimensions", format_value(latent)))
    if (network := network_text(model_type, lookup(config, "model"))) is not None:
        out.append(("network", network))
    data = lookup(config, "data")
    if isinstance(data, dict):
        desc = str(data.get("name", "unknown"))
        shape = data.get("shape")
        if isinstance(shape, list) and all(isinstance(s, int) for s in shape):
            if len(shape) == 1:  # a table: rows of features
                desc += f", rows of {shape[0]} features"
            else:
                desc += f", images {'×'.join(str(s) for s in shape)}"
        if data.get("num_classes") is not None:
            desc += f", {format_value(data['num_classes'])} classes"
        out.append(("data", desc))
        protocol = data.get("binarize")
        if protocol is not None:
            meaning = PROTOCOLS.get(str(protocol))
            if str(protocol) == "none" and isinstance(shape, list) and len(shape) == 1:
                standardized = isinstance(lookup(data, "table", "standardize"), dict)
                meaning = ROWS_PROTOCOL[standardized]
            elif str(protocol) == "none" and isinstance(shape, list) and len(shape) == 3:
                meaning = COLOUR_PROTOCOL if shape[0] > 1 else meaning  # (C, H, W): RGB, not grey
            out.append(("protocol", f"{protocol}: {meaning}" if meaning else str(protocol)))
        if data.get("condition") not in (None, "none"):
            out.append(("data condition", format_value(data["condition"])))
        if data.get("seed") is not None:
            out.append(("data seed", format_value(data["seed"])))
    training = lookup(config, "training")
    if isinstance(training, dict):
        result = lookup(config, "result")
        text = training_text(training, result if isinstance(result, dict) else None)
        if text:
            out.append(("training", text))
    return out


def evaluation_fact(metrics: Any) -> tuple[str, str] | None:
    """``("evaluation", "test split, n = 359, k = 1000, seed 0")`` from metrics.json's protocol;
    where log p(x) is exact (PPCA), k is left out (no estimate of log p(x) is drawn), or for an
    evaluation that drew one beside it, said to be a check's: "k = 1000" read as the importance
    sampling of a likelihood that has none (userE)."""
    protocol = lookup(metrics, "protocol")
    if not isinstance(protocol, dict):
        return None
    parts = []
    if _scalar(protocol.get("split")) and protocol.get("split") is not None:
        parts.append(f"{format_value(protocol['split'])} split")
    exact = lookup(metrics, "likelihood", "exact") is not None
    checked = lookup(metrics, "likelihood", "log_marginal") is not None
    k_form = "k = {} (an importance-sampled check; log p(x) is exact)" if exact else "k = {}"
    forms = [("n", "n = {}"), ("k", k_form), ("seed", "seed {}")]
    if exact and not checked:  # no estimate of log p(x) was drawn: k was not used
        forms = [(key, form) for key, form in forms if key != "k"]
    for key, form in forms:
        if _scalar(protocol.get(key)) and protocol.get(key) is not None:
            parts.append(form.format(format_value(protocol[key])))
    return ("evaluation", ", ".join(parts)) if parts else None


def subtitle(config: Any, name: str) -> str:
    """``vae · digits · protocol dynamic`` under the title ``name``, less what the title says
    already (a run folder named after its model or its data: ``runs/vae``, ``runs/digits``)."""
    parts = [lookup(config, "model_type"), lookup(config, "data", "name")]
    protocol = lookup(config, "data", "binarize")
    if protocol is not None:
        parts.append(f"protocol {protocol}")
    said = name.casefold()
    return " · ".join(str(p) for p in parts if p is not None and str(p).casefold() != said)


def facts_html(config: Any, metrics: Any = None) -> str:
    pairs = facts(config)
    evaluation = evaluation_fact(metrics)
    if evaluation is not None:
        pairs.append(evaluation)
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in pairs)
    return f'<dl class="facts">{items}</dl>'


def notes_html(notes: Sequence[str], level: int) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<div class="notes"><h{level}>Not in this report</h{level}><ul>{items}</ul></div>'


# ------------------------------------------------------------------------------ headline


def value_html(value: str) -> str:
    """``−23.65 ± 0.002`` with the standard error set smaller."""
    number, sep, error = value.partition(" ± ")
    return esc(number) + (f'<span class="pm"> ± {esc(error)}</span>' if sep else "")


def grid_html(grid: Sequence[Sequence[str]]) -> str:
    """A headline's small table: the first row is the header."""
    if not grid:
        return ""
    head = "".join(f"<th>{esc(c)}</th>" for c in grid[0])
    cells = ("".join(f"<td>{esc(c)}</td>" for c in row) for row in grid[1:])
    body = "".join(f"<tr>{row}</tr>" for row in cells)
    return f'<table class="mini"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def card_html(card: Headline) -> str:
    title = f' title="{esc(card.title)}"' if card.title else ""
    value = (
        grid_html(card.grid) if card.grid else f'<div class="value">{value_html(card.value)}</div>'
    )
    note = f'<div class="note">{esc(card.note)}</div>' if card.note else ""
    wide = " wide" if card.grid and len(card.grid[0]) > 2 else ""
    return (
        f'<div class="card{wide}" data-key="{esc(card.key)}"{title}>'
        f'<div class="label">{esc(card.label)}</div>{value}'
        f'<div class="unit">{esc(card.unit)}</div>{note}</div>'
    )


def headline_html(metrics: Any) -> str:
    """The headline cards, and a line naming the core numbers the metrics do not hold."""
    if metrics is None:
        return ""
    cards = headline(metrics)
    missing = missing_headlines(metrics, cards)
    line = (
        f'<p class="missing">Not in metrics.json: {esc(", ".join(missing))}.</p>' if missing else ""
    )
    body = f'<div class="cards">{"".join(card_html(c) for c in cards)}</div>' if cards else ""
    return f'<section class="headline">{body}{line}</section>'


# ------------------------------------------------------------------------------- figures


def _stem(figure: FigureFile) -> str:
    """A figure's short name: its file's stem, or a drawn figure's name before its note
    (``training curves (drawn from metrics.csv)``: its stem cut the note at ``.csv)``)."""
    name = figure.name
    return Path(name).stem if name.lower().endswith(".png") else name.split(" (")[0]


def _is_wide(figure: FigureFile) -> bool:
    return figure.width >= WIDE * figure.height


def packed(figures: Sequence[FigureFile]) -> list[FigureFile]:
    """The figures in reading order for a two-column grid: a wide one waits for a half row.

    A wide figure that arrives while a narrow one sits alone in its row is shown after the
    next narrow figure, so the grid has no holes; the order is otherwise kept.
    """
    out: list[FigureFile] = []
    waiting: list[FigureFile] = []
    half_row = False
    for figure in figures:
        if _is_wide(figure):
            (waiting if half_row else out).append(figure)
            continue
        out.append(figure)
        half_row = not half_row
        if not half_row:
            out += waiting
            waiting = []
    return out + waiting


def figure_html(figure: FigureFile, number: int, anchor: str, back: str) -> str:
    """One figure; clicking it opens it full-window (CSS ``:target``), × goes back."""
    data = base64.b64encode(figure.png).decode("ascii")
    classes = "fig wide" if _is_wide(figure) else "fig"
    pixels = ' class="pixels"' if _stem(figure) in IMAGE_FIGURES else ""
    return (
        f'<figure class="{classes}" id="{anchor}">'
        f'<a class="zoom" href="#{anchor}"><img{pixels} src="data:image/png;base64,{data}" '
        f'width="{figure.width}" height="{figure.height}" alt="{esc(figure.caption)}"></a>'
        f'<figcaption><span class="short">{esc(_stem(figure).replace("_", " "))}</span>'
        f'<span class="long"><b>Figure {number}.</b> {esc(figure.caption)} '
        f'<span class="key">{esc(figure.name)}</span></span></figcaption>'
        f'<a class="close" href="#{back}" title="close">×</a></figure>'
    )


def figures_html(run: RunContents, anchor: str = "figures", thumbs: bool = False) -> str:
    """The run's figures as a grid (or a row of thumbnails), each one click to enlarge."""
    if not run.figures:
        return "<p>No figures.</p>"
    order = list(run.figures) if thumbs else packed(run.figures)
    parts = [figure_html(fig, i, f"{anchor}-{i}", anchor) for i, fig in enumerate(order, 1)]
    return f'<div class="{"thumbs" if thumbs else "figs"}">{"".join(parts)}</div>'


# ------------------------------------------------------------------------ metric tables


def _is_prose(row: Row) -> bool:
    """A row that is a sentence or a long list rather than a number: it spans two columns."""
    return not (row.unit or row.details or row.also or row.note) and len(row.value) > PROSE


def _row_html(row: Row) -> str:
    """A metric row; its key path in metrics.json is the label's hover title."""
    label = f'<td title="{esc(row.key)}">{esc(row.label)}</td>'
    if _is_prose(row):
        return f'<tr>{label}<td class="prose" colspan="2">{esc(row.value)}</td></tr>'
    unit = f' <span class="unit">{esc(row.unit)}</span>' if row.unit else ""
    also = f'<span class="also">{esc(row.also)}</span>' if row.also else ""
    note = f'<span class="note" title="{esc(row.note)}">{esc(row.note)}</span>' if row.note else ""
    return (
        f'<tr>{label}<td class="num">{esc(row.value)}{unit}{also}</td>'
        f'<td class="details">{esc(" · ".join(row.details))}{note}</td></tr>'
    )


def section_table(section: Section) -> str:
    rows = "".join(_row_html(r) for r in section.rows)
    return (
        '<table class="metrics"><colgroup><col style="width:30%"><col style="width:28%">'
        '<col style="width:42%"></colgroup>'
        "<thead><tr><th>metric</th><th>value</th><th>what it is</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def section_html(section: Section, level: int) -> str:
    opened = "" if section.key in BOOKKEEPING else " open"
    count = f"{len(section.rows)} row{'s' if len(section.rows) != 1 else ''}"
    return (
        f'<details class="section" data-section="{esc(section.key)}"{opened}>'
        f"<summary><h{level}>{esc(section.title)}</h{level}>"
        f'<span class="count">{count}</span></summary>{section_table(section)}</details>'
    )


def metrics_html(metrics: Any, level: int) -> str:
    """Every metric, a collapsible table per section: results open, bookkeeping closed last."""
    if metrics is None:
        return "<p>No metrics yet (see above).</p>"
    found = sections(metrics)
    ordered = [s for s in found if s.key not in BOOKKEEPING] + [
        s for s in found if s.key in BOOKKEEPING
    ]
    return "".join(section_html(s, level) for s in ordered) or "<p>metrics.json is empty.</p>"


def config_html(config: Any) -> str:
    text = json.dumps(config, indent=2, ensure_ascii=False, default=str)
    return f"<details><summary>config.json</summary><pre>{esc(text)}</pre></details>"


def run_header(run: RunContents, level: int, eyebrow: str = "torchlvm run report") -> str:
    eyebrow_html = f'<p class="eyebrow">{esc(eyebrow)}</p>' if eyebrow else ""
    said = subtitle(run.config, run.name)
    return (
        f"<header>{eyebrow_html}<h{level}>{esc(run.name)}</h{level}>"
        f'<p class="subtitle">{esc(said) + " · " if said else ""}<code>{esc(run.folder)}</code></p>'
        f"{facts_html(run.config, run.metrics)}</header>"
    )


def run_body(run: RunContents, level: int = 1) -> str:
    """The report of one run; ``level`` is the heading level of its title."""
    h2, h3 = level + 1, level + 2
    return (
        f"{run_header(run, level)}{headline_html(run.metrics)}{notes_html(run.notes, h3)}"
        f'<h{h2} id="figures">Figures</h{h2}>{figures_html(run)}'
        f"<h{h2}>Detailed metrics</h{h2}>{metrics_html(run.metrics, h3)}"
        f"<h{h2}>Configuration</h{h2}>{config_html(run.config)}"
    )
