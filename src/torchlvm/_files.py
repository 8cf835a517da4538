"""Atomic file writing: a reader never sees a half-written file where a good one was.

Each writer writes to a temporary file in the destination folder, flushes and fsyncs it, then
renames it over the destination (``os.replace`` is atomic on POSIX and Windows). If anything fails
the temporary file is removed and the old destination, if any, is untouched.
"""

from __future__ import annotations

import json
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from torchlvm._liveness import FLOCKS, alive, flocked, hold
from torchlvm._os_errors import reworded

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it


@contextmanager
def atomic_path(
    path: str | os.PathLike[str], *, shown: str | os.PathLike[str] | None = None
) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success rename it onto ``path``.

    On a failure the temporary file and any folder created for ``path`` are removed, and an
    ``OSError`` that names no file, or names the temporary one (a full disk, a read-only
    folder), is raised naming ``shown`` (default ``path``): the file the user asked for, not a
    hidden name they never saw.
    """
    path = Path(path)
    made = _make_folders(path.parent)
    tmp_path: Path | None = None
    held: int | None = None  # the temporary file, open and flocked while this process writes it
    try:
        held, tmp = tempfile.mkstemp(prefix=_prefix(path.name), suffix=".tmp", dir=path.parent)
        tmp_path = Path(tmp)
        if FLOCKS:
            hold(held)  # (a later command tells a killed write's file by its free flock)
        else:  # (Windows: an open file cannot be renamed)
            os.close(held)
            held = None
        yield tmp_path
        with open(tmp_path, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # as open() would make it, not mkstemp's 0600
        if _outputs is not None:  # (an output: still what its command checked at its start)
            _outputs.check_unchanged(path)
        os.replace(tmp_path, path)
        fsync_folder(path.parent)
    except OSError as error:
        _clean_up(tmp_path, made)
        from torchlvm.errors import TorchLVMError  # (its own words: the output's place changed)

        if isinstance(error, TorchLVMError) or not _names_a_temporary_file(error, path):
            raise
        raise reworded(error, shown or path) from None  # (numpy's OSError has no strerror)
    except BaseException:
        _clean_up(tmp_path, made)
        raise
    finally:
        if held is not None:
            os.close(held)
    if _outputs is not None:  # (an output a command expected to write: its --overwrite's record)
        _outputs.record(path)


class OutputRecord(Protocol):
    """What :func:`atomic_path` tells of the files it puts in place: the record of a command's
    outputs (:mod:`torchlvm.run.written`, which registers itself with :func:`record_outputs`
    when imported; it is imported before any output is expected, so this low module need not
    import the run package above it)."""

    def check_unchanged(self, path: str | os.PathLike[str]) -> None: ...

    def record(self, path: str | os.PathLike[str]) -> None: ...


_outputs: OutputRecord | None = None


def record_outputs(record: OutputRecord) -> None:
    """Have :func:`atomic_path` check and record each file it puts in place through ``record``."""
    global _outputs
    _outputs = record


TEMPORARY = re.compile(r"\.(?P<name>.+)\.p(?P<pid>\d+)(?:@(?P<host>[^@/]+))?\.[a-z0-9_]{8}\.tmp")
"""The name of :func:`atomic_path`'s temporary file of a file ``name``: the writing process's
pid and host, then ``tempfile.mkstemp``'s eight random characters. What a write killed with
SIGKILL leaves beside ``name``. (No host: a version before it was in the name.)"""
TEMPORARY_BEFORE = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
"""The name of the temporary file of versions before the pid was in it (and of a file whose name
leaves no room for it: :func:`_prefix`)."""


def _prefix(name: str) -> str:
    """The temporary file's name before mkstemp's random part and ``.tmp``: the pid and host in
    it where the name stays within 255 bytes (a folder shared by hosts holds the temporary files
    of each: a pid tells a process of its own host only)."""
    prefix = f".{name}.p{os.getpid()}@{_host()}."
    return prefix if len(os.fsencode(prefix)) + 12 <= 255 else f".{name}."


def _host() -> str:
    """This host's name as a temporary file's name holds it: without '/' and '@'."""
    return socket.gethostname().replace("/", "_").replace("@", "_") or "_"


def written_elsewhere(tmp: str | os.PathLike[str]) -> str | None:
    """The host named in the temporary file ``tmp``'s name (:data:`TEMPORARY`) where it is
    another host's; None where it is this host's or names none."""
    found = TEMPORARY.fullmatch(Path(tmp).name)
    host = None if found is None else found["host"]
    return host if host is not None and host != _host() else None


def temporary_of(entry: str) -> str | None:
    """The file that ``entry``, where it is named as :func:`atomic_path`'s temporary file, was
    being written as; None for another name."""
    found = TEMPORARY.fullmatch(entry) or TEMPORARY_BEFORE.fullmatch(entry)
    return None if found is None else found["name"]


def killed_writes(path: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that writes of ``path`` by :func:`atomic_path`, killed (SIGKILL,
    the out-of-memory killer, a crash), left beside it, where they are surely such: of its
    temporary name with this host and a pid in it, that pid alive in no process here, and its
    flock free. Return the others of its temporary names that no process is writing now (a free
    flock), for the caller to name, never to remove: those of another host (whose pid says
    nothing here, and whose flock a shared file system may not keep: a write under way there),
    of an earlier version (no pid or host in the name), whose pid a process has since, or where
    no flock tells (Windows)."""
    path = Path(path)
    try:
        entries = os.listdir(path.parent)
    except OSError:
        return []
    left = []
    for entry in sorted(entries):
        found, before = TEMPORARY.fullmatch(entry), TEMPORARY_BEFORE.fullmatch(entry)
        pid = int(found["pid"]) if found is not None and found["name"] == path.name else None
        if pid is None and (before is None or before["name"] != path.name):
            continue  # (not a temporary file of path's)
        tmp = path.parent / entry
        if not tmp.is_file() or tmp.is_symlink() or flocked(tmp):  # (a write under way)
            continue
        here = found is not None and found["host"] == _host()
        if pid is not None and here and FLOCKS and pid != os.getpid() and not alive(pid):
            try:
                tmp.unlink()
                continue
            except OSError:  # (a folder it may not write in: named, as the others)
                pass
        left.append(tmp)
    return left


def _names_a_temporary_file(error: OSError, path: Path) -> bool:
    """Whether ``error`` names no file, or a temporary file of :func:`atomic_path` for ``path``."""
    if error.filename is None:
        return True
    name = Path(os.fsdecode(error.filename)).name
    return name.startswith(f".{path.name}.") and name.endswith(".tmp")


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest last."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _clean_up(tmp_path: Path | None, made: list[Path]) -> None:
    """Remove the temporary file and the folders created for it that are still empty."""
    if tmp_path is not None:
        tmp_path.unlink(missing_ok=True)
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:  # not empty (another writer put a file there), or gone already
            return


def fsync_folder(folder: Path) -> None:
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


def check_writable(folder: str | os.PathLike[str]) -> None:
    """Create and remove an empty file in ``folder``: a read-only folder or file system fails
    here, before long work whose results would go there.

    Raises:
        OSError: naming ``folder`` (permission denied, read-only file system, ...).
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=".torchlvm-write-check.", dir=folder)
    except OSError as err:
        raise OSError(err.errno, err.strerror, os.fspath(folder)) from err
    os.close(fd)
    os.unlink(tmp)


def link_target(link: str | os.PathLike[str]) -> str:
    """Where the symbolic link ``link`` points, as a path that works from the working folder
    (relative where it lies under it, else absolute): ``os.readlink`` gives the link's own text,
    relative to the link's folder (userF: ``runs/linked -> ../real_run`` was named
    ``../real_run``, which from the working folder is another folder)."""
    target = os.path.realpath(link)
    shown = os.path.relpath(target)
    return target if shown.startswith(os.pardir) else shown


def unused_name(path: str | os.PathLike[str]) -> str:
    """``path`` where nothing is there yet, else the first of ``STEM-2.SUFFIX``,
    ``STEM-3.SUFFIX``... that is free: the file an offered line (``np.save(...)``) writes, so
    that the line, pasted, never replaces a file of the user's (review13 #27: 'dignan.npy', the
    archive's own stem, was the likeliest name to exist)."""
    given = Path(path)
    if not os.path.lexists(given):
        return str(path)
    suffix = "".join(given.suffixes[-2:]) if given.name.endswith((".csv.gz", ".tsv.gz")) else (
        given.suffix
    )  # fmt: skip
    stem = given.name[: len(given.name) - len(suffix)]
    n = 2
    while os.path.lexists(given.with_name(f"{stem}-{n}{suffix}")):
        n += 1
    return str(given.with_name(f"{stem}-{n}{suffix}"))
