"""``evaluate``: every metric of a trained model on a dataset split, as one typed record.

Sections (each number carries its unit and kind, see :mod:`torchlvm.evaluation.records`):
``protocol`` (what was evaluated, how), ``likelihood`` (:mod:`.likelihood`), ``imputation``
(imputation CVAEs), ``reconstruction`` (:mod:`.reconstruction`), ``latent`` (:mod:`.latent`),
``separability`` (:mod:`.probes`), ``sample_quality`` (:mod:`.features`, :mod:`.frechet`),
``outliers`` (:mod:`.outliers`) and ``seconds`` per section. The settings are one
:class:`~torchlvm.evaluation.config.EvalConfig`.

What each kind of model gets: a model with a density q (VAE, CVAE, PPCA) gets everything; PPCA
also the exact log p(x); a CVAE conditioned on labels gets log p(x | c) and the conditional
accuracy of its samples; an imputation CVAE (condition ``mask:KIND``) gets log p(x | x_o) and
log p(x_m | x_o); a deterministic autoencoder gets no likelihood (its ELBO is undefined: a point
mass has no density) and is scored for outliers by its reconstruction error instead.

A table with missing cells (NaN) gets ``observed_likelihood``: every row's log p(x_o) on its
observed cells (:mod:`.observed`); the other sections take its complete rows, and are
:class:`~torchlvm.evaluation.records.Undefined`, with the reason, when it has none.

Everything runs in batches (no loop over data points), on the model's device, under
``torch.random.fork_rng`` seeded with ``seed``, so a call is repeatable and leaves the global
random state untouched.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm.data.binarize import binarize
from torchlvm.data.dataset import Dataset
from torchlvm.data.memmap import MemmapDataset
from torchlvm.distributions.point_mass import PointMass
from torchlvm.errors import ConfigError, DataError, DataNotFoundError, OptionError, spelled
from torchlvm.evaluation import likelihood as lik
from torchlvm.evaluation._batching import (
    Advance,
    batches_reported,
    map_batches,
    model_device,
    model_dtype,
)
from torchlvm.evaluation._records import metric
from torchlvm.evaluation.config import DEFAULT_OOD, EvalConfig
from torchlvm.evaluation.features import dataset_classifier, sample_quality_note
from torchlvm.evaluation.frechet import frechet_distance
from torchlvm.evaluation.latent import (
    per_example_kl_per_dimension,
    posterior_means,
    summarize_latent,
)
from torchlvm.evaluation.observed import observed_likelihood
from torchlvm.evaluation.outliers import make_ood_set, outlier_report
from torchlvm.evaluation.probes import probe_accuracies
from torchlvm.evaluation.reconstruction import (
    per_example_reconstruction,
    summarize_reconstruction,
)
from torchlvm.evaluation.records import (
    Classifier,
    Evaluation,
    Latent,
    Likelihood,
    ModelInfo,
    ObservedLikelihood,
    Outliers,
    Pair,
    Probes,
    Protocol,
    Quantity,
    Reconstruction,
    SampleQuality,
    Separability,
    Undefined,
    complete_rows,
    example_noun,
    table_units,
)
from torchlvm.evaluation.rows import evaluated_rows, subsample_index
from torchlvm.evaluation.timing import exact_outlier_score
from torchlvm.inference import log_marginal_is
from torchlvm.inference.importance import auto_chunk
from torchlvm.models.conditions import Condition, masked_condition
from torchlvm.protocol import LatentVariableModel, latent_size

__all__ = ["DEFAULT_OOD", "EvalConfig", "evaluate"]


def _no_ais(option: str) -> str:
    return (
        f"{option} estimates log p(x) by AIS, which is undefined for a deterministic "
        "autoencoder (it has no bound or estimate of log p(x)); leave out "
        f"{option}, or train a VAE for it (torchlvm train vae)"
    )


AUTOENCODER_NO_LIKELIHOOD = (
    "undefined for a deterministic autoencoder: its encoder is a point mass with no density, so "
    "the ELBO is −∞ and there is no bound or estimate of log p(x)"
)


@dataclass(frozen=True)
class EvalData:
    """The evaluation set as the model sees it.

    Attributes:
        x: ``(N, D)`` after the binarization protocol (one seeded draw for ``"dynamic"``).
        grey: ``(N, D)`` grey levels (what the sample-quality classifier compares).
        y: ``(N,)`` labels or None. c: ``(N, C)`` conditions or None.
        missing: bool ``(D,)``, True where an imputation model's input is missing, or None.
    """

    x: Tensor
    grey: Tensor
    y: Tensor | None
    c: Tensor | None
    missing: Tensor | None


def conditions_for(
    model: Any,
    x: Tensor,
    y: Tensor | None,
    condition: Condition | str,
    shape: tuple[int, ...],
    seed: int,
) -> tuple[Tensor | None, Tensor | None]:
    """The conditions c ``(N, C)`` of a conditional model and the missing mask ``(D,)``.

    The mask of ``mask:random:<f>`` is drawn with ``seed`` exactly as training drew it; one-hot
    labels have the model's number of classes.
    """
    num_classes = getattr(getattr(model, "config", None), "num_classes", None)
    if num_classes is None and y is not None:
        num_classes = int(y.max()) + 1
    bound = Condition.parse(condition).bind(shape, seed=seed, num_classes=num_classes)
    return bound.build(x, y), bound.missing


def is_deterministic(model: LatentVariableModel, x: Tensor, c: Tensor | None) -> bool:
    """Whether the model's encoder is a point mass (an autoencoder: no density, no ELBO)."""
    with torch.no_grad():
        return isinstance(model.encode(x[:2], None if c is None else c[:2]), PointMass)


@contextmanager
def _timed(seconds: dict[str, float], name: str):
    start = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - start, 3)


def _subsample(data: Dataset, n: int | None, seed: int) -> tuple[Tensor, Tensor, Tensor | None]:
    x = data.fixed_binarized(seed)
    grey, y = data.x, data.y
    rows = subsample_index(len(data), n, seed)
    if rows is not None:
        x, grey, y = x[rows], grey[rows], None if y is None else y[rows]
    return x, grey, y


def evaluate(
    model: LatentVariableModel,
    dataset: Dataset | MemmapDataset,
    config: EvalConfig | None = None,
    *,
    val_dataset: Dataset | MemmapDataset | None = None,
    advance: Advance | None = None,
) -> Evaluation:
    """Evaluate ``model`` on ``dataset`` and return every metric, labelled.

    The model runs where its parameters are (CPU or GPU); the data is moved there.

    Args:
        model: a torchlvm model (VAE, CVAE, autoencoder, PPCA) in eval mode.
        dataset: the split to evaluate (e.g. ``load_dataset(name, "test", binarize=...)``);
            of a split streamed from a ``.npy`` file (``mmap=True``) only the ``config.n``
            rows evaluated are read (:func:`~torchlvm.evaluation.rows.evaluated_rows`).
        config: every setting (:class:`~torchlvm.evaluation.config.EvalConfig`, checked when
            it is made); None: the defaults.
        val_dataset: held-out in-distribution data for the typicality score; None skips it.
        advance: called as ``advance(section, rows)`` after each batch of rows a section
            computes, and with ``rows`` 0 before its first (``section``: its progress bar's
            label: ``"likelihood"``, ``"ood"``, ...), e.g. to re-state an expected time from
            the evaluation's own pace (:class:`~torchlvm.evaluation.timing.Pace`).

    Returns:
        The :class:`~torchlvm.evaluation.records.Evaluation` (``.to_json()`` for metrics.json).

    Raises:
        ConfigError: for ``refine_steps`` on a model without a density encoder, ``ais_steps``
            on an autoencoder, a ``config`` that is not an EvalConfig.
        DataError: for a ``dataset`` or ``val_dataset`` that is not a Dataset, an OOD dataset
            of another shape with ``ood_resize="none"``.
        OptionError: for a streamed split whose evaluated rows do not fit in memory.
    """
    config = EvalConfig() if config is None else config
    if not isinstance(config, EvalConfig):
        raise ConfigError(f"config must be an EvalConfig, got {type(config).__name__}")
    dataset = evaluated_rows(dataset, config.n, config.seed)  # a streamed split: n rows read
    val_dataset = evaluated_rows(val_dataset, config.n, config.seed)
    for name, value in (("dataset", dataset), ("val_dataset", val_dataset)):
        if not isinstance(value, Dataset) and (value is not None or name == "dataset"):
            raise DataError(  # the data of the wrong kind, as check_tensor names a non-tensor
                f"{name} must be a torchlvm.data.Dataset, got {type(value).__name__}; load one "
                "with torchlvm.data.load_dataset(name, split) (a file: load_dataset('x.csv', "
                "split))"
            )
    devices = [model_device(model)] if model_device(model).type == "cuda" else []
    with torch.random.fork_rng(devices=devices), batches_reported(advance):
        torch.manual_seed(config.seed)
        return _evaluate(model, dataset, config, val_dataset)


def _eval_data(model: Any, dataset: Dataset, o: EvalConfig) -> EvalData:
    """The (sub)sampled split, on the model's device and in its dtype."""
    device = model_device(model)
    x, grey, y = _subsample(dataset, o.n, o.seed)
    x = x.to(model_dtype(model))
    c, missing = conditions_for(model, x, y, o.condition, dataset.shape, o.training_seed)
    return EvalData(
        x.to(device),
        grey,
        y,
        None if c is None else c.to(device),
        None if missing is None else missing.to(device),
    )


def _protocol(dataset: Dataset, data: EvalData, o: EvalConfig, device: torch.device) -> Protocol:
    rows = max(1, min(o.batch_size, len(data.x)))
    chunk = o.chunk if o.chunk is not None else auto_chunk(rows, dataset.dim, device)
    return Protocol(
        data=dataset.name,
        split=dataset.split,
        binarize=dataset.binarize,
        binarize_note=_protocol_note(dataset.binarize),
        shape=tuple(dataset.shape),
        n=len(data.x),
        seed=o.seed,
        condition=str(o.condition),
        k=o.k,
        refine_steps=o.refine_steps,
        chunk=chunk,
        device=str(device),
        example=example_noun(dataset.is_table),
    )


def _evaluate(
    model: Any, dataset: Dataset, o: EvalConfig, val_dataset: Dataset | None
) -> Evaluation:
    rows = _eval_data(model, dataset, o)
    seconds: dict[str, float] = {}
    incomplete = torch.isnan(rows.x).any(-1)
    data = _rows_of(rows, ~incomplete) if bool(incomplete.any()) else rows
    if not len(data.x):  # every row misses a cell: its observed cells are all there is
        with _timed(seconds, "observed_likelihood"):
            observed = _observed(model, dataset, rows.x, o, None)
        return _observed_only(model, dataset, data, o, observed, seconds)
    out, terms = _full_rows(model, dataset, data, o, val_dataset, seconds, len(rows.x))
    if data is not rows:  # a table with missing cells: every row on its observed cells
        with _timed(seconds, "observed_likelihood"):
            out["observed_likelihood"] = _observed(model, dataset, rows.x, o, terms)
    model_info = ModelInfo(
        getattr(model, "model_type", type(model).__name__),
        latent_size(model),
        out.pop("deterministic"),
    )
    protocol = _protocol(dataset, data, o, model_device(model))
    return Evaluation(protocol=protocol, model=model_info, seconds=seconds, **out)


def _observed(
    model: Any, dataset: Dataset, x: Tensor, o: EvalConfig, terms: dict[str, Tensor] | None
) -> ObservedLikelihood:
    """log p(x_o) of every row of ``x`` ``(N, D)``; its complete rows take their log p(x) from
    the likelihood section's ``terms`` (the same estimator, k and proposal), so that they are
    importance-sampled once: only the incomplete rows are scored here."""
    complete = None
    if terms is not None and o.refine_steps == 0 and o.condition.kind == "none":
        exact = "exact" in terms
        log_p = terms["exact"] if exact else terms["is_mean"]
        stderr = torch.zeros_like(log_p) if exact else terms["is_stderr"]
        complete = (log_p, stderr)
    return observed_likelihood(
        model, x, o.k, dataset.standardizer, table=dataset.is_table, complete=complete
    )


def _full_rows(
    model: Any,
    dataset: Dataset,
    data: EvalData,
    o: EvalConfig,
    val_dataset: Dataset | None,
    seconds: dict[str, float],
    rows: int,
) -> tuple[dict[str, Any], dict[str, Tensor] | None]:
    """Every section that takes whole rows, on ``data`` (the complete ``rows`` of a table with
    missing cells), with ``"deterministic"``; and the likelihood's per-example terms (None
    for an autoencoder)."""
    x, c = data.x, data.c
    deterministic = is_deterministic(model, x, c)
    if deterministic and o.refine_steps > 0:  # it would be skipped without a word
        from torchlvm.inference.refine import encoder_posterior

        encoder_posterior(model, x[:1], None if c is None else c[:1])  # raises, naming why
    if deterministic and o.ais_steps is not None:  # so would AIS
        raise spelled(OptionError, lambda spell: _no_ais(spell("ais_steps")))
    ood = _ood_sets(dataset, data, o) if o.ood else ([], {})
    out: dict[str, Any] = {"deterministic": deterministic}
    terms = None
    with _timed(seconds, "likelihood"):
        if deterministic:
            out["likelihood"] = Undefined(AUTOENCODER_NO_LIKELIHOOD)
        else:
            scope = _scope(dataset, len(x), rows)
            out["likelihood"], terms = _likelihood(model, data, dataset.is_table, scope, o)
            if data.missing is not None:
                out["imputation"] = Pair.from_json(lik.missing_part_likelihood(
                    model, x, c, data.missing, k=o.k, chunk=o.chunk,
                    batch_size=o.batch_size, progress=o.progress,
                ))  # fmt: skip
    with _timed(seconds, "reconstruction"):
        values = per_example_reconstruction(
            model, x, c, batch_size=o.batch_size, progress=o.progress
        )
        out["reconstruction"] = Reconstruction.from_json(
            summarize_reconstruction(
                values,
                dim=dataset.dim,
                table=dataset.is_table,
                standardized=dataset.standardizer is not None,
            )
        )
    with _timed(seconds, "latent"):
        means = posterior_means(model, x, c, batch_size=o.batch_size, progress=o.progress)
        kl_dims, factorized = (None, False)
        if not deterministic:
            kl_dims, factorized = per_example_kl_per_dimension(model, x, c)
        out["latent"] = Latent.from_json(
            summarize_latent(means, kl_dims, factorized, terms, table=dataset.is_table)
        )
    if o.separability:
        with _timed(seconds, "separability"):
            given_label = o.condition.conditional and o.condition.kind == "label"
            out["separability"] = _separability(means, data, o.seed, o.pixel_reference, given_label)
    if o.sample_quality:
        with _timed(seconds, "sample_quality"):
            out["sample_quality"] = _sample_quality(model, dataset, data, deterministic, o)
    if o.ood:
        with _timed(seconds, "outliers"):
            out["outliers"] = _outliers(
                model, data, dataset, deterministic, ood, o, val_dataset, terms
            )
    return out, terms


NEEDS_COMPLETE_ROWS = "{what}: needs complete rows, and every row of the split has a missing cell"


def _rows_of(data: EvalData, keep: Tensor) -> EvalData:
    """The rows ``keep`` (bool ``(N,)``) of the evaluation set."""
    on_cpu = keep.cpu()
    return EvalData(
        data.x[keep],
        data.grey[on_cpu],
        None if data.y is None else data.y[on_cpu],
        None if data.c is None else data.c[keep],
        data.missing,
    )


def _observed_only(
    model: Any,
    dataset: Dataset,
    data: EvalData,
    o: EvalConfig,
    observed: ObservedLikelihood,
    seconds: dict[str, float],
) -> Evaluation:
    """A split without a complete row: the observed-cell likelihood, and every section that
    needs complete rows recorded as undefined, with the reason."""

    def undefined(what: str) -> Undefined:
        return Undefined(NEEDS_COMPLETE_ROWS.format(what=what))

    out: dict[str, Any] = {
        "likelihood": undefined("the full-row ELBO, IWAE bounds and log p(x)"),
        "reconstruction": undefined("reconstruction error"),
        "latent": undefined("active units, rate and KL per dimension"),
    }
    if o.separability:
        out["separability"] = undefined("probes on the posterior means")
    if o.sample_quality:
        out["sample_quality"] = undefined("sample quality")
    if o.ood:
        out["outliers"] = undefined("outlier scores of the test split")
    model_info = ModelInfo(getattr(model, "model_type", type(model).__name__), latent_size(model))
    protocol = _protocol(dataset, data, o, model_device(model))
    return Evaluation(
        protocol=protocol,
        model=model_info,
        observed_likelihood=observed,
        seconds=seconds,
        **out,
    )


def _protocol_note(protocol: str) -> str:
    return {
        "none": "grey levels, a continuous likelihood",
        "dynamic": "one seeded Bernoulli(intensity) draw of the data (IWAE protocol)",
        "threshold": "pixels > 0.5 set to 1, others 0",
    }[protocol]


def _scope(dataset: Dataset, n: int, rows: int) -> dict[str, str | None]:
    """What the likelihood section's nats are of: for a table, the units the run's model was
    trained in; on a split with missing cells (``n`` of its ``rows`` complete), its complete
    rows only."""
    units = table_units(dataset.standardizer is not None) if dataset.is_table else None
    return {"units": units, "rows": None if n == rows else complete_rows(n, rows)}


def _likelihood(
    model: Any, data: EvalData, table: bool, scope: dict[str, str | None], o: EvalConfig
) -> tuple[Likelihood, dict[str, Tensor]]:
    posterior = None
    if o.refine_steps > 0:
        from torchlvm.inference import refine

        def posterior(xb: Tensor, cb: Tensor | None):  # type: ignore[no-redef]
            return refine(model, xb, cb, steps=o.refine_steps, lr=o.refine_lr)

    values = lik.per_example_likelihood(
        model,
        data.x,
        data.c,
        k=o.k,
        ks=o.ks,
        chunk=o.chunk,
        batch_size=o.batch_size,
        posterior=posterior,
        progress=o.progress,
    )
    if o.ais_steps is not None:
        values |= lik.per_example_ais(
            model, data.x, data.c, num_steps=o.ais_steps, num_chains=o.ais_chains,
            batch_size=o.batch_size, progress=o.progress,
        )  # fmt: skip
    what = f"log p(x | {o.condition.given})" if o.condition.conditional else "log p(x)"
    summary = lik.summarize_likelihood(
        values, dim=data.x.shape[1], k=o.k, ks=o.ks, what=what, ais_steps=o.ais_steps,
        ais_k=o.ais_chains, table=table, **scope,
    )  # fmt: skip
    if o.refine_steps > 0:
        summary["posterior"] = f"encoder q refined by {o.refine_steps} Adam steps per example"
    return Likelihood.from_json(summary), values


def _separability(
    means: Tensor, data: EvalData, seed: int, pixels: bool, given_label: bool = False
) -> Separability | Undefined:
    """Probe accuracies of the class from the codes. A CVAE's encoder q(z | x, c) is given the
    class itself, so there they measure how much of the class its codes keep (by design with a
    learned prior p(z | c), which places each class apart), not what an unconditional code
    finds on its own; the note says so."""
    if data.y is None:
        return Undefined("the data has no class labels")
    try:
        latent = Probes.from_json(probe_accuracies(means, data.y, seed=seed))
        reference = None
        if pixels:
            reference = Probes.from_json(probe_accuracies(data.x.cpu(), data.y, seed=seed))
    except DataError as err:
        return Undefined(str(err))
    note = "probes on posterior means E_q[z|x]; 'pixels' is the raw-input reference"
    if given_label:
        note = (
            "probes on posterior means E_q[z|x,c] of an encoder given the class c: how much of "
            "the class the codes keep; 'pixels' is the raw-input reference"
        )
    return Separability(latent, reference, note)


def _generate(model: Any, data: EvalData, condition: Condition, source: str | None) -> Tensor:
    """Decoder means E[x | z] for z ~ p(z [| c]): as many as the evaluation set."""
    n = len(data.x)
    if source is not None:
        return model.sample(n, source=source).cpu()
    if not condition.conditional:
        z = model.prior(batch_shape=(n,)).sample()  # (n, K)
        return model.decode(z).mean.cpu()
    assert data.c is not None
    z = model.prior(data.c).sample()  # (n, K)
    mean = model.decode(z, data.c).mean
    if data.missing is None:
        return mean.cpu()
    return torch.where(data.missing, mean, data.x).cpu()  # observed part kept, the rest imputed


#: generation source (None: the model's prior) → (field, what the generated images are)
_SOURCES: dict[str | None, tuple[str, str]] = {
    None: ("frechet", "prior samples"),
    "standard": ("frechet", "decoder fed N(0, I) codes (the autoencoder has no prior)"),
    "fitted": (
        "frechet_fitted_codes",
        "decoder fed codes from a Gaussian fitted to the training codes",
    ),
}


def _accuracy(value: float) -> dict[str, Any]:
    return metric(value, "accuracy", "measured")


def _sample_quality(
    model: Any, dataset: Dataset, data: EvalData, deterministic: bool, o: EvalConfig
) -> SampleQuality | Undefined:
    if dataset.y is None:
        return Undefined("the data has no class labels to train the feature classifier on")
    if dataset.is_table:
        return Undefined("sample quality compares image features; the data are a table")
    classifier = dataset_classifier(dataset.name, data_dir=o.data_dir, seed=0, progress=o.progress)
    note = sample_quality_note(classifier)
    real = classifier.features(data.grey)
    from torchlvm.data import load_dataset

    other = "test" if dataset.split == "train" else "train"  # real images not evaluated
    reference = load_dataset(dataset.name, other, data_dir=o.data_dir, seed=0)
    rows = torch.randperm(len(reference), generator=torch.Generator().manual_seed(o.seed))
    other_real = classifier.features(reference.x[rows[: len(data.x)]])
    n = len(data.x)
    out: dict[str, Any] = {
        "classifier": Classifier.from_json(
            {**classifier.info, "test_accuracy": _accuracy(classifier.test_accuracy)}
        ),
        "generated": "decoder means E[x|z], z ~ p(z) (or p(z|c)), as many as evaluated",
        "frechet_real_reference": Quantity(
            frechet_distance(real, other_real), "Fréchet distance", "estimate",
            note=f"{note}: real {dataset.split} vs as many real {other} images — the floor at "
            "this n",
            extra={"n": n, "splits": [dataset.split, other]},
        ),
    }  # fmt: skip
    with torch.no_grad():
        for source in ["standard", "fitted"] if deterministic else [None]:
            key, what = _SOURCES[source]
            if source == "fitted" and not getattr(model, "is_code_distribution_fitted", False):
                out[key] = Quantity(
                    None,
                    kind="undefined",
                    note="the autoencoder's code distribution was not fitted",
                )
                continue
            generated = _generate(model, data, o.condition, source).float()
            if data.missing is not None:
                what = "imputations: observed part kept, missing part = decoder mean, z ~ p(z|c)"
            out[key] = Quantity(
                frechet_distance(real, classifier.features(generated)), "Fréchet distance",
                "estimate", note=f"{note}; generated = {what}", extra={"n": n},
            )  # fmt: skip
            if o.condition.kind == "label" and data.y is not None:
                hits = (classifier.predict(generated) == data.y).double().mean()
                out["conditional_accuracy"] = Quantity(
                    float(hits), "accuracy", "estimate",
                    note="samples generated for class c that the classifier calls c",
                    extra={"n": len(data.y)},
                )  # fmt: skip
    return SampleQuality(**out)


def _prepare(protocol: str, seed: int) -> Callable[[Tensor], Tensor]:
    generator = torch.Generator().manual_seed(seed + 1)

    def prepare(x: Tensor) -> Tensor:
        return binarize(x, protocol, generator=generator) if protocol != "none" else x

    return prepare


def _likelihood_score(model: Any, data: EvalData, o: EvalConfig) -> tuple[Callable, str]:
    """−log p(x) per example for OOD scoring, and what it is: exact where the model has a
    closed form (PPCA's ``log_marginal``), as the likelihood section's, else importance-sampled
    with ``ood_k`` draws."""
    k, chunk, bs = o.ood_k, o.chunk, o.batch_size
    dtype, device = model_dtype(model), model_device(model)
    if exact_outlier_score(model, o):  # (the likelihood section and timing use its rule too)
        exact = model.log_marginal

        def exact_score(x: Tensor) -> Tensor:
            x = x.to(device=device, dtype=dtype)
            return map_batches(
                lambda xb, _: {"s": -exact(xb)}, x, batch_size=bs, desc="ood", progress=o.progress
            )["s"]

        return exact_score, "−log p(x), exact (closed form)"

    def is_score(x: Tensor, c_of: Callable[[Tensor], Tensor | None]) -> Tensor:
        def batch(xb: Tensor, _: Tensor | None) -> dict[str, Tensor]:
            estimate = log_marginal_is(model, xb, c_of(xb), num_samples=k, chunk=chunk)
            return {"s": -estimate.mean}

        x = x.to(device=device, dtype=dtype)
        return map_batches(batch, x, batch_size=bs, desc="ood", progress=o.progress)["s"]

    if o.condition.kind == "none":
        return (lambda x: is_score(x, lambda xb: None)), f"−log p(x), importance-sampled, k={k}"
    if o.condition.kind == "label":
        classes = model.config.num_classes

        def mixture(x: Tensor) -> Tensor:
            per_class = torch.stack(
                [
                    -is_score(x, lambda xb, j=j: model.condition_from_labels(
                        torch.full((len(xb),), j, dtype=torch.long, device=xb.device)))
                    for j in range(classes)
                ]
            )  # fmt: skip
            return -(torch.logsumexp(per_class, 0) - math.log(classes))

        return mixture, (
            f"−log p(x) = −log (1/C) Σ_c p(x | c), labels unknown for OOD data; each "
            f"p(x | c) importance-sampled, k={k}"
        )
    observed = ~data.missing  # type: ignore[operator]
    return (
        lambda x: is_score(x, lambda xb: masked_condition(xb, observed)),
        f"−log p(x | x_o), importance-sampled, k={k}",
    )


def _ood_sets(dataset: Dataset, data: EvalData, o: EvalConfig) -> tuple[list, dict]:
    """Build the OOD sets up front, so a bad one fails before minutes of other metrics. A table's
    OOD files are read with ``EvalConfig.table``, else with the evaluated table's own columns
    and standardization (never in other units than the model's)."""
    sets, skipped = [], {}
    table = o.table
    if table is None and dataset.is_table:
        from torchlvm.data.table_schema import TableSchema

        table = TableSchema.of(dataset)
    grey = Dataset(
        data.grey, data.y, dataset.name, dataset.split, dataset.shape,
        dataset.num_classes, dataset.class_names, "none",
    )  # fmt: skip
    for name in o.ood:
        try:
            sets.append(
                make_ood_set(
                    name, grey, n=len(data.x), seed=o.seed, resize=o.ood_resize,
                    data_dir=o.data_dir, table=table, binarize=dataset.binarize,
                )
            )  # fmt: skip
        except DataNotFoundError as err:
            # the report's reader runs the command line: the fix names its flags
            skipped[name] = f"not available: {getattr(err, 'on_command_line', err)}"
        except ConfigError as err:
            if name == "mnist" or name == "other":
                skipped[name] = str(err)
            else:
                raise
    return sets, skipped


def _outliers(
    model: Any,
    data: EvalData,
    dataset: Dataset,
    deterministic: bool,
    ood: tuple[list, dict],
    o: EvalConfig,
    val_dataset: Dataset | None,
    terms: dict[str, Tensor] | None = None,
) -> Outliers | Undefined:
    """The outlier scores of the test rows ``data`` against each OOD set. An exact score is
    the likelihood section's own (its ``terms["exact"]``, the same rows): not computed again."""
    prepare = _prepare(dataset.binarize, o.seed)
    sets, skipped = ood
    in_scores = None
    if deterministic:
        if data.c is not None:
            return Undefined("outlier scores for conditional autoencoders are not implemented")
        device, dtype = model_device(model), model_dtype(model)

        def score(x: Tensor) -> Tensor:
            return per_example_reconstruction(model, x.to(device=device, dtype=dtype))["sq_error"]

        name = "squared reconstruction error (an autoencoder has no likelihood)"
        is_likelihood = False
    else:
        score, name = _likelihood_score(model, data, o)
        is_likelihood = True
        if exact_outlier_score(model, o) and terms is not None and "exact" in terms:
            in_scores = -terms["exact"]
    val = None
    if val_dataset is not None and is_likelihood:
        val, _, _ = _subsample(val_dataset, len(data.x), o.seed)
        val = val[~torch.isnan(val).any(-1)]  # typicality scores complete rows
        val = val if len(val) else None
    report = outlier_report(
        score, data.x, val, sets, prepare=prepare, score_name=name, likelihood=is_likelihood,
        in_scores=in_scores,
    )  # fmt: skip
    if skipped:
        report["skipped"] = skipped
    if val is None and is_likelihood:
        report["typicality_description"] = "not computed: no validation split was given"
    return Outliers.from_json(report)
