"""A run (or export) folder loaded for use: its model, its data split and its conditions.

- :func:`load_run`: the model of a run or export folder together with the ``data`` section of
  its record (dataset name, binarization protocol, split seed, condition, image shape, class
  names), after checking that no process is training the run (its weights would be stale); the
  model is put on the device asked for (``--accelerator``), and :meth:`Run.generator` draws
  there.
- :func:`load_split`: a split of the run's own dataset (or of ``--data NAME``) under the run's
  binarization protocol and recorded ``data_dir``, checked against the model's input size;
  :func:`model_view` gives the data as the model sees it (one seeded Bernoulli draw under
  ``"dynamic"``, as evaluation does), and :func:`model_batches` the same a batch at a time. A
  run trained with ``--mmap`` streams its file (and a ``.npy`` file given to it): a command reads
  the rows it shows, or a batch at a time those it goes through.
- :func:`conditions`: the condition c of a CVAE for a batch: one-hot labels, or the observed part
  of the image with the training mask (Sohn et al. 2015, §4.2).
- :func:`parse_labels`: ``--condition`` values (labels, class names, ``all``) to class indices.
- :func:`in_batches`: a model applied to a few hundred examples at a time on its device, the
  results gathered on the CPU.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import Tensor

from torchlvm import _device
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import ConfigError, DataError, RunDirectoryError, TorchLVMError
from torchlvm.models.conditions import Condition
from torchlvm.run.layout import RunLayout

BATCH = 500
"""Examples pushed through a model at a time."""


@dataclass(frozen=True)
class Run:
    """A loaded model and what its folder records about its data.

    Attributes:
        folder: the run or export folder.
        model: the model, in eval mode, on the device it runs on.
        model_type: ``"ppca"``, ``"ae"``, ``"vae"`` or ``"cvae"``.
        data: the ``data`` section of ``config.json`` (``{}`` when the folder has none).
    """

    folder: Path
    model: Any
    model_type: str
    data: dict[str, Any]

    @property
    def condition(self) -> Condition | None:
        """What the model is conditioned on, parsed from the record (``none`` for a model that
        takes no condition); for a CVAE whose record does not say, ``label`` when it has
        classes, else None (e.g. an export saved without its data section).

        Raises:
            ConfigError: for a recorded condition that is not one.
        """
        if self.model_type != "cvae":
            return Condition()
        recorded = self.data.get("condition")
        if recorded is not None:
            try:
                condition = Condition.parse(recorded)
            except ConfigError as err:
                raise ConfigError(f"{self.folder}/config.json: {err}") from None
            if condition.conditional:
                return condition
        return Condition("label") if self.model.config.num_classes is not None else None

    @property
    def condition_text(self) -> str:
        """The condition as the messages name it."""
        condition = self.condition
        return (
            "a condition its config.json does not record" if condition is None else str(condition)
        )

    @property
    def class_names(self) -> list[str] | None:
        """Names of the classes of a class-conditional model, in label order, or None."""
        names = getattr(getattr(self.model, "config", None), "class_names", None)
        names = names or self.data.get("class_names")
        return None if not names else [str(name) for name in names]

    @property
    def num_classes(self) -> int | None:
        """C of a class-conditional CVAE, else None."""
        if self.condition != Condition("label"):
            return None
        return self.model.config.num_classes

    @property
    def input_dim(self) -> int:
        """D, the values per example the model takes."""
        dim = getattr(self.model, "input_dim", None)
        return int(dim if dim is not None else self.model.n_features_in_)

    @property
    def dtype(self) -> torch.dtype:
        """The floating-point type of the model's parameters (float64 for PPCA)."""
        buffers = [*self.model.parameters(), *self.model.buffers()]
        floats = [t.dtype for t in buffers if t.is_floating_point()]
        return floats[0] if floats else torch.get_default_dtype()

    @property
    def device(self) -> torch.device:
        """Where the model runs (its parameters' device)."""
        return _device.model_device(self.model)

    def generator(self, seed: int) -> torch.Generator:
        """A random source on the model's device seeded with ``seed``: the same seed gives the
        same draws on the same kind of device."""
        return _device.generator(seed, self.device)

    @property
    def encoding(self) -> str:
        """What a reconstruction decodes at: an autoencoder's code, else q's mean."""
        return "the code f(x)" if self.model_type == "ae" else "the posterior mean"

    def describe(self) -> str:
        """E.g. ``"vae (K=8) trained on digits"``."""
        from torchlvm.io import describe_model

        return describe_model(self.model_type, self.model.latent_dim, self.data)


def _with_republish(err: TorchLVMError, folder: Path) -> TorchLVMError:
    """``err`` (the run's model is damaged or missing) with the command that publishes the run's
    best epoch again from its checkpoints, where it has them."""
    from torchlvm.run.publish import finished_epochs
    from torchlvm.run.record import read_record

    done = finished_epochs(folder)
    if done is None:
        return err
    try:
        model_type = read_record(folder)["model_type"]
    except DataError as damaged:  # config.json itself: its message names the fix
        return damaged
    except (TorchLVMError, KeyError, TypeError):
        return err
    command = f"torchlvm train {model_type} --resume --out {quoted(folder)} --epochs {done}"
    return type(err)(f"{err}; its checkpoints publish the run's model again: '{command}'")


def load_run(folder: str | os.PathLike[str], *, device: torch.device | str = "cpu") -> Run:
    """The model of ``folder``, on ``device``, and the ``data`` section of its ``config.json``.

    Raises:
        RunBusyError: if a process is training the run.
        RunDirectoryError: if the folder holds no model (naming a run whose training was
            interrupted, and the command that finishes it). DataError, ConfigError: if it is
            damaged or holds another kind of file.
    """
    import torchlvm.models  # noqa: F401  (importing registers every model type)
    from torchlvm.io import load, read_config
    from torchlvm.run.commit import recover_for_reading
    from torchlvm.run.interrupted import check_finished

    folder = Path(folder)
    if (home := unexpanded_home(folder, reading=True)) is not None:
        raise home
    recover_for_reading(folder)  # (a first publish killed midway has no config.json yet)
    check_finished(folder)  # an interrupted run is named, with the command that finishes it
    try:
        model = load(folder).to(device)  # load refuses a run that a process is training
    except DataError as err:  # a damaged model.safetensors: its checkpoints publish it again
        raise _with_republish(err, folder) from None
    except RunDirectoryError as err:  # ... and a missing one
        if RunLayout(folder).weights.is_file():
            raise
        raise _with_republish(err, folder) from None
    record = read_config(folder)
    data = record.get("data") if isinstance(record, dict) else None
    _keep_data(folder, data)
    return Run(folder, model, str(record["model_type"]), dict(data or {}))


def _keep_data(folder: Path, data: Any) -> None:
    """Keep the run's data file from every output of this process
    (:func:`~torchlvm.run.outputs.keep`)."""
    from torchlvm.data.registry import is_file_name
    from torchlvm.run.outputs import keep

    name = data.get("name") if isinstance(data, dict) else None
    if isinstance(name, str) and is_file_name(name):
        keep(name, f"the data file the run in {folder} was trained on", data.get("file"))


def repointed(run: Run, data: str | None) -> Run:
    """``run`` reading its data from file ``data`` (its file, moved: checked to hold the same
    data, :func:`~torchlvm.data.fingerprint.repoint`), else from its recorded file (checked to be
    there, naming ``--data`` when it is not). Whether the file holds what it held is checked
    where a split of it is read (:func:`load_split`: for a split, not for ``all``)."""
    from torchlvm.data.fingerprint import check_present, repoint

    if data is not None:
        run = replace(run, data=repoint(run.data, data, run.folder))
        _keep_data(run.folder, run.data)  # (the file it moved to: the run's data now)
        return run
    check_present(run.data, run.folder)
    return run


def record_repointed(before: Run, after: Run) -> str | None:
    """Record in the run's ``config.json`` the new place of its data file that :func:`repointed`
    checked (the caller holds the run's lock), so that later commands read it there; returns
    what to tell the user, or None when nothing moved. A copy given while the recorded file is
    still there, unchanged, is read by this command alone: the run keeps its file."""
    from torchlvm.data.fingerprint import check_unchanged
    from torchlvm.run.record import record_data

    if after.data == before.data:
        return None
    if os.path.exists(str(before.data.get("name"))):
        try:
            check_unchanged(before.data, before.folder)
        except DataError:
            pass  # edited in place since: the copy given holds the run's data, it moves there
        else:
            return None
    record_data(after.folder, after.data)
    return (
        f"the run's data file is now {after.data['name']} (it holds the data of "
        f"{before.data.get('name')}); recorded in {RunLayout(after.folder).config}, so later "
        "commands read it there"
    )


def load_split(
    run: Run,
    name: str | None,
    split: str,
    *,
    data_dir: str | None = None,
    streamed: bool = False,
    command: str | None = None,
) -> Any:
    """A split of ``name`` (default: the run's own dataset) under the run's binarization protocol.

    The run's split seed and dataset options apply to its own dataset; another dataset is split
    with seed 0. Either way the binarization protocol is the run's, since the model's likelihood
    was fitted to data under it.

    Args:
        streamed: keep a split the run streams from its file (``--mmap``), or a ``.npy`` file
            ``name`` given to such a run, streamed, for a caller that reads the rows it needs
            (:func:`model_view` of some rows, :func:`model_batches`; evaluation:
            :func:`~torchlvm.evaluation.rows.evaluated_rows`); False reads it whole.
        command: the command reading it, one without ``--allow-missing`` (encode, reconstruct,
            ...): data with missing values is refused naming fixes that command's user has.

    Returns:
        A :class:`torchlvm.data.Dataset`; with ``streamed``, a
        :class:`~torchlvm.data.memmap.MemmapDataset` for a run trained with ``--mmap``.

    Raises:
        ConfigError: if the run records no dataset and ``name`` is None.
        DataError: if the data's dimension does not match the model's (the message names both).
    """
    from torchlvm.data import load_dataset
    from torchlvm.data.dataset_copy import own_copy
    from torchlvm.data.fingerprint import check_present, check_unchanged
    from torchlvm.data.load import data_reference
    from torchlvm.data.pixels import READING, check_same_images
    from torchlvm.run.record import record_file_time

    own = run.data.get("name")
    if name is None and not own:
        raise ConfigError(
            f"{run.folder}/config.json records no dataset (it has no 'data' section); "
            "pass --data NAME (a dataset name or a .npy/.npz/.csv file)"
        )
    if name is None:
        check_present(run.data, run.folder)  # gone: its new place is passed with --data
    elif own and not os.path.exists(str(own)):
        run, own = _moved_to(run, name)  # the run's file at its new place: the run's splits
    name = own if name is None else name
    same = bool(own) and data_reference(name) == data_reference(own)  # either spelling
    if same and split != "all":  # its splits are the run's while the file holds its data
        if (touched := check_unchanged(run.data, run.folder)) is not None:
            record_file_time(run.folder, touched)  # hashed once, not by every later command
    options = dict(run.data.get("options") or {}) if same else {}
    if same and options.get("standardize") is True:  # the model's, not the file's of today
        options["standardize"] = _recorded_standardizer(run) or True
    if not same and streamed and streams(run) and str(name).lower().endswith(".npy"):
        options = {"mmap": True}  # another file given to a run on a file too large to read whole
    try:
        dataset = load_dataset(
            name,
            split,
            data_dir=own_copy(run.data, data_dir or run.data.get("data_dir"), run.folder)
            if same
            else data_dir,
            binarize=str(run.data.get("binarize") or "none"),
            seed=int(run.data.get("seed", 0)) if same else 0,
            **options,
        )
    except DataError as error:
        raise _missing_for(error, run, name, command) from None
    if hasattr(dataset, "in_memory") and not streamed:  # a file the run streamed (--mmap)
        dataset = dataset.in_memory()
    if own and int(run.data.get("pixels", 1)) < READING:  # whichever file is given
        _check_same_reading(run, own, int(run.data.get("pixels", 1)), given=None if same else name)
    if dataset.dim != run.input_dim:
        raise DataError(
            f"{dataset.name} has {dataset.dim} values per example (shape {dataset.shape}), but "
            f"the model in {run.folder} takes {run.input_dim}; pass --data with a dataset of "
            f"dimension {run.input_dim}"
        )
    model = f"the model in {run.folder}"
    check_same_images(tuple(dataset.shape), run.data.get("shape"), dataset.name, model)
    if len(dataset) == 0:
        raise DataError(f"the {split} split of {dataset.name} is empty; choose another --split")
    return dataset


def _recorded_standardizer(run: Run) -> Any:
    """The train-split standardization the run recorded for its table, or None: what the model
    was trained on, which every split of its file (``all`` too, read when the file has changed
    since) is standardized by."""
    from torchlvm.data.table_schema import TableSchema

    table = TableSchema.from_dict(run.data.get("table"))
    return None if table is None else table.standardizer


def _moved_to(run: Run, name: str) -> tuple[Run, Any]:
    """``run`` reading its data from file ``name`` where its recorded file is gone and ``name``
    holds the data it was trained on (:func:`~torchlvm.data.fingerprint.repoint`: then its
    splits, seed and options are the run's), else ``run`` as it is (``name`` is other data,
    read as such)."""
    from torchlvm.data.fingerprint import repoint
    from torchlvm.data.registry import is_file_name

    if not is_file_name(name) or not os.path.isfile(name):
        return run, run.data.get("name")
    try:
        moved = replace(run, data=repoint(run.data, name, run.folder))
    except TorchLVMError:
        return run, run.data.get("name")
    return moved, moved.data.get("name")


_TRAINING_FIX = "; pass --allow-missing"  # the data layer's fix, for train and fit only


def _missing_for(error: DataError, run: Run, name: str, command: str | None) -> DataError:
    """``error`` as is, or, where it refuses missing values with train's --allow-missing and
    ``command`` takes no such flag, the same refusal with the fixes that exist there."""
    said, fix, _ = str(getattr(error, "on_command_line", error)).partition(_TRAINING_FIX)
    if command is None or not fix:
        return error
    return DataError(
        f"{said}; {command} reads complete rows: fill the missing values in first, or score "
        f"the rows on their observed values with 'torchlvm score {quoted(str(run.folder))} "
        f"--data {quoted(str(name))} --out scores.csv'"
    )


def _check_same_reading(run: Run, name: str, reading: int, given: str | None = None) -> None:
    """Refuse a run trained on an image file ``name`` that torchlvm now reads otherwise than
    under the run's ``reading``: its model learned the earlier values, and would be scored,
    sampled and shown on other data, its own file's or another (``given``: the data it was
    given instead) read as torchlvm reads image files now."""
    from torchlvm.data.pixels import earlier_reading
    from torchlvm.data.registry import is_file_name
    from torchlvm.run.layout import free_sibling

    before = earlier_reading(name, reading) if is_file_name(name) else None
    if before is None:
        return
    verb = "fit" if run.model_type == "ppca" else "train"  # a PPCA is fitted, not trained
    raise DataError(
        f"{run.folder} was trained when torchlvm read {name} with {before}, so its model "
        f"learned other values than {'the file gives' if given is None else 'image files give'} "
        f"now{'' if given is None else f' (as {given} would)'}; train it again: torchlvm {verb} "
        f"{run.model_type} --data {quoted(name)} --out {quoted(free_sibling(run.folder))} (its "
        "other options are in config.json's 'cli' section)"
    )


def streams(run: Run) -> bool:
    """Whether the run was trained on a file it streamed (``--mmap``)."""
    return bool((run.data.get("options") or {}).get("mmap"))


def model_view(dataset: Any, run: Run, seed: int, rows: Any = None) -> Tensor:
    """The data ``(N, D)`` as the model sees it, in the model's dtype: one seeded Bernoulli draw
    under the ``"dynamic"`` protocol (as evaluation uses), the data itself otherwise; with
    ``rows`` (a slice or positions), those rows only (of a streamed split, only they are read:
    each row's own draw, :meth:`~torchlvm.data.memmap.MemmapDataset.fixed_binarized`)."""
    view = dataset.fixed_binarized(seed)
    return (view if rows is None else view[rows]).to(run.dtype)


def model_batches(
    dataset: Any, run: Run, seed: int, *, batch: int = BATCH
) -> Iterator[tuple[Tensor, Tensor | None, Tensor | None]]:
    """The rows of ``dataset`` as the model sees them (:func:`model_view`), ``batch`` at a time
    in order: ``(x, y, c)``, x ``(B, D)`` in the model's dtype, y ``(B,)`` labels or None, and
    c ``(B, C)`` their condition (:func:`conditions`) or None, each on the model's device. A
    streamed split is read a batch at a time, so memory holds a batch, not the split."""
    view = dataset.fixed_binarized(seed)
    y_all = dataset.y
    for start in range(0, len(dataset), batch):
        x = view[start : start + batch].to(run.dtype)  # (B, D)
        y = None if y_all is None else y_all[start : start + batch]
        c = conditions(run, x, y, dataset)
        yield (
            x.to(run.device), None if y is None else y.to(run.device),
            None if c is None else c.to(run.device),
        )  # fmt: skip


def protocol_note(dataset: Any, seed: int) -> str:
    """How the data were prepared, for the printed summary."""
    note = f"binarize={dataset.binarize}"
    if dataset.binarize == "dynamic":
        note += f", one Bernoulli draw with seed {seed}"
    return note


def image_shape(
    run: Run, dataset: Any | None = None, *, rows: str | None = None
) -> tuple[int, ...]:
    """The per-example image shape ``(C, H, W)`` for figures.

    Taken from ``dataset`` when it holds images, else the run's data section, else the model's
    config (flat rows of the run's images are drawn in its shape). ``rows``:
    how the command writes rows instead (the fix named when the data are not images).

    Raises:
        ConfigError: if the data are not images (a per-example shape of one axis).
    """
    shape = None if dataset is None else tuple(dataset.shape)
    if shape is None or len(shape) == 1:  # rows of the run's images: drawn in its shape
        recorded = run.data.get("shape") or getattr(run.model.config, "image_shape", None)
        shape = tuple(recorded) if recorded else shape
    if shape is None:
        raise ConfigError(
            f"{run.folder}/config.json records no image shape; pass --data NAME so that the "
            "image size can be read from the data"
        )
    if len(shape) not in (2, 3) or math.prod(shape) != run.input_dim:
        from torchlvm.data.pixels import flattened_images

        raise ConfigError(
            f"the data are not images (per-example shape {shape}), so they cannot be drawn as a "
            f"grid of pictures; {rows or 'this command needs a run trained on images'}"
            f"{flattened_images(shape)}"
        )
    return shape


def needs_shape_from_data(run: Run) -> bool:
    """Whether the run folder lacks the image shape (a ``fit`` run records only the name)."""
    return not (run.data.get("shape") or getattr(run.model.config, "image_shape", None))


# -- conditions ------------------------------------------------------------------------------


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
        from torchlvm.data.files import labels_fix

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
    labels: list[int] = []
    for i, value in enumerate(values):
        if value == "all":
            labels.extend(range(classes))
        elif value in names:
            labels.append(names.index(value))
        elif value.lstrip("-").isdigit() and _numbered(run):
            label = int(value)
            if not 0 <= label < classes:
                raise ConfigError(f"{flag} {value} is out of range; {_valid(run)}")
            labels.append(label)
        else:
            folded = _named(names, value)
            if folded is None:
                _unknown_class(run, flag, value, " ".join(values[i : i + 2]))
            labels.append(folded)
    return labels


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
    numbers are only sorted positions (:func:`_numbered`); else the integers."""
    import numpy as np

    if _numbered(run):
        return y.numpy()
    return np.asarray(run.class_names)[y.numpy()]


def _named(names: Sequence[str], value: str) -> int | None:
    """The index of the one class name equal to ``value`` but for case, else None."""
    folded = [i for i, name in enumerate(names) if name.casefold() == value.casefold()]
    return folded[0] if len(folded) == 1 else None


def _unknown_class(run: Run, flag: str, value: str, joined: str) -> NoReturn:
    """Refuse ``value``; where it and the next value (``joined``) are a class name with a space
    that the shell split, name that name as one argument."""
    if joined != value and _named(run.class_names or [], joined) is not None:
        raise ConfigError(
            f"{flag} {value!r} is not a known class, but {joined!r} is: a name with a space is "
            f"one argument, {flag} {quoted(joined)}"
        )
    raise ConfigError(f"{flag} {value!r} is not a known class; {_valid(run)}")


def _valid(run: Run) -> str:
    """What :func:`parse_labels` takes, for its refusals (one wording for every one: userE)."""
    return f"valid labels are {valid_labels(run)}, or 'all'"


def label_name(run: Run, label: int) -> str:
    """The class name of ``label`` when the run has names, else the label as text."""
    names = run.class_names
    return names[label] if names and label < len(names) else str(label)


def in_batches(fn: Any, *tensors: Tensor | None, device: torch.device | str) -> Tensor:
    """``fn`` applied to ``BATCH`` rows at a time, moved to ``device`` (the model's; None passes
    through), its results concatenated on the CPU."""
    n = next(t for t in tensors if t is not None).shape[0]
    parts = []
    with torch.no_grad():
        for start in range(0, n, BATCH):
            rows = [None if t is None else t[start : start + BATCH].to(device) for t in tensors]
            parts.append(fn(*rows).cpu())
    return torch.cat(parts)
