"""Several outputs of a command put in place as one: all of the new ones, or all of the old.

A command that writes more than one file (``evaluate``: its figures and ``metrics.json``) first
writes each new file completely under a staging name beside its place, then commits. A
:class:`Staging` does both for a command (``evaluate``, ``gaps``): it names the staging files,
commits them as below, and removes those an error or Ctrl-C left before the commit. Underneath:

- :func:`replaced`: the staged files are renamed onto their places and the block that writes the
  last file (an atomic write of its own) runs; if a rename or the block fails, the files
  replaced are put back and the new ones removed, so the set is the old one;
- :func:`interrupts_held`: Ctrl-C (SIGINT) is held over the commit, a few milliseconds of
  renames and one small write, and delivered when it ends, so that it leaves the new set rather
  than splitting it. Ctrl-C while the files are staged (the long part) stops the command at
  once and leaves the old set.

A process killed outright (SIGKILL, power loss) inside the commit can still leave a mixture; the
files it replaced stay beside their places as ``.NAME.old``.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


class Staging:
    """The new outputs of one command, each written aside at its staging name, then put in place
    together by :meth:`commit`; on leaving the ``with`` block, staging files that were not put
    in place (an error or Ctrl-C while writing them) are removed.

    ``with Staging() as staging:``, write each output to ``staging.path(place)``, then
    ``staging.commit()``.
    """

    def __init__(self) -> None:
        self.moves: dict[Path, Path] = {}  # staging file → its place

    def path(self, place: Path) -> Path:
        """Where to write the new ``place``: its staging name, recorded first so that it is
        removed whatever happens."""
        staged = staging_name(place)
        self.moves[staged] = place
        return staged

    @property
    def places(self) -> list[Path]:
        """The places of the staged files, in the order they were staged."""
        return list(self.moves.values())

    def commit(self) -> None:
        """Put every staged file in place, Ctrl-C held over the renames: the old set or the new
        one (:func:`replaced`, :func:`interrupts_held`)."""
        with interrupts_held(), replaced(self.moves):
            pass

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        for staged in self.moves:
            staged.unlink(missing_ok=True)


def staging_name(path: Path) -> Path:
    """Where the new ``path`` is written before the commit: ``.NAME.new`` beside it."""
    return path.with_name(f".{path.name}.new")


@contextmanager
def replaced(moves: Mapping[Path, Path]) -> Iterator[None]:
    """Rename each staged source onto its destination, then run the block; if a rename or the
    block raises, undo the renames (the destinations are as before) and re-raise. The sources
    are removed in any case.

    Each destination that exists is kept first as ``.NAME.old``, a hard link to its file, so
    that the destination itself is only ever replaced by one atomic rename (a rename that fails
    leaves it as it was); where the file system has no hard links it is renamed there instead.
    A backup that cannot be put back stays where it is.

    Args:
        moves: staged file → its destination, each on the destination's file system.
    """
    changed: list[tuple[Path, Path | None]] = []  # destinations changed, with their backups
    backups: list[Path] = []
    try:
        for src, dst in moves.items():
            backup = _backup(dst)
            if backup is not None:
                backups.append(backup)
                if not os.path.lexists(dst):  # (renamed there: the destination is changed)
                    changed.append((dst, backup))
            os.replace(src, dst)
            if (dst, backup) not in changed:
                changed.append((dst, backup))
        yield
    except BaseException:
        stranded = _undo(changed)  # (kept: nothing of the old set is deleted)
        backups = [backup for backup in backups if backup not in stranded]
        raise
    finally:
        for src in moves:
            src.unlink(missing_ok=True)
        for backup in backups:
            backup.unlink(missing_ok=True)


def _backup(path: Path) -> Path | None:
    """Keep ``path``'s file at ``.NAME.old`` (a hard link, else ``path`` renamed there); None
    when there is no such file."""
    if not os.path.lexists(path):
        return None
    backup = path.with_name(f".{path.name}.old")
    backup.unlink(missing_ok=True)  # (one an interrupted commit left)
    try:
        os.link(path, backup, follow_symlinks=False)
    except OSError:  # a file system without hard links
        os.replace(path, backup)
    return backup


def _undo(changed: list[tuple[Path, Path | None]]) -> list[Path]:
    """Put back each changed destination's backup (remove one that was new), last first; return
    the backups that could not be put back."""
    stranded = []
    for dst, backup in reversed(changed):
        try:
            if backup is not None:
                os.replace(backup, dst)
            else:
                dst.unlink(missing_ok=True)
        except OSError:
            if backup is not None:
                stranded.append(backup)
    return stranded


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) until the block ends, then deliver it to the handler it had: Python's
    raises ``KeyboardInterrupt`` there. For a block of milliseconds only; outside the main
    thread, which alone receives signals, the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:  # (not when the block raised: its error is what the caller sees)
        if callable(previous):
            previous(signal.SIGINT, None)
        elif previous == signal.SIG_DFL:
            signal.raise_signal(signal.SIGINT)
