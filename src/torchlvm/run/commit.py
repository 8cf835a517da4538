"""Several outputs of a command put in place as one: all of the new ones, or all of the old.

A command that writes more than one file (``evaluate``: its figures and ``metrics.json``;
``gaps``: its figures and ``gaps.json``) first writes each new file completely under a staging
name beside its place (``.NAME.torchlvm-new``), then commits. A :class:`Staging` does both: it
names the staging files, commits them, and removes those an error or Ctrl-C left before the
commit.

The commit, :meth:`Staging.commit`:

1. writes a journal, ``.torchlvm-commit.json`` in the run folder, listing the moves (staging
   file → place), atomically and synced: the commit point. From here on the new set is what the
   folder holds, at once or after a recovery;
2. renames each staging file onto its place. The file a place held is kept first as
   ``.NAME.torchlvm-old``, a hard link (or the place renamed there, on a file system without
   hard links), so that each place is only ever replaced by one atomic rename;
3. syncs the folders, removes the kept files and then the journal.

If a rename fails (a permission, a full disk's metadata), every place is put back as it was,
each new file back at its staging name, and the journal removed: the old set. A process killed
outright (SIGKILL, a power loss) inside the commit leaves the journal: :func:`recover`, which
the next command that locks the run (``evaluate``, ``gaps``) calls first, and ``report`` through
:func:`recover_if_free`, finishes the renames it lists (roll forward, idempotent, so a kill
during the recovery is recovered in turn) and removes what the commit kept. Nothing is deleted
but the replaced old files of a commit that is complete.

:func:`interrupts_held` holds Ctrl-C (SIGINT) and SIGTERM over the commit, a few milliseconds of
renames, and delivers them when the commit ends, so that it leaves the new set. Ctrl-C while the
files are staged (the long part) stops the command at once and leaves the old set.
:func:`replaced` is step 2 alone with its undo, for outputs that are not a run's (``write_npy``).
"""

from __future__ import annotations

import errno
import json
import os
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from torchlvm._files import fsync_folder, write_json
from torchlvm._os_errors import reworded
from torchlvm._terminated import ENDING_SIGNALS
from torchlvm.errors import RunDirectoryError
from torchlvm.run import written
from torchlvm.run.layout import COMMIT_JOURNAL_NAME as JOURNAL_NAME
from torchlvm.run.layout import KEPT_SUFFIX, STAGED_SUFFIX


class Staging:
    """The new outputs of one command in run ``folder``, each written aside at its staging
    name, then put in place together by :meth:`commit`; on leaving the ``with`` block, staging
    files that were not put in place (an error or Ctrl-C while writing them) are removed, with
    the folders made for them (``figures/``) where they are left empty.

    ``with Staging(folder) as staging:``, write each output to ``staging.path(place)`` (a place
    in ``folder`` or below), then ``staging.commit()``.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.moves: dict[Path, Path] = {}  # staging file → its place
        self._journaled = False  # a failed commit left its journal: the staged files stay
        self._committed = False
        self._new_folders: list[Path] = []  # (those a staged file's place lacked, deepest last)

    def path(self, place: Path) -> Path:
        """Where to write the new ``place``: its staging name, recorded first so that it is
        removed whatever happens."""
        staged = staging_name(place)
        self.moves[staged] = place
        missing = [p for p in (place.parent, *place.parent.parents) if not p.exists()][::-1]
        self._new_folders += [p for p in missing if p not in self._new_folders]
        return staged

    @property
    def places(self) -> list[Path]:
        """The places of the staged files, in the order they were staged."""
        return list(self.moves.values())

    def commit(self) -> None:
        """Put every staged file in place (see the module docstring), Ctrl-C held over it: the
        old set or the new one, also when the process is killed."""
        from torchlvm.run.lock import check_still_held

        check_still_held(self.folder)  # (moved or replaced meanwhile: nothing put there)
        journal = self.folder / JOURNAL_NAME
        _check_places(self.moves.values())
        with interrupts_held():
            _write_journal(journal, self.folder, self.moves)  # the commit point
            changed: list[tuple[Path, Path | None]] = []
            try:
                _rename_all(self.moves, changed)
                for folder in {place.parent for place in self.moves.values()}:
                    fsync_folder(folder)
            except BaseException:
                if _undo(changed, self.moves):  # every place as it was
                    journal.unlink(missing_ok=True)
                else:  # the journal stays: the next command finishes the commit
                    self._journaled = True
                raise
            _remove_kept(self.moves.values())
            journal.unlink()
            self._committed = True
        for place in self.moves.values():
            written.record(place)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: object, error: object, trace: object) -> None:
        if not self._journaled:
            for staged in self.moves:
                try:
                    staged.unlink(missing_ok=True)
                except OSError:  # never made: its folder is a file (a user's), or unreadable
                    pass
        if not self._journaled and not self._committed:
            for folder in reversed(self._new_folders):
                try:
                    folder.rmdir()
                except OSError:  # not empty, or never made
                    pass
        if isinstance(error, OSError) and error.filename is not None:  # (a full disk, say)
            named = Path(os.fsdecode(error.filename))
            place = self.moves.get(named)
            if place is not None:  # named as the user knows it, not by its staging name
                in_the_way = _in_the_way(place)
                raise reworded(
                    error, in_the_way or place, _MOVE_IT if in_the_way else None
                ) from None
            if named in {_in_the_way(place) for place in self.moves.values()}:
                raise reworded(error, named, _MOVE_IT) from None  # (a mkdir of it: 'File exists')


_MOVE_IT = "a file of yours stands where the command puts a folder; move or rename it"


_FOLDER_THERE = "a folder of yours stands where the command writes a file; move or rename it"


def _check_places(places: Iterable[Path]) -> None:
    """Refuse, before anything moves, a place that is a folder: keeping it (:func:`_keep`)
    renamed the user's folder to its hidden ``.NAME.torchlvm-old``, put the new file in its
    place, and left a journal that refused every later command on the run (score13's finding:
    a folder of the user's named ``figures/kl_per_dimension.png``).

    Raises:
        OSError: ``Is a directory``, naming the folder and the fix.
    """
    for place in places:
        if place.is_dir() and not place.is_symlink():
            error = IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
            raise reworded(error, place, _FOLDER_THERE)


def _in_the_way(place: Path) -> Path | None:
    """The file that stands where a folder of ``place`` should be (a user's file named
    ``figures``: writing in it fails 'Not a directory', which names the file the user must move
    rather than one inside it that cannot be), or None."""
    return next((p for p in reversed(place.parents) if p.exists() and not p.is_dir()), None)


def staging_name(path: Path) -> Path:
    """Where the new ``path`` is written before the commit: ``.NAME.torchlvm-new`` beside it."""
    return path.with_name(f".{path.name}{STAGED_SUFFIX}")


def kept_name(path: Path) -> Path:
    """Where a commit keeps the file ``path`` held until the commit is complete:
    ``.NAME.torchlvm-old``."""
    return path.with_name(f".{path.name}{KEPT_SUFFIX}")


def recover(folder: Path) -> bool:
    """Finish the commit a killed process left in ``folder`` (its journal): rename each staging
    file it lists that is still there onto its place, then remove the kept old files and the
    journal. The caller holds the run's lock, so that no live commit is under way there.

    Returns:
        Whether there was a commit to finish.

    Raises:
        RunDirectoryError: for a journal that is not one torchlvm wrote (it writes it
            atomically, so it is whole or absent).
        OSError: when a rename fails (the journal stays, for the next try).
    """
    journal = Path(folder) / JOURNAL_NAME
    try:
        text = journal.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    moves = _read_journal(text, journal, Path(folder))
    for src, dst in moves.items():
        if os.path.lexists(src):  # (not renamed before the kill)
            os.replace(src, dst)
    for parent in {dst.parent for dst in moves.values()}:
        fsync_folder(parent)
    _remove_kept(moves.values())
    journal.unlink()
    return True


def recover_if_free(folder: Path) -> None:
    """For a command that reads a run without locking it (``report``): finish a killed commit
    there (:func:`recover`) under the run's lock, if nobody holds it. A process that holds it is
    committing (milliseconds) or recovers first itself; a folder that cannot be locked (read
    only) is read as it is."""
    from torchlvm.errors import RunBusyError
    from torchlvm.run.lock import EVALUATED, acquire, command_line

    if not (Path(folder) / JOURNAL_NAME).exists():
        return
    try:
        with acquire(folder, command_line(), doing=EVALUATED):
            recover(Path(folder))
    except (RunBusyError, PermissionError):
        return


def _write_journal(journal: Path, folder: Path, moves: Mapping[Path, Path]) -> None:
    """The journal of ``moves``, paths relative to ``folder`` (which may be moved later)."""
    entries = [[str(src.relative_to(folder)), str(dst.relative_to(folder))] for src, dst in
               moves.items()]  # fmt: skip
    write_json(journal, {"moves": entries})


def _read_journal(text: str, journal: Path, folder: Path) -> dict[Path, Path]:
    try:
        entries = json.loads(text)["moves"]
        moves = {folder / src: folder / dst for src, dst in entries}
    except (ValueError, KeyError, TypeError):
        moves = None
    if moves is None or any(".." in Path(p).parts for p in (*moves, *moves.values())):
        raise RunDirectoryError(
            f"{journal} is not a commit journal torchlvm wrote; move it out of the folder and "
            "run the command again"
        )
    return moves


def _rename_all(moves: Mapping[Path, Path], changed: list[tuple[Path, Path | None]]) -> None:
    """Rename each staged file onto its place, keeping the file the place held (:func:`_keep`);
    ``changed`` receives each place changed, with its kept file."""
    for src, dst in moves.items():
        written.check_unchanged(dst)  # (an output: still what its command checked at start)
        backup = _keep(dst)
        renamed = backup is not None and not os.path.lexists(dst)  # (no hard link: changed)
        if renamed:
            changed.append((dst, backup))
        os.replace(src, dst)
        if not renamed:
            changed.append((dst, backup))


def _keep(path: Path) -> Path | None:
    """Keep ``path``'s file at ``.NAME.torchlvm-old`` (a hard link, else ``path`` renamed
    there); None when there is no such file."""
    if not os.path.lexists(path):
        return None
    backup = kept_name(path)
    backup.unlink(missing_ok=True)  # (one a completed commit's kill left behind)
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:  # a file system without hard links
        os.replace(path, backup)
    return backup


def _undo(changed: list[tuple[Path, Path | None]], moves: Mapping[Path, Path]) -> bool:
    """Put each changed place back as it was, last first, its new file back at its staging name
    (so that a recovery from a kill meanwhile still finds the whole new set); whether all went
    back. The kept files of the places put back are consumed."""
    staged = {dst: src for src, dst in moves.items()}
    whole = True
    for dst, backup in reversed(changed):
        try:
            if not os.path.lexists(staged[dst]):
                os.replace(dst, staged[dst])
            if backup is not None:
                os.replace(backup, dst)
        except OSError:
            whole = False
    if whole:
        _remove_kept(moves.values())
    return whole


def _remove_kept(places: Iterable[Path]) -> None:
    for place in places:
        kept_name(place).unlink(missing_ok=True)


@contextmanager
def replaced(moves: Mapping[Path, Path]) -> Iterator[None]:
    """Rename each staged source onto its destination, then run the block; if a rename or the
    block raises, undo the renames (the destinations are as before) and re-raise. The sources
    are removed in any case. No journal: for outputs that are not a run's (``write_npy``).

    Args:
        moves: staged file → its destination, each on the destination's file system.
    """
    changed: list[tuple[Path, Path | None]] = []
    whole = True
    try:
        _check_places(moves.values())
        _rename_all(moves, changed)
        yield
    except BaseException:
        whole = _undo(changed, moves)  # (a place that cannot be put back keeps .NAME.torchlvm-old)
        raise
    finally:
        if whole:
            for src in moves:
                src.unlink(missing_ok=True)
            _remove_kept(moves.values())
    for place in moves.values():
        written.record(place)


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C), SIGTERM and SIGHUP until the block ends, then deliver them to the
    handlers they had: Python's raises ``KeyboardInterrupt`` there, the command line's
    :class:`~torchlvm._terminated.Terminated`. For a block of milliseconds only; outside the
    main thread, which alone receives signals, the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, *ENDING_SIGNALS)
    previous = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    # (not when the block raised: its error is what the caller sees)
    for signum in dict.fromkeys(caught):
        handler = previous[signum]
        if callable(handler):
            handler(signum, None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)


def recover_for_reading(folder: Path) -> None:
    """For a command that reads a run's model (``torchlvm.load`` and every command through it):
    finish a killed commit there (:func:`recover_if_free`), and refuse to read a run whose
    commit stays unfinished, whose ``model.safetensors`` and ``config.json`` may not match.

    Raises:
        RunDirectoryError: when the journal stays (another command holds the run, or this
            process may not write there).
    """
    try:
        recover_if_free(folder)
    except OSError:  # a read-only file system (no lock file): refused below, in one line
        pass
    if (Path(folder) / JOURNAL_NAME).exists():
        raise RunDirectoryError(
            f"{folder} holds files that a killed torchlvm command left half replaced "
            f"({JOURNAL_NAME}), and another command holds the run or this one may not write "
            "there; run this command again once that command has ended, or where it may write to "
            f"{folder} (as its owner, on a read-write mount): it finishes the replacement first"
        )
