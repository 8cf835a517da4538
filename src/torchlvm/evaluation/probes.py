"""Latent separability: how well simple classifiers read the class from a representation.

Two probes, each scored by stratified k-fold cross-validation (scikit-learn):

- a logistic-regression probe (multinomial, L2, inputs standardized), a linear read-out;
- k-nearest neighbours (k = 5, Euclidean, inputs standardized), a local read-out.

Run on the posterior means E_q[z | x] and, as the reference every representation is compared
with, on the raw pixels; :func:`separability_section` is ``evaluate``'s section built from them,
with the accuracy of chance (:func:`chance_accuracy`: always answering the most frequent class),
the baseline an accuracy is read against (userJ #2: 0.886 on random labels was that rate).

The fits run with one BLAS thread (``threadpoolctl``): these problems are small, and on a machine
whose cores are shared, multi-threaded BLAS made them 10-15× slower in our measurements.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm._checks import check_positive_int
from torchlvm.errors import DataError
from torchlvm.evaluation._records import metric
from torchlvm.evaluation.eval_data import EvalData
from torchlvm.evaluation.records import Probes, Quantity, Separability, Undefined

NEIGHBOURS = 5
FOLDS = 5
PROBED = 5000
"""The most examples the probes read: of more, a seeded subsample (:func:`_probed`), to bound
their cost."""


def probe_accuracies(
    features: Tensor | np.ndarray,
    labels: Tensor | np.ndarray,
    *,
    folds: int = FOLDS,
    seed: int = 0,
    max_examples: int = PROBED,
) -> dict[str, Any]:
    """Cross-validated accuracy of a logistic-regression probe and of kNN.

    Args:
        features: ``(N, F)``. labels: ``(N,)`` integer classes.
        folds: number of cross-validation folds (stratified, shuffled with ``seed``).
        seed: seed of the folds and of the subsample.
        max_examples: at most this many examples are used (a seeded subsample), to bound cost.

    Returns:
        ``{"logistic": metric, "knn": metric}``, accuracies in [0, 1] with their fold std.

    Raises:
        DataError: when a class has fewer examples than ``folds``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    check_positive_int("folds", folds)
    X = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    keep = _probed(len(y), max_examples, seed)
    X, y = X[keep], y[keep]
    if (few := too_few_classes(y, folds)) is not None:
        raise DataError(f"{few}; pass more examples")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    probes = {
        "logistic": make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, C=1.0)),
        "knn": make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=NEIGHBOURS)),
    }
    notes = {
        "logistic": "logistic-regression probe (standardized inputs, C=1)",
        "knn": f"{NEIGHBOURS}-nearest neighbours (standardized inputs)",
    }
    out: dict[str, Any] = {}
    for name, probe in probes.items():
        with threadpool_limits(limits=1):
            scores = cross_val_score(probe, X, y, cv=cv)
        out[name] = metric(
            float(scores.mean()),
            "accuracy",
            "estimate",
            stderr=float(scores.std(ddof=1) / np.sqrt(folds)) if folds > 1 else None,
            folds=folds,
            n=len(y),
            note=f"{notes[name]}, {folds}-fold stratified cross-validation",
        )
    return out


def _probed(rows: int, max_examples: int, seed: int) -> np.ndarray:
    """The positions of the rows the probes read: every one, else a seeded subsample of
    ``max_examples``."""
    if rows <= max_examples:
        return np.arange(rows)
    return np.sort(np.random.default_rng(seed).choice(rows, max_examples, replace=False))


def chance_accuracy(
    labels: Tensor | np.ndarray,
    names: list[str] | None = None,
    *,
    seed: int = 0,
    max_examples: int = PROBED,
) -> dict[str, Any]:
    """The accuracy of always answering the most frequent class of the rows
    :func:`probe_accuracies` reads (``seed``, ``max_examples`` as there): the share of that
    class, the baseline of its accuracies. ``names``: the classes' names, by label.

    Returns:
        A metric (unit ``accuracy``, kind ``exact``) whose note names the class and its count.
    """
    y = np.asarray(labels)[_probed(len(labels), max_examples, seed)]
    counts = np.bincount(y)
    top = int(counts.argmax())
    name = names[top] if names is not None and top < len(names) else str(top)
    return metric(
        float(counts[top] / len(y)),
        "accuracy",
        "exact",
        n=len(y),
        note=f"chance: always answering the most frequent class, {name} ({int(counts[top])} of "
        f"{len(y)} examples probed)",
    )


def too_few_classes(labels: Tensor | np.ndarray, folds: int = FOLDS) -> str | None:
    """Why ``folds``-fold probes cannot run on ``labels`` ``(N,)``, without a fix (the caller
    knows which exists), or None where they can."""
    y = np.asarray(labels)
    counts = np.bincount(y) if len(y) else np.zeros(0, dtype=np.int64)
    present = counts[counts > 0]  # the classes seen, by count
    if len(present) >= 2 and present.min() >= folds:
        return None
    return (
        f"{folds}-fold probes need at least {folds} examples of each of two or more classes, "
        f"got {_classes_seen(present, folds)}"
    )


def _classes_seen(counts: np.ndarray, folds: int, shown: int = 5) -> str:
    """The classes ``counts`` (examples per class seen) in a few words: how many, how many of
    them have fewer than ``folds`` examples, and the ``shown`` smallest counts (a label column
    of 44 classes of one row is not listed 44 times)."""
    if len(counts) == 0:
        return "no labelled examples"
    if len(counts) == 1:
        return f"one class ({int(counts[0])} example{'s' * (int(counts[0]) != 1)})"
    small = np.sort(counts)
    few = int((small < folds).sum())
    listed = ", ".join(str(int(c)) for c in small[:shown]) + (", ..." * (len(small) > shown))
    return (
        f"{len(counts)} classes, {few} of them with fewer than {folds} examples (smallest "
        f"counts {listed})"
    )


def separability_undefined(labels: Tensor | None) -> Undefined | None:
    """Why data of ``labels`` have no separability section whatever is evaluated of them (no
    class labels), or None where they have one: the one rule, which evaluate's expected time
    reads too (:func:`~torchlvm.evaluation.timing.left_out`)."""
    return Undefined("the data has no class labels") if labels is None else None


def separability_section(
    means: Tensor,
    data: EvalData,
    seed: int,
    pixels: bool,
    given_label: bool = False,
    split: tuple[str, int] | None = None,
    names: list[str] | None = None,
) -> Separability | Undefined:
    """Probe accuracies of the class from the codes. A CVAE's encoder q(z | x, c) is given the
    class itself, so there they measure how much of the class its codes keep (by design with a
    learned prior p(z | c), which places each class apart), not what an unconditional code
    finds on its own; the note says so. ``split``: (its name, its rows), for the fix of too few
    examples of a class: more of the split's rows where a subsample was evaluated, else another
    split (a 12-row test split was told to 'evaluate more examples', which it did not have).
    ``names``: the classes' names, by label (for the chance level's note).

    Classes with fewer than :data:`FOLDS` examples are left out where two or more classes have
    that many, and the section says which (``left_out``): a class of 3 rows beside classes of
    164 and 291 dropped the whole section, with the fix 'the train split has only 458
    examples' (userU #4). They are told on the rows the probes read (a subsample of
    :data:`PROBED` where more are evaluated): told on every row, a class of 5-8 among 8,000 kept
    3-4 in the subsample and the whole section was dropped again (readH H2)."""
    if (undefined := separability_undefined(data.y)) is not None:
        return undefined
    probed = torch.as_tensor(_probed(len(data.y), PROBED, seed))  # (the rows the probes read)
    x, y, left_out = data.x[probed.to(data.x.device)], data.y[probed.to(data.y.device)], None
    means = means[probed.to(means.device)]
    if (small := _small_classes(y, names)) is not None:
        keep, left_out = small
        means, x, y = means[keep.to(means.device)], x[keep.to(x.device)], y[keep]
    if (few := too_few_classes(y)) is not None:
        n = len(data.y)
        if split is None:
            return Undefined(f"{few} in the {n} examples evaluated")
        name, rows = split
        if n < rows:
            return Undefined(f"{few} in the {n} of {rows} {name} examples evaluated; pass --n all")
        whole = f"{few}: the {name} split has only {rows} examples"
        if name == "train":
            return Undefined(whole)
        return Undefined(
            f"{whole}; --split train has more (examples the model was trained on: the probes' "
            "accuracy is then not held out)"
        )
    try:
        chance = Quantity.from_json(chance_accuracy(y, names, seed=seed))
        latent = Probes.from_json(probe_accuracies(means, y, seed=seed))
        reference = None
        if pixels:
            reference = Probes.from_json(probe_accuracies(x.cpu(), y, seed=seed))
    except DataError as err:
        return Undefined(str(err))
    note = "probes on posterior means E_q[z|x]; 'pixels' is the raw-input reference"
    if given_label:
        note = (
            "probes on posterior means E_q[z|x,c] of an encoder given the class c: how much of "
            "the class the codes keep; 'pixels' is the raw-input reference"
        )
    return Separability(latent, reference, note, chance, left_out)


def _small_classes(
    y: Tensor, names: list[str] | None, folds: int = FOLDS
) -> tuple[Tensor, str] | None:
    """(the rows ``(N,)`` bool of the classes with at least ``folds`` examples, a sentence
    naming the others) where some class has fewer and two or more have that many; else None
    (nothing to leave out, or too few classes left to probe)."""
    counts = torch.bincount(y.long())
    small = [j for j, count in enumerate(counts.tolist()) if 0 < count < folds]
    if not small or int((counts >= folds).sum()) < 2:
        return None
    keep = ~torch.isin(y.long(), torch.tensor(small))
    named = [f"'{names[j] if names is not None and j < len(names) else j}'" for j in small]
    if len(small) == 1:
        which = f"class {named[0]} ({int(counts[small[0]])} examples)"
    else:
        listed = [f"{name} ({int(counts[j])})" for name, j in zip(named, small, strict=True)]
        more = ", ..." if len(listed) > 5 else ""
        which = (
            f"{len(small)} classes of fewer than {folds} examples, {', '.join(listed[:5])}{more}"
        )
    return keep, (
        f"left out: {which}: {folds}-fold probes need {folds} examples of each class; the "
        f"probes and chance are of the other {int(keep.sum())}"
    )
