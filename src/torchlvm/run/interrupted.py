"""A run whose training was interrupted, named for the commands that read runs.

A new run is trained in its staging folder and renamed into place when it is finished
(:mod:`torchlvm.run.publish`). Killed (SIGKILL, power loss) before that, it leaves no folder
where the user asked for one, only the staging folder beside it; stopped by an error or Ctrl-C
after an epoch finished, it leaves the checkpoints in the folder but no model. A reader
(``evaluate``, ``report``, ...) that found nothing there would say the folder does not exist or
holds no model; :func:`check_finished` says instead what happened and the command that finishes
the run: ``torchlvm train MODEL --resume --out DIR`` once an epoch has finished (with
``--epochs N``, N the epochs it finished, where it stopped), or the command
that made it (which starts it over) when none has.
"""

from __future__ import annotations

import os
from pathlib import Path

from torchlvm._shell import quoted
from torchlvm.errors import RunDirectoryError
from torchlvm.run.layout import RunLayout, is_run, stage_path
from torchlvm.run.lock import check_not_busy, lock_path, read_holder
from torchlvm.run.publish import finished_epochs, marker_target


def _model_type(folder: Path) -> str:
    """The model type the run record in ``folder`` names (``MODEL`` where it is unreadable)."""
    from torchlvm.run.record import read_record

    try:
        return str(read_record(folder)["model_type"])
    except (RunDirectoryError, ValueError, KeyError):
        return "MODEL"


def resume_command(folder: Path, run: Path) -> str:
    """``torchlvm train MODEL --resume --out FOLDER``: the command that continues the run in
    ``run`` (``folder`` or its staging folder), its model type read from its record."""
    return f"torchlvm train {_model_type(run)} --resume --out {quoted(folder)}"


def resume_hint(
    folder: Path, run: Path, epochs: int | None = None, *, command: str | None = None
) -> str:
    """The commands that finish the run in ``run`` (``folder`` or its staging folder): on to the
    epochs it was given (``epochs``, where a resume gave more than its record says), or where it
    stopped (``--epochs`` at the epochs it finished). ``command``: the ``train --resume`` command
    without ``--epochs`` (the train command that was interrupted passes its own, with the options
    of where and how it trains, e.g. ``--devices 2 --quiet``); by default
    ``torchlvm train MODEL --resume --out FOLDER``."""
    command = command or resume_command(folder, run)
    on = (command, "the epochs it was given") if epochs is None else (
        f"{command} --epochs {epochs}", f"{epochs} epochs"
    )  # fmt: skip
    done = finished_epochs(run)
    if done is None:
        return f"finish it with '{on[0]}'"
    return (
        f"finish it with '{on[0]}' (training on to {on[1]}), or where it "
        f"stopped, after {done} epoch{'s' if done != 1 else ''}, with '{command} --epochs {done}'"
    )


def _start_over(folder: Path, stage: Path) -> str:
    """The command that made the run in ``stage``, as its (stale) lock file recorded it."""
    holder = read_holder(lock_path(stage))
    command = "" if holder is None else holder.command
    if not command.startswith("torchlvm ") or command.endswith("..."):  # unknown, or shortened
        # (as lock files written before this version shortened a command past 200 characters)
        command = f"torchlvm train ... --out {quoted(folder)}"
    return f"start it over with the command that made it ('{command}'; it replaces {stage})"


def check_finished(folder: str | os.PathLike[str]) -> None:
    """Refuse to read ``folder`` when it holds, or its staging folder holds, a run whose
    training was interrupted, naming it and the command that finishes it.

    Does nothing for a folder with a ``config.json`` (a finished run or an export) or one that
    never held a run: the reader's own message applies.

    Raises:
        RunBusyError: if a process is training the run (it is not interrupted).
        RunDirectoryError: for an interrupted run.
    """
    folder = Path(folder)
    layout = RunLayout(folder)
    if layout.config.is_file():
        return
    check_not_busy(folder)
    if layout.last_checkpoint.is_file():
        raise RunDirectoryError(
            f"{folder} holds the checkpoints of a run whose training was interrupted, but no "
            f"model yet; {resume_hint(folder, folder)}"
        )
    stage = stage_path(folder)
    taken = folder.exists() and (not folder.is_dir() or any(folder.iterdir()))
    if taken or marker_target(stage) != Path(os.path.abspath(folder)).name:
        return
    if RunLayout(stage).last_checkpoint.is_file():
        raise RunDirectoryError(
            f"the training of {folder} was interrupted after an epoch finished (its checkpoints "
            f"are in {stage}); {resume_hint(folder, stage)}"
        )
    raise RunDirectoryError(
        f"the training of {folder} was interrupted before its first epoch finished, so there "
        f"is nothing to resume; {_start_over(folder, stage)}"
    )


def check_resumable(folder: str | os.PathLike[str]) -> None:
    """Refuse to resume ``folder`` where it holds no run (``train --resume``): a run killed
    before its first epoch finished is named, with the command that starts it over
    (:func:`check_finished`).

    Raises:
        RunBusyError: if a process is building the run.
        RunDirectoryError: where there is no run to resume.
    """
    if is_run(folder):
        return
    check_finished(folder)
    raise RunDirectoryError(
        f"--resume: {folder} holds no run to continue; train it without --resume first"
    )
