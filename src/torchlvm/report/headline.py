"""The headline card: the few numbers that say how good a run is, picked from ``metrics.json``.

Each :class:`Headline` is one number (or a small grid of them) with a short label, its unit and a
one-line note (bits/dim, bound or estimate, k, the reference to compare with). Which cards appear
depends only on what the metrics hold: test log p(x) (the importance-sampled estimate, or the
exact value for PPCA), the ELBO, the gap between them, active units, probe accuracy against raw
pixels, the Fréchet distance against its real-data floor, conditional accuracy (CVAE), outlier
AUROC and the imputation likelihood. Nothing here raises on odd input: a card whose numbers are
absent or malformed is left out, and :func:`missing_headlines` names the core ones that were.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torchlvm.report.metrics import format_number, is_quantity

#: headline key → its row label in the side-by-side table, in the order cards are shown
HEADLINE_LABELS: dict[str, str] = {
    "log_px": "test log-likelihood",
    "elbo": "ELBO (lower bound)",
    "gap": "gap ELBO → log p(x)",
    "imputation": "imputation log-likelihood",
    "active_units": "active units",
    "probe": "probe accuracy",
    "frechet": "Fréchet distance",
    "conditional": "conditional accuracy",
    "outliers": "outlier AUROC",
}
#: headline keys whose absence is worth stating (the others are model-specific)
CORE = ("log_px", "active_units", "probe", "frechet", "outliers")
#: characters of a metric's note kept on the card (the whole note is the hover title)
NOTE_CHARS = 90


@dataclass(frozen=True)
class Headline:
    """One card: ``value`` in ``unit``, with a short ``note`` and the full text as ``title``.

    ``grid`` holds several small numbers instead of one (its first row is the header), e.g.
    AUROC per outlier set and score.
    """

    key: str
    label: str
    value: str
    unit: str
    note: str = ""
    title: str = ""
    grid: tuple[tuple[str, ...], ...] = ()


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        mapping = mapping.get(key) if isinstance(mapping, dict) else None
    return mapping


def _number(x: Any) -> float | None:
    """``x`` (or a quantity's value) as a finite float, else None."""
    if is_quantity(x):
        x = x["value"]
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _text(x: Any, default: str = "") -> str:
    return x if isinstance(x, str) and x else default


def num(x: float) -> str:
    """4 significant digits with a typographic minus: ``−23.65``."""
    return format_number(x).replace("-", "−")


def _se(x: Any) -> str:
    """`` ± stderr`` to 2 significant digits, or nothing."""
    se = _number(x)
    return f" ± {format(se, '#.2g').rstrip('.')}" if se is not None and se > 0 else ""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def short(note: str, limit: int = NOTE_CHARS) -> str:
    """The first clause of ``note``, cut to ``limit`` characters."""
    for stop in (": ", "; "):
        head, sep, _ = note.partition(stop)
        if sep and len(head) >= 12:
            note = head
            break
    return note if len(note) <= limit else note[: limit - 1].rstrip() + "…"


def _undefined(key: str, label: str, record: Any) -> Headline | None:
    """A card for a metric the evaluation marked undefined for this model, with its reason."""
    if not (isinstance(record, dict) and record.get("kind") == "undefined"):
        return None
    reason = _text(record.get("note"), "undefined for this model")
    return Headline(key, label, "n/a", "not defined", short(reason), reason)


def _nats_and_bits(entry: Any) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """(nats quantity, bits/dim quantity or None) of a likelihood entry, if it has a number."""
    if is_quantity(entry) and _number(entry) is not None:
        return entry, None
    nats = _get(entry, "nats")
    if is_quantity(nats) and _number(nats) is not None:
        bits = _get(entry, "bits_per_dim")
        return nats, bits if is_quantity(bits) and _number(bits) is not None else None
    return None


def _how(q: dict[str, Any], bits: dict[str, Any] | None) -> str:
    """``0.5331 bits/dim · estimate, k = 1000, ESS 482``."""
    parts = [f"{num(bits['value'])} bits/dim"] if bits is not None else []
    kind = [_text(q.get("kind"))]
    if _number(q.get("k")) is not None:
        kind.append(f"k = {format_number(q['k'])}")
    if _number(q.get("ess")) is not None:
        kind.append(f"ESS {q['ess']:.0f}")
    parts.append(", ".join(k for k in kind if k))
    return " · ".join(p for p in parts if p)


def _log_px_source(m: Any) -> tuple[str, dict[str, Any], dict[str, Any] | None] | None:
    """(kind name, nats quantity, bits quantity) of the best log p(x) in the metrics."""
    likelihood = _get(m, "likelihood")
    for name in ("exact", "log_marginal"):
        found = _nats_and_bits(_get(likelihood, name))
        if found is not None:
            return (name, *found)
    flat = _get(m, "test_log_likelihood")  # `torchlvm fit ppca`: exact, flat
    if _number(flat) is not None:
        bits = _number(_get(m, "test_bits_per_dim"))
        nats = {"value": _number(flat), "unit": "nats/example", "kind": "exact"}
        bits_q = {"value": bits, "unit": "bits/dim"} if bits is not None else None
        return "exact", nats, bits_q
    return None


def _quantity_name(m: Any) -> str:
    return _text(_get(m, "likelihood", "quantity"), "log p(x)")


def _split(m: Any) -> str:
    split = _text(_get(m, "protocol", "split"))
    if not split and _number(_get(m, "test_log_likelihood")) is not None:
        split = "test"
    return f"{split} " if split else ""


def log_px(m: Any) -> Headline | None:
    label = f"{_split(m)}{_quantity_name(m)}"
    found = _log_px_source(m)
    if found is None:
        return _undefined("log_px", label, _get(m, "likelihood"))
    name, q, bits = found
    value = num(q["value"]) + (_se(q.get("stderr")) if name != "exact" else "")
    note = _how(q, bits)
    train = _number(_get(m, "train_log_likelihood"))
    if train is not None:
        note += f" · train {num(train)}"
    unit = _text(q.get("unit"), "nats/example")
    return Headline("log_px", label, value, unit, note, _text(q.get("note")))


def elbo(m: Any) -> Headline | None:
    found = _nats_and_bits(_get(m, "likelihood", "elbo"))
    if found is None:
        return None
    q, bits = found
    note = _how(q, bits).replace("bound", "lower bound")
    unit = _text(q.get("unit"), "nats/example")
    return Headline("elbo", "ELBO", num(q["value"]), unit, note, _text(q.get("note")))


def gap(m: Any) -> Headline | None:
    found, bound = _log_px_source(m), _nats_and_bits(_get(m, "likelihood", "elbo"))
    if found is None or bound is None:
        return None
    name, q, _ = found
    if q.get("unit") != bound[0].get("unit"):
        return None
    what = _quantity_name(m)
    value = q["value"] - bound[0]["value"]
    how = "exact" if name == "exact" else "estimate − bound"
    note = f"{what} − ELBO = KL(q(z|x) ‖ p(z|x)) on average · {how}"
    unit = _text(q.get("unit"), "nats/example")
    return Headline("gap", "gap ELBO → log p(x)", num(value), unit, note)


def imputation(m: Any) -> Headline | None:
    found = _nats_and_bits(_get(m, "imputation"))
    if found is None:
        return None
    q, bits = found
    note = _how(q, bits).replace("bits/dim", "bits per missing dim")
    value = num(q["value"]) + _se(q.get("stderr"))
    unit = _text(q.get("unit"), "nats/example")
    return Headline(
        "imputation", "log p(x_missing | x_observed)", value, unit, note, _text(q.get("note"))
    )


def active_units(m: Any) -> Headline | None:
    record = _get(m, "latent", "active_units")
    active = _number(record)
    if active is None:
        return None
    size = _number(_get(m, "latent", "latent_dim")) or _number(_get(m, "model", "latent_dim"))
    value = format_number(int(active)) + (f" of {int(size)}" if size else "")
    threshold = _number(_get(record, "threshold"))
    note = f"Cov_x(E_q[zᵢ]) > {format_number(threshold)}" if threshold is not None else ""
    title = _text(_get(record, "note"))
    return Headline("active_units", "active units", value, "latent dimensions", note, title)


def _probe(section: Any) -> tuple[str, dict[str, Any]] | None:
    for name in ("logistic", "knn"):
        q = _get(section, name)
        if _number(q) is not None and isinstance(q, dict):
            return name, q
    return None


def probe(m: Any) -> Headline | None:
    sep = _get(m, "separability")
    found = _probe(_get(sep, "latent"))
    if found is None:
        return _undefined("probe", "probe accuracy", sep)
    name, q = found
    reference = _number(_get(sep, "pixels", name))
    parts = [f"raw pixels {_pct(reference)} %"] if reference is not None else []
    what = "logistic probe" if name == "logistic" else "k-NN"
    folds = _number(q.get("folds"))
    parts.append(f"{what} on posterior means" + (f", {int(folds)}-fold CV" if folds else ""))
    value = _pct(q["value"]) + (_se(100 * q["stderr"]) if _number(q.get("stderr")) else "")
    note = " · ".join(parts)
    return Headline("probe", "probe accuracy", value, "% accuracy", note, _text(q.get("note")))


def frechet(m: Any) -> Headline | None:
    quality = _get(m, "sample_quality")
    q = _get(quality, "frechet")
    if _number(q) is None:
        return _undefined("frechet", "Fréchet distance", quality if q is None else q)
    parts = []
    floor = _number(_get(quality, "frechet_real_reference"))
    if floor is not None:
        parts.append(f"real-data floor {num(floor)}")
    fitted = _number(_get(quality, "frechet_fitted_codes"))
    if fitted is not None:
        parts.append(f"decoder on fitted codes {num(fitted)}")
    parts.append("lower is better")
    dim = _number(_get(quality, "classifier", "feature_dim"))
    unit = f"{int(dim)}-d classifier features" if dim else "classifier features"
    title = _text(_get(q, "note"))
    return Headline("frechet", "Fréchet distance", num(_number(q)), unit, " · ".join(parts), title)


def conditional(m: Any) -> Headline | None:
    q = _get(m, "sample_quality", "conditional_accuracy")
    value = _number(q)
    if value is None:
        return None
    own = _number(_get(m, "sample_quality", "classifier", "test_accuracy"))
    note = "samples for class c classified as c"
    if own is not None:
        note += f" · classifier's own test accuracy {_pct(own)} %"
    title = _text(_get(q, "note"))
    return Headline("conditional", "conditional accuracy", _pct(value), "% accuracy", note, title)


def _score_name(description: str) -> str:
    """``−log p(x)`` from ``"−log p(x), importance-sampled, k=100 (higher = ...)"``."""
    for stop in (",", " (", " = "):
        description = description.partition(stop)[0]
    return description.strip() or "score"


def outliers(m: Any) -> Headline | None:
    section = _get(m, "outliers")
    sets = _get(section, "sets")
    if not isinstance(sets, dict):
        return _undefined("outliers", "outlier AUROC", section)
    scores = [("score", _score_name(_text(_get(section, "score_description"), "score")))]
    if any(_get(s, "typicality") is not None for s in sets.values()):
        scores.append(("typicality", "typicality"))
    rows, chance = [], None
    for name, found in sets.items():
        values = [_number(_get(found, score, "auroc")) for score, _ in scores]
        if all(v is None for v in values):
            continue
        rows.append((str(name), *("—" if v is None else f"{v:.3f}" for v in values)))
        chance = chance or _number(_get(found, "score", "auroc", "chance"))
    if not rows:
        return None
    header = ("OOD set", *(label for _, label in scores))
    unit = f"AUROC (chance {format_number(chance)})" if chance is not None else "AUROC"
    note = "in-distribution test data against each set; 1 = perfectly told apart"
    title = _text(_get(section, "score_description"))
    return Headline("outliers", "outlier AUROC", "", unit, note, title, (header, *rows))


#: the card makers, in display order
MAKERS: tuple[Callable[[Any], Headline | None], ...] = (
    log_px,
    elbo,
    gap,
    imputation,
    active_units,
    probe,
    frechet,
    conditional,
    outliers,
)


def headline(metrics: Any) -> list[Headline]:
    """The headline cards of a metrics document (any JSON; non-dicts give none)."""
    if not isinstance(metrics, dict):
        return []
    return [card for make in MAKERS if (card := make(metrics)) is not None]


def missing_headlines(metrics: Any, cards: list[Headline]) -> list[str]:
    """Labels of the core headline numbers the metrics do not hold."""
    have = {card.key for card in cards}
    return [HEADLINE_LABELS[key] for key in CORE if key not in have]
