"""One writer per run: the lock file a training (or evaluating) process holds in its run (or
staging) folder.

The lock is the file ``.torchlvm.lock`` (:data:`torchlvm.run.layout.LOCK_NAME`), created with
``O_CREAT | O_EXCL`` so that of two processes exactly one creates it. It holds the owner's pid,
host name, command, start time and what it does to the run (``"trained"``, ``"evaluated"``), as
JSON, for the messages of everyone else, and the lock file's own device and inode: on its host, a
copy of the file (a run folder copied while it was held) is not the holder's lock, and is stale.
While the owner lives it also holds an advisory ``flock`` on the file (POSIX), which the kernel
drops when the process dies, however it dies.

A lock is *stale*, and is taken over, when nobody holds its ``flock`` and, on this host, either
its holder saw its ``flock`` hold when it took the lock (a file system that keeps flocks: then a
free flock says the holder died, whatever process has its pid since, as pid 1 in every container
does: userO #3), or the process it names is not alive (a SIGKILL, a power loss). A lock naming
another host, or a live process known by its pid alone, is respected, its message naming the
lock file to delete if no such process runs. Readers (``evaluate``, ``report``, ...) call
:func:`check_not_busy` first, so that they do not read the weights of a run that is being
trained. ``evaluate`` holds the lock while it
writes ``metrics.json`` and ``figures/``, so that a second one cannot interleave its files with
the first's; it changes no weights, so a reader of the model alone is not kept waiting.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlvm._liveness import alive, flocked
from torchlvm._os_errors import reworded, unwritable
from torchlvm._shell import quoted
from torchlvm.errors import RunBusyError

try:
    import fcntl
except ImportError:  # Windows: no flock; the pid in the file decides, and a live one is respected
    fcntl = None  # type: ignore[assignment]
from torchlvm.run.layout import LOCK_NAME, stage_path

TRAINED = "trained"
"""What a training (or fitting) process does to the run it locks: it writes the model."""
EVALUATED = "evaluated"
"""What ``evaluate`` does: it writes ``metrics.json`` and ``figures/``, not the model."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its file says (pid 0 when the file is unreadable)."""

    pid: int
    host: str
    command: str
    started: str
    doing: str = TRAINED  # what the holder does to the run, for the messages
    file: tuple[int, int] | None = None  # (device, inode) of the lock file its holder wrote
    flocks: bool = False  # its holder's flock was seen to hold (a file system that keeps them)

    @property
    def here(self) -> bool:
        """Whether the holder runs on this host."""
        return self.host == socket.gethostname()

    def describe(self) -> str:
        """E.g. ``"pid 4242"``, ``"pid 4242 on host gpu7"``; for an evaluation, with its
        command, ``"pid 4242 (torchlvm gaps)"``: ``evaluate``, ``gaps``, ``compare`` and the
        commands that write to a run's record all hold it as :data:`EVALUATED`."""
        if self.pid <= 0:
            return "another process"
        who = f"pid {self.pid}" if self.here else f"pid {self.pid} on host {self.host}"
        words = self.command.split(maxsplit=2)
        if self.doing != EVALUATED or len(words) < 2 or words[0] != "torchlvm":
            return who
        return who if words[1].startswith("-") else f"{who} (torchlvm {words[1]})"


def lock_path(folder: str | os.PathLike[str]) -> Path:
    """The lock file of a run (or staging) folder."""
    return Path(folder) / LOCK_NAME


def read_holder(path: Path) -> Holder | None:
    """The holder named in the lock file ``path``; None if there is no such file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        text = ""
    try:
        data = json.loads(text)
        fields = (int(data["pid"]), str(data["host"]), str(data["command"]), str(data["started"]))
        doing = str(data.get("doing", TRAINED))  # (a lock written before evaluate took one)
        file = data.get("file")  # (absent from a lock written before it was recorded)
        file = (int(file[0]), int(file[1])) if isinstance(file, list) and len(file) == 2 else None
    except (ValueError, KeyError, TypeError, AttributeError):  # being written, or damaged
        return Holder(0, "", "", "")
    return Holder(*fields, doing=doing, file=file, flocks=data.get("flock") is True)


def holder_if_live(folder: str | os.PathLike[str], *, ignore_self: bool = False) -> Holder | None:
    """The live holder of ``folder``'s lock, or None if it is unlocked or its lock is stale.

    With ``ignore_self``, a lock this process holds counts as unlocked (a process that reads a
    run it trains itself does not wait for itself).
    """
    path = lock_path(folder)
    holder = read_holder(path)
    if holder is None:
        return None
    if ignore_self and holder.here and holder.pid == os.getpid():
        return None
    if flocked(path):
        return _named(path, holder)
    if holder.pid <= 0:  # an unreadable file whose writer is gone, or is writing it right now
        return holder if _young(path) else None
    if holder.here and holder.file is not None and holder.file != _identity(path):
        return None  # a copy of another run's lock (the folder was copied while it was held)
    if holder.here and holder.flocks:  # it held a flock that worked, and nobody holds it now:
        return None  # its holder is gone, whatever process has its pid since (userO #3)
    return holder if not holder.here or alive(holder.pid) else None


def _identity(path: Path) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path`` (a rename keeps them, a copy does not)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


def _named(path: Path, holder: Holder) -> Holder:
    """``holder``, read again for up to a second while its file is still being written."""
    for _ in range(20):
        if holder.pid > 0:
            break
        time.sleep(0.05)
        holder = read_holder(path) or holder
    return holder


def _young(path: Path, seconds: float = 10.0) -> bool:
    try:
        return time.time() - path.stat().st_mtime < seconds
    except OSError:
        return False


_HELD: weakref.WeakSet[RunLock] = weakref.WeakSet()
"""The locks this process holds."""


def held_here(folder: str | os.PathLike[str]) -> bool:
    """Whether this process holds the lock of ``folder`` (a command that took it before calling
    code that would take it again: ``train --resume`` before ``fit``)."""
    return any(lock.holds(folder) for lock in list(_HELD))


def check_still_held(folder: str | os.PathLike[str]) -> None:
    """Refuse to write into ``folder`` where this process took its lock under that path and
    the lock file there is not the one it holds: the folder was moved, or replaced by another
    run, while the command ran (userV #4: ``mv runs/cur runs/old && cp -a runs/B runs/cur``
    during an evaluation wrote its numbers into B's metrics.json, stamped with B's weights;
    a folder moved away was made again, holding only metrics.json). Where this process took
    no lock under that path, nothing is checked.

    Raises:
        RunDirectoryError: naming the folder.
    """
    from torchlvm.errors import RunDirectoryError

    taken = [lock for lock in list(_HELD) if lock._fd is not None and lock.folder == Path(folder)]
    if taken and not any(lock.holds(folder) for lock in taken):
        raise RunDirectoryError(
            f"{folder} is no longer the run this command read: it was moved or replaced while "
            "the command ran (the lock this command holds is not in it); nothing was written "
            "there, so run the command again on the run you mean"
        )


class RunLock:
    """The lock of one run folder, held by this process until :meth:`release`.

    Use :func:`acquire` (or ``with acquire(...)``) to get one.
    """

    def __init__(self, folder: Path, fd: int) -> None:
        self.folder = folder
        self._fd: int | None = fd
        _HELD.add(self)

    def holds(self, folder: str | os.PathLike[str]) -> bool:
        """Whether this is the lock of ``folder`` (its lock file, whatever the path's spelling)
        and is still held."""
        try:
            return self._fd is not None and os.path.samestat(
                os.fstat(self._fd), os.stat(lock_path(folder))
            )
        except OSError:
            return False

    @property
    def path(self) -> Path:
        return lock_path(self.folder)

    def now_at(self) -> Path | None:
        """The folder the lock file is in now, where the locked folder was moved (or renamed)
        by someone else meanwhile; None where it was not moved, or where this system cannot
        say (it reads Linux's ``/proc/self/fd``)."""
        if self._fd is None or self.holds(self.folder):
            return None
        try:
            path = os.readlink(f"/proc/self/fd/{self._fd}")
        except OSError:
            return None
        return None if path.endswith(" (deleted)") else Path(path).parent

    def moved(self, folder: Path) -> None:
        """Record that the locked folder was renamed to ``folder`` (the lock file went along)."""
        self.folder = Path(folder)

    def release(self) -> None:
        """Remove the lock file (if it is still ours) and drop the ``flock``; idempotent."""
        if self._fd is None:
            return
        try:
            if os.path.samestat(os.fstat(self._fd), os.stat(self.path)):
                self.path.unlink()
        except OSError:
            pass  # the folder was removed or moved on: nothing of ours is left to remove
        finally:
            os.close(self._fd)
            self._fd = None
            _HELD.discard(self)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def acquire(
    folder: str | os.PathLike[str],
    command: str,
    *,
    what: str | None = None,
    doing: str = TRAINED,
) -> RunLock:
    """Lock ``folder`` (which must exist) for this process, taking over a stale lock.

    Args:
        folder: the run folder, or the staging folder of a new run.
        command: what this process does, e.g. ``"torchlvm train vae"``; written for others.
        what: the folder as the user named it, for the message (default ``folder``).
        doing: :data:`TRAINED` (the model is written) or :data:`EVALUATED`; written for others.

    Raises:
        RunBusyError: if a live process holds the lock; the message names its pid and what it
            does.
        OSError: if the folder cannot be written (a read-only file system, permissions): the
            message names a copy of the run as the place to work (:func:`_unwritable`).
    """
    folder = Path(folder)
    for _ in range(5):  # a takeover can race with another process's release: look again
        try:
            fd = _create(lock_path(folder))
            if fd is None:
                fd = _take_over(folder, what or str(folder))
        except OSError as err:
            raise _unwritable(err, what or str(folder)) from None
        if fd is not None:
            lock = RunLock(folder, fd)
            try:
                _write_holder(fd, command, doing, lock_path(folder))
            except BaseException as err:
                lock.release()  # (a full disk, say): leave no lock that names nobody
                if isinstance(err, OSError) and err.filename is None:  # os.write names no file
                    raise reworded(err, lock_path(folder)) from None
                raise
            return lock
    raise RunBusyError(f"{what or folder} is being locked and unlocked by other processes; retry")


def _unwritable(err: OSError, what: str) -> OSError:
    """``err``, a folder's refusal of its lock file, saying what to do where it is the folder's
    (a read-only file system or folder, another user's run): the command writes in the run, so
    it runs on a copy of it, which the user can write."""
    if not unwritable(err):
        return err
    copy = quoted(Path(what).name + "-copy")
    return reworded(
        err,
        err.filename,
        f"this command writes in the run folder {what}; copy the run where you can write, e.g. "
        f"'cp -r {quoted(what)} {copy}', and run the command on the copy",
    )


def _create(path: Path) -> int | None:
    """A new lock file, opened and flocked; None if one exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
    except FileExistsError:
        return None
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # nobody else can have opened it yet
    return fd


def _take_over(folder: Path, what: str) -> int | None:
    """The existing lock file of ``folder``, opened and flocked, if it is stale; None if it went
    away meanwhile (try creating it again).

    Raises:
        RunBusyError: if its holder is alive.
    """
    path = lock_path(folder)
    holder = holder_if_live(folder)
    if holder is not None:
        raise busy_error(what, holder, path)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if not os.path.samestat(os.fstat(fd), os.stat(path)):
            raise FileNotFoundError(path)  # released and replaced between the open and the flock
    except OSError:
        os.close(fd)
        holder = holder_if_live(folder)
        if holder is not None:
            raise busy_error(what, holder, path) from None
        return None
    return fd


def _write_holder(fd: int, command: str, doing: str, path: Path) -> None:
    data = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "doing": doing,
        "file": [os.fstat(fd).st_dev, os.fstat(fd).st_ino],  # a copied lock file is not this one
        # whether this file system keeps our flock (a probe through another open file is
        # refused): then a free flock alone says the holder is gone, its pid reused or not
        "flock": flocked(path),
    }
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, (json.dumps(data) + "\n").encode("utf-8"))
    os.fsync(fd)


def busy_error(what: str, holder: Holder, path: Path) -> RunBusyError:
    """The one-line error for a run that ``holder`` is training (or evaluating); ``path`` is its
    lock file."""
    hint = ""
    if holder.pid <= 0 or not holder.here or not holder.flocks:  # known by its pid alone
        hint = f" (if no such process is running, delete {path})"
    return RunBusyError(
        f"{what} is being {holder.doing} by {holder.describe()}; wait for it to finish{hint}"
    )


def check_not_busy(folder: str | os.PathLike[str], *, model_only: bool = False) -> None:
    """Refuse to read a run that a live process is training (or building, for a new run), or
    evaluating.

    Args:
        model_only: the caller reads the model alone, which an evaluation leaves as it is: a run
            being evaluated is no obstacle then.

    Raises:
        RunBusyError: naming the holding process's pid and what it does.
    """
    folder = Path(folder)
    for locked in (folder, stage_path(folder)):
        holder = holder_if_live(locked, ignore_self=True)
        if holder is not None and not (model_only and holder.doing == EVALUATED):
            raise busy_error(str(folder), holder, lock_path(locked))


def command_line() -> str:
    """This process's command line, for the lock file, each word as the shell reads it back
    (``--out "my run"``: a message offers it to run again, so it is whole, however long)."""
    return " ".join(["torchlvm", *(quoted(word) for word in sys.argv[1:])])
