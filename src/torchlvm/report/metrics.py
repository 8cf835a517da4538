"""Turning ``metrics.json`` into labelled rows: any JSON in, readable text out.

The evaluation writes a nested dict of sections (``{"likelihood": {...}, ...}``). A value that is
a dict with a ``"value"`` key is a *quantity*: its ``unit``, ``kind`` (bound or estimate), ``k``,
``stderr``, ``ess`` and any other keys are shown beside the number, its ``note`` apart from them.
A ``{"nats": q, "bits_per_dim": q}`` pair becomes one row. Other dicts nest; lists of numbers
are shortened; everything else is shown as text. Nothing here raises on odd input.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from torchlvm.evaluation.records import is_quantity

__all__ = [
    "Row",
    "Section",
    "cell_text",
    "format_measured",
    "format_number",
    "is_quantity",
    "rows_of",
    "sections",
]

#: section key → heading
SECTION_TITLES = {
    "likelihood": "Likelihood",
    "reconstruction": "Reconstruction",
    "kl": "KL divergence",
    "rate_distortion": "Rate and distortion",
    "active_units": "Active units",
    "separability": "Latent separability",
    "sample_quality": "Sample quality",
    "conditional": "Conditional generation",
    "imputation": "Imputation",
    "outliers": "Outlier detection",
    "observed_likelihood": "Likelihood of the observed cells",
    "ood": "Outlier detection",
    "meta": "About this evaluation",
    "protocol": "Protocol",
    "latent": "Latent space",
    "seconds": "Time taken (seconds)",
}
#: sections whose log p(x) of a conditional run (a CVAE evaluated with its c: the protocol's
#: ``condition``) is log p(x | c), as the card and the console say (userK #12: "log p(x),
#: importance-sampled estimate" labelled a CVAE's log p(x | c))
GIVEN_C = frozenset({"likelihood", "observed_likelihood"})
#: metric key → label (keys not listed are shown with underscores as spaces)
LABELS = {
    "elbo": "ELBO (lower bound)",
    "iwae": "IWAE bound",
    "iwae_bound": "IWAE bound",
    "log_marginal": "log p(x), importance-sampled estimate",
    "log_marginal_is": "log p(x), importance-sampled estimate",
    "log_px": "log p(x)",
    "log_px_over_classes": "log p(x) = log Σ_c π_c p(x | c), the marginal over the classes",
    "log_lik": "reconstruction log-likelihood E_q[log p(x|z)]",
    "nll": "negative log-likelihood",
    "kl": "KL(q(z|x) ‖ p(z))",
    "kl_total": "KL of q to the prior, total",  # (its note names it: a CVAE's is given c)
    "kl_per_dim": "KL per latent dimension",
    "kl_per_dimension": "KL per latent dimension",
    "rate": "rate (KL)",
    "distortion": "distortion (−E_q of the log-likelihood)",
    "active_units": "active units",
    "mse": "mean squared error",
    "bce": "binary cross-entropy",
    "bpd": "bits per dimension",
    "bits_per_dim": "bits per dimension",
    "fid": "Fréchet distance",
    "frechet_distance": "Fréchet distance",
    "frechet": "Fréchet distance, samples vs real",
    "frechet_real_reference": "Fréchet distance, real vs real (the reference at this n)",
    "frechet_fitted_codes": "Fréchet distance, decoder on fitted codes",
    "conditional_accuracy": "conditional accuracy",
    "mse_per_example": "squared error per example",
    "mse_per_pixel": "squared error per pixel",
    "latent_dim": "latent dimensions",
    "auroc": "AUROC",
    "auprc": "AUPRC",
    "ess": "effective sample size",
    "stderr": "standard error",
    "data_stderr": "standard error over examples",
    "nats": "nats",
    "nats_file_units": "nats, in the file's units",
    "k": "importance samples k",
    "draws": "draws of z per example",
    "num_samples": "samples k",
    "pixels": "raw input",  # the probes' reference: pixels of images, features of a table
    "chance": "chance (always the most frequent class)",  # the probes' baseline
}
#: units of the flat numbers ``torchlvm fit`` writes at the top of metrics.json (FitRecord);
#: ``None``: the document's own ``unit`` entry (nats per example or row, exact log p(x))
FIT_UNITS: dict[str, str | None] = {
    "train_log_likelihood": None,
    "test_log_likelihood": None,
    "test_bits_per_dim": "bits/dim",
    "noise_variance": "σ², in the squared units of the data the model was fitted on",
    "fit_seconds": "s",
}
#: significant digits of a measured value: without a standard error; at most, with one
MEASURED_DIGITS = (4, 6)
#: numbers of a list shown before it is shortened
LIST_PREVIEW = 10
#: nesting below which a value is shown as compact JSON
MAX_DEPTH = 6
#: entries from which a nested dict of plain settings is shown as one row
RECORD_KEYS = 5


@dataclass
class Row:
    """One metric: its path of keys, a label, and its value, unit, details and note as text.

    ``details`` are short (kind, k, ESS, ...); ``note`` is the metric's sentence about itself;
    ``also`` is the same value in a second unit (bits/dim beside nats).
    """

    path: tuple[str, ...]
    label: str
    value: str
    unit: str = ""
    details: list[str] = field(default_factory=list)
    note: str = ""
    also: str = ""

    @property
    def key(self) -> str:
        return ".".join(self.path)


@dataclass
class Section:
    """A heading and its rows."""

    key: str
    title: str
    rows: list[Row]


def format_number(x: Any) -> str:
    """Text for a JSON scalar: floats to 4 significant digits, ints whole, NaN and ±∞ named."""
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if math.isnan(x):
            return "NaN"
        if math.isinf(x):
            return "∞" if x > 0 else "−∞"
        text = f"{x:.4g}"
        return text.replace("e+0", "e+").replace("e-0", "e-")
    return str(x)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def format_value(x: Any) -> str:
    """Text for any JSON value; a long list of numbers is cut short, with its length."""
    if isinstance(x, list) and x and all(_is_number(v) for v in x):
        head = ", ".join(format_number(v) for v in x[:LIST_PREVIEW])
        return f"[{head}, …] ({len(x)} values)" if len(x) > LIST_PREVIEW else f"[{head}]"
    if isinstance(x, (dict, list)):
        text = json.dumps(x, ensure_ascii=False, default=str)
        return text if len(text) <= 300 else text[:297] + "…"
    return format_number(x)


def label_for(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def _significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant digits, with their zeros; a number of more integer
    digits than that, below a million, rounded and written whole (``55600``, not
    ``5.56e+4``)."""
    top = math.floor(math.log10(abs(float(f"{x:.{digits - 1}e}")))) if x else 0  # once rounded
    if digits <= top < 6:
        return f"{round(x, digits - 1 - top):.0f}"
    return f"{x:#.{digits}g}".rstrip(".").replace("e+0", "e+").replace("e-0", "e-")


def format_error(x: float) -> str:
    """A standard error to 2 significant digits, as is told of an error: ``0.012``, ``1200``,
    ``1.2e-10``."""
    if not math.isfinite(x) or x == 0:
        return format_number(x) if x else "0"
    return _significant(x, 2)


def format_measured(x: Any, stderr: Any = None) -> str:
    """A measured number, the one rule every value with an error bar is written by: 4
    significant digits with their zeros (``-27.30``, ``1.000``), every digit of a whole part
    below a million (``55603``); with a standard error, to the digit of that error's second
    significant digit (at most 6 significant digits) and the error to 2: ``-27.3000 ± 0.0051``,
    ``0.430 ± 0.033``, ``70.8 ± 1.7``, ``-55600 ± 1200``."""
    if not (isinstance(x, float) and math.isfinite(x)):
        text = format_value(x)
    else:
        whole = math.floor(math.log10(abs(x))) + 1 if x else 1  # digits before the point
        digits = max(MEASURED_DIGITS[0], whole if whole <= MEASURED_DIGITS[1] else 0)
        if _is_number(stderr) and math.isfinite(stderr) and stderr > 0 and x != 0:
            last = math.floor(math.log10(stderr)) - 1  # the error's second significant digit
            digits = math.floor(math.log10(abs(x))) - last + 1
            digits = max(1, min(MEASURED_DIGITS[1], digits))
        text = _significant(x, digits)
    return text + (f" ± {format_error(stderr)}" if _is_number(stderr) else "")


def quantity_row(path: tuple[str, ...], q: dict[str, Any]) -> Row:
    """A row for a quantity dict: ``value ± stderr``, the unit, and every other key as details."""
    value = format_measured(q["value"], q.get("stderr"))
    details = []
    if "kind" in q:
        details.append(format_value(q["kind"]))
    for key in ("k", "num_samples"):
        if key in q:
            details.append(f"k = {format_value(q[key])}")
    if "ess" in q:
        details.append(f"ESS {format_value(q['ess'])}")
    for key, extra in q.items():
        shown = key in ("value", "unit", "kind", "k", "num_samples", "ess", "note")
        if key == "data_stderr" and _is_number(extra):
            details.append(f"± {format_error(extra)} over examples")
        elif not shown and not (key == "stderr" and _is_number(extra)):
            details.append(f"{label_for(str(key))}: {format_value(extra)}")
    unit = q.get("unit")
    note = format_value(q["note"]) if "note" in q else ""
    label = label_for(path[-1])
    if isinstance(unit, str) and unit.startswith("squared error/"):  # per pixel, or per feature
        label = "squared error per " + unit.split("/", 1)[1]  # on a table
    return Row(path, label, value, "" if unit is None else str(unit), details, note)


def _is_pair(x: Any) -> bool:
    """``{"nats": quantity, "bits_per_dim": quantity}`` and nothing else."""
    return (
        isinstance(x, dict)
        and set(x) == {"nats", "bits_per_dim"}
        and all(is_quantity(v) for v in x.values())
    )


def pair_row(path: tuple[str, ...], pair: dict[str, Any]) -> Row:
    """One row for a value in nats with its bits/dim twin beside it."""
    row = quantity_row(path, pair["nats"])
    bits = pair["bits_per_dim"]
    also = format_measured(bits["value"], bits.get("stderr"))
    row.also = f"{also} {bits.get('unit', 'bits/dim')}"
    return row


def _is_record(x: Any) -> bool:
    """A dict of at least RECORD_KEYS plain entries (scalars, number lists, scalar quantities)."""

    def plain(v: Any) -> bool:
        if isinstance(v, list):
            return all(_is_number(e) for e in v)
        if isinstance(v, dict):  # a bare quantity: value, unit and kind only
            return is_quantity(v) and set(v) <= {"value", "unit", "kind"}
        return True

    return isinstance(x, dict) and len(x) >= RECORD_KEYS and all(plain(v) for v in x.values())


def record_row(path: tuple[str, ...], record: dict[str, Any]) -> Row:
    """One row ``key value · key value · ...`` for a nested record of settings."""

    def text(k: Any, v: Any) -> str:
        if not is_quantity(v):
            return format_value(v)
        text = format_value(v["value"])
        unit = v.get("unit")
        text += f" {unit}" if unit is not None and not str(k).endswith(str(unit)) else ""
        return text + (f" ({v['kind']})" if v.get("kind") is not None else "")

    value = " · ".join(f"{label_for(str(k))} {text(k, v)}" for k, v in record.items())
    return Row(path, label_for(path[-1]), value)


def _is_outlier_set(path: tuple[str, ...], x: Any) -> bool:
    """One OOD set of the outlier section: ``sets.NAME`` holding a score's AUROC."""
    score = x.get("score") if isinstance(x, dict) else None
    return (
        len(path) >= 2
        and path[-2] == "sets"
        and isinstance(score, dict)
        and is_quantity(score.get("auroc"))
    )


def _areas(scores: Any) -> str:
    """``AUROC 0.5888 · AUPRC 0.5954`` of one score's ``{"auroc": q, "auprc": q}``."""
    areas = scores if isinstance(scores, dict) else {}
    return " · ".join(
        f"{label_for(key)} {format_measured(areas[key]['value'])}"
        for key in ("auroc", "auprc")
        if is_quantity(areas.get(key))
    )


def outlier_set_row(path: tuple[str, ...], entry: dict[str, Any]) -> Row:
    """One row per OOD set: the score's AUROC and AUPRC as the value; typicality's, the sizes,
    the mean scores and chance as details; the set's description as the note."""
    details = []
    if _areas(entry.get("typicality")):
        details.append(f"typicality: {_areas(entry['typicality'])}")
    pairs = (("n_in", "n_out", "n = {} in-distribution, {} OOD", format_value),
             ("mean_score_in", "mean_score_out", "mean score {} in-distribution, {} OOD",
              format_measured))  # fmt: skip
    for inside, outside, form, shown in pairs:
        if _is_number(entry.get(inside)) and _is_number(entry.get(outside)):
            details.append(form.format(shown(entry[inside]), shown(entry[outside])))
    chance = [
        f"{label_for(key)} {format_number(q['chance'])}"
        for key, q in entry["score"].items()
        if is_quantity(q) and _is_number(q.get("chance"))
    ]
    if chance:
        details.append("chance: " + ", ".join(sorted(chance, key=lambda c: "AUROC" not in c)))
    note = format_value(entry["description"]) if "description" in entry else ""
    return Row(path, path[-1], _areas(entry["score"]), "", details, note)


def rows_of(value: Any, path: tuple[str, ...] = ()) -> Iterator[Row]:
    """Flatten a JSON value into rows; nested dicts add to the path.

    A nested record of settings (below a section, all entries plain) becomes one row.
    """
    if is_quantity(value):
        yield quantity_row(path, value)
    elif _is_outlier_set(path, value):
        yield outlier_set_row(path, value)
    elif _is_pair(value) and path:
        yield pair_row(path, value)
    elif _is_record(value) and len(path) >= 2:
        yield record_row(path, value)
    elif isinstance(value, dict) and value and len(path) < MAX_DEPTH:
        for key, child in value.items():
            yield from rows_of(child, (*path, str(key)))
    else:
        yield Row(path, label_for(path[-1]) if path else "value", format_value(value))


def _row_label(row: Row, depth: int) -> Row:
    """Label nested rows with their whole path below the section; the IWAE bounds, stored by k,
    by the paper's name (``likelihood.iwae.10`` is ``IWAE bound L_10``); an OOD set by its name
    (``outliers.sets.flip`` is ``flip``)."""
    path, label = row.path, row.label
    if len(path) >= 2 and path[-2] in ("iwae", "iwae_bound") and path[-1].isdigit():
        path, label = path[:-1], f"{label_for(path[-2])} L_{path[-1]}"
    if len(path) >= 2 and path[-2] == "sets":  # an outlier section's OOD set, by its name
        path = (*path[:-2], path[-1])
    if len(path) > depth + 1:
        label = " › ".join([label_for(p) for p in path[depth:-1]] + [label])
    row.label = label
    return row


def sections(metrics: Any) -> list[Section]:
    """The sections of a metrics document: top-level scalars first, then one per dict."""
    if not isinstance(metrics, dict):
        return [Section("metrics", "Metrics", list(rows_of(metrics, ("metrics",))))]
    general = []
    out = []
    fit_unit = metrics.get("unit") if isinstance(metrics.get("unit"), str) else None
    protocol = metrics.get("protocol") if isinstance(metrics.get("protocol"), dict) else {}
    conditioned = str(protocol.get("condition") or "none") != "none"
    for key, value in metrics.items():
        key = str(key)
        own = is_quantity(value) and key in SECTION_TITLES  # a whole section, e.g. undefined
        if isinstance(value, dict) and value and (own or not is_quantity(value)):
            rows = [_row_label(r, 1) for r in rows_of(value, (key,))]
            if key in GIVEN_C and conditioned:  # (a CVAE's densities are of x given its c)
                for row in rows:  # (not its log p(x) over the classes: of x alone)
                    if "log_px_over_classes" not in row.path:
                        row.label = row.label.replace("log p(x)", "log p(x | c)")
            out.append(Section(key, SECTION_TITLES.get(key, label_for(key).capitalize()), rows))
        else:
            rows = list(rows_of(value, (key,)))
            if key in FIT_UNITS and _is_number(value):  # a bare number: give it its unit
                rows[0].unit = FIT_UNITS[key] or fit_unit or ""
            general.extend(rows)
    if general:
        out.insert(0, Section("summary", "Summary", general))
    return out


def cell_text(row: Row) -> str:
    """A compact one-cell text for the side-by-side table: value, unit, second unit, details."""
    text = row.value + (f" {row.unit}" if row.unit else "")
    details = ([row.also] if row.also else []) + row.details
    return text + (f" ({'; '.join(details)})" if details else "")
