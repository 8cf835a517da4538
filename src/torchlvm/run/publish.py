"""Where a new run is written: the overwrite policy, staging, atomic publish and adoption.

Policy (:func:`check_new_target`): a new run goes to a folder that does not exist or is empty.
``--overwrite`` replaces a folder that holds a torchlvm run and nothing else of the user's; any
other non-empty folder is refused, naming what it holds. Nothing of the user's is ever deleted.

Staging (:func:`staged_run`): the run is built in a hidden sibling, ``.NAME.torchlvm-stage``,
which carries a marker file naming its destination and the lock of the process that builds it
(:mod:`torchlvm.run.lock`): a second process that wants the same destination finds the lock and
is refused, even before the destination exists. When everything is written the staging folder is
renamed onto the destination in one step; a run it replaces is first moved aside and removed only
once the new one is in place. A failure leaves the destination as it was.

A run is resumed in place, not staged: :mod:`torchlvm.run.resume`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from torchlvm._files import link_target
from torchlvm._os_errors import reworded
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import NonFiniteError, RunDirectoryError, TorchLVMError
from torchlvm.run.commit import recover
from torchlvm.run.layout import (
    LOCK_NAME,
    STAGE_MARKER_NAME,
    RunLayout,
    foreign_entries,
    is_run,
    stage_path,
    torchlvm_checkpoint,
    trash_prefix,
)
from torchlvm.run.lock import (
    RunLock,
    acquire,
    check_not_busy,
    command_line,
)

NAME_MAX = 255
"""The longest file name, in bytes, of the common file systems (ext4, XFS, APFS, NTFS)."""


def summarize(folder: Path, names: list[str], *, limit: int = 3) -> str:
    """``"a.csv, b/, c.txt and 4 more"``: a few entries of ``folder``, folders marked with /."""
    shown = [f"{n}/" if (folder / n).is_dir() else n for n in sorted(names)[:limit]]
    more = len(names) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


@dataclass(frozen=True)
class Refusals:
    """The messages that refuse a destination holding a run, in the words of a command other
    than ``train`` and ``fit`` (whose flags, --resume and --overwrite, the default ones name).
    ``{out}`` is the destination, ``{stage}`` its staging folder."""

    taken: str  # out holds a run
    interrupted: str  # the staging folder holds the finished epochs of an interrupted run


def check_new_target(
    out: Path, *, overwrite: bool = False, resumable: bool = True, refusals: Refusals | None = None
) -> None:
    """Refuse a destination for a new run that this run may not take.

    Args:
        resumable: whether the command can continue a run (``train --resume``), which the
            message then offers.
        refusals: the messages for a destination that holds a run (default: ``train``'s).

    Raises:
        RunDirectoryError: for a symbolic link, a file, a path inside a file, a run without
            ``overwrite``, a run that also holds the user's files, a non-empty folder that is
            not a run, or the folder the user is working in.
        RunBusyError: if a process is training a run into ``out``.
    """
    if len(os.fsencode(out.name)) > NAME_MAX:
        raise RunDirectoryError(
            f"--out names a folder of {len(os.fsencode(out.name))} bytes, more than the "
            f"{NAME_MAX} a file name may have; choose a shorter name"
        )
    if (home := unexpanded_home(out, "out")) is not None:
        raise home
    if out.is_symlink():
        raise RunDirectoryError(
            f"--out {out} is a symbolic link; pass the folder it points to "
            f"({quoted(link_target(out))}) or another path"
        )
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"--out {out} is a file; pass a folder path")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise RunDirectoryError(
            f"--out {out} lies inside {blocking}, which is a file; pass a folder path"
        )
    check_not_busy(out)  # (a run being built has finished epochs too, but is not interrupted)
    if not overwrite:
        _check_no_interrupted_run(stage_path(out), out, refusals)
    if not out.is_dir():
        return
    entries = sorted(os.listdir(out))
    if entries and is_run(out):
        _check_replaceable(out, overwrite, resumable, refusals)
    elif entries:
        raise RunDirectoryError(
            f"--out {out} is not empty and holds no torchlvm run (it holds "
            f"{summarize(out, entries)}); choose another folder"
        )
    else:  # (the run is renamed onto it: the system refuses that for the working folder)
        _check_not_working_folder(out)


def _check_replaceable(
    out: Path, overwrite: bool, resumable: bool, refusals: Refusals | None
) -> None:
    if not overwrite:
        if refusals is not None:
            raise RunDirectoryError(refusals.taken.format(out=out, stage=stage_path(out)))
        resume = "--resume to continue it, " if resumable else ""
        raise RunDirectoryError(
            f"--out {out} already holds a run; pass {resume}--overwrite to replace it, "
            "or choose another folder"
        )
    foreign = foreign_entries(out)
    if foreign:  # (a run inside it is torchlvm's, but not this run's: userJ #18)
        runs = [n for n in foreign if is_run(out / n)]
        others = [n for n in foreign if n not in runs]
        held = [f"{summarize(out, others)}, which torchlvm did not write"] if others else []
        if runs:
            held.append(f"{summarize(out, runs)}, {'another run' if len(runs) == 1 else 'runs'}")
        raise RunDirectoryError(
            f"--out {out} holds a run and also {', and '.join(held)}; move "
            f"{'them' if len(held) > 1 else 'that'} out of {out}, or choose another folder"
        )
    _check_not_working_folder(out)


def _check_not_working_folder(out: Path) -> None:
    """Refuse ``out`` where it is a folder that a new run, built beside it and renamed onto it,
    cannot replace (the system refuses the rename, EBUSY, after all the work): the folder the
    user works in (or one holding it), or a mount point (a volume mounted for the run)."""
    here = Path(os.path.abspath(os.curdir))
    if here == Path(os.path.abspath(out)) or Path(os.path.abspath(out)) in here.parents:
        raise RunDirectoryError(
            f"--out {out} is the folder you are working in, so it cannot be replaced; "
            "run the command from another folder"
        )
    if os.path.ismount(out):
        raise RunDirectoryError(
            f"--out {out} is a mount point, which a run (built beside it, then renamed into "
            f"place) cannot replace; pass a folder inside it, e.g. --out {quoted(out / 'run')}"
        )


def finished_epochs(run: Path) -> int | None:
    """How many epochs the run in ``run`` finished (its ``last.ckpt``), None if unreadable or
    not torchlvm's (a Lightning checkpoint of the user's own under its name)."""
    last = torchlvm_checkpoint(RunLayout(run).last_checkpoint)
    try:
        return None if last is None else int(last["epoch"]) + 1
    except (KeyError, TypeError, ValueError):  # (a damaged one: resume names it)
        return None


class Staging:
    """A new run being built in its staging folder, held by this process's lock.

    Attributes:
        out: the destination, as the user named it.
        folder: the staging folder, where the run is written.
    """

    def __init__(
        self, out: Path, folder: Path, lock: RunLock, *, overwrite: bool, again: str | None = None
    ) -> None:
        self.out = out
        self.folder = folder
        self.overwrite = overwrite
        self.again = again  # the command that starts this run again, for a message
        self.resume: str | None = None  # the command that resumes it (default: resume_hint's)
        self._lock = lock
        self._old_lock: RunLock | None = None
        self._kept = False

    def publish(self) -> None:
        """Rename the staging folder onto ``out``; a run there is moved aside first and removed
        once the new one is in place (and put back if the rename fails).

        Raises:
            RunDirectoryError: if ``out`` came to hold something it may not replace while the
                run was built; the new run then stays in the staging folder.
            OSError: if the system refuses a rename; the new run then stays in the staging
                folder, which the message names (a finished training is not thrown away).
        """
        out = self.out
        self._check_still_free()
        try:
            self._rename_into_place()
        except OSError as err:
            self._kept = True
            left = f"the finished run was left in {self.folder}; move it where you want it"
            raise reworded(err, out, left) from None
        self._moved_to(out)

    def _rename_into_place(self) -> None:
        out = self.out
        if out.is_dir() and os.listdir(out):
            trash = Path(tempfile.mkdtemp(prefix=trash_prefix(out), dir=out.parent))
            try:
                os.rename(out, trash / "run")
            except OSError:
                os.rmdir(trash)
                raise
            try:
                os.rename(self.folder, out)
            except OSError:
                os.rename(trash / "run", out)
                os.rmdir(trash)
                raise
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(self.folder, out)  # onto nothing, or onto an empty folder

    def _check_still_free(self) -> None:
        out = self.out
        if out.is_symlink() or (out.exists() and not out.is_dir()):
            taken = "it is now a file or a link"
        elif not out.is_dir() or not os.listdir(out):
            return
        elif not is_run(out) or not self.overwrite or foreign_entries(out):
            taken = f"it now holds {summarize(out, sorted(os.listdir(out)))}"
        else:
            return
        self._kept = True
        raise RunDirectoryError(
            f"--out {out} changed while the run was built ({taken}); the new run was left in "
            f"{self.folder}: move it where you want it"
        )

    def keep_partial(self) -> str:
        """After a failed new run: move a resumable run (a finished epoch) to ``out`` when ``out``
        is free, else drop it. Returns what happened, for the message."""
        out = self.out
        last = RunLayout(self.folder).last_checkpoint
        if last.is_file() and not (out.exists() and (not out.is_dir() or os.listdir(out))):
            from torchlvm.run.interrupted import resume_hint  # (it imports this module)

            os.replace(self.folder, out)
            self._moved_to(out)
            return (
                f"the checkpoints of the finished epochs are in {RunLayout(out).checkpoints} "
                f"(no model was saved); {resume_hint(out, out, command=self.resume)}"
            )
        dropped = ""
        if last.is_file() and out.is_dir() and os.listdir(out):  # a run that it was to replace
            done = finished_epochs(self.folder)
            epochs = "" if done is None else f" ({done} finished epoch{'s' * (done != 1)})"
            dropped = f", which keeps its old run; the interrupted new training{epochs} is not kept"
        again = f"; start it again with '{self.again}'" if self.again else ""
        return f"nothing was written to {out}{dropped}{again}"

    def _moved_to(self, out: Path) -> None:
        self._lock.moved(out)
        (out / STAGE_MARKER_NAME).unlink(missing_ok=True)
        self.folder = out

    def close(self) -> None:
        """Remove what is left of the staging folder and release the locks."""
        if self.folder != self.out and self.folder.exists() and not self._kept:
            shutil.rmtree(self.folder, ignore_errors=True)
        self._lock.release()
        if self._old_lock is not None:
            self._old_lock.release()


@contextmanager
def staged_run(
    out: Path,
    *,
    overwrite: bool = False,
    keep_partial: bool = False,
    resumable: bool = True,
    command: str | None = None,
    refusals: Refusals | None = None,
    again: str | None = None,
    resume: str | None = None,
) -> Iterator[Staging]:
    """Build a new run for ``out`` in its staging folder and publish it when the block ends.

    Args:
        out: the destination folder.
        overwrite: replace a run in ``out`` (see :func:`check_new_target`).
        keep_partial: on a failure after an epoch finished (a non-finite loss, Ctrl-C, a full
            disk), keep the checkpoints in ``out`` for ``--resume``; the error says so.
        resumable: see :func:`check_new_target`.
        command: what this process does, for the lock file (default: its command line).
        refusals: see :func:`check_new_target`.
        again: the command that starts this run again, which a failure that keeps nothing names.
        resume: the command that resumes it, without ``--epochs``, which a failure that keeps
            finished epochs names (default: :func:`~torchlvm.run.interrupted.resume_hint`'s).

    Raises:
        RunDirectoryError, RunBusyError: see :func:`check_new_target`; also for a staging
            folder that holds an interrupted run (continue it with --resume, or --overwrite).
    """
    check_new_target(out, overwrite=overwrite, resumable=resumable, refusals=refusals)
    made = [p for p in (out.parent, *out.parent.parents) if not p.exists()]  # (deepest first)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        command = command or command_line()
        staging = _claim(out, overwrite=overwrite, command=command, refusals=refusals)
        staging.again, staging.resume = again, resume
        try:
            if out.is_dir() and os.listdir(out):  # a run to replace: no one may resume it now
                staging._old_lock = acquire(out, command, what=str(out))
                recover(out)  # the old run stays readable meanwhile: finish a killed commit in it
            try:
                yield staging
            except (NonFiniteError, OSError, KeyboardInterrupt) as err:
                if not keep_partial or _ours(err):
                    raise
                raise _with_note(err, staging) from None
            staging.publish()
        finally:
            staging.close()
    except BaseException:  # nothing was written: the folders made for --out go too (review15 R1)
        _remove_empty(made)
        raise


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders``, deepest first, while they are empty (a kept run is in one)."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _ours(err: BaseException) -> bool:
    """Whether ``err`` is a refusal of torchlvm's own that says all there is to say."""
    return isinstance(err, TorchLVMError) and not isinstance(err, NonFiniteError)


def _with_note(err: BaseException, staging: Staging) -> BaseException:
    """``err`` with the staging path replaced by the destination where the file was kept there
    (dropped where it was not: a path that does not exist helps no one), and what was kept."""
    stage, out = str(staging.folder), str(staging.out)
    note = staging.keep_partial()
    if isinstance(err, NonFiniteError):
        return NonFiniteError(f"{str(err).replace(stage, out)}; {note}")
    if isinstance(err, KeyboardInterrupt):
        return type(err)(note)  # (a SIGTERM's Terminated stays one: exit 143, not 130)
    assert isinstance(err, OSError)
    where = str(err.filename) if err.filename else None
    if where is not None and (where + os.sep).startswith(stage + os.sep):
        where = (
            where.replace(stage, out, 1) if os.path.lexists(where.replace(stage, out, 1)) else None
        )
    return reworded(err, where, note)


def _claim(out: Path, *, overwrite: bool, command: str, refusals: Refusals | None) -> Staging:
    """Make (or take over) the staging folder of ``out`` and lock it."""
    folder = stage_path(out)
    try:
        folder.mkdir()
        made = True
    except FileExistsError:
        if folder.is_symlink() or not folder.is_dir():
            raise RunDirectoryError(
                f"{folder} is in the way of the staging folder of {out}; move it away"
            ) from None
        made = False
    except OSError as err:  # (a read-only place): named as the user named it, not our hidden name
        raise reworded(err, out) from None
    try:
        lock = acquire(folder, command, what=str(out))
    except BaseException:
        if made and not any(folder.iterdir()):  # (not when another process's lock is in it)
            folder.rmdir()
        raise
    try:
        _clear_stale(folder, out, overwrite, refusals)
        _write_marker(folder, out)
    except BaseException:
        if made:
            shutil.rmtree(folder, ignore_errors=True)  # while the lock keeps others out
        lock.release()
        raise
    return Staging(out, folder, lock, overwrite=overwrite)


def _clear_stale(folder: Path, out: Path, overwrite: bool, refusals: Refusals | None) -> None:
    """Empty a staging folder left by a dead process, unless it holds finished epochs that the
    user has not asked to discard."""
    if not overwrite:
        _check_no_interrupted_run(folder, out, refusals)
    for name in os.listdir(folder):
        if name != LOCK_NAME:
            path = folder / name
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _check_no_interrupted_run(folder: Path, out: Path, refusals: Refusals | None) -> None:
    """Refuse to start over a staging folder that holds finished epochs of a killed run."""
    if not RunLayout(folder).last_checkpoint.is_file():
        return
    if refusals is not None:
        raise RunDirectoryError(refusals.interrupted.format(out=out, stage=folder))
    from torchlvm.run.interrupted import resume_command  # (it imports this module)

    raise RunDirectoryError(
        f"an interrupted run of {out} is in {folder}; continue it with "
        f"'{resume_command(out, folder)}', or pass --overwrite to discard it and start over"
    )


def _write_marker(folder: Path, out: Path) -> None:
    from torchlvm._files import write_json

    write_json(folder / STAGE_MARKER_NAME, {"target": os.path.abspath(out), "name": out.name})


def marker_target(folder: Path) -> str | None:
    """The destination name a staging folder's marker records, or None if it has no marker."""
    try:
        data = json.loads((folder / STAGE_MARKER_NAME).read_text(encoding="utf-8"))
        return str(data["name"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
