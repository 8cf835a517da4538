"""A run resumed in place: adoption of an interrupted new run, and the lock a resume holds.

Adoption (:func:`adopt_interrupted`): a staging folder (:mod:`torchlvm.run.publish`) whose
process was killed after an epoch finished (SIGKILL, power loss) is recognized by its marker and
moved into place for ``--resume``. :func:`resuming` and :func:`held_for_resume` hold the run's
lock while it trains on, and refuse to end quietly where it was moved meanwhile.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from torchlvm.errors import ConfigError, RunDirectoryError, TorchLVMError
from torchlvm.run.commit import recover
from torchlvm.run.interrupted import resume_hint
from torchlvm.run.layout import STAGE_MARKER_NAME, RunLayout, stage_path
from torchlvm.run.lock import RunLock, acquire, command_line, held_here
from torchlvm.run.publish import marker_target


def adopt_interrupted(out: Path, command: str | None = None) -> Path | None:
    """Move into ``out`` the staging folder of a new run into ``out`` that was killed after an
    epoch finished, so that ``--resume`` continues it. Returns the adopted folder, or None.

    Raises:
        RunBusyError: if the process building that run is alive.
    """
    folder = stage_path(out)
    if marker_target(folder) != Path(os.path.abspath(out)).name:
        return None
    if not RunLayout(folder).last_checkpoint.is_file():
        return None
    if out.is_symlink() or (out.exists() and (not out.is_dir() or os.listdir(out))):
        return None
    with acquire(folder, command or command_line(), what=str(out)) as lock:
        try:
            os.replace(folder, out)
        except OSError as err:
            if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            return None
        lock.moved(out)
        (out / STAGE_MARKER_NAME).unlink(missing_ok=True)
    return folder


@contextmanager
def held_for_resume(out: Path, command: str) -> Iterator[None]:
    """Hold the lock of the run in ``out`` (``command``: what this process does, for the lock
    file) while it is resumed, and first finish a publish of its model and config that a kill
    left half done (:func:`~torchlvm.run.commit.recover`), so that the resume reads the run's
    last pair. Where this process holds the lock already (``train --resume`` took it through
    :func:`resuming` before calling ``fit``), the block just runs.

    Raises:
        RunBusyError: if another process trains (or evaluates) the run.
        RunDirectoryError: after the block, where the run was moved meanwhile
            (:func:`_check_not_moved`).
    """
    if held_here(out):
        yield
        return
    with acquire(out, command, what=str(out)) as lock:
        recover(out)
        yield
        _check_not_moved(out, lock)


@contextmanager
def resuming(
    out: Path, command: str | None = None, *, epochs: int | None = None, resume: str | None = None
) -> Iterator[None]:
    """Hold the lock of the run in ``out`` while it is resumed (to ``epochs`` in all, for the
    message of a Ctrl-C: its ``config.json`` may still hold the epochs of an earlier end;
    ``resume``: this command without ``--epochs``, which that message names).

    Raises:
        RunBusyError: if another process trains it.
        KeyboardInterrupt: on Ctrl-C, saying what stays and the command that continues.
    """
    with held_for_resume(out, command or command_line()):
        try:
            yield
        except KeyboardInterrupt as err:
            if str(err):
                raise
            raise type(err)(  # (a SIGTERM's Terminated stays one: exit 143, not 130)
                f"the checkpoints of the finished epochs stay in {RunLayout(out).checkpoints}; "
                f"{resume_hint(out, out, epochs, command=resume)}"
            ) from None


def _check_not_moved(out: Path, lock: RunLock) -> None:
    """Refuse to end a resume quietly where the run was moved while it trained (``mv RUN NEW``):
    training goes on by path, so the epochs after the move made a new run in ``out``.

    Raises:
        RunDirectoryError: naming both folders.
    """
    moved_to = lock.now_at()
    if moved_to is not None:
        lock.moved(moved_to)  # (its release removes the lock file there)
        raise RunDirectoryError(
            f"{out} was moved to {moved_to} while it trained: the epochs trained "
            f"after the move made a new run in {out} (its model, metrics.csv and checkpoints), "
            f"and {moved_to} holds the run as it was at the move; keep the one you want"
        )


def check_model_is_runs(folder: Path, model: Any) -> None:
    """Refuse to resume the run in ``folder`` with ``model`` where its type or settings are not
    those the run's record holds (userY #8: ``fit(VAE(VAEConfig(..., hidden=(64,))), ...,
    resume=True)`` on a run of hidden 400 blamed the run's last checkpoint, and offered to copy
    another over it, which failed the same way, or to train the run again).

    A model of the protocol's methods alone, not torchlvm's, is left to the objective's check,
    which names how to train it (readI I2: model_record's AttributeError came first).

    Raises:
        ConfigError: naming the settings that differ, the run's and the model's.
    """
    from torchlvm.models.base import model_record
    from torchlvm.models.config import config_from_dict, config_to_dict
    from torchlvm.run.record import read_record, record_path

    if not (hasattr(type(model), "from_config") and hasattr(model, "fitted_config")):
        return
    given = model_record(model)
    try:
        recorded = read_record(folder)
    except TorchLVMError:  # (a damaged record: named where it is read)
        return
    runs = recorded.get("model_type")
    if runs == given["model_type"]:
        try:
            theirs = config_to_dict(config_from_dict(type(model.fitted_config), recorded["model"]))
        except (TorchLVMError, KeyError):
            return
        differ = [k for k in theirs if theirs[k] != given["model"].get(k)]
        if not differ:
            return
        said, yours = (_settings(differ, of) for of in (theirs, given["model"]))
        what = f"was trained with {said}, and the model given has {yours}"
    else:
        what = f"trains a model of type {runs!r}, and the model given is of type "
        what += repr(given["model_type"])
    raise ConfigError(
        f"the run in {folder} {what}; resume it with a model built with the run's settings "
        f"(the 'model' of {record_path(folder)})"
    )


def _settings(names: list[str], config: dict[str, Any]) -> str:
    """``hidden=(400,), latent_dim=8``: the first settings ``names`` of ``config`` (a record's
    lists as the tuples a config is built with)."""
    shown = {k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}
    return ", ".join(f"{k}={shown.get(k)!r}" for k in names[:4])
