"""A run's data as its model sees it: a split of the run's own dataset (or of ``--data NAME``),
the rows in the model's dtype, and the model applied to them a batch at a time.

- :func:`load_split`: a split of the run's own dataset (or of ``--data NAME``) under the run's
  binarization protocol and recorded ``data_dir``, checked against the model's input size;
  :func:`model_view` gives the data as the model sees it (one seeded Bernoulli draw under
  ``"dynamic"``, as evaluation does), and :func:`model_batches` the same a batch at a time. A
  run trained with ``--mmap`` streams its file (and a ``.npy`` file given to it): a command reads
  the rows it shows, or a batch at a time those it goes through.
- :func:`image_shape`: the per-example image shape that figures draw.
- :func:`in_batches`: a model applied to a few hundred examples at a time on its device, the
  results gathered on the CPU.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from torchlvm._shell import quoted
from torchlvm.errors import ConfigError, DataError, TorchLVMError
from torchlvm.run.labels import conditions

if TYPE_CHECKING:
    from torchlvm.run.loaded import Run

BATCH = 500
"""Examples pushed through a model at a time."""


def load_split(
    run: Run,
    name: str | None,
    split: str,
    *,
    data_dir: str | None = None,
    streamed: bool = False,
    command: str | None = None,
    shape_only: bool = False,
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
        shape_only: the caller reads only the data's shape (sample's image shape of an
            export), so the seed of its splits and its binarization need not be recorded
            (:func:`~torchlvm.data.export_record.check_data_section`).
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
    from torchlvm.data.export_record import check_data_section
    from torchlvm.data.fingerprint import check_present, check_unchanged, holds_run_file
    from torchlvm.data.load import data_reference
    from torchlvm.data.other_size import check_fits
    from torchlvm.data.pixels import READING
    from torchlvm.data.value_range import check_units
    from torchlvm.models.base import check_feature_names
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
        run = follow_moved_file(run, name)  # the run's file at its new place: the run's splits
        own = run.data.get("name")
    name = own if name is None else name
    place = bool(own) and data_reference(name) == data_reference(own)  # either spelling
    same = place or holds_run_file(run.data, name)  # (or a copy of its bytes: readI I1)
    bernoulli = getattr(getattr(run.model, "config", None), "likelihood", None) == "bernoulli"
    if own and not shape_only:  # (an export's section, written by its caller, may lack them)
        check_data_section(run.data, run.folder, split if same else None, bernoulli=bernoulli)
    if place and split != "all":  # its splits are the run's while the file holds its data
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
    if same:
        _record_moved_copy(run)
    if hasattr(dataset, "in_memory") and not streamed:  # a file the run streamed (--mmap)
        dataset = dataset.in_memory()
    if own and int(run.data.get("pixels", 1)) < READING:  # whichever file is given
        _check_same_reading(run, own, int(run.data.get("pixels", 1)), given=None if same else name)
    model = f"the model in {run.folder}"
    trained, given = run.data.get("shape"), str(dataset.name)
    check_fits(given, dataset.shape, trained, run.input_dim, model, own=own or None)
    check_feature_names(run.model, getattr(dataset, "columns", None), given, run.folder)
    if not same and len(dataset):  # a later file: in the units the model learned?
        check_units(dataset, str(dataset.name), run.data, model)
    if len(dataset) == 0:
        raise DataError(f"the {split} split of {dataset.name} is empty; choose another --split")
    return dataset


def _record_moved_copy(run: Run) -> None:
    """Record in the run the ``--data-dir`` that holds its dataset's copy where the folder it
    recorded does not (:func:`~torchlvm.data.dataset_copy.moved_record`), and say so once."""
    from torchlvm.data.dataset_copy import KEY, moved_record
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.record import record_moved_copy

    moved = moved_record(run.data)
    if moved is None or not record_moved_copy(run.folder, run.data, moved):
        return
    warnings.warn(
        f"the run in {run.folder} reads its {run.data['name']} files from {moved['data_dir']} "
        f"now (their content is the run's; {run.data[KEY].get('folder')} no longer holds "
        f"them): recorded in {RunLayout(run.folder).config}, so later commands read them there "
        "without --data-dir",
        stacklevel=3,
    )


def _recorded_standardizer(run: Run) -> Any:
    """The train-split standardization the run recorded for its table, or None: what the model
    was trained on, which every split of its file (``all`` too, read when the file has changed
    since) is standardized by."""
    from torchlvm.data.table_schema import TableSchema

    table = TableSchema.from_dict(run.data.get("table"))
    return None if table is None else table.standardizer


def follow_moved_file(run: Run, name: str | None) -> Run:
    """``run`` reading its data from file ``name`` where its recorded file is gone and ``name``
    holds the data it was trained on (:func:`~torchlvm.data.fingerprint.repoint`: then its
    splits, seed and options are the run's), recorded in its ``config.json`` with a warning
    saying so, so that later commands read it there without ``--data`` (as ``evaluate --data``
    records it, and as a dataset folder's new place is: every command told the user "pass its
    new place with --data FILE" again, run13); else ``run`` as it is (``name`` is other data,
    read as such, or none is given)."""
    from torchlvm.data.fingerprint import repoint
    from torchlvm.data.registry import is_file_name
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.record import record_moved_file

    own = run.data.get("name")
    if name is None or not own or os.path.exists(str(own)):
        return run
    if not is_file_name(name) or not os.path.isfile(name):
        return run
    try:
        moved = replace(run, data=repoint(run.data, name, run.folder))
    except TorchLVMError:
        return run
    if moved.data != run.data and record_moved_file(run.folder, run.data, moved.data):
        warnings.warn(
            f"the run in {run.folder} reads its data from {moved.data['name']} now (it holds "
            f"the data of {own}, which no longer exists): recorded in "
            f"{RunLayout(run.folder).config}, so later commands read it there without --data",
            stacklevel=3,
        )
    return moved


_TRAINING_FIX = "; pass --allow-missing"  # the data layer's fix, for train and fit only


def _missing_for(error: DataError, run: Run, name: str, command: str | None) -> DataError:
    """``error`` as is, or, where it refuses missing values with train's --allow-missing and
    ``command`` takes no such flag, the same refusal with the fixes that exist there."""
    said, fix, _ = str(getattr(error, "on_command_line", error)).partition(_TRAINING_FIX)
    if command is None or not fix:
        return error
    if command == "impute" and str(name).lower().endswith((".npy", ".npz")):  # (userS #6)
        return DataError(f"{said}; {_impute_fills(run, name)}")
    return DataError(
        f"{said}; {command} reads complete rows: fill the missing values in first, or score "
        f"the rows on their observed values with 'torchlvm score {quoted(str(run.folder))} "
        f"--data {quoted(str(name))} --out scores.csv'"
    )


def _impute_fills(run: Run, name: str) -> str:
    """The fix for ``impute --mask`` of an image file ``name`` with missing values: impute
    without --mask fills them (an archive's once saved as an .npy: review15 R7)."""
    from torchlvm.data.save_lines import npz_as_npy

    saved = ""
    if str(name).lower().endswith(".npz"):
        npy, line = npz_as_npy(Path(name))
        name, saved = str(npy), f"save its images as an .npy ({line}) and "
    return (
        "impute --mask hides a part of complete images and fills it; to fill the missing values "
        f"the file holds, {saved}leave out --mask: 'torchlvm impute {quoted(str(run.folder))} "
        f"--data {quoted(str(name))} --out filled.npy'"
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
