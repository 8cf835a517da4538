"""The headline card: the few numbers that say how good a run is, picked from ``metrics.json``
as read into the typed evaluation record (:mod:`torchlvm.evaluation.records`).

Each :class:`Headline` is one number (or a small grid of them) with a short label, its unit and a
one-line note (bits/dim, bound or estimate, k, the reference to compare with). Which cards appear
depends only on what the metrics hold: test log p(x) (the importance-sampled estimate, or the
exact value for PPCA), the ELBO, the gap between them, active units, probe accuracy against raw
pixels, the Fréchet distance against its real-data reference, conditional accuracy (CVAE), outlier
AUROC and the imputation likelihood. Nothing here raises on odd input: a card whose numbers are
absent or malformed is left out, and :func:`missing_headlines` names the core ones that were.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from torchlvm.evaluation.records import (
    Evaluation,
    Latent,
    Likelihood,
    ObservedLikelihood,
    Outliers,
    Pair,
    Probes,
    Quantity,
    SampleQuality,
    Separability,
    Undefined,
)
from torchlvm.report.metrics import format_measured, format_number

#: an exact gap (PPCA: q is the exact posterior) this small, relative to log p(x), is rounding
EXACT_GAP = 1e-9

#: a label CVAE's log p(x) = log Σ_c π_c p(x | c): its card's key, and its log p(x | c)'s where
#: that card takes the log-likelihood's row beside a VAE's log p(x) (:func:`ranked_on_log_px`)
OVER_CLASSES, GIVEN_CLASS = "log_px_over_classes", "log_px_given_class"
#: headline key → its row label in the side-by-side table, in the order cards are shown
HEADLINE_LABELS: dict[str, str] = {
    "log_px": "test log-likelihood",
    OVER_CLASSES: "log p(x) over the classes",  # (a label CVAE's, beside its log p(x | c))
    GIVEN_CLASS: "log p(x | c), given the class",  # (:func:`ranked_on_log_px`'s)
    "elbo": "ELBO (lower bound)",
    "gap": "gap ELBO → log-likelihood",  # (each card names its own: log p(x | c) for a CVAE)
    "imputation": "imputation log-likelihood",
    "active_units": "active units",
    "probe": "probe accuracy",
    "frechet": "Fréchet distance",
    "conditional": "conditional accuracy",
    "outliers": "outlier AUROC",
}
#: headline keys whose absence is worth stating (the others are model-specific)
CORE = ("log_px", "active_units", "probe", "frechet", "outliers")
#: why a table's evaluation has no outlier AUROC, and the option that gives it
TABLE_OOD = (
    " (a table has no default OOD set: evaluate RUN --ood FILE scores the rows of FILE against "
    "the test split)"
)
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


def _number(x: Quantity | float | None) -> float | None:
    """A quantity's value (or a number) as a finite float, else None."""
    if isinstance(x, Quantity):
        return x.number
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _text(x: Any, default: str = "") -> str:
    return x if isinstance(x, str) and x else default


def num(x: float, stderr: Any = None) -> str:
    """A measured number with a typographic minus: ``−23.65``; with a positive standard error,
    to that error's digit and the error to 2 significant digits: ``−23.6512 ± 0.0020``."""
    se = _number(stderr)
    return format_measured(x, se if se is not None and se > 0 else None).replace("-", "−")


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
    if isinstance(record, Quantity) and record.kind == "undefined":
        record = Undefined(record.note or "undefined for this model")
    if not isinstance(record, Undefined):
        return None
    return Headline(key, label, "n/a", "not defined", short(record.reason), record.reason)


def _defined(pair: Pair | None) -> tuple[Quantity, Quantity | None] | None:
    """(nats, bits/dim or None) of a pair whose nats value is a finite number."""
    if pair is None or pair.nats.number is None:
        return None
    bits = pair.bits_per_dim
    return pair.nats, bits if bits is not None and bits.number is not None else None


def _measured(section: Any, kind: type, name: str) -> tuple[Any, Any, float] | None:
    """``(section, its quantity name, that quantity's number)`` when ``section`` is a ``kind``
    record whose quantity ``name`` holds a finite number, else None."""
    if not isinstance(section, kind):
        return None
    q = getattr(section, name)
    value = _number(q)
    return None if value is None else (section, q, value)


def _how(q: Quantity, bits: Quantity | None, units: str | None = None) -> str:
    """``0.5331 bits/dim · estimate, k = 1000, ESS 482``, after a table's ``units`` (whose
    density: ``in the run's standardized units``)."""
    parts = [units] if units else []
    parts += [f"{num(bits.value)} bits/dim"] if bits is not None else []
    parts += [_spread(q)]
    kind = [q.kind]
    if q.k is not None:
        kind.append(f"k = {format_number(q.k)}")
    if q.ess is not None:
        kind.append(f"ESS {q.ess:.0f}")
    parts.append(", ".join(k for k in kind if k))
    parts.append(_few_effective(q))
    return " · ".join(p for p in parts if p)


def _few_effective(q: Quantity) -> str:
    """A short caveat for an importance-sampled estimate whose mean ESS rests on a few draws
    (the rule of :func:`~torchlvm.inference.ess.few_effective`), else ``""``."""
    from torchlvm.inference.ess import few_effective, few_text

    ess, k = _number(q.ess), q.k
    if q.kind != "estimate" or ess is None or not k or not few_effective(ess, int(k)):
        return ""
    return f"ESS {few_text(int(k))}: the ± understates its error; it may sit nats low"


def _spread(q: Quantity) -> str:
    """``± 0.24 over rows (the ± beside the value: the sampler's)``: the standard error of the
    mean over the data, where recorded, which says whether two runs' means differ; the ± beside
    an estimate is only its Monte Carlo error (the same rows drawn again), far smaller."""
    over = _number(q.data_stderr)
    if over is None:
        return ""
    unit = _text(q.unit)
    rows = f"{unit.split('/', 1)[1]}s" if unit.startswith("nats/") else "examples"
    sampler = " (the ± beside the value: the sampler's)" if _number(q.stderr) is not None else ""
    return f"± {num(over)} over {rows}{sampler}"


def _likelihood(m: Evaluation) -> Likelihood | None:
    return m.likelihood if isinstance(m.likelihood, Likelihood) else None


def _units(m: Evaluation) -> str | None:
    """A table's likelihood units (``in the run's standardized units``), else None."""
    like = _likelihood(m)
    return like.units if like is not None else None


def _quantity_name(m: Evaluation) -> str:
    like = _likelihood(m)
    return like.quantity if like is not None else "log p(x)"


def _split(m: Evaluation) -> str:
    split = _text(m.protocol.split)
    if not split and m.fit is not None and m.fit.test_log_likelihood is not None:
        split = "test"
    return f"{split} " if split else ""


def log_px(m: Evaluation) -> Headline | None:
    observed = m.observed_likelihood
    if isinstance(observed, ObservedLikelihood) and observed.nats.number is not None:
        return _observed_log_px(m, observed)  # every row, as any run on the split has it
    label = f"{_split(m)}{_quantity_name(m)}"
    found = m.log_px()
    if found is None:
        return _undefined("log_px", label, m.likelihood)
    name, pair = found
    q, bits = _defined(pair) or (pair.nats, None)
    value = num(q.value, q.stderr if name != "exact" else None)
    note = _how(q, bits, _units(m)) + _rows_and_train(m)
    unit = _text(q.unit, "nats/example")
    return Headline("log_px", label, value, unit, note, _text(q.note))


def log_px_over_classes(m: Evaluation) -> Headline | None:
    """A label CVAE's log p(x) = log Σ_c π_c p(x | c), of x alone: the number that ranks it
    against a VAE's log p(x) (userU #3)."""
    like = _likelihood(m)
    found = _defined(like.over_classes if like is not None else None)
    if found is None:
        return None
    q, bits = found
    note = _how(q, bits, _units(m)).replace(f"k = {format_number(q.k)}", f"k = {q.k} per class")
    note = f"log Σ_c π_c p(x | c), the class not given · {note}"
    label = f"{_split(m)}log p(x) over the classes"
    unit = _text(q.unit, "nats/example")
    return Headline(OVER_CLASSES, label, num(q.value, q.stderr), unit, note, _text(q.note))


def ranked_on_log_px(cards: list[Headline]) -> list[Headline]:
    """A label CVAE's cards beside a VAE's: its log p(x) over the classes in the log-likelihood's
    row (key ``log_px``), where the VAE's log p(x) is, and its log p(x | c) in a row of its own
    (:data:`GIVEN_CLASS`); the cards as they are where it has no log p(x) over the classes."""
    keys = {card.key: card for card in cards}
    if OVER_CLASSES not in keys or "log_px" not in keys:
        return cards
    moved = {"log_px": OVER_CLASSES, GIVEN_CLASS: "log_px"}
    return [replace(keys[moved[key]], key=key) for key in moved] + [
        card for card in cards if card.key not in ("log_px", OVER_CLASSES)
    ]


def _observed_log_px(m: Evaluation, observed: ObservedLikelihood) -> Headline:
    """The headline of a split with missing cells: log p(x_o) of every row on its observed
    cells, which every run on that split records (``fit`` of PPCA by EM, ``evaluate`` of any),
    so that runs side by side show one quantity over the same rows; the full-row log p(x) of
    the complete rows alone follows in the note, with its rows."""
    q = observed.nats
    exact = q.kind == "exact"
    value = num(q.value, None if exact else q.stderr)
    rows = f"every row's observed cells ({observed.rows} rows, {observed.incomplete_rows} with "
    rows += "missing cells)"
    parts = [
        _units(m) or "",
        rows,
        _spread(q),
        q.kind + (f", k = {q.k}" if q.k and not exact else ""),
    ]
    found = m.log_px()
    if found is not None and found[1].nats.number is not None:
        like = _likelihood(m)
        where = "" if like is None or not like.rows else f" {like.rows.split(' (')[0]}"
        parts.append(f"log p(x) {num(found[1].nats.value)}{where}")
    if m.fit is not None and m.fit.train_log_likelihood is not None:
        parts.append(f"train {num(m.fit.train_log_likelihood)}")
    note = " · ".join(p for p in parts if p)
    unit = _text(q.unit, "nats/row")
    return Headline("log_px", f"{_split(m)}log p(x_o)", value, unit, note, _text(q.note))


def _rows_and_train(m: Evaluation) -> str:
    """Which rows the card covers, and the train log-likelihood ``torchlvm fit`` wrote beside
    the test number of the same rows and cells. A split with missing cells and a recorded
    observed-cell likelihood has :func:`_observed_log_px`'s card; without that record the
    likelihood section's complete rows are said, and fit's train number (every row's observed
    cells) is left out: it is not of those rows."""
    fitted = m.fit is not None and m.fit.train_log_likelihood is not None
    like = _likelihood(m)
    if like is None or like.rows is None:  # every row of the split is complete
        return f" · train {num(m.fit.train_log_likelihood)}" if fitted else ""
    return f" · {like.rows}"


def elbo(m: Evaluation) -> Headline | None:
    like = _likelihood(m)
    found = _defined(like.elbo if like is not None else None)
    if found is None:
        return None
    q, bits = found
    note = _how(q, bits, _units(m)).replace("bound", "lower bound")
    unit = _text(q.unit, "nats/example")
    return Headline("elbo", "ELBO", num(q.value, q.stderr), unit, note, _text(q.note))


def gap(m: Evaluation) -> Headline | None:
    like = _likelihood(m)
    found, bound = m.log_px(), _defined(like.elbo if like is not None else None)
    if found is None or bound is None:
        return None
    name, pair = found
    if pair.nats.unit != bound[0].unit:
        return None
    what = _quantity_name(m)
    value = pair.nats.value - bound[0].value
    how = "exact" if name == "exact" else "estimate − bound: at least this, in expectation"
    # a conditional model's bound is on log p(x | c) (c: a class, or x_o for a mask): its gap
    # is the KL to p(z | x, c)
    given = what.removeprefix("log p(x | ").removesuffix(")") if " | " in what else None
    kl = "KL(q(z|x) ‖ p(z|x))" if given is None else f"KL(q(z|x,{given}) ‖ p(z|x,{given}))"
    note = f"{what} − ELBO = {kl} on average · {how}"
    unit, label = _text(pair.nats.unit, "nats/example"), f"gap ELBO → {what}"
    if name == "exact" and abs(value) <= EXACT_GAP * max(1.0, abs(pair.nats.value)):
        # q is the exact posterior (PPCA): what is left is floating-point rounding
        return Headline("gap", label, "0", unit, f"{note}: q is p(z|x)")
    if value < 0 and name != "exact":  # a KL is not: the estimates differ by Monte Carlo error
        n = m.protocol.n
        draws = bound[0].extra.get("draws", "two")  # (an evaluation before userI #7: two)
        note = (
            f"{kl} ≥ 0; below 0 by Monte Carlo error: the ELBO draws {draws} z per example"
            + (f" (n = {n})" if n else "")
            + f" and {what} is a low-biased estimate"
        )
    return Headline("gap", label, num(value, _difference_stderr(pair.nats, bound[0])), unit, note)


def _difference_stderr(a: Quantity, b: Quantity) -> float | None:
    """The Monte Carlo standard error of a − b, from independent draws; None unless both
    have one (an exact value has none to add: its error is 0)."""
    errors = [q.stderr if q.kind != "exact" else 0.0 for q in (a, b)]
    if None in errors or not any(errors):
        return None
    return math.hypot(*errors)


def imputation(m: Evaluation) -> Headline | None:
    found = _defined(m.imputation)
    if found is None:
        return None
    q, bits = found
    note = _how(q, bits).replace("bits/dim", "bits per missing dim")
    value = num(q.value, q.stderr)
    unit = _text(q.unit, "nats/example")
    return Headline("imputation", "log p(x_missing | x_observed)", value, unit, note, _text(q.note))


def active_units(m: Evaluation) -> Headline | None:
    found = _measured(m.latent, Latent, "active_units")
    if found is None:  # not measured, or undefined (one example has no covariance)
        units = m.latent.active_units if isinstance(m.latent, Latent) else None
        return _undefined("active_units", "active units", units)
    latent, record, active = found
    size = latent.latent_dim or (None if m.model is None else m.model.latent_dim)
    value = format_number(int(active)) + (f" of {int(size)}" if size else "")
    threshold = _number(record.extra.get("threshold"))
    moving = record.extra.get("from_prior_mean")
    measure = "Cov_x(E_q[zᵢ] − E_p[zᵢ|c])" if moving else "Cov_x(E_q[zᵢ])"
    note = f"{measure} > {format_number(threshold)}" if threshold is not None else ""
    title = _text(record.note)
    return Headline("active_units", "active units", value, "latent dimensions", note, title)


def _probe(probes: Probes | None) -> tuple[str, Quantity] | None:
    for name in ("logistic", "knn"):
        q = None if probes is None else getattr(probes, name)
        if _number(q) is not None:
            return name, q
    return None


def _raw(m: Evaluation) -> str:
    """What the probes' reference reads: the pixels of images, the features of rows."""
    shape = m.protocol.shape
    if shape is None:
        return "raw inputs"
    return "raw pixels" if len(shape) > 1 else "raw features"


def probe(m: Evaluation) -> Headline | None:
    sep = m.separability
    found = _probe(sep.latent) if isinstance(sep, Separability) else None
    if found is None:
        return _undefined("probe", "probe accuracy", sep)
    name, q = found
    pixels = getattr(sep.pixels, name, None)
    reference = _number(pixels)
    parts = [f"{_raw(m)} {_pct(reference)} %"] if reference is not None else []
    if (chance := _number(sep.chance)) is not None:  # the baseline: the most frequent class
        parts.append(f"chance {_pct(chance)} %")
    what = "logistic probe" if name == "logistic" else "k-NN"
    folds, n = _number(q.extra.get("folds")), _number(q.extra.get("n"))
    codes = "codes" if m.model is not None and m.model.deterministic_encoder else "posterior means"
    if m.protocol is not None and m.protocol.condition == "label":  # (q was given the class)
        codes += " of q(z|x,class)"
    how = f"{what} on {codes}" + (f", {int(folds)}-fold CV" if folds else "")
    parts.append(how + (f", n = {int(n)}" if n else ""))
    value = num(100 * q.value, None if q.stderr is None else 100 * q.stderr)
    note = " · ".join(parts)
    return Headline("probe", "probe accuracy", value, "% accuracy", note, _text(q.note))


def frechet(m: Evaluation) -> Headline | None:
    quality = m.sample_quality
    if not isinstance(quality, SampleQuality):
        return _undefined("frechet", "Fréchet distance", quality)
    q = quality.frechet
    if _number(q) is None:
        return _undefined("frechet", "Fréchet distance", q)
    parts = []
    fitted = _number(quality.frechet_fitted_codes)
    if fitted is not None:  # an autoencoder: no prior; the headline decodes N(0, I) codes
        parts.append(f"decoder on N(0, I) codes; on fitted codes {num(fitted)}")
    floor = _number(quality.frechet_real_reference)
    if floor is not None:
        parts.append(f"real-data reference {num(floor)}")
        if quality.lies_below_reference():  # (userM #13: no floor; the console's rule, D10)
            parts.append("below it: at this n mostly estimation bias")
    parts.append("lower is better")
    dim = None if quality.classifier is None else quality.classifier.feature_dim
    unit = f"{int(dim)}-d classifier features" if dim else "classifier features"
    return Headline(
        "frechet", "Fréchet distance", num(q.value), unit, " · ".join(parts), _text(q.note)
    )


def conditional(m: Evaluation) -> Headline | None:
    found = _measured(m.sample_quality, SampleQuality, "conditional_accuracy")
    if found is None:
        return None
    quality, q, value = found
    classifier = quality.classifier
    own = _number(None if classifier is None else classifier.test_accuracy)
    note = "samples for class c classified as c"
    if own is not None:
        note += f" · classifier's own test accuracy {_pct(own)} %"
    return Headline(
        "conditional", "conditional accuracy", _pct(value), "% accuracy", note, _text(q.note)
    )


def _score_name(description: str) -> str:
    """``−log p(x)`` from ``"−log p(x), importance-sampled, k=100 (higher = ...)"``."""
    for stop in (",", " (", " = "):
        description = description.partition(stop)[0]
    return description.strip() or "score"


def _auroc(found: Any) -> float | None:
    return None if found is None else _number(found.auroc)


def outliers(m: Evaluation) -> Headline | None:
    section = m.outliers
    if not isinstance(section, Outliers):
        return _undefined("outliers", "outlier AUROC", section)
    scores = [("score", _score_name(section.score_description))]
    if any(entry.typicality is not None for entry in section.sets.values()):
        scores.append(("typicality", "typicality"))
    rows, chance = [], None
    for name, entry in section.sets.items():
        values = [_auroc(getattr(entry, score)) for score, _ in scores]
        if all(v is None for v in values):
            continue
        rows.append((str(name), *("—" if v is None else f"{v:.3f}" for v in values)))
        if chance is None and entry.score is not None and entry.score.auroc is not None:
            chance = _number(entry.score.auroc.extra.get("chance"))
    if not rows:
        return None
    header = ("OOD set", *(label for _, label in scores))
    unit = f"AUROC (chance {format_number(chance)})" if chance is not None else "AUROC"
    note = "in-distribution test data against each set; 1 = perfectly told apart"
    title = section.score_description
    return Headline("outliers", "outlier AUROC", "", unit, note, title, (header, *rows))


#: the card makers, in display order
MAKERS: tuple[Callable[[Evaluation], Headline | None], ...] = (
    log_px,
    log_px_over_classes,
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
    if isinstance(metrics, Evaluation):
        m = metrics
    elif isinstance(metrics, dict):
        m = Evaluation.from_json(metrics)
    else:
        return []
    observed = _fit_over_observed_cells(metrics, m)
    if observed:  # no bits/dim: an average over rows of different cell counts
        m = replace(m, fit=replace(m.fit, test_bits_per_dim=None))
    cards = [card for make in MAKERS if (card := make(m)) is not None]
    return [_observed_card(card) if observed and card.key == "log_px" else card for card in cards]


def _fit_over_observed_cells(metrics: Any, m: Evaluation) -> bool:
    """Whether the card's log p(x) is the one ``torchlvm fit`` wrote (no evaluation's) and is
    log p(x_o) over each row's observed cells (EM with ``--allow-missing``: ``em.covers``)."""
    if m.fit is None or (isinstance(m.likelihood, Likelihood) and m.likelihood.best()):
        return False
    em = metrics.get("em") if isinstance(metrics, dict) else None
    return isinstance(em, dict) and em.get("covers") == "observed cells only"


def _observed_card(card: Headline) -> Headline:
    """fit's log p(x) card said of each row's observed cells."""
    label = card.label.replace("log p(x)", "log p(x_o)")
    note = card.note.replace("exact", "exact over each row's observed cells", 1)
    return replace(card, label=label, note=note, title=note)


def missing_headlines(metrics: Any, cards: list[Headline]) -> list[str]:
    """Labels of the core headline numbers the metrics do not hold (with how to get outlier
    AUROC on a table, which has no default OOD set)."""
    have = {card.key for card in cards}
    missing = [key for key in CORE if key not in have]
    protocol = Evaluation.from_json(metrics).protocol if isinstance(metrics, dict) else None
    table = protocol is not None and protocol.n is not None and protocol.noun == "row"
    return [HEADLINE_LABELS[key] + (TABLE_OOD if key == "outliers" and table else "")
            for key in missing]  # fmt: skip
