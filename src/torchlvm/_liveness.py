"""Whether the process that left something behind still lives: by its pid (on this host), or by
the advisory ``flock`` it holds on a file (POSIX), which the kernel drops when the process dies,
however it dies (SIGKILL, the out-of-memory killer). The run lock (:mod:`torchlvm.run.lock`) and
the temporary files of atomic writes (:mod:`torchlvm._files`) are told stale by them.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; a pid alone decides, and a live one is respected
    fcntl = None  # type: ignore[assignment]

FLOCKS = fcntl is not None
"""Whether this system has ``flock`` (POSIX)."""


def alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host (assumed, where that cannot be asked
    without side effects: on Windows ``os.kill`` would end it)."""
    if pid <= 0:
        return False
    if os.name == "nt":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def flocked(path: Path) -> bool:
    """Whether some process holds the ``flock`` of ``path`` (False if the file is gone)."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        return err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
    finally:
        os.close(fd)  # closing drops a flock this probe took
    return False


def hold(fd: int) -> None:
    """Take the ``flock`` of the open file ``fd`` for as long as it stays open, where this
    system and file system allow it (else nothing: a reader then goes by the pid alone)."""
    if fcntl is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass
