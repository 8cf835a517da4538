"""``evaluate``: every metric of a trained model on a dataset split, as one typed record.

Sections (each number carries its unit and kind, see :mod:`torchlvm.evaluation.records`):
``protocol`` (what was evaluated, how: :mod:`.eval_data`), ``likelihood``
(:mod:`.likelihood_section`, :mod:`.likelihood`), ``imputation`` (imputation CVAEs),
``reconstruction`` (:mod:`.reconstruction`), ``latent`` (:mod:`.latent`), ``separability``
(:mod:`.probes`), ``sample_quality`` (:mod:`.sample_section`), ``outliers``
(:mod:`.outlier_section`, :mod:`.outliers`) and ``seconds`` per section. This module runs them
in order on the rows as the model sees them (:mod:`.eval_data`). The settings are one
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
torch's generators seeded with ``seed`` (:func:`torchlvm._kept_state.seeded`), so a call is
repeatable and leaves the global random state untouched: the CPU's, every CUDA device's, and a
seed queued for CUDA's start.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor

from torchlvm._kept_state import seeded
from torchlvm.data.dataset import Dataset
from torchlvm.data.memmap import MemmapDataset
from torchlvm.errors import ConfigError, DataError, OptionError, spelled
from torchlvm.evaluation._batching import Advance, batches_reported, model_device
from torchlvm.evaluation.config import DEFAULT_OOD, EvalConfig
from torchlvm.evaluation.eval_data import (
    EvalData,
    eval_data,
    is_deterministic,
    protocol_record,
    rows_of,
)
from torchlvm.evaluation.latent import (
    per_example_kl_per_dimension,
    posterior_means,
    prior_means,
    summarize_latent,
)
from torchlvm.evaluation.likelihood import elbo_draws
from torchlvm.evaluation.likelihood_section import (
    AUTOENCODER_NO_LIKELIHOOD,
    likelihood_scope,
    likelihood_section,
    no_ais,
)
from torchlvm.evaluation.missing_part import missing_part_likelihood
from torchlvm.evaluation.observed import observed_likelihood
from torchlvm.evaluation.outlier_section import ood_sets, outliers_section
from torchlvm.evaluation.probes import separability_section
from torchlvm.evaluation.reconstruction import (
    per_example_reconstruction,
    summarize_reconstruction,
)
from torchlvm.evaluation.records import (
    Evaluation,
    Latent,
    ModelInfo,
    ObservedLikelihood,
    Pair,
    Reconstruction,
    Undefined,
)
from torchlvm.evaluation.rows import evaluated_rows
from torchlvm.evaluation.sample_section import sample_quality_section
from torchlvm.inference.gaps_parts import exact_log_px
from torchlvm.protocol import LatentVariableModel, latent_size

__all__ = ["DEFAULT_OOD", "EvalConfig", "evaluate"]


@contextmanager
def _timed(seconds: dict[str, float], name: str):
    start = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - start, 3)


def evaluate(
    model: LatentVariableModel,
    dataset: Dataset | MemmapDataset,
    config: EvalConfig | None = None,
    *,
    val_dataset: Dataset | MemmapDataset | None = None,
    advance: Advance | None = None,
    train_dataset: Dataset | None = None,
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
        train_dataset: the rows the model was trained on, which the OOD sets are checked for
            beside the evaluated and validation rows (None: not checked).
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
        raise ConfigError(
            f"config must be an EvalConfig, got {type(config).__name__}; build one with "
            "torchlvm.evaluation.EvalConfig(k=..., n=..., ...) (a dict: EvalConfig(**settings))"
        )
    dataset = evaluated_rows(dataset, config.n, config.seed)  # a streamed split: n rows read
    val_dataset = evaluated_rows(val_dataset, config.n, config.seed)
    for name, value in (("dataset", dataset), ("val_dataset", val_dataset)):
        if not isinstance(value, Dataset) and (value is not None or name == "dataset"):
            raise DataError(  # the data of the wrong kind, as check_tensor names a non-tensor
                f"{name} must be a torchlvm.data.Dataset, got {type(value).__name__}; load one "
                "with torchlvm.data.load_dataset(name, split) (a file: load_dataset('x.csv', "
                "split))"
            )
    _check_protocol(model, dataset)
    check_settings(model, config)
    with seeded(config.seed), batches_reported(advance):  # (every generator put back after)
        return _evaluate(model, dataset, config, val_dataset, train_dataset)


def check_settings(model: Any, config: EvalConfig) -> None:
    """Refuse settings that ``model`` cannot take, from the model alone, before any work: the
    command line calls it before its timing probe, which ran for seconds and printed an
    expected time before the refusal (userN #10).

    Raises:
        OptionError: for ``refine_steps`` on a model whose q is its exact posterior (PPCA).
    """
    if config.refine_steps > 0 and exact_log_px(model):  # userI #19
        raise spelled(OptionError, lambda spell: (
            f"{spell('refine_steps')} refines an encoder's q by Monte Carlo steps, and this "
            "model's q is its exact posterior p(z | x), which they can only move away from (a "
            "digits PPCA's ELBO fell from 15.255 = log p(x) to 15.069 at 10 steps); leave it "
            f"at {spell('refine_steps', 0)}"
        ))  # fmt: skip


def _check_protocol(model: Any, dataset: Dataset) -> None:
    """Refuse a split of grey levels (``binarize="none"``) for a model whose p(x | z) is
    Bernoulli, naming the load that gives it 0/1 values: the value check deep in the likelihood
    named ``torch.bernoulli(x)``, which a Dataset has no place for (userI #10)."""
    config = getattr(model, "config", None)
    if getattr(config, "likelihood", None) != "bernoulli" or dataset.binarize != "none":
        return
    x = dataset.x[: min(len(dataset), 1000)]  # (a look at the first rows: grey levels show)
    if bool(((x != 0) & (x != 1) & ~x.isnan()).any()):
        raise DataError(
            f"the {dataset.split} split of {dataset.name} was loaded with binarize='none' (grey "
            "levels), and this model's Bernoulli p(x | z) gives them no probability; load it "
            f"binarized as the model was trained: load_dataset({dataset.name!r}, "
            f"{dataset.split!r}, binarize='dynamic') (or 'threshold')"
        )


def _evaluate(
    model: Any,
    dataset: Dataset,
    o: EvalConfig,
    val_dataset: Dataset | None,
    train_dataset: Dataset | None = None,
) -> Evaluation:
    rows = eval_data(model, dataset, o)
    seconds: dict[str, float] = {}
    incomplete = torch.isnan(rows.x).any(-1)
    data = rows_of(rows, ~incomplete) if bool(incomplete.any()) else rows
    if not len(data.x):  # every row misses a cell: its observed cells are all there is
        with _timed(seconds, "observed_likelihood"):
            observed = _observed(model, dataset, rows.x, o, None)
        return _observed_only(model, dataset, data, o, observed, seconds)
    known = {"train": train_dataset, "validation": val_dataset}  # (the OOD sets' check)
    out, terms = _full_rows(model, dataset, data, o, val_dataset, seconds, len(rows.x), known)
    if data is not rows:  # a table with missing cells: every row on its observed cells
        with _timed(seconds, "observed_likelihood"):
            out["observed_likelihood"] = _observed(model, dataset, rows.x, o, terms)
    model_info = ModelInfo(
        getattr(model, "model_type", type(model).__name__),
        latent_size(model),
        out.pop("deterministic"),
    )
    protocol = protocol_record(dataset, data, o, model_device(model))
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
    known: dict[str, Dataset | None] | None = None,
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
        raise spelled(OptionError, lambda spell: no_ais(spell("ais_steps")))
    ood = ood_sets(dataset, data, o, known) if o.ood else ([], {})
    out: dict[str, Any] = {"deterministic": deterministic}
    terms = None
    with _timed(seconds, "likelihood"):
        if deterministic:
            out["likelihood"] = Undefined(AUTOENCODER_NO_LIKELIHOOD)
        else:
            scope = likelihood_scope(dataset, len(x), rows)
            out["likelihood"], terms = likelihood_section(model, data, dataset.is_table, scope, o)
            if data.missing is not None:
                out["imputation"] = Pair.from_json(missing_part_likelihood(
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
                conditional=c is not None,
                flat=len(dataset.shape) == 1,  # (rows of features: no pixels)
            )
        )
    with _timed(seconds, "latent"):
        means = posterior_means(model, x, c, batch_size=o.batch_size, progress=o.progress)
        kl_dims, factorized, matched = (None, False, False)
        if not deterministic:
            kl_dims, factorized, matched = per_example_kl_per_dimension(model, x, c)
        out["latent"] = Latent.from_json(
            summarize_latent(
                means,
                kl_dims,
                factorized,
                terms,
                table=dataset.is_table,
                matched=matched,
                conditional=c is not None,
                centres=prior_means(model, x, c, batch_size=o.batch_size),
                draws=elbo_draws(o.k),  # (the ELBO's terms: userW #1)
            )  # fmt: skip
        )
    if o.separability:
        with _timed(seconds, "separability"):
            given_label = o.condition.conditional and o.condition.kind == "label"
            split = (dataset.split, len(dataset))  # (the fix of too few examples of a class)
            names = None if dataset.class_names is None else list(dataset.class_names)
            out["separability"] = separability_section(
                means, data, o.seed, o.pixel_reference, given_label, split, names
            )
    if o.sample_quality:
        with _timed(seconds, "sample_quality"):
            out["sample_quality"] = sample_quality_section(model, dataset, data, deterministic, o)
    if o.ood:
        with _timed(seconds, "outliers"):
            out["outliers"] = outliers_section(
                model, data, dataset, deterministic, ood, o, val_dataset, terms
            )
    return out, terms


NEEDS_COMPLETE_ROWS = "{what}: needs complete rows, and every row of the split has a missing cell"


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
    protocol = protocol_record(dataset, data, o, model_device(model))
    return Evaluation(
        protocol=protocol,
        model=model_info,
        observed_likelihood=observed,
        seconds=seconds,
        **out,
    )
