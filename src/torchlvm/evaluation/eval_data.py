"""The evaluation set as the model sees it: the (sub)sampled rows of a split after its
binarization protocol, their conditions, on the model's device and in its dtype
(:class:`EvalData`, :func:`eval_data`); and whether the model's encoder is a point mass
(:func:`is_deterministic`: an autoencoder, which has no density and so no likelihood); and the
record of what was evaluated and how (:func:`protocol_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm.data.dataset import Dataset
from torchlvm.distributions.point_mass import PointMass
from torchlvm.evaluation._batching import model_device, model_dtype
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.records import Protocol, example_noun
from torchlvm.evaluation.rows import split_size, subsample_index
from torchlvm.inference.importance import auto_chunk
from torchlvm.models.conditions import Condition
from torchlvm.protocol import LatentVariableModel


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


def subsample(data: Dataset, n: int | None, seed: int) -> tuple[Tensor, Tensor, Tensor | None]:
    """The binarized rows ``(n, D)``, their grey levels and labels of a seeded subsample of
    ``n`` rows of ``data`` (every row for None) (evaluate and its validation partner)."""
    x = data.fixed_binarized(seed)
    grey, y = data.x, data.y
    rows = subsample_index(len(data), n, seed)
    if rows is not None:
        x, grey, y = x[rows], grey[rows], None if y is None else y[rows]
    return x, grey, y


def eval_data(model: Any, dataset: Dataset, o: EvalConfig) -> EvalData:
    """The (sub)sampled split, on the model's device and in its dtype."""
    device = model_device(model)
    x, grey, y = subsample(dataset, o.n, o.seed)
    x = x.to(model_dtype(model))
    c, missing = conditions_for(model, x, y, o.condition, dataset.shape, o.training_seed)
    return EvalData(
        x.to(device),
        grey,
        y,
        None if c is None else c.to(device),
        None if missing is None else missing.to(device),
    )


def rows_of(data: EvalData, keep: Tensor) -> EvalData:
    """The rows ``keep`` (bool ``(N,)``) of the evaluation set."""
    on_cpu = keep.cpu()
    return EvalData(
        data.x[keep],
        data.grey[on_cpu],
        None if data.y is None else data.y[on_cpu],
        None if data.c is None else data.c[keep],
        data.missing,
    )


def protocol_record(
    dataset: Dataset, data: EvalData, o: EvalConfig, device: torch.device
) -> Protocol:
    """What was evaluated and how: the split, its binarization, the n rows, seed, condition,
    k, refinement, the importance-sampling chunk (the one given, else the device's default) and
    the device."""
    rows = max(1, min(o.batch_size, len(data.x)))
    chunk = o.chunk if o.chunk is not None else auto_chunk(rows, dataset.dim, device)
    return Protocol(
        data=dataset.name,
        split=dataset.split,
        binarize=dataset.binarize,
        binarize_note=_protocol_note(dataset),
        shape=tuple(dataset.shape),
        n=len(data.x),
        split_rows=split_size(dataset),
        seed=o.seed,
        condition=str(o.condition),
        k=o.k,
        refine_steps=o.refine_steps,
        chunk=chunk,
        device=str(device),
        example=example_noun(dataset.is_table),
    )


def _protocol_note(dataset: Any) -> str:
    """What the evaluated values are under the dataset's protocol: for ``none``, an RGB image's
    colour levels, a grey image's levels, or rows' values as they are (userD: an RGB run's
    record said grey levels)."""
    shape = tuple(dataset.shape)
    images = len(shape) == 3 and not dataset.is_table
    levels = (
        "the values as they are"
        if not images
        else "colour levels of each channel"
        if shape[0] > 1
        else "grey levels"
    )
    return {
        "none": f"{levels}, a continuous likelihood",
        "dynamic": "one seeded Bernoulli(intensity) draw of the data (IWAE protocol)",
        "threshold": "pixels > 0.5 set to 1, others 0",
    }[dataset.binarize]


FEWEST = 2
"""Examples a spread or a ranking over the evaluated rows needs: the variance of posterior
means (active units), a covariance (the Fréchet distance), telling test rows from an OOD set
(AUROC). Over one example the variance is 0 by construction and an AUROC is one comparison."""


def too_few(
    what: str,
    n: int,
    noun: str = "example",
    fix: str = "evaluate a larger split (e.g. --split train) or more data",
) -> str | None:
    """Why ``what`` is undefined on ``n`` evaluated examples (fewer than :data:`FEWEST`), naming
    the ``fix``; None when there are enough."""
    if n >= FEWEST:
        return None
    return f"{what} needs at least {FEWEST} {noun}s, and {n} was evaluated; {fix}"
