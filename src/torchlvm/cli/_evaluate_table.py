"""The table ``torchlvm evaluate`` prints, read from the typed evaluation record."""

from __future__ import annotations

import math
import textwrap
from dataclasses import replace
from typing import Any

from torchlvm.evaluation.likelihood import apart, few_effective_note
from torchlvm.evaluation.records import (
    Evaluation,
    Likelihood,
    ObservedLikelihood,
    Outliers,
    Pair,
    Protocol,
    Quantity,
    SampleQuality,
    Separability,
    Undefined,
    complete_rows,
)
from torchlvm.evaluation.sample_section import below_reference

KL_SHOWN = 12
"""Latent dimensions whose KL the table prints (all of them are in metrics.json)."""


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _value(q: Quantity | None, digits: int = 3) -> str:
    return _num(None if q is None else q.value, digits)


def _measured(q: Quantity | None) -> str:
    """``0.63 ± 0.029``: a measured value with its standard error, to the digits it justifies
    (the report's rule, :func:`~torchlvm.report.metrics.format_measured`; userP #13: '0.950'
    on 18 rows where the report said 95.0 ± 5.0 %)."""
    from torchlvm.report.metrics import format_measured

    if q is None or q.stderr is None:
        return _value(q)
    return format_measured(q.value, q.stderr)


WIDTH = 100
"""Columns a wrapped row of the table keeps within."""


def _row(label: str, text: str) -> str:
    """``label`` and ``text`` in their columns; a label wider than its column on a line of its
    own, ``text`` below it in the value column (a CVAE's 'posterior means of q(z|x,class):
    logistic / 5-NN' pushed its accuracies out of the column the others share)."""
    if len(label) > LABEL and text:
        return f"  {label}\n  {'':<{LABEL}} {text}"
    return f"  {label:<{LABEL}} {text}"


LABEL = 44  # the label column's width


def _wrapped_row(label: str, text: str) -> str:
    """:func:`_row` with a long ``text`` wrapped at word boundaries under its first line."""
    first = _row(label, "")
    return textwrap.fill(
        text, WIDTH, initial_indent=first, subsequent_indent=" " * len(first),
        break_long_words=False, break_on_hyphens=False,
    )  # fmt: skip


def _pair_row(label: str, pair: Pair, extra: str = "") -> str:
    bits = pair.bits_per_dim
    bits_text = f"  {_value(bits, 4):>8} bits/dim" if bits is not None else ""
    return _row(label, f"{_value(pair.nats):>10} nats{bits_text}  ({pair.nats.kind}{extra})")


def _mc(q: Quantity) -> str:
    """``, k=…`` (or the ELBO's ``, 100 draws of z``), ``±… MC stderr`` and the ESS, for what
    has each."""
    draws = q.extra.get("draws")
    k = f", k={q.k}" if q.k is not None else "" if draws is None else f", {draws} draws of z"
    stderr = "" if q.stderr is None else f", ±{_num(q.stderr, 4)} MC stderr"
    ess = "" if q.ess is None else f", ESS {_num(q.ess, 1)}"
    return f"{k}{stderr}{ess}"


def _likelihood_rows(
    like: Likelihood | Undefined | None, n: int | None = None, whole: bool = False
) -> list[str]:
    if like is None:
        return []
    if isinstance(like, Undefined):
        return [_wrapped_row("log p(x)", like.reason)]
    what = like.quantity
    q = like.posterior  # e.g. "encoder q refined by 50 Adam steps per example" (--refine)
    rows = [] if q is None else [_row("q of the ELBO, IWAE bounds and IS estimate", q)]
    if like.elbo is not None:
        rows.append(_pair_row(f"ELBO on {what}", like.elbo, _mc(like.elbo.nats)))
    for k, pair in like.iwae.items():
        rows.append(_pair_row(f"IWAE bound L_{k}", pair, _mc(pair.nats)))
    if like.log_marginal is not None:
        est = like.log_marginal
        rows.append(_pair_row(f"{what}, importance-sampled", est, _mc(est.nats)))
        rows += _weaker_than_bounds(est.nats.k, list(like.iwae))
        if est.nats.ess is not None and est.nats.k:
            rows += _caveat(few_effective_note(est.nats.ess, est.nats.k))
    if like.ais is not None:
        rows.append(_pair_row(f"{what}, AIS (k = chains)", like.ais, _mc(like.ais.nats)))
        if (est := like.log_marginal) is not None:
            i, a = est.nats, like.ais.nats
            rows += _caveat(apart(i.value, i.stderr or 0.0, a.value, a.stderr or 0.0))
    if like.exact is not None:
        rows.append(_pair_row(f"{what}, exact", like.exact))
    return rows + _spread_rows(like, n, whole) + _over_classes_rows(like.over_classes, n)


def _over_classes_rows(pair: Pair | None, n: int | None) -> list[str]:
    """A label CVAE's log p(x) over its classes, below its log p(x | c): the number of x alone
    that ranks against a VAE's log p(x) (userU #3: it was computed for the outlier score only,
    and a CVAE and a VAE of the same data were 'not comparable')."""
    if pair is None:
        return []
    q = pair.nats
    k = f", k={q.k} per class" if q.k is not None else ""
    row = _pair_row("log p(x), the marginal over classes", pair, k + _mc(replace(q, k=None)))
    prior = q.extra.get("class_prior")
    prior = f", {prior}" if isinstance(prior, str) else ""
    over = f"the {n:,} examples" if n else "the examples"
    spread = "" if q.data_stderr is None else f"; ±{_num(q.data_stderr, 4)} over {over}"
    few = few_effective_note(q.ess, q.k) if q.ess is not None and q.k else ""
    return [row, *_caveat(few)] + _caveat(
        f"log p(x) = log Σ_c π_c p(x | c){prior}: of x alone, the class not given, as a VAE's "
        f"log p(x) is, where log p(x | c) above is given it{spread}"
    )


def _spread_rows(like: Likelihood, n: int | None, whole: bool) -> list[str]:
    """A line under the likelihood rows saying what their ± is not: the Monte Carlo error of the
    ``n`` examples' mean (``whole``: every one of the split), beside the mean's standard error
    over those examples, which another subsample moves it by (userN #1: "±0.0082 MC stderr" at
    --n 100 sat 0.57 nats from the whole split's mean, whose spread over examples, 0.184, was in
    metrics.json only)."""
    named = [(like.quantity, like.log_marginal), ("the ELBO", like.elbo)]
    name, q = next(
        ((name, p.nats) for name, p in named if p is not None and p.nats.stderr), (None, None)
    )
    if q is None or q.data_stderr is None:
        return []
    over = f"the {n:,} examples" if n else "the examples"
    other = "another set of as many examples" if whole else "another subsample"
    return _caveat(
        f"each ± is Monte Carlo error only; the standard error of {name} over {over} is "
        f"±{_num(q.data_stderr, 4)}, about what {other} moves it by: compare runs on the same "
        "--n and --seed"
    )


def _caveat(sentence: str) -> list[str]:
    """A caveat the likelihood record's note carries (``". Its mean ESS is ..."``), as a
    wrapped line in brackets under its row; none for ``""``."""
    if not sentence:
        return []
    return [_wrapped_row("", f"({sentence.removeprefix('. ')})")]


def _weaker_than_bounds(k: int | None, ks: list[int]) -> list[str]:
    """A note under an importance-sampled estimate whose k is below an IWAE bound's above it:
    with k samples the estimate is L_k in expectation, so it may read lower than that bound."""
    above = [kk for kk in ks if k is not None and kk > k]
    if not above:
        return []
    bounds = " and ".join(f"L_{kk}" for kk in above)
    text = f"(with k={k} this estimate is L_{k} in expectation: a weaker bound than {bounds})"
    return [_row("", text)]


def _observed_rows(obs: ObservedLikelihood | None) -> list[str]:
    if obs is None:
        return []
    q, in_file = obs.nats, obs.nats_file_units
    how = "exact" if q.kind == "exact" else f"importance-sampled, k={q.k}, ±{_num(q.stderr, 4)} MC"
    rows = [
        f"observed cells only (every row; {obs.incomplete_rows} of {obs.rows} rows have missing "
        f"cells, {obs.missing_cells} of {obs.cells} cells)",
    ]
    shown = [(q, "" if in_file is None else ", standardized units")]
    shown += [] if in_file is None else [(in_file, ", the file's units")]
    for value, units in shown:
        spread = f", ±{_num(value.data_stderr, 4)} stderr over rows"
        text = f"{_value(value):>10} {value.unit}  ({how}{spread})"
        rows.append(_row(f"mean log p(x_o) per row{units}", text))
    return rows


def _codes(m: Evaluation, posterior: str) -> str:
    """What the encoder gives for x: an autoencoder's code f(x), else ``posterior``, of
    q(z | x, class) where the encoder is given the class (a CVAE's probes read it back)."""
    autoencoder = m.model is not None and m.model.deterministic_encoder is True
    if autoencoder:
        return f"the code{'s' if posterior.endswith('s') else ''} f(x)"
    given_class = m.protocol is not None and m.protocol.condition == "label"
    return f"{posterior} of q(z|x,class)" if given_class else posterior


def _flat(p: Any) -> bool:
    """Whether the data are rows of features (a table, two-moons, an .npy of rows), not images:
    their values are no pixels (userI #12)."""
    return p.noun == "row" or (p.shape is not None and len(p.shape) == 1)


def _reconstruction_rows(m: Evaluation) -> list[str]:
    rec = m.reconstruction
    if rec is None:
        return []
    if isinstance(rec, Undefined):
        return ["reconstruction", _wrapped_row("squared error", rec.reason)]
    per_example, per_pixel = _value(rec.mse_per_example), _value(rec.mse_per_pixel, 5)
    example = m.protocol.noun
    unit = "feature" if _flat(m.protocol) else "pixel"
    rows = [
        f"reconstruction (x̂ = decoder mean at {_codes(m, 'the posterior mean')})",
        _row(f"squared error per {example} / per {unit}", f"{per_example} / {per_pixel}"),
    ]
    if rec.bce is not None:
        rows.append(_row("binary cross-entropy", f"{_value(rec.bce)} {rec.bce.unit or 'nats'}"))
    return rows


def _latent_rows(m: Evaluation) -> list[str]:
    lat = m.latent
    if lat is None:
        return []
    if isinstance(lat, Undefined):
        return ["latent", _wrapped_row("active units, rate, KL", lat.reason)]
    rows = ["latent"]
    if lat.active_units is not None:
        active = f"{lat.active_units.value} of {lat.latent_dim}"
        if lat.active_units.value is None:  # too few examples for a variance: why
            active = lat.active_units.note or "undefined"
        moving = lat.active_units.extra.get("from_prior_mean")
        measure = "Cov_x(E_q z − E_p z|c)" if moving else "Cov_x E_q[z_i]"
        rows.append(_wrapped_row(f"active units ({measure} > 0.01)", active))
    conditional = m.protocol is not None and m.protocol.condition not in (None, "none")
    if lat.rate is not None and lat.distortion is not None:
        rows.append(
            _wrapped_row(
                f"rate (KL) / distortion (−E_q log p(x|z{',c' * conditional}))",
                f"{_value(lat.rate)} / {_value(lat.distortion)} nats{_drawn(lat.rate)}",
            )
        )
    if lat.kl_per_dim is not None and isinstance(lat.kl_per_dim.value, list):
        values = lat.kl_per_dim.value
        given = ", given c" * conditional  # KL(q(z_i|x,c) ‖ p(z_i|c))
        label, per_dim = f"KL per dimension{given} (nats)", ", ".join(_num(v, 2) for v in values)
        if len(values) > KL_SHOWN:  # the largest, named as the figures name them (z1, ...)
            largest = sorted(range(len(values)), key=lambda j: -values[j])[:KL_SHOWN]
            per_dim = ", ".join(f"z{j + 1} {_num(values[j], 2)}" for j in largest)
            rest = len(values) - KL_SHOWN
            per_dim += f", {rest} other{'s' * (rest > 1)} ≤ {_num(values[largest[-1]], 2)}"
            label = f"KL per dimension{given} (nats), largest {KL_SHOWN}"
        rows.append(_wrapped_row(label, per_dim))
        if lat.kl_per_dim.kind == "approximation":  # a flow q or a mixture prior
            rows.append(_wrapped_row("", MATCHED_KL))
    return rows


MATCHED_KL = (
    "(approximate: KLs between Gaussians matched to each 1-D marginal's mean and variance, the "
    "marginals of this q or prior not being Gaussian; they do not sum to the rate)"
)
"""Said under the KL per dimension of a flow q or a mixture prior, where each is the KL of
moment-matched Gaussians (:func:`torchlvm.evaluation.latent.kl_per_dimension`)."""


def _drawn(rate: Quantity) -> str:
    """How the rate was obtained, where it is a Monte Carlo estimate (a flow q or a mixture prior:
    no closed-form KL), with its standard error and the distortion's; else nothing."""
    if rate.kind != "estimate" or rate.stderr is None:
        return ""
    return f" (estimates from {rate.k or 2} draws of z per example, rate ±{rate.stderr:.2g})"


BINARIZED_PIXELS = {
    "dynamic": "(the pixels as this model sees them: one Bernoulli draw of each grey level, not "
    "the grey levels a model of grey levels is probed on)",
    "threshold": "(the pixels as this model sees them: thresholded at 0.5, not the grey levels a "
    "model of grey levels is probed on)",
}
"""Said under the pixel reference of a binarized run: it is probed on the data the model was
evaluated on, so it differs between a VAE on binarized digits and a PPCA on grey ones (userE
read 0.665 against 0.885 as one reference)."""


def _separability_rows(
    sep: Separability | Undefined | None,
    table: bool = False,
    codes: str = "posterior means",
    binarize: str | None = None,
) -> list[str]:
    if sep is None:
        return []
    if isinstance(sep, Undefined):
        return ["separability", _wrapped_row("probes", sep.reason)]
    n = next(
        (p.logistic.extra.get("n") for p in (sep.latent, sep.pixels) if p and p.logistic), None
    )
    rows = [f"separability (5-fold CV accuracy{'' if n is None else f' on {n} examples'}, ± s.e.)"]
    if sep.left_out is not None:  # (classes too small for the folds)
        rows.append(_wrapped_row("", sep.left_out))
    raw = f"raw {'features' if table else 'pixels'} (reference)"
    for probes, label in ((sep.latent, codes), (sep.pixels, raw)):
        if probes is not None:
            text = f"{_measured(probes.logistic)} / {_measured(probes.knn)}"
            rows.append(_row(f"{label}: logistic / 5-NN", text))
            if probes is sep.pixels and binarize in BINARIZED_PIXELS:
                rows.append(_wrapped_row("", BINARIZED_PIXELS[binarize]))
    if "class)" in codes and sep.latent is not None:  # (a CVAE's q was given the class)
        given = (
            "q is given each example's class, so its codes can hold the class whatever x "
            "holds: how much of the given class they keep, not structure found in x"
        )
        rows.append(_wrapped_row("", given))
    if sep.chance is not None:  # (the baseline: always the most frequent class)
        rows.append(_row("chance (the most frequent class)", _value(sep.chance)))
    return rows


def _sample_rows(sq: SampleQuality | Undefined | None) -> list[str]:
    if sq is None:
        return []
    if isinstance(sq, Undefined):
        return ["sample quality", _wrapped_row("Fréchet distance", sq.reason)]
    accuracy = None if sq.classifier is None else sq.classifier.test_accuracy
    rows = [
        f"sample quality (Fréchet distance in classifier features; its accuracy {_value(accuracy)})"
    ]
    reference = sq.frechet_real_reference
    split, other = (reference.extra if reference else {}).get("splits", ("test", "train"))
    codes = "" if sq.frechet_fitted_codes is None else " (N(0, I) codes)"  # (an AE: userN #8)
    shown = (
        (sq.frechet, f"generated{codes} vs {split}"),
        (sq.frechet_fitted_codes, f"generated (fitted codes) vs {split}"),
        (reference, f"real {other} vs {split} (reference at this n)"),
        (sq.conditional_accuracy, "conditional accuracy"),
    )
    rows += [_row(label, _value(q)) for q, label in shown if q is not None]
    return rows + _caveat(below_reference(sq))


def _outlier_rows(out: Outliers | Undefined | None) -> list[str]:
    if out is None:
        return []
    if isinstance(out, Undefined):
        return ["outliers", _wrapped_row("scores", out.reason)]
    rows = [f"outliers: AUROC / AUPRC; score: {out.score_description}"]  # (it has parentheses)
    for name, entry in out.sets.items():
        text = ""
        for label, found in (("score", entry.score), ("typicality", entry.typicality)):
            if found is not None:
                text += f"   {label} {_value(found.auroc)} / {_value(found.auprc)}"
        chance = None if entry.score is None or entry.score.auprc is None else entry.score.auprc
        chance_value = None if chance is None else chance.extra.get("chance")
        text += "" if chance_value is None else f"   (AUPRC chance {chance_value:.2f})"
        rows.append(_row(name, f"{text.strip()}   [{entry.description}]"))
    for name, reason in out.skipped.items():
        rows.append(_wrapped_row(f"{name}: skipped", reason))  # whole: it says what to do
    return rows


def _likelihood_header(m: Evaluation) -> str:
    if m.protocol.noun == "row":
        like = m.likelihood if isinstance(m.likelihood, Likelihood) else None
        units = like.units if like is not None and like.units else "in the units it trained in"
        score = "; torchlvm score gives −log p(x) in the file's units"
        if isinstance(m.likelihood, Undefined):  # an autoencoder: score has nothing to give
            score = ""
        return f"likelihood (per row, {units}; bits/dim = −log p / (D ln 2), D features{score})"
    p = m.protocol
    if p.binarize == "none" and p.shape is not None and len(p.shape) == 3:  # grey levels
        return (
            "likelihood (per example; bits/dim = −log p / (D ln 2) of a density on values in "
            "[0, 1], not the discrete bits/dim of the literature: for 8-bit images that is about "
            "this + 8, with dequantization)"
        )
    return "likelihood (per example; bits/dim = −log p / (D ln 2))"


def _evaluated(p: Protocol) -> str:
    """How many of the split's examples were evaluated: ``n=5000 of 20000 rows (...)`` for a
    subsample, so no number of it reads as the whole split's (fit's is)."""
    if p.split_rows is None or p.n is None or p.n >= p.split_rows:
        return f"n={p.n}"
    return f"n={p.n} of {p.split_rows} {p.noun}s (a seeded subsample; --n all: every one)"


def format_table(m: Evaluation) -> str:
    """The printed summary of an evaluation."""
    p = m.protocol
    model = "model" if m.model is None else m.model.type
    obs = m.observed_likelihood
    n = _evaluated(p) if obs is None else f"n={p.n} complete rows of {obs.rows}"
    lines = [
        f"{model} on {p.data} ({p.split} split, {n}, binarize={p.binarize}, "
        f"condition={p.condition}, seed={p.seed}, on {p.device or 'cpu'})",
        _likelihood_header(m),
        *_observed_rows(obs),
        *([complete_rows(p.n or 0, obs.rows)] if obs is not None else []),
        *_likelihood_rows(m.likelihood, p.n, p.split_rows is None or (p.n or 0) >= p.split_rows),
    ]
    if m.imputation is not None:
        imp = m.imputation.nats
        lines.append(
            _row(
                "log p(x_missing | x_observed), IS",
                f"{_value(imp):>10} nats  (estimate{_mc(imp)})",
            )
        )
    lines += _reconstruction_rows(m)
    lines += _latent_rows(m)
    codes = _codes(m, "posterior means")
    lines += _separability_rows(m.separability, _flat(p), codes, p.binarize)
    lines += _sample_rows(m.sample_quality)
    lines += _outlier_rows(m.outliers)
    return "\n".join(lines)
