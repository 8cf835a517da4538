"""The record of the output files torchlvm wrote: what ``--overwrite`` may replace.

The policy (README, "What a command may replace"): ``--overwrite`` replaces an existing file
only where torchlvm wrote it there and it is unchanged since. Any other file (a user's
spreadsheet, another program's output, a file torchlvm wrote that the user then edited, or moved
there, a symbolic link) is refused even with ``--overwrite``; the user moves it away or chooses
another output path.

- :func:`expect`: ``output_file`` marks the file a command is about to write;
- :func:`record`: called where a file is put in place (the rename of
  :func:`torchlvm._files.atomic_path`, those of :func:`torchlvm.run.commit.replaced` and
  :meth:`~torchlvm.run.commit.Staging.commit`), records an expected file;
- :func:`refusal`: why an existing file is not one torchlvm may replace, or None.

The record is a folder, ``$TORCHLVM_WRITTEN`` or ``written/`` in the user cache
(``~/.cache/torchlvm/written``, :func:`torchlvm.data.locate.user_cache_dir`; where that cannot be
written, ``torchlvm-UID/written`` in the temporary folder, :func:`folder`), of one small JSON
entry per file, named by the SHA-256 of its path and holding that path, its size and the SHA-256
of its bytes. Each entry is written atomically on its own, so two commands at once never
corrupt the record (two writing one file: the last rename wins, for the entry as for the file).
The file's identity is its bytes' SHA-256, not its (inode, size, modification time): an edit in
place that keeps the size and sets the time back (``cp --preserve``, ``touch -r``) passes those.
The record stays bounded: each new entry looks at up to :data:`PRUNED_PER_RECORD` others and
removes those whose file is gone or has another size.

A record that cannot be written or read never costs a file: the output is written all the same
(with a warning that ``--overwrite`` will not replace it), and a file whose entry cannot be read
is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sys
import warnings
from pathlib import Path

from torchlvm._files import record_outputs

ENV = "TORCHLVM_WRITTEN"
"""The environment variable that names the record's folder (the test suite points it at a
temporary one)."""
PRUNED_PER_RECORD = 32
"""How many other entries each new one checks for a file gone or changed in size."""

EDITED = "has changed since torchlvm wrote it"
"""What :func:`refusal` says of a recorded file whose bytes are no longer those recorded."""

_EXPECTED: dict[str, tuple[int, int, int] | None] = {}
"""The files this process's commands are about to write (:func:`expect`), each with what was
there when it was checked (:func:`_identity`; None: nothing)."""


def folder() -> Path:
    """The record's folder: ``$TORCHLVM_WRITTEN``, else ``written/`` in the user cache, else,
    where that cannot be written (a container's uid without a home: userV #12), the user's
    :func:`~torchlvm._user_folders.kept_folder` ``written``."""
    from torchlvm._user_folders import can_hold, kept_folder
    from torchlvm.data.locate import user_cache_dir

    named = os.environ.get(ENV)
    if named:
        return Path(named)
    default = user_cache_dir() / "written"
    return default if can_hold(default) else (kept_folder("written") or default)


def _key(path: str | os.PathLike[str]) -> str:
    """``path`` absolute, its folder's links resolved (one file, one entry, however it is named),
    its own name not (a link there is the user's, never resolved to its target)."""
    absolute = os.path.abspath(path)
    return os.path.join(os.path.realpath(os.path.dirname(absolute)), os.path.basename(absolute))


def _entry(key: str) -> Path:
    return folder() / (hashlib.sha256(os.fsencode(key)).hexdigest() + ".json")


def _sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of the bytes at ``path``, hashed each time: not
    :func:`torchlvm.data.fingerprint.file_sha256`, whose cache keyed by modification time and
    size would take an edit in place that keeps both (``touch -r``) for the recorded file within
    one Python session."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _identity(key: str) -> tuple[int, int, int] | None:
    """What is at ``key`` (not following a link): (inode, size, modification time), or None."""
    try:
        stat = os.lstat(key)
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def expect(path: str | os.PathLike[str]) -> None:
    """Mark ``path`` as a file a command is about to write, having checked what is there:
    :func:`check_unchanged` refuses to put the output in place over anything else, and
    :func:`record` records it once it is there."""
    key = _key(path)
    _EXPECTED[key] = _identity(key)


def check_unchanged(path: str | os.PathLike[str]) -> None:
    """Just before an expected output is put in place (renamed onto ``path``): refuse where
    what is there is no longer what the command checked at its start (userF: a file written
    there while ``score`` ran, or a second ``score`` to the same --out, was replaced without a
    word, --overwrite or not). Nothing for a path no command checked (a run's own files).

    Raises:
        RunDirectoryError: naming the file and the fix.
    """
    key = _key(path)
    if key in _EXPECTED and _identity(key) != _EXPECTED[key]:
        from torchlvm.errors import RunDirectoryError

        raise RunDirectoryError(
            f"{path} was written by another program or command while this one ran, so its "
            "output did not replace it; choose another --out, or run the command again"
        )


def record(path: str | os.PathLike[str]) -> None:
    """Record ``path``, just put in place, as written by torchlvm, if a command expected to write
    it (:func:`expect`) or it is recorded already (``evaluate`` redrawing a figure that
    ``sample --out`` wrote); else nothing (a run's own files, a cache). A record that cannot be
    written is a warning, never an error: the file is written."""
    key = _key(path)
    if key not in _EXPECTED and not _entry(key).is_file():
        return
    _EXPECTED.pop(key, None)
    from torchlvm._files import write_json

    try:
        entry = {"path": key, "bytes": os.stat(key).st_size, "sha256": _sha256(key)}
        write_json(_entry(key), entry)
    except OSError as err:
        warnings.warn(
            f"wrote {path}, but could not record it in {folder()} "
            f"({err.strerror or err}), so --overwrite will not replace it; set {ENV} to a "
            "writable folder",
            stacklevel=2,
        )
        return
    _prune(keep=_entry(key))


def _prune(keep: Path) -> None:
    """Remove up to :data:`PRUNED_PER_RECORD` entries, picked at random, whose file is gone or
    has another size than recorded (an entry that cannot be read is left, for :func:`refusal`
    to name)."""
    try:
        names = [e.name for e in os.scandir(keep.parent) if e.name.endswith(".json")]
    except OSError:
        return
    for name in random.sample(names, min(PRUNED_PER_RECORD, len(names))):
        entry = keep.parent / name
        if entry == keep:
            continue
        try:
            known = json.loads(entry.read_text(encoding="utf-8"))
            gone = not os.path.isfile(known["path"]) or os.path.islink(known["path"])
            if gone or os.stat(known["path"]).st_size != known["bytes"]:
                entry.unlink()
        except (OSError, ValueError, KeyError, TypeError):
            continue


def refusal(path: str | os.PathLike[str]) -> str | None:
    """Why the existing file ``path`` is not one torchlvm may replace (the words that follow
    its name in a message), or None where torchlvm wrote it and it is unchanged since."""
    key = _key(path)
    if os.path.islink(key):
        from torchlvm._files import link_target

        return f"is a symbolic link (to {link_target(key)}), which torchlvm did not write"
    if not os.path.isfile(key):
        return "is not a regular file, which torchlvm did not write"
    entry = _entry(key)
    try:
        known = json.loads(entry.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "is not a file torchlvm wrote there (it has no record of it)"
    except (OSError, ValueError) as err:
        why = err.strerror if isinstance(err, OSError) else "not JSON"
        return f"may not be torchlvm's: its record of it, {entry}, cannot be read ({why})"
    if not isinstance(known, dict) or known.get("path") != key:
        return f"may not be torchlvm's: its record of it, {entry}, is not one torchlvm wrote"
    try:
        same = os.stat(key).st_size == known.get("bytes") and _sha256(key) == known.get("sha256")
    except OSError as err:
        return f"cannot be read to compare it with what torchlvm wrote ({err.strerror or err})"
    return None if same else EDITED


def edited(path: str | os.PathLike[str]) -> bool:
    """Whether torchlvm recorded ``path`` and its bytes have changed since (a report the user
    edited): refused even where a command knows the file for its own by its content."""
    return _entry(_key(path)).is_file() and refusal(path) == EDITED


record_outputs(sys.modules[__name__])  # (atomic_path checks and records each expected output)
