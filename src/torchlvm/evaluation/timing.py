"""The expected time of an evaluation's importance sampling, from a short timed probe.

Nearly all of ``evaluate``'s time on a large model is importance sampling: every image of the
likelihood section draws k samples, plus the samples of the IWAE bounds that are not cut from
them (:func:`~torchlvm.evaluation.likelihood.separate_draws`), plus k again for the missing part
of an imputation model; and every image of every outlier set (the test data, the validation
data, each OOD set) draws ``ood_k`` (times the number of classes for a label CVAE, whose score
sums over classes).
Its cost is linear in images × samples, so a probe on a batch of the data, timed, gives the
seconds per image-sample and, multiplied out, the expected time. The likelihood draws k samples
per image in large chunks, the outlier score ``ood_k`` (100) in one small chunk, whose encoder
pass and per-operation costs weigh more per sample: an outlier-score sample cost 82-140 µs
where a likelihood sample cost 12-16 µs (a digits VAE, k = 2000, load 9-11 on 2 cores), and a
rate of the likelihood's alone put 2 s on ~8 s of outlier scoring. So each part is probed at its
own k, as ``gaps`` probes each of its parts (:mod:`torchlvm.inference.gaps_timing`). With
``ais_steps`` (evaluate --ais), AIS runs on every image of the likelihood section, M chains of T
HMC transitions each, linear in images × chains × transitions: a third probe times a few
transitions on the same batch. The other sections are not probed, and the line names those
that take more than a moment (:func:`left_out`): the separability probes, the sample quality
(a first run on a dataset trains and caches its feature classifier once) and, from the command
line, the figures. They are not always seconds: on Fashion-MNIST at n = 5000 (load 18 on 2
cores) the probes took 53 s of a 9.2 min evaluation whose line said 4.0 min and named none of
them (userS #9).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from torchlvm._kept_state import seeded
from torchlvm._probe import Busy, Restated, device_sync, duration, seconds_per_unit
from torchlvm.data.dataset import Dataset
from torchlvm.evaluation._batching import model_device, model_dtype
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.likelihood import estimates_log_px, exact_log_marginal, separate_draws
from torchlvm.evaluation.over_classes import DESC as OVER_CLASSES
from torchlvm.inference.ais import log_marginal_ais
from torchlvm.inference.importance import auto_chunk, log_marginal_is


@dataclass(frozen=True)
class Expectation:
    """Expected seconds of the importance sampling, and how they were found."""

    seconds: float  # expected time of all importance sampling
    per_sample: float  # seconds per image-sample, measured by the probe
    samples: int  # image-samples the evaluation will draw
    probe_seconds: float  # what the probe took
    unit: str = "image"  # what one example is: "image", or "row" of a table
    ais: Expectation | None = None  # AIS's: seconds per example-chain-transition, how many
    busy: Busy | None = None  # the machine's load when the probe ran, where above its cores
    exact_ood: bool = False  # the outlier score is exact: it draws no samples
    ood_samples: int = 0  # image-samples of the outlier scores (not in ``samples``)
    ood_per_sample: float = 0.0  # seconds per image-sample of theirs, probed at ood_k
    estimated: bool = True  # log p(x) is importance-sampled at k (not: exact, PPCA's own q)
    ood_of: str = "the outlier scores"  # what ``ood_samples`` are of, in words

    def describe(self, besides: Sequence[str] = ()) -> str:
        """One line: ``expected time of the importance sampling: 2.4 min (...)``, each part's
        samples at its own rate, and of AIS after it when it runs: ``; of AIS: 14 min (...)``;
        where log p(x) is exact (PPCA, whose outlier score is exact too), the sampling is said
        to be the IWAE bounds' (no estimate of log p(x) is drawn), or with another q
        (``--refine``) a check. ``besides``: the steps that will run and that the time leaves
        out (:func:`left_out`), named at its end: ``; not counting the separability probes``."""
        parts = f"{self.samples:,} {self.unit}-samples at {1e6 * self.per_sample:.2f} µs each"
        if self.ood_samples:
            parts = (
                f"{self.samples:,} {self.unit}-samples of the likelihood at "
                f"{1e6 * self.per_sample:.2f} µs each, {self.ood_samples:,} of "
                f"{self.ood_of} at {1e6 * self.ood_per_sample:.2f} µs each"
            )
        of = " (a check: log p(x) itself is exact)" if self.exact_ood else ""
        if not self.estimated:
            of = " of the IWAE bounds (log p(x) itself is exact)"
        line = (
            f"expected time of the importance sampling{of}: {duration(self.seconds)} "
            f"({parts}, from a {taken(self.probe_seconds)} probe)"
        )
        if self.ais is not None:
            a = self.ais
            line += (
                f"; of AIS: {duration(a.seconds)} ({a.samples:,} {self.unit}-chain-transitions "
                f"at {1e6 * a.per_sample:.2f} µs each, from a {taken(a.probe_seconds)} probe)"
            )
        if besides:
            *most, last = besides
            line += f"; not counting {', '.join(most) + ' and ' if most else ''}{last}"
        return line


def left_out(config: EvalConfig, dataset: Dataset) -> list[str]:
    """The sections of evaluate on ``dataset`` with ``config`` that the expected time of the
    importance sampling leaves out and that take more than a moment, by name: the separability
    probes (cross-validated fits on up to 5000 examples, pixels and codes) and the sample
    quality (a classifier's features of real and generated images), where each runs: by the
    sections' own rules (:func:`~torchlvm.evaluation.probes.separability_undefined`,
    :func:`~torchlvm.evaluation.sample_section.sample_quality_undefined`)."""
    from torchlvm.evaluation.probes import separability_undefined
    from torchlvm.evaluation.sample_section import sample_quality_undefined

    steps = []
    if config.separability and separability_undefined(dataset.y) is None:
        steps.append("the separability probes")
    if config.sample_quality and sample_quality_undefined(dataset) is None:
        steps.append("the sample quality")
    return steps


class Pace(Restated):
    """The expected time of the importance sampling re-stated from the evaluation's own batches
    (:class:`~torchlvm._probe.Restated`). Given to ``evaluate`` as its ``advance``, it weighs
    each row of an importance-sampled batch (the sections :func:`samples_per_row` counts:
    ``likelihood``, ``imputation``, ``ood``) by the seconds the probes expected of it, each
    section at its own rate, and says the time left at the ratio of the seconds counted to those
    expected; not the other work between sections (reading data, probes, figures).
    """

    def __init__(
        self,
        expectation: Expectation,
        config: EvalConfig,
        say: Callable[[str], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        def line(seconds: float, ratio: float, left: float) -> str:
            return (
                f"expected time of the importance sampling, re-stated from its first "
                f"{seconds:.0f} s: {duration(ratio * left)} more (its batches take "
                f"{ratio:.2g} times as long as the probe found)"
            )

        per_row = samples_per_row(
            config, exact_ood=expectation.exact_ood, estimated=expectation.estimated
        )
        rate = {
            "likelihood": expectation.per_sample,
            "imputation": expectation.per_sample,
            OVER_CLASSES: expectation.ood_per_sample,
            "ood": expectation.ood_per_sample,
        }
        weights = {part: per_row[part] * rate[part] for part in per_row}  # probed s per row
        left = (
            expectation.samples * expectation.per_sample
            + expectation.ood_samples * expectation.ood_per_sample
        )  # probed seconds
        super().__init__(weights, left, line, say, clock)


def exact_outlier_score(model: torch.nn.Module, config: EvalConfig) -> bool:
    """Whether evaluate scores outliers by an exact log p(x), drawing no importance samples for
    them (:func:`~torchlvm.evaluation.likelihood.exact_log_marginal`)."""
    conditioned = config.condition.kind != "none"
    return exact_log_marginal(model, conditioned=conditioned) is not None


def samples_per_row(
    config: EvalConfig, *, exact_ood: bool = False, estimated: bool = True
) -> dict[str, int]:
    """Image-samples each importance-sampled section of evaluate draws per row, by its
    progress bar's label: the likelihood's estimate and the bounds not cut from it (where log
    p(x) is not ``estimated``: the bounds alone, each drawn on its own), the missing part of an
    imputation model, a label CVAE's log p(x) over its classes (``ood_k`` per class, each class a
    pass over the rows), the outlier score (none where it is exact)."""
    if not estimated:
        likelihood = sum(config.ks)
    else:
        likelihood = config.k + sum(separate_draws(config.k, config.ks))
    return {
        "likelihood": likelihood,
        "imputation": config.k if config.condition.kind == "mask" else 0,
        OVER_CLASSES: config.ood_k if config.condition.kind == "label" else 0,
        "ood": 0 if exact_ood else config.ood_k,
    }


def planned_parts(
    config: EvalConfig,
    n: int,
    *,
    ood_sets: int,
    classes: int = 1,
    exact_ood: bool = False,
    val_rows: int | None = None,
    estimated: bool = True,
) -> tuple[int, int]:
    """(image-samples of the likelihood and the imputation, image-samples at ``ood_k``: of the
    outlier scores and a label CVAE's log p(x) over its classes, which scores its test images
    for both) that ``evaluate`` draws for ``n`` images with ``config``.

    Args:
        ood_sets: OOD sets that will be scored (without the in-distribution sets).
        classes: classes a label CVAE's log p(x) and outlier score sum over (1 otherwise).
        exact_ood: the outlier score is exact (:func:`exact_outlier_score`): no samples.
        val_rows: rows of the validation split, of which the outlier section scores up to
            ``n`` beside the test rows (0: none is given); None: ``n``.
        estimated: log p(x) is importance-sampled at k
            (:func:`~torchlvm.evaluation.likelihood.estimates_log_px`); else the bounds alone.
    """
    per_row = samples_per_row(config, exact_ood=exact_ood, estimated=estimated)
    likelihood = n * (per_row["likelihood"] + per_row["imputation"])
    label = config.condition.kind == "label"
    over = n * per_row[OVER_CLASSES] * classes  # (a label CVAE's test rows, at ood_k per class)
    if not config.ood:
        return likelihood, over
    val_rows = n if val_rows is None else min(n, val_rows)
    # each OOD set, the validation's, and the test images (a label CVAE's: ``over``, reused)
    scored = n * (ood_sets + (not label)) + val_rows
    return likelihood, over + scored * per_row["ood"] * (classes if label else 1)


def probe(
    model: torch.nn.Module,
    dataset: Dataset,
    config: EvalConfig,
    samples: int | None = None,
    *,
    k: int | None = None,
) -> float | None:
    """Seconds per image-sample of log p(x) importance-sampled with ``k`` samples per image
    (``config.k``, the likelihood's; ``config.ood_k`` for the outlier score's) on a batch of
    ``dataset`` (unconditional proposal: the cost of a conditional model's samples is the same
    order), or None for a model with a point-mass encoder, which evaluation does not
    importance-sample.

    The unit the probe doubles (:func:`torchlvm._probe.seconds_per_unit`) is one chunk of the
    evaluation's own size (``config.chunk``, else the cache-sized default), up to the chunks of
    ``config.k`` samples: every timed run does the operations the evaluation does, of the same
    size. A probe that drew 1, 2, 4, ... samples at a time timed operations tens to hundreds of
    times smaller than the evaluation's, whose fixed cost per operation (and, under load, a
    thread's wait for its descheduled sibling) it multiplied out: its expected time was 0.16
    to 40 times the time taken, 0.26 to 1.80 in chunks (a digits VAE, k = 5000, loads 2-17 on
    2 cores; ``benchmarks/results/evaluate_time.md``). Told the
    image-samples the evaluation will draw, ``samples``, a probe of a short one stops early
    (on its first timed run, for a job of a few chunks).
    A load that changes after the probe is followed by :class:`Pace`.

    A call on one row and one sample runs first, untimed: a first call's one-time costs are
    not the rate's. A CVAE's first prior imported sympy (``torch.broadcast_shapes``, 1.5 s;
    no longer, since 0253ef2), and a digits CVAE at k = 100, n = 300 was said 17-20 s of
    importance sampling that took 9 s: its likelihood probed at 176-183 µs a sample, 11.6 µs
    once warm."""
    x, c = _probe_batch(model, dataset, config)
    from torchlvm.evaluation.eval_data import is_deterministic

    if is_deterministic(model, x, c):  # an autoencoder: no density, no importance sampling
        return None
    device, rows, k = x.device, len(x), config.k if k is None else k
    chunk = config.chunk or auto_chunk(rows, x.shape[-1], device, x.element_size())
    chunk = min(chunk, k)  # (the sampling's own: k samples at most)
    with seeded(config.seed):
        log_marginal_is(model, x[:1], None if c is None else c[:1], num_samples=1)  # (warm)
        rate = seconds_per_unit(
            lambda m: log_marginal_is(model, x, c, num_samples=m * chunk, chunk=chunk),
            most=k // chunk,  # (whole chunks, k samples at most)
            total=None if samples is None else -(-samples // (rows * chunk)),
            sync=device_sync(device),
            setup=False,
        )
    return rate.per_unit / (rows * chunk)


def probe_ais(
    model: torch.nn.Module, dataset: Dataset, config: EvalConfig, steps: int | None = None
) -> float:
    """Seconds per example-chain-transition of AIS (``config.ais_chains`` chains) on a batch of
    ``dataset``: transitions double up to ``config.ais_steps``
    (:func:`torchlvm._probe.seconds_per_unit`), so the chains' start is not counted as theirs;
    told the example-chain-transitions the evaluation will run, ``steps``, a probe of a short
    one stops early."""
    x, c = _probe_batch(model, dataset, config)
    chains = config.ais_chains
    with seeded(config.seed):
        rate = seconds_per_unit(
            lambda m: log_marginal_ais(model, x, c, num_steps=m, num_chains=chains),
            most=config.ais_steps or 1,
            total=None if steps is None else -(-steps // (len(x) * chains)),
            sync=device_sync(x.device),
        )
    return rate.per_unit / (len(x) * chains)


def _probe_batch(
    model: torch.nn.Module, dataset: Dataset, config: EvalConfig
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The first batch of ``dataset`` as evaluate sees it, ``(B, D)``, and its conditions, on
    the model's device: of ``config.n`` rows at most, as evaluate's batches are (a probe of a
    full batch of 100 rows timed AIS at twice the cost of each transition of 50 evaluated
    rows)."""
    device, dtype = model_device(model), model_dtype(model)
    rows = min(config.batch_size, len(dataset), config.n or len(dataset))
    x = dataset.fixed_binarized(config.seed)[:rows].to(device=device, dtype=dtype)
    c = None
    if config.condition.conditional:
        from torchlvm.evaluation.eval_data import conditions_for

        y = None if dataset.y is None else dataset.y[:rows]
        c, _ = conditions_for(model, x.cpu(), y, config.condition, dataset.shape, config.seed)
        c = None if c is None else c.to(device=device, dtype=dtype)
    return x, c


def expected_time(
    model: torch.nn.Module,
    dataset: Dataset,
    config: EvalConfig,
    *,
    ood_sets: int,
    val_rows: int | None = None,
) -> Expectation | None:
    """Time a probe of each importance-sampled part (the likelihood at k, the outlier score at
    ``ood_k``) and multiply it out to the whole evaluation's importance sampling (and its AIS,
    with ``config.ais_steps``); None when the model is not importance-sampled (an autoencoder).
    ``ood_sets`` and ``val_rows`` as :func:`planned_parts`'."""
    n = len(dataset) if config.n is None else min(config.n, len(dataset))
    classes = dataset.num_classes or 1
    exact_ood = exact_outlier_score(model, config)
    conditioned, refined = config.condition.kind != "none", config.refine_steps > 0
    estimated = estimates_log_px(model, conditioned=conditioned, refined=refined)
    samples, ood_samples = planned_parts(
        config, n, ood_sets=ood_sets, classes=classes, exact_ood=exact_ood, val_rows=val_rows,
        estimated=estimated,
    )  # fmt: skip
    busy = Busy.now()  # (read before the probe adds this process's own threads to it)
    start = time.perf_counter()
    k = None if estimated else max(config.ks)  # (the largest draw: the estimate's, or a bound's)
    per_sample = probe(model, dataset, config, samples, k=k)
    if per_sample is None:
        return None
    ood_per_sample = 0.0
    if ood_samples:
        ood_per_sample = probe(model, dataset, config, ood_samples, k=config.ood_k) or 0.0
    spent = time.perf_counter() - start
    unit = "row" if len(dataset.shape) == 1 else "image"
    ais = None
    if config.ais_steps:
        start = time.perf_counter()
        steps = n * config.ais_chains * config.ais_steps
        per_step = probe_ais(model, dataset, config, steps)
        ais = Expectation(per_step * steps, per_step, steps, time.perf_counter() - start, unit)
    seconds = per_sample * samples + ood_per_sample * ood_samples
    of = ["log p(x) over the classes"] if config.condition.kind == "label" else []
    of += ["the outlier scores"] if config.ood else []
    return Expectation(
        seconds, per_sample, samples, spent, unit, ais, busy, exact_ood, ood_samples,
        ood_per_sample, estimated, " and ".join(of) or "the outlier scores",
    )  # fmt: skip


class RowsPace:
    """``score``'s expected time, told of each batch of importance-sampled rows as the
    ``advance`` of :func:`~torchlvm.inference.row_scores.score_rows`: after the second batch it
    prints the time of the rest at that batch's rate (``out``: the command's output), and
    re-states it once from the command's own batches once they have run
    :data:`~torchlvm._probe.RESTATE_SECONDS` (``say``: progress, where the bars go). The first
    batch holds the start-up costs (the first call's allocations, thread pools): at its rate
    score said "33 s more for 4,744 rows" of rows that took 4.9 s, and with output to a file no
    re-statement followed (userK #1, load ~9 on 2 cores); the first batch alone measured on
    200,000 rows said 13.7 min of rows that took 6.5 min (userA, load 3-5).
    ``per_class``: each row draws ``samples`` for each class (a CVAE's mixture); ``noun``:
    what a row is called (``image`` of a run on images).
    """

    def __init__(
        self,
        rows: int,
        samples: int,
        say: Callable[[str], None],
        out: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
        *,
        per_class: bool = False,
        noun: str = "row",
    ) -> None:
        def line(seconds: float, each: float, left: float) -> str:
            return (
                f"expected time of the importance sampling, re-stated from its first "
                f"{seconds:.0f} s: {duration(each * left)} more ({round(left):,} {noun}s left at "
                f"{taken(each)} each)"
            )

        self.rows, self.clock, self.noun = rows, clock, noun
        draws = "sample" if samples == 1 else "samples"
        self.draws = f"{samples} {draws} {'per class' if per_class else 'each'}"  # (mixture's)
        self.out = out or (lambda text: print(text, flush=True))
        self.batches: list[tuple[int, float]] = []  # (rows, seconds) of the first two batches
        self.last = clock()
        self.restated = Restated({"score": 1.0}, rows, line, say, clock)
        self.restated("score", 0)  # (its start)

    def __call__(self, rows: int) -> None:
        """After a batch of ``rows`` rows."""
        self.restated("score", rows)
        if len(self.batches) == 2:
            return
        now = self.clock()
        self.batches.append((rows, now - self.last))
        self.last = now
        if len(self.batches) < 2:
            return
        (first, warm), (second, took) = self.batches
        rest = self.rows - first - second
        if rest > 0:
            self.out(
                f"expected time of the importance sampling: {duration(took * rest / second)} "
                f"more for {rest:,} {self.noun}s ({self.draws}; the second {second} "
                f"{self.noun}s took {taken(took)}, the first {first} {taken(warm)} with start-up "
                "costs)"
            )


def taken(seconds: float) -> str:
    """A measured time to three significant digits: ``33.3 ms``, ``1.85 s``, ``1234 s``. A probe
    printed to one decimal said ``the first 256 rows took 0.0 s`` beside the 13 s it multiplied
    out to (userJ #5): a time a line extrapolates from is printed with its digits."""
    if seconds < 0.9995:  # (below: rounds to at most 999 ms)
        return f"{1e3 * seconds:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 999.5 else f"{seconds:.0f} s"
