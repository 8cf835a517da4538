"""Atomic file writing: a reader never sees a half-written file where a good one was.

Each writer writes to a temporary file in the destination folder, flushes and fsyncs it, then
renames it over the destination (``os.replace`` is atomic on POSIX and Windows). If anything fails
the temporary file is removed and the old destination, if any, is untouched.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # as open() would make it, not mkstemp's 0600
        os.replace(tmp_path, path)
        _fsync_folder(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be fsynced)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        write(tmp)


def json_text(data: Any) -> str:
    """``data`` as indented JSON, the text :func:`write_json` writes (``TypeError`` for a value
    JSON cannot hold)."""
    return json.dumps(data, indent=2, sort_keys=False, allow_nan=True) + "\n"


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    write_text(path, json_text(data))


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` as UTF-8, atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
