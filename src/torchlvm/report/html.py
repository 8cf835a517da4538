"""The report's HTML: one self-contained page, inline CSS, figures as base64 PNG, no scripts.

Every piece of text that comes from a file passes through :func:`esc` (HTML escaping, quotes
included) before it reaches the page; nothing is inserted raw except markup built here.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from torchlvm.report.metrics import Row, Section, cell_text, format_value, sections
from torchlvm.report.run import RunContents

#: what each binarization protocol means (DESIGN.md, "Data")
PROTOCOLS = {
    "dynamic": "pixels redrawn as Bernoulli(intensity) at every pass (the IWAE paper's protocol)",
    "threshold": "pixels binarized once as x > 0.5",
    "none": "grey levels, not binarized",
}

CSS = """
:root { --ink: #1f2430; --muted: #5f6b7a; --line: #dfe3ea; --soft: #f5f7fa;
        --accent: #2f5d9e; --warn-bg: #fff6e0; --warn-line: #e8b949; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
             sans-serif; }
main { max-width: 1100px; margin: 0 auto; padding: 32px 28px 56px; }
h1, h2, h3, h4 { line-height: 1.25; margin: 1.6em 0 0.5em; }
h1 { font-size: 2rem; margin-top: 0.2em; }
h2 { font-size: 1.45rem; border-bottom: 1px solid var(--line); padding-bottom: 0.25em; }
h3 { font-size: 1.15rem; }
h4 { font-size: 1rem; }
.eyebrow { text-transform: uppercase; letter-spacing: 0.08em; font-size: 0.78rem;
           color: var(--muted); margin: 0; }
.subtitle { color: var(--muted); font-size: 1.05rem; margin: 0.2em 0 1em; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0;
           padding: 14px 18px; background: var(--soft); border-radius: 8px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.notes { background: var(--warn-bg); border-left: 4px solid var(--warn-line);
         padding: 10px 18px; border-radius: 4px; margin: 1.4em 0; }
.notes h3, .notes h4 { margin: 0.3em 0; font-size: 1rem; }
.notes ul { margin: 0.3em 0 0.4em; padding-left: 1.2em; }
table.metrics { table-layout: fixed; }
table { border-collapse: collapse; width: 100%; margin: 0.4em 0 1.2em; font-size: 0.94rem; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
td.num { font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
td.details, td.unit { color: var(--muted); }
tr.group th { background: #eef2f8; color: var(--accent); font-weight: 600; }
code, pre, .key { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
.key { color: var(--muted); font-size: 0.8em; margin-left: 0.4em; }
figure { margin: 1.2em 0 2em; text-align: center; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 0.92rem; margin: 0.5em auto 0; max-width: 820px;
             text-align: left; }
figcaption b { color: var(--ink); }
details { background: var(--soft); border-radius: 8px; padding: 8px 14px; }
summary { cursor: pointer; font-weight: 600; }
pre { overflow-x: auto; font-size: 0.85rem; line-height: 1.45; margin: 0.6em 0 0.2em; }
section.run { margin-top: 3em; }
footer { margin-top: 3em; color: var(--muted); font-size: 0.85rem;
         border-top: 1px solid var(--line); padding-top: 0.8em; }
"""


def esc(value: Any) -> str:
    """HTML-escaped text of ``value`` (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def page(title: str, body: str) -> str:
    """A whole HTML document with the report's style."""
    from torchlvm import __version__

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n<footer>Written by torchlvm {esc(__version__)} on {stamp}. "
        "Self-contained: figures are embedded, nothing is fetched.</footer>\n"
        "</main>\n</body>\n</html>\n"
    )


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping


def facts(config: Any) -> list[tuple[str, str]]:
    """(label, text) pairs describing the run: model, data, protocol, training settings."""
    model_type = _get(config, "model_type")
    out = [("model", str(model_type) if model_type is not None else "unknown")]
    latent = _get(config, "model", "latent_dim")
    if latent is not None:
        out.append(("latent dimensions", format_value(latent)))
    data = _get(config, "data")
    if isinstance(data, dict):
        desc = str(data.get("name", "unknown"))
        shape = data.get("shape")
        if isinstance(shape, list) and all(isinstance(s, int) for s in shape):
            desc += f", images {'×'.join(str(s) for s in shape)}"
        if data.get("num_classes") is not None:
            desc += f", {format_value(data['num_classes'])} classes"
        out.append(("data", desc))
        protocol = data.get("binarize")
        if protocol is not None:
            meaning = PROTOCOLS.get(str(protocol))
            out.append(("protocol", f"{protocol}: {meaning}" if meaning else str(protocol)))
        for key in ("condition", "seed"):
            if data.get(key) is not None:
                out.append((f"data {key}", format_value(data[key])))
    training = _get(config, "training")
    if isinstance(training, dict):
        scalars = [f"{k} {format_value(v)}" for k, v in training.items() if _scalar(v)]
        if scalars:
            out.append(("training", " · ".join(scalars)))
    return out


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def subtitle(config: Any) -> str:
    parts = [_get(config, "model_type"), _get(config, "data", "name")]
    protocol = _get(config, "data", "binarize")
    if protocol is not None:
        parts.append(f"protocol {protocol}")
    return " · ".join(str(p) for p in parts if p is not None)


def facts_html(config: Any) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts(config))
    return f'<dl class="facts">{items}</dl>'


def notes_html(notes: Sequence[str], level: int) -> str:
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f'<div class="notes"><h{level}>Not in this report</h{level}><ul>{items}</ul></div>'


def _row_html(row: Row) -> str:
    key = f'<span class="key">{esc(row.key)}</span>' if row.path else ""
    return (
        f'<tr><td>{esc(row.label)}{key}</td><td class="num">{esc(row.value)}</td>'
        f'<td class="unit">{esc(row.unit)}</td>'
        f'<td class="details">{esc("; ".join(row.details))}</td></tr>'
    )


def section_table(section: Section) -> str:
    rows = "".join(_row_html(r) for r in section.rows)
    return (
        '<table class="metrics"><colgroup><col style="width:42%"><col style="width:18%">'
        '<col style="width:15%"><col style="width:25%"></colgroup>'
        "<thead><tr><th>metric</th><th>value</th><th>unit</th><th>what it is</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def metrics_html(metrics: Any, level: int) -> str:
    if metrics is None:
        return "<p>No metrics yet (see above).</p>"
    parts = [f"<h{level}>{esc(s.title)}</h{level}>{section_table(s)}" for s in sections(metrics)]
    return "".join(parts) or "<p>metrics.json is empty.</p>"


def figures_html(run: RunContents) -> str:
    if not run.figures:
        return "<p>No figures.</p>"
    parts = []
    for i, fig in enumerate(run.figures, 1):
        data = base64.b64encode(fig.png).decode("ascii")
        parts.append(
            f'<figure><img src="data:image/png;base64,{data}" width="{fig.width}" '
            f'height="{fig.height}" alt="{esc(fig.caption)}">'
            f"<figcaption><b>Figure {i}.</b> {esc(fig.caption)} "
            f'<span class="key">{esc(fig.name)}</span></figcaption></figure>'
        )
    return "".join(parts)


def config_html(config: Any) -> str:
    text = json.dumps(config, indent=2, ensure_ascii=False, default=str)
    return f"<details><summary>config.json</summary><pre>{esc(text)}</pre></details>"


def run_body(run: RunContents, level: int = 1) -> str:
    """The report of one run; ``level`` is the heading level of its title."""
    h, h2, h3 = level, level + 1, level + 2
    return (
        f'<p class="eyebrow">torchlvm run report</p><h{h}>{esc(run.name)}</h{h}>'
        f'<p class="subtitle">{esc(subtitle(run.config))} · <code>{esc(run.folder)}</code></p>'
        f"{facts_html(run.config)}{notes_html(run.notes, h3)}"
        f"<h{h2}>Metrics</h{h2}>{metrics_html(run.metrics, h3)}"
        f"<h{h2}>Figures</h{h2}>{figures_html(run)}"
        f"<h{h2}>Configuration</h{h2}>{config_html(run.config)}"
    )


def _column_names(runs: Sequence[RunContents]) -> list[str]:
    names = [run.name for run in runs]
    return [str(r.folder) if names.count(r.name) > 1 else r.name for r in runs]


def comparison_table(runs: Sequence[RunContents]) -> str:
    """Metrics side by side: a row per metric (grouped by section), a column per run."""
    header = "".join(f"<th>{esc(n)}</th>" for n in _column_names(runs))
    lines = [f"<table><thead><tr><th>metric</th>{header}</tr></thead><tbody>"]
    about = [dict(facts(run.config)) for run in runs]
    for info, run in zip(about, runs, strict=True):
        info["metrics.json"] = "present" if run.metrics is not None else "missing (see below)"
    labels = _ordered(label for f in about for label in f)
    lines.append(_group_row("Run", len(runs)))
    for label in labels:
        cells = "".join(f"<td>{esc(f.get(label, '—'))}</td>" for f in about)
        lines.append(f"<tr><td>{esc(label)}</td>{cells}</tr>")
    tables = [_by_section(run.metrics) for run in runs]
    for title in _ordered(t for table in tables for t in table):
        lines.append(_group_row(title, len(runs)))
        keys = _ordered(k for table in tables for k in table.get(title, {}))
        for key in keys:
            found = [table.get(title, {}).get(key) for table in tables]
            label = next(row.label for row in found if row is not None)
            cells = "".join(
                f'<td class="num">{esc(cell_text(row)) if row else "—"}</td>' for row in found
            )
            lines.append(
                f'<tr><td>{esc(label)}<span class="key">{esc(key)}</span></td>{cells}</tr>'
            )
    lines.append("</tbody></table>")
    return "".join(lines)


def _by_section(metrics: Any) -> dict[str, dict[str, Row]]:
    if metrics is None:
        return {}
    return {s.title: {row.key: row for row in s.rows} for s in sections(metrics)}


def _group_row(title: str, columns: int) -> str:
    return f'<tr class="group"><th colspan="{columns + 1}">{esc(title)}</th></tr>'


def _ordered(items: Iterable[str]) -> list[str]:
    """Distinct items in order of first appearance."""
    return list(dict.fromkeys(items))


def comparison_body(runs: Sequence[RunContents]) -> str:
    """The report of several runs: the side-by-side table, then each run in full."""
    names = ", ".join(_column_names(runs))
    parts = [
        f'<p class="eyebrow">torchlvm comparison report</p><h1>{len(runs)} runs compared</h1>'
        f'<p class="subtitle">{esc(names)}</p><h2>Metrics side by side</h2>'
        f"{comparison_table(runs)}"
    ]
    parts += [f'<section class="run">{run_body(run, level=2)}</section>' for run in runs]
    return "".join(parts)
