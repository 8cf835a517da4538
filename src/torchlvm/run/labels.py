"""A CVAE's condition c and the class labels commands take.

- :func:`conditions`: the condition c of a CVAE for a batch: one-hot labels, or the observed part
  of the image with the training mask (Sohn et al. 2015, §4.2).
- :func:`parse_labels`: ``--condition`` values (labels, class names, ``all``) to class indices;
  :func:`labels_array` and :func:`label_name`, class indices as a user reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from torch import Tensor

from torchlvm._shell import quoted
from torchlvm.data.columns import class_index, label_key, listed, named_class, whole_number
from torchlvm.errors import ConfigError, DataError

if TYPE_CHECKING:
    from torchlvm.data.dataset import Dataset
    from torchlvm.run.loaded import Run


def training_mask(run: Run, shape: Sequence[int]) -> Tensor:
    """The observed-pixel mask ``(D,)`` the run's imputation CVAE was trained with (a
    ``random:`` mask is redrawn with the run's seed, exactly as training drew it)."""
    condition = run.condition
    if condition is None or condition.kind != "mask":
        raise ConfigError(
            f"{run.folder}/config.json does not record which mask the CVAE was trained with; "
            "it needs a 'data' section with condition 'mask:KIND'"
        )
    return condition.mask(shape, int(run.data.get("seed", 0)))


def conditions(run: Run, x: Tensor, y: Tensor | None, dataset: Any) -> Tensor | None:
    """The condition c ``(N, C)`` for data ``x`` ``(N, D)`` with labels ``y``, or None.

    Label CVAEs get the one-hot true labels; imputation CVAEs the observed part of x under the
    training mask.

    Raises:
        DataError: for a label CVAE on data without labels.
        ConfigError: for a CVAE whose condition the run does not record.
    """
    condition = run.condition
    if condition is None:
        raise ConfigError(
            f"{run.folder}/config.json does not say what the CVAE is conditioned on; it needs a "
            "'data' section with condition 'label' or 'mask:KIND'"
        )
    if condition.kind == "label" and y is None:
        from torchlvm.data.save_lines import labels_fix

        raise DataError(
            f"the CVAE is conditioned on class labels, and {dataset.name} has none; "
            f"{labels_fix(dataset.name) or 'pass --data with a labelled dataset'}"
        )
    seed = int(run.data.get("seed", 0))  # a random: mask is redrawn as training drew it
    bound = condition.bind(dataset.shape, seed=seed, num_classes=run.num_classes)
    return bound.build(x.to(run.dtype), y)


def valid_labels(run: Run) -> str:
    """E.g. ``"0..9 or a class name (T-shirt/top, Trouser, ...)"``; for a file's text labels,
    only their names (:func:`_numbered`)."""
    names = run.class_names
    listed = "" if not names else ", ".join(quoted(name) for name in names)
    if not _numbered(run):
        return f"a class name ({listed})"
    text = f"0..{run.num_classes - 1}"
    if names and names != [str(i) for i in range(len(names))]:
        text += f" or a class name ({listed})"
    return text


def require_class_conditions(run: Run, command: str, train: str) -> int:
    """C for a class-conditional CVAE; otherwise a ``ConfigError`` that says why ``command``
    needs one, offering ``train``, the command that trains one on the run's data (the shell's,
    which knows its flags)."""
    if run.num_classes is not None:
        return int(run.num_classes)
    train = f"train one with '{train}'"
    if run.model_type == "cvae":
        raise ConfigError(
            f"{command} needs a CVAE conditioned on class labels; the one in {run.folder} is "
            f"conditioned on {run.condition_text}: {train}"
        )
    raise ConfigError(
        f"{command} needs a CVAE conditioned on class labels; {run.folder} holds "
        f"{model_phrase(run.model_type)}: {train}"
    )


_PHRASES = {"ae": "an autoencoder", "vae": "a VAE", "cvae": "a CVAE", "ppca": "a PPCA model"}


def model_phrase(model_type: str) -> str:
    """``model_type`` in a sentence, with its article: 'an autoencoder', 'a VAE'."""
    return _PHRASES.get(model_type, f"a {model_type!r} model")


def parse_labels(run: Run, values: Sequence[str], flag: str) -> list[int]:
    """Class indices for ``values``: integer labels, class names (case-insensitive when that is
    unambiguous), or ``all`` for every class in order.

    Raises:
        ConfigError: for a label out of range or an unknown name; the message lists the valid ones.
    """
    classes = int(run.num_classes)
    names = run.class_names or []
    untrained = untrained_classes(run)
    labels: list[int] = []
    for i, value in enumerate(values):
        before = len(labels)
        if value == "all":
            labels.extend(label for label in range(classes) if label not in untrained)
        elif value in names:
            labels.append(names.index(value))
        elif whole_number(value) is not None and _numbered(run):
            label = whole_number(value)  # ('2.0', as a file of codes writes 2: review13 #21)
            if not 0 <= label < classes:
                raise ConfigError(f"{flag} {value} is out of range; {_valid(run)}")
            labels.append(label)
        else:
            folded = named_class(names, value)
            if folded is None:
                _unknown_class(run, flag, value, " ".join(values[i : i + 2]))
            labels.append(folded)
        if value != "all" and labels[before] in untrained:
            _refuse_untrained(run, flag, value, labels[before], untrained)
    if "all" in values and untrained:
        import warnings

        left = listed(label_name(run, label) for label in sorted(untrained))
        warnings.warn(
            f"{flag} all leaves out {left}: no row of the run's train split has "
            f"{'that class' if len(untrained) == 1 else 'those classes'}, so the model learned "
            "nothing of them",
            stacklevel=2,
        )
    return labels


def untrained_classes(run: Run) -> set[int]:
    """The classes of ``run`` that no row of its train split has (its recorded counts: a class
    whose rows all fell in the test split, api14 item 5 / userK #17); none where not recorded.
    The one rule: sample and transfer refuse them, evaluate names them."""
    from torchlvm.inference.class_mixture import recorded_counts

    counts = recorded_counts(run.data, run.class_names) or ()
    return {label for label, count in enumerate(counts) if count == 0}


def untrained_rows(run: Run, y: Any) -> Any:
    """``(N,)`` bool: the rows of labels ``y`` of a class of :func:`untrained_classes`, or None
    where none is (or ``y`` is None)."""
    import torch

    classes = untrained_classes(run) if run.num_classes is not None else set()
    if not classes or y is None:
        return None
    rows = torch.isin(y, torch.tensor(sorted(classes), dtype=y.dtype))
    return rows if bool(rows.any()) else None


def _refuse_untrained(run: Run, flag: str, value: str, label: int, untrained: set[int]) -> NoReturn:
    """Refuse a class of ``run`` that no train row has: sample and transfer drew it from an
    embedding no training row touched, and labelled the draws with its name, without a word."""
    trained = [label_name(run, j) for j in range(int(run.num_classes)) if j not in untrained]
    raise ConfigError(
        f"{flag} {quoted(value)}: no row of the train split of {run.folder} has class "
        f"{label_name(run, label)!r}, so the model learned nothing of it; pick a class it was "
        f"trained on ({listed(trained)}), or train on a file whose train split has rows of it"
    )


def _numbered(run: Run) -> bool:
    """Whether a class may be given by its number: a dataset's own numbering (digits, MNIST,
    Fashion-MNIST's 0..9), or integer labels. A file's text labels are numbered only by their
    sorted order, which the user never saw ('bag', 'boot', ...: 8 would be the ninth name; '3',
    '7', '9': 1 would be '7'), so they are given by name."""
    from torchlvm.data.registry import is_file_name

    names = run.class_names
    plain = not names or list(names) == [str(i) for i in range(len(names))]
    return plain or not is_file_name(str(run.data.get("name") or ""))


def labels_array(run: Run, y: Tensor) -> Any:
    """Class indices ``y`` ``(N,)`` as a user reads them in a written array: a file's text labels
    as their names (fixed-width unicode, which ``np.load`` reads without pickle), since their
    numbers are only sorted positions (:func:`_numbered`); a table's whole-number codes (1, 2,
    10: its label cells numbers, its record's ``label_form``) as those integers (int64, as an
    image run's labels: userU #10, ``y == 10`` was False on the text '10'); else the integers.
    An array's text labels '3', '7', '9' stay text, as the file holds them."""
    import numpy as np

    if _numbered(run):
        return y.numpy()
    names = list(run.class_names or ())
    codes = [whole_number(name) for name in names]
    numbers = (run.data.get("table") or {}).get("label_form") is not None
    if numbers and [str(code) for code in codes] == names:
        return np.asarray(codes, dtype=np.int64)[y.numpy()]
    return np.asarray(names)[y.numpy()]


def as_run_names(dataset: Dataset, names: Sequence[str]) -> Dataset:
    """``dataset`` (a later file's rows) with each of its text classes that names one of a
    run's class ``names`` (:func:`class_index`) named as the run names it, so that
    :meth:`~torchlvm.data.dataset.Dataset.with_classes` reads its rows as that class; the
    file's cells are not changed."""
    from dataclasses import replace

    if dataset.class_names is None:
        return dataset
    found = [class_index(names, name) for name in dataset.class_names]
    named = [n if k is None else names[k] for n, k in zip(dataset.class_names, found, strict=True)]
    say_loose_labels(dataset.name, dataset.class_names, named)
    return replace(dataset, class_names=tuple(named))


def say_loose_labels(source: str, written: Sequence[str], named: Sequence[str]) -> None:
    """Warn, once, of a later file's labels read as a run's class written otherwise but for
    case, spaces, Unicode form or quotes ('barolo nebbiolo' as 'Barolo Nebbiolo'): they were
    taken without a word, where training keeps 'A' and 'a' two classes (userU #8); a number
    written otherwise ('2.0' for 2) is the same number, not said."""
    import warnings

    from torchlvm.data.columns import number_of

    loose = [(w, n) for w, n in zip(written, named, strict=True)
             if w != n and (number_of(w) is None or number_of(w) != number_of(n))]  # fmt: skip
    if not loose:
        return
    said = "; ".join(f"{w!r} as {n!r}" for w, n in loose[:3])
    more = f"; and {len(loose) - 3} more" if len(loose) > 3 else ""
    warnings.warn(
        f"{source}: labels written otherwise than the run's classes, but for case, spaces or "
        f"how their letters are encoded, are read as those classes: {said}{more}",
        stacklevel=3,
    )


def _unknown_class(run: Run, flag: str, value: str, joined: str) -> NoReturn:
    """Refuse ``value``; where it and the next value (``joined``) are a class name with a space
    that the shell split, name that name as one argument."""
    names = run.class_names or []
    if joined != value and named_class(names, joined) is not None:
        raise ConfigError(
            f"{flag} {value!r} is not a known class, but {joined!r} is: a name with a space is "
            f"one argument, {flag} {quoted(joined)}"
        )
    same = [name for name in names if label_key(name) == label_key(value)]
    if len(same) > 1:  # ('CAT' of 'Cat' and 'cat': review13 #10)
        from torchlvm.data.columns import name_key

        differ = "case" if len({name_key(n) for n in same}) > 1 else "how their letters are encoded"
        raise ConfigError(
            f"{flag} {value!r} names {len(same)} classes, {', '.join(map(repr, same))}, which "
            f"differ only in {differ}; pass one as written"
        )
    raise ConfigError(f"{flag} {value!r} is not a known class; {_valid(run)}")


def _valid(run: Run) -> str:
    """What :func:`parse_labels` takes, for its refusals (one wording for every one: userE)."""
    return f"valid labels are {valid_labels(run)}, or 'all'"


def label_name(run: Run, label: int) -> str:
    """The class name of ``label`` when the run has names, else the label as text."""
    names = run.class_names
    return names[label] if names and label < len(names) else str(label)
