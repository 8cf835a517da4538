"""Whether ``transfer``'s images are of the class they were redrawn as.

Each transfer is classified by torchlvm's classifier of the run's dataset
(:func:`torchlvm.evaluation.dataset_classifier`: the classifier whose calls give ``evaluate``'s
conditional accuracy and whose features its Fréchet distance uses), and the transfers to a class
other than the original's own are counted: how many the classifier calls the target class, how
many it still calls the original's class. Where fewer than half reach their target, one warning
says so, and why the model may keep the class: a CVAE's code z = E_q[z | x, c] can carry the
class as well as the style, most easily under the learned prior p(z | c), which lets the codes of
each class sit apart; decoding such a z under another class redraws the original.

A table has no such classifier: its transfer says that it is not measured.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass
from typing import Any

from torchlvm._shell import quoted

NOT_MEASURED = "not measured whether the transfers are of their target class"

MOST = 0.5
"""Below this share of the transfers to another class classified as their target, warn."""


@dataclass(frozen=True)
class Counted:
    """The transfers of ``n`` examples to class ``target`` (those of another class than it):
    ``hits`` classified as ``target``, ``stayed`` as the example's own class; ``already`` of
    their reconstructions (decoded under their own class) classified as ``target`` too, and
    ``changed`` of the hits whose reconstruction is not: the transfers the class asked for made."""

    target: int
    n: int
    hits: int
    stayed: int
    already: int = 0
    changed: int = 0


def classify(
    classifier: Any, y: Any, targets: list[int], transferred: list[Any], own: Any
) -> list[Counted]:
    """The transfers ``transferred`` (one ``(n, D)`` tensor per class of ``targets``) of examples
    of classes ``y`` ``(n,)``, as ``classifier`` (a :class:`~torchlvm.evaluation.DatasetClassifier`)
    calls them, beside its calls of their reconstructions ``own`` ``(n, D)``: one
    :class:`Counted` per target with an example of another class (none where every example is
    of the target class already: its transfer is a reconstruction). A decoder that draws much
    the same image whatever the class had its blob called '8' under every class, and 8 of 8
    transfers to 8 counted as a success (userM #1): the reconstructions are the control."""
    counts = []
    own_called = classifier.predict(own)  # (n,)
    for images, target in zip(transferred, targets, strict=True):
        moved = y != target
        if not bool(moved.any()):
            continue
        calls = classifier.predict(images[moved])  # (m,)
        called, before = calls == target, own_called[moved] == target
        stayed = int((calls == y[moved]).sum())
        counts.append(Counted(target, int(moved.sum()), int(called.sum()), stayed,
                              int(before.sum()), int((called & ~before).sum())))  # fmt: skip
    return counts


def report(
    run_: Any,
    args: argparse.Namespace,
    y: Any,
    targets: list[int],
    transferred: list[Any],
    own: Any,
    *,
    warn: bool = True,
) -> None:
    """Print how many of the image transfers ``transferred`` (of examples of classes ``y``, one
    ``(n, D)`` tensor per class of ``targets``) the dataset classifier calls their target, and
    how many of those its calls of the reconstructions ``own`` ``(n, D)`` credit to the class
    asked for; warn (unless not ``warn``: another warning has said why) when fewer than
    :data:`MOST` do; or print why it is not measured."""
    from torchlvm import run as _run

    classifier, why = _classifier(run_, args)
    counts = [] if why is not None else classify(classifier, y, targets, transferred, own)
    if why is not None or not counts:
        why = why or "each image was redrawn as its own class (a reconstruction)"
        print(f"  {NOT_MEASURED}: {why}")
        return
    n, hits = sum(c.n for c in counts), sum(c.hits for c in counts)
    stayed = sum(c.stayed for c in counts)
    by = (
        f"by torchlvm's {classifier.info.get('dataset')} classifier (test accuracy "
        f"{classifier.test_accuracy:.3f})"
    )
    own = "their own class" if len(set(y.tolist())) > 1 else _run.label_name(run_, int(y[0]))
    target = _run.label_name(run_, counts[0].target)
    if len(counts) == 1:
        print(f"  {hits} of {n} classified as {target} {by}; {stayed} as {own}")
        what = f"{hits} of the {n} transfers to {target} are classified as {target}"
    else:
        print(f"  {hits} of {n} transfers to another class classified as their target {by}; "
              f"{stayed} as {own}")  # fmt: skip
        each = ", ".join(f"{_run.label_name(run_, c.target)} {c.hits}/{c.n}" for c in counts)
        print(f"    by target class: {each}")
        what = f"{hits} of the {n} transfers to another class are classified as their target"
    already, changed = sum(c.already for c in counts), sum(c.changed for c in counts)
    originals = counts[0].n if len(counts) == 1 else len(y)  # (those of another class)
    if already:  # (a reconstruction is called one class: it counts for one target at most)
        print(f"    {already} of the {originals} originals' reconstructions under their own class "
              f"are classified as {target if len(counts) == 1 else 'one of the targets'} already: "
              f"{changed} of the {n} transfers changed into their target")  # fmt: skip
    if warn and hits < MOST * n:
        counted = f"only {what} ({stayed} as {own})"
        kept = stayed >= (n - hits) / 2  # most of those that missed: the original's class
        warnings.warn(_failed(run_, counted) if kept else _unclear(run_, counted), stacklevel=2)
    elif warn and changed < MOST * n:
        counted = (
            f"{what}, but {already} of the {originals} originals' reconstructions under their own "
            "class are too"
        )
        warnings.warn(_blind(run_, counted), stacklevel=2)


def _classifier(run_: Any, args: argparse.Namespace) -> tuple[Any, str | None]:
    """torchlvm's classifier of the run's dataset (trained once and cached, as ``evaluate``
    does), and None; or why its calls cannot measure the transfers (there is none for the
    dataset, or it is no clearer than chance) in place of that None."""
    from torchlvm.data import load_dataset
    from torchlvm.data.dataset_copy import own_copy
    from torchlvm.errors import TorchLVMError
    from torchlvm.evaluation import dataset_classifier

    name = run_.data.get("name")
    if not name:
        return None, f"{run_.folder}/config.json records no dataset to train a classifier on"
    try:
        own = own_copy(run_.data, args.data_dir or run_.data.get("data_dir"), run_.folder)
        classifier = dataset_classifier(name, data_dir=own, seed=0, progress=sys.stderr.isatty())
        test = load_dataset(name, "test", data_dir=own, seed=0)  # (what it was measured on)
    except (TorchLVMError, OSError) as err:  # the figure is written: say why, keep it
        return None, " ".join(str(err).split())
    if classifier.info.get("num_classes") != run_.num_classes:
        return None, (
            f"torchlvm's classifier of {name} tells {classifier.info.get('num_classes')} classes "
            f"apart, the run {run_.num_classes}"
        )
    return classifier, _no_better_than_chance(run_, classifier, test.y)


CHANCE_P = 1e-3
"""A classifier is trusted to tell the classes apart where its test accuracy is above the rate
of always answering its test split's most common class with a one-sided binomial p-value below
this."""


def _no_better_than_chance(run_: Any, classifier: Any, y: Any) -> str | None:
    """Why ``classifier``'s calls say nothing of the transfers, where its accuracy on its test
    labels ``y`` ``(n,)`` is not clearly above always answering the most common of them (userJ:
    0.833 on a test split of 5 images of one class and 1 of another); None where it is."""
    import torch
    from scipy.stats import binomtest

    from torchlvm import run as _run

    counts = torch.bincount(y, minlength=run_.num_classes)
    most, n = int(counts.argmax()), len(y)
    rate, right = float(counts[most]) / n, round(classifier.test_accuracy * n)
    if rate < 1 and binomtest(right, n, rate, alternative="greater").pvalue < CHANCE_P:
        return None
    common = _run.label_name(run_, most)
    return (
        f"torchlvm's {classifier.info.get('dataset')} classifier is not clearly better than always "
        f"answering {common} (test accuracy {classifier.test_accuracy:.3f}, {right} of {n}; "
        f"{common} is {int(counts[most])} of the {n} test examples), so its calls say nothing"
    )


def _failed(run_: Any, counted: str) -> str:
    """The warning that most transfers did not reach their target class (``counted`` says how
    many did), and what to try."""
    said = (
        f"{counted}: the CVAE in {run_.folder} keeps much of the original's class, so the "
        "figure shows little change of class"
    )
    if getattr(run_.model.config, "prior", None) == "learned":
        command = _retrain(run_, {"cvae_prior": "standard"}, "standard")
        return (
            f"{said}; its learned prior p(z|c) lets the code z = E_q[z | x, c] carry the class; "
            "a CVAE with --cvae-prior standard (p(z|c) = N(0, I), the same for every class) "
            f"pushes z to drop it, and transfers more often (more --epochs help too): '{command}'"
        )
    return (
        f"{said}; its code z = E_q[z | x, c] carries the class although p(z|c) is the same for "
        "every class: train it for more --epochs, or with a smaller --latent-dim (less room "
        "in z for the class)"
    )


def _blind(run_: Any, counted: str) -> str:
    """The warning that the transfers are called their target as often as the originals'
    reconstructions are (``counted`` says how many): the class asked for changed few of them."""
    return (
        f"{counted}: the CVAE in {run_.folder} draws much the same image whatever the class "
        "asked for, so those calls do not measure a change of class; 'torchlvm evaluate "
        f"{quoted(str(run_.folder))}' measures how often its samples are of the class asked "
        "for (conditional accuracy); train it for more --epochs"
    )


def _unclear(run_: Any, counted: str) -> str:
    """The warning that most transfers are of neither their target class nor the original's
    (``counted`` says how many are which)."""
    return (
        f"{counted}: most are classified as neither, so the images the CVAE in {run_.folder} "
        "draws are not yet recognisable as its classes; 'torchlvm evaluate "
        f"{quoted(str(run_.folder))}' measures how often its samples are of the class asked "
        "for (conditional accuracy); train it for more --epochs"
    )


def _retrain(run_: Any, changes: dict[str, Any], suffix: str) -> str:
    """The ``train`` command of the run with the options ``changes`` (by their parsed names)
    over its recorded ones, into a new folder beside it named with ``suffix``."""
    from torchlvm.cli import _tables, _train_again
    from torchlvm.run.record import read_record

    out = run_.folder.with_name(f"{run_.folder.name}-{suffix}")
    command = _train_again.train_command(read_record(run_.folder), out, changes)
    if command is not None:
        return command
    words = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in changes.items())
    return _tables.train_command(run_, "cvae").replace(
        " --out RUN", f" {words} --out {quoted(str(out))}"
    )
