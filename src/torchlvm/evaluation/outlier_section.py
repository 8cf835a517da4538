"""``evaluate``'s outlier section: which score tells OOD data from the test rows (the exact
−log p(x) where the model has a closed form, else importance-sampled, a mixture over classes
for a label CVAE, −log p(x | x_o) for an imputation CVAE, and the squared reconstruction error
for an autoencoder, which has no likelihood), the OOD sets built up front (:func:`ood_sets`), and
the section record (:func:`outliers_section`); the metrics are :mod:`.outliers`'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from torchlvm.data.binarize import binarize
from torchlvm.data.dataset import Dataset
from torchlvm.errors import ConfigError, DataNotFoundError
from torchlvm.evaluation._batching import map_batches, model_device, model_dtype
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.eval_data import EvalData, subsample, too_few
from torchlvm.evaluation.ood_names import is_ood_file
from torchlvm.evaluation.outliers import OtherChannelsError, make_ood_set, outlier_report
from torchlvm.evaluation.over_classes import class_prior_text, per_example_over_classes
from torchlvm.evaluation.reconstruction import per_example_reconstruction
from torchlvm.evaluation.records import Outliers, Undefined, example_noun
from torchlvm.evaluation.timing import exact_outlier_score
from torchlvm.inference import log_marginal_is
from torchlvm.models.conditions import masked_condition


def _prepare(protocol: str, seed: int) -> Callable[[Tensor], Tensor]:
    generator = torch.Generator().manual_seed(seed + 1)

    def prepare(x: Tensor) -> Tensor:
        return binarize(x, protocol, generator=generator) if protocol != "none" else x

    return prepare


def likelihood_score(model: Any, data: EvalData, o: EvalConfig) -> tuple[Callable, str]:
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
        return _class_mixture_score(model, o)
    observed = ~data.missing  # type: ignore[operator]
    return (
        lambda x: is_score(x, lambda xb: masked_condition(xb, observed)),
        f"−log p(x | x_o), importance-sampled, k={k}",
    )


def _class_mixture_score(model: Any, o: EvalConfig) -> tuple[Callable, str]:
    """−log p(x) = −log Σ_c π_c p(x | c) of a label CVAE (OOD data have no label), π the train
    split's class frequencies the run records (uniform for a run that records none), as
    ``CVAEEstimator.score_samples`` scores a row without y: one mixture for both, and the
    likelihood section's log p(x) over the classes
    (:func:`~torchlvm.evaluation.over_classes.per_example_over_classes`)."""

    def mixture(x: Tensor) -> Tensor:
        return -per_example_over_classes(model, x, o)["over_classes"]

    return mixture, (
        f"−log p(x) = −log Σ_c π_c p(x | c), labels unknown for OOD data, {class_prior_text(o)}"
        f"; each p(x | c) importance-sampled, k={o.ood_k}"
    )


def ood_sets(
    dataset: Dataset, data: EvalData, o: EvalConfig, known: dict[str, Any] | None = None
) -> tuple[list, dict]:
    """Build the OOD sets up front, so a bad one fails before minutes of other metrics. A table's
    OOD files are read with ``EvalConfig.table``, else with the evaluated table's own columns
    and standardization (never in other units than the model's). Each says how many of its
    rows the evaluated split and the splits ``known`` (``"train"``, ``"validation"``: a Dataset
    or None) hold."""
    sets, skipped = [], {}
    table = o.table
    if table is None and dataset.is_table:
        from torchlvm.data.table_schema import TableSchema

        table = TableSchema.of(dataset)
    grey = Dataset(
        data.grey, data.y, dataset.name, dataset.split, dataset.shape,
        dataset.num_classes, dataset.class_names, "none",
    )  # fmt: skip
    noun = example_noun(dataset.is_table)
    splits = {"train": None, "validation": None, **(known or {}), dataset.split: dataset}
    splits = {name: split for name, split in splits.items() if isinstance(split, Dataset)}
    own: dict[str, set[bytes]] | None = None  # each split's rows, by digest
    for name in o.ood:
        ood, reason = made_or_skipped(name, grey, len(data.x), o, table, dataset.binarize)
        if ood is None:
            skipped[name] = reason
            continue
        if own is None:  # (once, where needed)
            own = {name: set(_row_digests(split.x)) for name, split in splits.items()}
        ood, whole = _own_rows_said(ood, own, noun)
        fix = f"score one {noun} with torchlvm score RUN --data FILE"
        if whole is not None:  # (an AUROC of the run's own rows against its test rows)
            skipped[name] = whole
        elif (few := too_few("telling it from test data", len(ood.x), noun, fix)) is not None:
            skipped[name] = few  # (an AUROC of one comparison per test row)
        else:
            sets.append(ood)
    return sets, skipped


def scored_sets(dataset: Dataset, o: EvalConfig) -> int:
    """How many of ``o.ood`` the outlier section will score beside ``dataset`` (those
    :func:`made_or_skipped` makes, one row each here), for an expected time."""
    table = o.table
    if table is None and dataset.is_table:
        from torchlvm.data.table_schema import TableSchema

        table = TableSchema.of(dataset)
    made = (made_or_skipped(name, dataset, 1, o, table, dataset.binarize)[0] for name in o.ood)
    return sum(ood is not None for ood in made)


def made_or_skipped(
    name: str, grey: Dataset, n: int, o: EvalConfig, table: Any, binarize: str
) -> tuple[Dataset | None, str]:
    """OOD set ``name`` of ``n`` rows beside ``grey`` (the evaluated split's values; ``binarize``
    its protocol), or None and why it
    is skipped: its data are not here, its images have other channels than the model's (a
    default set), or MNIST cannot be read; anything else is raised. ``evaluate``'s expected
    time counts the sets this makes (it counted skipped ones too)."""
    try:
        ood = make_ood_set(
            name, grey, n=n, seed=o.seed, resize=o.ood_resize, table=table, binarize=binarize,
        )  # fmt: skip
    except DataNotFoundError as err:
        # the report's reader runs the command line: the fix names its flags
        return None, f"not available: {getattr(err, 'on_command_line', err)}"
    except OtherChannelsError as err:  # a dataset's grey images for a colour model (userM
        if is_ood_file(name):  # #14: a default set failed the whole evaluation, late)
            raise
        return None, err.reason
    except ConfigError as err:
        if name == "mnist" or name == "other":
            return None, str(err)
        raise
    return ood, ""


def _row_digests(x: Tensor) -> list[bytes]:
    """A digest of each row's values ``(N, D)`` as float32 (the same values, the same digest)."""
    import hashlib

    rows = x.detach().to("cpu", torch.float32).contiguous().numpy()
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows]


def _own_rows_said(ood: Any, own: dict[str, set[bytes]], noun: str) -> tuple[Any, str | None]:
    """``ood`` with its description saying how many of its rows are rows of each split of the
    run's data (digests ``own`` by split: the same values), where any are: such a set is not out
    of distribution (userH #15: a folder of the run's own test images, byte for byte, read as
    OOD with AUROC 0.551, without a word; userJ #14: a file holding the 354 rows the model was
    trained on counted only its 44 test rows); and, where every row is one of the run's, why it
    is skipped, else None (review12 #12: the first 39 rows of the training file had their AUROC,
    0.362, printed as a result)."""
    import dataclasses

    digests = _row_digests(ood.x)
    if digests and all(any(d in rows for rows in own.values()) for d in digests):
        return ood, (
            f"every one of its {len(digests)} {noun}s is one of the run's own "
            f"({_held(digests, own, noun)}; the same values): not out of distribution, so it is "
            f"not told from test data; pass {noun}s from outside the run's data"
        )
    said = _held(digests, own, noun)
    if not said:
        return ood, None
    said = f"; of its {len(ood.x)} {noun}s, {said} (the same values): not out of distribution"
    return dataclasses.replace(ood, description=ood.description + said), None


def _held(digests: list[bytes], own: dict[str, set[bytes]], noun: str) -> str:
    """How many of the rows ``digests`` each split of ``own`` holds: ``7 are examples the model
    was trained on, 30 examples of the run's test split`` ("" where none is)."""
    held = {split: sum(d in rows for d in digests) for split, rows in own.items()}
    parts = [
        f"{count} are {noun}s the model was trained on" if split == "train"
        else f"{count} {noun}s of the run's {split} split"
        for split, count in held.items() if count
    ]  # fmt: skip
    return ", ".join(parts)


def outliers_section(
    model: Any,
    data: EvalData,
    dataset: Dataset,
    deterministic: bool,
    ood: tuple[list, dict],
    o: EvalConfig,
    val_dataset: Dataset | None,
    terms: dict[str, Tensor] | None = None,
) -> Outliers | Undefined:
    """The outlier scores of the test rows ``data`` against each OOD set. An exact score, and a
    label CVAE's log p(x) over its classes, is the likelihood section's own (its
    ``terms["exact"]``, ``terms["over_classes"]``, the same rows): not computed again."""
    few = too_few("telling test data from OOD data", len(data.x), example_noun(dataset.is_table))
    if few is not None:
        return Undefined(few)
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
        score, name = likelihood_score(model, data, o)
        is_likelihood = True
        if exact_outlier_score(model, o) and terms is not None and "exact" in terms:
            in_scores = -terms["exact"]
        elif terms is not None and "over_classes" in terms:  # (a label CVAE's, drawn once)
            in_scores = -terms["over_classes"]
    val = None
    if val_dataset is not None and is_likelihood:
        val, _, _ = subsample(val_dataset, len(data.x), o.seed)
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
