"""A run (or export) folder loaded for use: its model and what its record says of its data.

- :func:`load_run`: the model of a run or export folder together with the ``data`` section of
  its record (dataset name, binarization protocol, split seed, condition, image shape, class
  names), after checking that no process is training the run (its weights would be stale); the
  model is put on the device asked for (``--accelerator``), and :meth:`Run.generator` draws
  there.
- :func:`repointed`, :func:`record_repointed`: a run whose data file moved, read there.

Its data split is :mod:`torchlvm.run.split`'s; a CVAE's conditions and class labels are
:mod:`torchlvm.run.labels`'.
"""

from __future__ import annotations

import os
import shlex
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from torchlvm import _device
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import ConfigError, DataError, RunDirectoryError, TorchLVMError
from torchlvm.models.conditions import Condition
from torchlvm.run.labels import labels_array
from torchlvm.run.layout import RunLayout
from torchlvm.run.split import BATCH, load_split, model_batches, streams

__all__ = [  # (the last five re-exported from their modules, where commands import them from here)
    "Run",
    "load_run",
    "record_repointed",
    "repointed",
    "BATCH",
    "labels_array",
    "load_split",
    "model_batches",
    "streams",
]


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
    from torchlvm.data.file_warning import said_at_training
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
    said_at_training(data if isinstance(data, dict) else None)  # (its file's warnings: said)
    _warn_of_unsaved_epochs(folder, record)
    return Run(folder, model, str(record["model_type"]), dict(data or {}))


def _warn_of_unsaved_epochs(folder: Path, record: Any) -> None:
    """Warn where the run's metrics.csv logs more epochs than its saved model was trained for:
    a resume stopped (Ctrl-C) after more epochs, whose model was never published; its curves
    and checkpoints run past the model every command reads (userO #1)."""
    from torchlvm.run.interrupted import resume_command

    result = record.get("result") if isinstance(record, dict) else None
    saved = result.get("epochs") if isinstance(result, dict) else None
    logged = _logged_epochs(RunLayout(folder).metrics_csv)
    if not isinstance(saved, int) or logged is None or logged <= saved:
        return
    warnings.warn(
        f"{folder}: its model was saved after epoch {saved}, but metrics.csv and checkpoints/ "
        f"go on to epoch {logged}: a resume was stopped before it saved its model; "
        f"finish it with '{resume_command(folder, folder)} --epochs {logged}' (or more epochs)",
        stacklevel=3,
    )


def _logged_epochs(path: Path) -> int | None:
    """The epochs a training's metrics.csv logs (its last rows' greatest ``epoch`` + 1), read
    from its end; None where it cannot be read."""
    try:
        with open(path, "rb") as f:
            header = f.readline().decode("utf-8").strip().split(",")
            f.seek(max(0, path.stat().st_size - 4096))
            tail = f.read().decode("utf-8", "replace").splitlines()[1:]
        column = header.index("epoch")
        epochs = [int(row.split(",")[column]) for row in tail if row.split(",")[column].isdigit()]
    except (OSError, ValueError, IndexError):
        return None
    return max(epochs) + 1 if epochs else None


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
    what to tell the user (where the run reads its data now and how to point it back), or None
    when nothing moved. A copy given while the recorded file is still there, unchanged, is read
    by this command alone: the run keeps its file; the file the run was trained on, given, is
    always recorded (the run points back at it)."""
    from torchlvm.data.fingerprint import TRAINED_ON, check_unchanged
    from torchlvm.run.record import record_data

    if after.data == before.data:
        return None
    config = RunLayout(after.folder).config
    if TRAINED_ON not in after.data:  # back at the file it was trained on
        record_data(after.folder, after.data)
        return (
            f"the run's data file is again {after.data['name']}, the file it was trained on "
            f"(it was {before.data.get('name')}); recorded in {config}"
        )
    old = str(before.data.get("name"))
    if os.path.exists(old):
        try:
            check_unchanged(before.data, before.folder)
        except DataError:
            pass  # edited in place since: the copy given holds the run's data, it moves there
        else:
            return None
    record_data(after.folder, after.data)
    return (
        f"the run's data file is now {after.data['name']} (it holds the data of {old}); "
        f"recorded in {config}, so later commands read it there; --data "
        f"{shlex.quote(after.data[TRAINED_ON])} points the run back at the file it was trained "
        "on, while that file holds the run's data"
    )
