"""The report of several runs: headline numbers side by side, then each run in brief.

The page opens with a table whose columns are the runs and whose rows are the headline numbers
(:mod:`torchlvm.report.headline`) and the runs' settings; every metric side by side follows in a
closed block; then a section per run with its notes, a row of figure thumbnails (click to
enlarge), its detailed metrics and config.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torchlvm.evaluation.records import Evaluation, Likelihood, Quantity
from torchlvm.report.headline import HEADLINE_LABELS, Headline, headline, ranked_on_log_px
from torchlvm.report.html import (
    config_html,
    esc,
    facts,
    figures_html,
    grid_html,
    lookup,
    metrics_html,
    notes_html,
    run_header,
    subtitle,
    value_html,
)
from torchlvm.report.metrics import Row, cell_text, sections
from torchlvm.report.run import RunContents
from torchlvm.run.metrics import measured_on_other_weights

#: run facts shown under the headline numbers (the rest is in the full table)
SETUP_FACTS = ("model", "latent dimensions", "network", "data", "protocol", "training")


def column_names(runs: Sequence[RunContents]) -> list[str]:
    names = [run.name for run in runs]
    return [str(r.folder) if names.count(r.name) > 1 else r.name for r in runs]


def _ordered(items: Iterable[str]) -> list[str]:
    """Distinct items in order of first appearance."""
    return list(dict.fromkeys(items))


def _group_row(title: str, columns: int) -> str:
    return f'<tr class="group"><th colspan="{columns + 1}">{esc(title)}</th></tr>'


def run_cell(run: str, inner: str, attrs: str = "") -> str:
    """One run's cell of a side-by-side table (``inner`` is HTML): on a narrow screen the
    columns stack under each row's label, and the cell shows its run's name beside the value
    (``table.stack`` in the stylesheet)."""
    return f'<td data-run="{esc(run)}"{attrs}><div>{inner}</div></td>'


def _headline_cell(card: Headline | None, generic: str, run: str) -> str:
    if card is None:
        return run_cell(run, "—")
    body = grid_html(card.grid) if card.grid else f'<span class="v">{value_html(card.value)}</span>'
    unit = f' <span class="unit">{esc(card.unit)}</span>' if card.unit else ""
    what = [card.label] if card.label not in generic else []
    note = " · ".join(what + ([card.note] if card.note else []))
    note_html = f'<div class="note">{esc(note)}</div>' if note else ""
    title = f' title="{esc(card.title)}"' if card.title else ""
    return run_cell(run, f"{body}{unit}{note_html}", f' data-key="{esc(card.key)}"{title}')


def headline_table(runs: Sequence[RunContents]) -> str:
    """The headline numbers side by side: a row per number, a column per run, then settings."""
    names = column_names(runs)
    header = "".join(
        f'<th class="run">{esc(name)}<span class="sub">{esc(subtitle(run.config, run.name))}'
        "</span></th>"
        for name, run in zip(names, runs, strict=True)
    )
    ranked = ranked_over_classes(runs)
    cards = [
        {card.key: card for card in (ranked_on_log_px(found) if ranked else found)}
        for found in (headline(run.metrics) for run in runs)
    ]
    lines = [f'<table class="side stack"><thead><tr><th></th>{header}</tr></thead><tbody>']
    for key, label in HEADLINE_LABELS.items():
        if not any(key in found for found in cards):
            continue
        cells = "".join(
            _headline_cell(found.get(key), label, name)
            for found, name in zip(cards, names, strict=True)
        )
        lines.append(f'<tr><td class="label">{esc(label)}</td>{cells}</tr>')
    if all(run.metrics is None for run in runs):
        lines.append(_group_row("No run has metrics.json (see each run below)", len(runs)))
    about = [dict(facts(run.config)) for run in runs]
    lines.append(_group_row("Setup", len(runs)))
    for label in SETUP_FACTS:
        if any(label in info for info in about):
            cells = "".join(
                run_cell(name, esc(info.get(label, "—")))
                for info, name in zip(about, names, strict=True)
            )
            lines.append(f'<tr><td class="label">{esc(label)}</td>{cells}</tr>')
    lines.append("</tbody></table>")
    return "".join(lines)


def _by_section(metrics: Any) -> dict[str, dict[str, Row]]:
    if metrics is None:
        return {}
    return {s.title: {row.key: row for row in s.rows} for s in sections(metrics)}


def comparison_table(runs: Sequence[RunContents]) -> str:
    """Every metric side by side: a row per metric (grouped by section), a column per run."""
    names = column_names(runs)
    header = "".join(f"<th>{esc(n)}</th>" for n in names)
    lines = [f'<table class="stack"><thead><tr><th>metric</th>{header}</tr></thead><tbody>']
    about = [dict(facts(run.config)) for run in runs]
    for info, run in zip(about, runs, strict=True):
        info["metrics.json"] = "present" if run.metrics is not None else "missing (see below)"
    lines.append(_group_row("Run", len(runs)))
    for label in _ordered(label for f in about for label in f):
        cells = "".join(
            run_cell(name, esc(f.get(label, "—"))) for f, name in zip(about, names, strict=True)
        )
        lines.append(f'<tr><td class="label">{esc(label)}</td>{cells}</tr>')
    tables = [_by_section(run.metrics) for run in runs]
    for title in _ordered(t for table in tables for t in table):
        lines.append(_group_row(title, len(runs)))
        for key in _ordered(k for table in tables for k in table.get(title, {})):
            found = [table.get(title, {}).get(key) for table in tables]
            label = next(row.label for row in found if row is not None)
            cells = "".join(
                run_cell(name, esc(cell_text(row)) if row else "—", ' class="num"')
                for row, name in zip(found, names, strict=True)
            )
            lines.append(f'<tr><td class="label" title="{esc(key)}">{esc(label)}</td>{cells}</tr>')
    lines.append("</tbody></table>")
    return "".join(lines)


def run_section(run: RunContents, index: int) -> str:
    """One run in brief: header, notes, figure thumbnails, then metrics and config closed."""
    anchor = f"run{index}-figures"
    return (
        f'<section class="run">{run_header(run, 2, eyebrow=f"run {index}")}'
        f"{notes_html(run.notes, 4)}"
        f'<h3 id="{anchor}">Figures</h3>{figures_html(run, anchor, thumbs=True)}'
        f'<details class="block"><summary>Detailed metrics of {esc(run.name)}</summary>'
        f"{metrics_html(run.metrics, 4)}</details>{config_html(run.config)}</section>"
    )


def _evaluated(run: RunContents, ranked: bool = False) -> tuple[str | None, str | None]:
    """(the likelihood's quantity, e.g. ``log p(x | c)``, and the split it was measured on);
    ``ranked``: the quantity the runs are ranked on (:func:`ranked_over_classes`), log p(x) for a
    label CVAE's log p(x) over its classes."""
    if not isinstance(run.metrics, dict):
        return None, None
    m = Evaluation.from_json(run.metrics)
    quantity = m.likelihood.quantity if isinstance(m.likelihood, Likelihood) else None
    if ranked and _over_classes(m) is not None:
        quantity = "log p(x)"
    split = m.protocol.split or ("test" if m.fit is not None else None)
    return quantity or None, split or None


def _over_classes(m: Evaluation) -> Quantity | None:
    """A label CVAE's log p(x) over its classes (nats), where its evaluation recorded it."""
    like = m.likelihood
    pair = like.over_classes if isinstance(like, Likelihood) else None
    return None if pair is None or pair.nats.number is None else pair.nats


def ranked_over_classes(runs: Sequence[RunContents]) -> bool:
    """Whether the runs' likelihoods are of different quantities and each that is not log p(x)
    is a label CVAE's log p(x | c) with its log p(x) over the classes recorded: then every run is
    ranked on log p(x), the CVAE's log Σ_c π_c p(x | c) beside a VAE's log p(x) (userU #3: a CVAE
    and a VAE of the same data were 'not comparable', with no number to compare)."""
    found = [_evaluated(run)[0] for run in runs]
    if len({q for q in found if q}) < 2:
        return False
    return all(
        quantity in (None, "log p(x)")
        or (isinstance(run.metrics, dict) and _over_classes(Evaluation.from_json(run.metrics)))
        for quantity, run in zip(found, runs, strict=True)
    )


def _examples(run: RunContents, ranked: bool = False) -> dict[str, str]:
    """``{"n": "n = 200", "k": "k = 50", "seed": "seed 0"}``: what of an evaluation's examples
    and importance samples its estimates move with, or {} for a run without them. An exact
    log p(x) (PPCA's) draws no importance samples: no k, and, on every example of the split,
    no seed either (readF F2: two runs of one PPCA at --k 1000 and --k 100 were flagged).
    ``ranked``: a label CVAE's k is that of its log p(x) over the classes, ``--ood-k`` per class
    (:func:`ranked_over_classes`)."""
    if not isinstance(run.metrics, dict):
        return {}
    m = Evaluation.from_json(run.metrics)
    p = m.protocol
    exact = isinstance(m.likelihood, Likelihood) and m.likelihood.exact is not None
    whole = p.n is not None and p.n == p.split_rows
    said = {"n": None if p.n is None else f"n = {p.n}"}
    said["k"] = None if exact or p.k is None else f"k = {p.k}"
    if ranked and (over := _over_classes(m)) is not None and over.k is not None:
        said["k"] = f"k = {over.k} (per class, --ood-k)"  # (the k of the number ranked)
    said["seed"] = None if (exact and whole) or p.seed is None else f"seed {p.seed}"
    return {key: v for key, v in said.items() if v is not None}


def _other_examples(runs: Sequence[RunContents], ranked: bool = False) -> str | None:
    """``"a: n = 200, k = 50, seed 0; b: ..."`` where the runs that say n, k or seed do not all
    say the same one (:func:`_examples`), else None."""
    said = [_examples(run, ranked) for run in runs]
    same_k = len({s["k"].split(" (")[0] for s in said if "k" in s}) <= 1
    if same_k and all(len({s[key] for s in said if key in s}) <= 1 for key in ("n", "seed")):
        return None
    named = zip(column_names(runs), said, strict=True)
    return "; ".join(f"{name}: {', '.join(s.values())}" for name, s in named if s)


def _differ(runs: Sequence[RunContents], values: Sequence[str | None]) -> str | None:
    """``"a: x; b: y"`` when the runs that have a value do not all have the same one."""
    named = [(name, v) for name, v in zip(column_names(runs), values, strict=True) if v]
    return "; ".join(f"{n}: {v}" for n, v in named) if len({v for _, v in named}) > 1 else None


def _split_rule(run: RunContents) -> str | None:
    """How a table run split its file into train, validation and test rows: ``"split by
    class"`` where it recorded ``stratify`` (a run given its label column), else ``"split at
    random"``; None for a run on a dataset by name, whose split is its own. readG G3: a VAE and
    a CVAE of one wine file, which the refusal of compare on a table tells users to train and
    report side by side, shared 2 of 15 test rows, and the report called both "test"."""
    if lookup(run.config, "data", "table") is None:
        return None
    return (
        "split by class" if lookup(run.config, "data", "options", "stratify") else "split at random"
    )


#: datasets whose test split is a fixed set of files, the same whatever the data seed (MNIST's
#: and Fashion-MNIST's official t10k); every other dataset's test rows are dealt or drawn by it
FIXED_TEST = ("mnist", "fashion-mnist")


def _data_seed(run: RunContents) -> str | None:
    """``"data seed 7"``: the seed that dealt (or drew) the run's test rows, as training
    recorded it; None where they do not move with it (:data:`FIXED_TEST`) or none is recorded.
    userY #13: digits runs of seeds 0 and 7, whose test splits share 77 of 359 rows, were ranked
    side by side without a word."""
    seed = lookup(run.config, "data", "seed")
    if seed is None or lookup(run.config, "data", "name") in FIXED_TEST:
        return None
    return f"data seed {seed}"


def data_warning(runs: Sequence[RunContents]) -> str:
    """A warning when the runs' numbers cannot be ranked against each other: trained on other
    data or under another data protocol (nats of a density on other values), likelihoods of
    other quantities (a CVAE's log p(x | c) is given the class, a VAE's log p(x) is not),
    measured on other splits or on a table split by other rules, on other examples or importance
    samples (another subsample moves log p(x) by its ± over examples, several nats), or on an
    earlier model than the run holds (userS #2: such a run's column ranked best, the word of it
    far below in its own section)."""
    seen = _ordered(
        f"{lookup(run.config, 'data', 'name')} (protocol {lookup(run.config, 'data', 'binarize')})"
        for run in runs
    )
    reasons = []
    if len(seen) > 1:
        reasons.append(
            "log-likelihoods, bounds and reconstruction errors compare only on the same data "
            f"under the same protocol; these runs are on {'; '.join(seen)}"
        )
    ranked = ranked_over_classes(runs)
    quantities, splits = zip(*(_evaluated(run, ranked) for run in runs), strict=True)
    if found := _differ(runs, quantities):
        reasons.append(
            "the likelihoods are of different quantities, and log p(x | c), given the "
            f"condition c, is not log p(x): {found}"
        )
    if found := _differ(runs, splits):
        reasons.append(f"the runs were evaluated on different splits: {found}")
    if found := _differ(runs, [_split_rule(run) for run in runs]):
        reasons.append(
            "the runs split their table file by other rules, so their test splits hold other "
            "rows (a run given the table's label column splits it by class, a run without "
            f"one, or made before that rule, at random): {found}"
        )
    if found := _differ(runs, [_data_seed(run) for run in runs]):
        reasons.append(
            "the runs' data were split with other seeds (train's --seed), so their test splits "
            f"hold other rows: {found}"
        )
    if found := _other_examples(runs, ranked):
        ood_k = " (a CVAE's log p(x) over its classes: --ood-k)" if ranked else ""
        reasons.append(
            "the runs were evaluated on different examples or importance samples (evaluate "
            f"each with the same --n, --k{ood_k} and --seed): {found}"
        )
    stale = [
        name
        for name, run in zip(column_names(runs), runs, strict=True)
        if measured_on_other_weights(run.folder, run.metrics)
    ]
    if stale:
        reasons.append(
            f"the numbers of {', '.join(stale)} were measured on an earlier model than the run "
            "holds now (model.safetensors has changed since: training resumed); evaluate "
            f"{'it' if len(stale) == 1 else 'them'} again"
        )
    if not reasons:
        return ""
    items = "".join(f"<li>{esc(text)}</li>" for text in reasons)
    return f'<div class="notes"><h3>Not comparable</h3><ul>{items}</ul></div>'


def comparison_body(runs: Sequence[RunContents]) -> str:
    """The report of several runs: headline numbers side by side, all metrics, each run."""
    names = ", ".join(column_names(runs))
    parts = [
        f'<header><p class="eyebrow">torchlvm comparison report</p>'
        f"<h1>{len(runs)} runs compared</h1>"
        f'<p class="subtitle">{esc(names)}</p></header>'
        f"<h2>Headline numbers side by side</h2>{data_warning(runs)}{headline_table(runs)}"
        '<details class="block"><summary>All metrics side by side</summary>'
        f"{comparison_table(runs)}</details>"
    ]
    parts += [run_section(run, i) for i, run in enumerate(runs, 1)]
    return "".join(parts)
