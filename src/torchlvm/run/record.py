"""The run record: one schema for ``config.json`` and, while training, ``checkpoints/run.json``.

A run record is a JSON object with these sections (the first three rebuild the model)::

    model_type        "ppca", "ae", "vae" or "cvae"
    model             the model's config dataclass, as a dict
    torchlvm_version  the version that wrote it
    training          the TrainConfig, as a dict (absent for ``fit``)
    data              dataset name, data_dir, binarization, split seed, condition, shape, classes
    runtime           world size, devices, strategy, compile
    result            which weights were saved and why (only in config.json, after training)
    cli               the command and options that made the run

``config.json`` is written when the run is finished (with the weights); ``checkpoints/run.json``
holds the same record from the start of training, so that an interrupted run can be resumed.
This module is their one writer (:func:`write_training_record`, :func:`write_finished`) and
reader (:func:`read_record`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torchlvm._files import write_json
from torchlvm._shell import quoted
from torchlvm.errors import DataError, RunDirectoryError
from torchlvm.models.base import model_record, save_weights
from torchlvm.run.layout import RunLayout

SECTIONS: tuple[str, ...] = (
    "model_type",
    "model",
    "torchlvm_version",
    "training",
    "data",
    "runtime",
    "result",
    "cli",
)
"""The top-level keys of a run record, in the order they are written."""


def record_path(folder: str | os.PathLike[str]) -> Path | None:
    """``config.json`` if the run finished, else ``checkpoints/run.json``, else None."""
    layout = RunLayout(Path(folder))
    return next((p for p in (layout.config, layout.run_record) if p.is_file()), None)


def read_record(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The record of the run in ``folder``: ``config.json``, or ``checkpoints/run.json`` while
    the run is being trained or was interrupted.

    Raises:
        RunDirectoryError: if the folder holds neither.
        DataError: if the record is not a JSON object.
    """
    path = record_path(folder)
    if path is None:
        layout = RunLayout(Path(folder))
        raise RunDirectoryError(
            f"{folder} holds no torchlvm run ({layout.config.name} and "
            f"{layout.run_record.relative_to(layout.folder)} are missing); pass a folder "
            "written by 'torchlvm train' or 'torchlvm fit'"
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); {_damaged(folder, path)}") from None
    if not isinstance(record, dict):
        raise DataError(f"{path} is not a JSON object; {_damaged(folder, path)}")
    return record


def _damaged(folder: str | os.PathLike[str], path: Path) -> str:
    """What to do about a damaged record ``path``: a ``config.json`` beside the checkpoints and
    their ``run.json`` is written again by the command that publishes the run from them."""
    from torchlvm.run.publish import finished_epochs

    layout = RunLayout(Path(folder))
    done = finished_epochs(layout.folder) if path == layout.config else None
    try:
        model_type = json.loads(layout.run_record.read_text(encoding="utf-8"))["model_type"]
    except (OSError, ValueError, KeyError, TypeError):
        done = None
    if done is None:
        return "the file is damaged"
    return (
        f"the file is damaged, and the run's checkpoints hold its record: move {path} away, then "
        f"'torchlvm train {model_type} --resume --out {quoted(folder)} --epochs {done}' "
        "publishes the run again"
    )


def ordered(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with its sections in the order of :data:`SECTIONS` (others after them)."""
    known = {key: record[key] for key in SECTIONS if key in record}
    return {**known, **{k: v for k, v in record.items() if k not in known}}


def write_training_record(folder: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Write ``checkpoints/run.json``, the record of a run about to be trained (atomically)."""
    layout = RunLayout(Path(folder))
    layout.checkpoints.mkdir(parents=True, exist_ok=True)
    write_json(layout.run_record, ordered(record))


def write_finished(folder: str | os.PathLike[str], model: Any, record: dict[str, Any]) -> None:
    """Write a finished run: ``model.safetensors`` (``model``'s weights) and ``config.json``
    (``record``, with the sections that rebuild ``model``), put in place as one commit
    (:class:`~torchlvm.run.commit.Staging`): a kill leaves the old pair or the new one.

    Raises:
        NonFiniteError: for weights that are not finite (nothing is written).
    """
    from torchlvm.run.commit import Staging

    layout = RunLayout(Path(folder))
    with Staging(layout.folder) as staging:  # the two files replace a finished run's as one
        save_weights(model, staging.path(layout.weights))
        write_json(staging.path(layout.config), ordered({**record, **model_record(model)}))
        staging.commit()


def record_data(folder: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Replace the ``data`` section of a finished run's ``config.json`` with ``data``, atomically
    (its data file moved and was checked to hold the same data: ``evaluate --data NEW``), so that
    later commands read the file at its new place. The caller holds the run's lock.

    Raises:
        RunDirectoryError: if the run has no ``config.json`` (it is not finished).
    """
    layout = RunLayout(Path(folder))
    if not layout.config.is_file():
        raise RunDirectoryError(f"{folder} holds no finished run ({layout.config} is missing)")
    write_json(layout.config, ordered({**read_record(folder), "data": data}))


def record_file_time(folder: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Record in ``config.json`` the new modification time of the run's data file, whose bytes
    were just hashed and found to be the run's (``data``:
    :func:`~torchlvm.data.fingerprint.check_unchanged`'s record), so that later commands know the
    file by its time again instead of hashing it in full each time (a ``cp``, ``touch`` or
    ``git checkout`` gives a file a new time). Where it cannot be written (:func:`_update_data`)
    the next command hashes the file again, and reads it as this one did.
    """

    def touched(now: dict[str, Any]) -> dict[str, Any] | None:
        kept, file = now.get("file"), data.get("file") or {}
        if now.get("name") != data.get("name") or not isinstance(kept, dict):
            return None  # re-pointed or written again meanwhile: its record is another's
        if kept.get("sha256") != file.get("sha256") or kept.get("bytes") != file.get("bytes"):
            return None
        return {**now, "file": {**kept, "mtime_ns": file.get("mtime_ns")}}

    _update_data(folder, touched)


def record_moved_copy(
    folder: str | os.PathLike[str], data: dict[str, Any], moved: dict[str, Any]
) -> bool:
    """Record in ``config.json`` the folder that holds the run's copy of its dataset read by name
    now that the recorded one does not (``moved``:
    :func:`~torchlvm.data.dataset_copy.moved_record` of the run's record ``data``), so that later
    commands read it there without ``--data-dir``. Returns whether it was written: not where the
    run's record says so already, or names another copy since, or cannot be written
    (:func:`_update_data`)."""
    from torchlvm.data.dataset_copy import KEY

    def repointed(now: dict[str, Any]) -> dict[str, Any] | None:
        if now.get("name") != data.get("name") or now.get(KEY) != data.get(KEY):
            return None  # recorded already, or written again meanwhile
        return {**now, "data_dir": moved.get("data_dir"), KEY: moved[KEY]}

    return _update_data(folder, repointed)


def record_moved_file(
    folder: str | os.PathLike[str], before: dict[str, Any], after: dict[str, Any]
) -> bool:
    """Record in ``config.json`` the run's ``data`` record ``after``, pointed at the new place
    of its data file (checked to hold the same data: :func:`~torchlvm.data.fingerprint.repoint`)
    where the record ``before`` names a file that is gone, so that later commands read it there
    without ``--data``. Returns whether it was written: not where the record is no longer
    ``before`` (re-pointed meanwhile) or cannot be written (:func:`_update_data`)."""
    return _update_data(folder, lambda now: after if now == before else None)


def _update_data(
    folder: str | os.PathLike[str], change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> bool:
    """Replace the ``data`` section of the run's ``config.json`` with ``change(data section)``,
    unless that is None, under the run's lock. Returns whether it was written: nothing is where
    the run is locked by another process, cannot be written (a read-only copy, a full disk) or
    has no ``config.json`` (an unfinished run), or its record is damaged (the command reading it
    says so)."""
    from torchlvm.errors import RunBusyError
    from torchlvm.run.lock import EVALUATED, acquire, command_line, held_here

    layout = RunLayout(Path(folder))
    if not layout.config.is_file():
        return False
    try:
        lock = None if held_here(folder) else acquire(folder, command_line(), doing=EVALUATED)
    except (RunBusyError, OSError):
        return False
    try:
        record = read_record(folder)
        new = change(record.get("data") or {})
        if new is None:
            return False
        write_json(layout.config, ordered({**record, "data": new}))
        return True
    except (OSError, DataError):
        return False
    finally:
        if lock is not None:
            lock.release()
