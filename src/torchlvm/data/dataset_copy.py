"""Which copy of a dataset read by name (MNIST's IDX files, found by searching folders) a run was
trained on, so that later commands read that copy or refuse another.

A dataset read by name is found by a search (``--data-dir``, ``$TORCHLVM_DATA/NAME``, the user
cache, ``/usr/share/datasets``), and MNIST and Fashion-MNIST ship files of the same names and
shapes: a run trained with ``TORCHLVM_DATA`` set, evaluated in a shell without it, read another
``mnist`` from the user cache and wrote −2869 nats into metrics.json where the fit gave 205.8
(userF); ``evaluate --data-dir`` naming another dataset's folder scored a Fashion-MNIST PPCA on
other images (−2913.8 against 215.2). A run records where it found the files and a digest of
their content (:func:`copy_record`); a later command reads that folder while it holds the same
content, and refuses a copy of other content in one line naming both folders
(:func:`own_copy`). A run recorded before this records nothing: its copy is read unchecked, as
before, and each command that reads it says so once (:func:`_unchecked`).

A run's folder gone, ``--data-dir NEW`` holding its copy (checked by content) is where the run
reads it from now: :func:`moved_record` is the run's record pointed there, which the caller
writes into the run (:func:`~torchlvm.run.record.record_moved_copy`), and later reads in the same
process find the copy there too (a command reads several splits, not all given ``data_dir``).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchlvm._shell import quoted
from torchlvm.errors import DataError, DataNotFoundError

KEY = "dataset_files"
"""The key of the record in a run's ``data`` section."""

_CHUNK = 1 << 20

DATA_DIR_COMMANDS = "evaluate, encode, reconstruct, impute or transfer"
"""The commands on a run that take ``--data-dir`` (gaps and score do not), in the refusal of a
run whose folder is gone."""

_found_since: dict[tuple[str, str], str] = {}
"""(recorded folder, digest) -> the ``--data-dir`` found since in this process to hold that copy
while the recorded folder does not (:func:`own_copy`), for :func:`moved_record`."""


def copy_record(name: str, data_dir: str | os.PathLike[str] | None) -> dict[str, Any]:
    """``{"dataset_files": {"folder": ..., "sha256": ...}}`` for a dataset whose files are found
    by name (the folder as an absolute path, and one digest of every file's content, gzipped or
    not); ``{}`` for anything else (a user's file, an embedded dataset, files not found)."""
    found = _found(name, data_dir)
    if found is None:
        return {}
    folder, files = found
    return {KEY: {"folder": folder, "sha256": _content_digest(files)}}


def own_copy(data: Mapping[str, Any], data_dir: str | None, run_folder: Any) -> str | None:
    """The folder a command reads the run's own dataset from: ``data_dir`` when given (checked
    to hold the copy the run was trained on), else the folder the run recorded while it holds
    that copy, else None (the usual search, its result checked the same way).

    Raises:
        DataError: for a copy whose content differs from the one the run recorded, naming both
            folders and the fix.
    """
    recorded = data.get(KEY)
    if not data.get("name"):
        return data_dir
    if not isinstance(recorded, dict):
        _unchecked(str(data["name"]), data_dir, run_folder)
        return data_dir
    name, folder = str(data["name"]), str(recorded.get("folder"))
    since = _found_since.get((folder, str(recorded.get("sha256"))))
    if (
        since is not None
        and (data_dir is None or os.path.abspath(data_dir) == folder)
        and not _holds(name, folder, recorded)
    ):
        data_dir = since  # found there earlier in this process (still checked by content)
    if _gone(name, folder, data_dir):
        raise DataNotFoundError(
            f"the run in {run_folder} was trained on the {name} files in {folder}, which are "
            f"gone; if they moved, pass --data-dir NEW_FOLDER to {DATA_DIR_COMMANDS} (the copy "
            "there is checked by content, and recorded in the run for later commands)"
        )
    own = _found(name, folder) if data_dir is None and os.path.isdir(folder) else None
    found = own or _found(name, data_dir)
    if found is None:
        return data_dir  # not found: loading it says where it looked and how to get it
    if _content_digest(found[1]) == recorded.get("sha256"):
        if data_dir is not None and not _holds(name, folder, recorded):
            _found_since[(folder, str(recorded["sha256"]))] = os.path.abspath(data_dir)
        return folder if own else data_dir
    if found[0] == folder:  # the run's own folder, its files replaced since
        raise DataError(
            f"the files of {name} in {folder} have changed since the run in {run_folder} was "
            "trained on them (their content differs), and its numbers would be of other "
            f"images; {_PUT_BACK}"
        )
    raise DataError(
        f"{name} in {found[0]} is not the copy the run in {run_folder} was trained on (the "
        f"files in {folder}: their content differs), and its numbers would be of other images; "
        + _fix(name, recorded)
    )


def moved_record(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's ``data`` record pointed at the ``--data-dir`` that :func:`own_copy` found, in
    this process, to hold the run's copy while the recorded folder does not (gone, or refilled
    with other files), for the caller to record; None when no such folder was found."""
    recorded = data.get(KEY)
    if not isinstance(recorded, dict) or not data.get("name"):
        return None
    since = _found_since.get((str(recorded.get("folder")), str(recorded.get("sha256"))))
    found = None if since is None else _found(str(data["name"]), since)
    if found is None:
        return None
    return {**data, "data_dir": since, KEY: {**recorded, "folder": found[0]}}


def _holds(name: str, folder: str, recorded: Mapping[str, Any]) -> bool:
    """Whether ``folder`` holds the copy of ``name`` that ``recorded`` names by its digest."""
    there = _found(name, folder)
    return there is not None and _content_digest(there[1]) == recorded.get("sha256")


def _gone(name: str, folder: str, data_dir: str | None) -> bool:
    """Whether the run's copy of ``name``, recorded in ``folder``, is gone while ``data_dir``
    gives no other place to read: none given and the search finds no copy, or the folder the run
    itself recorded as its ``--data-dir`` (the callers pass it when the user gives none)."""
    if _found(name, folder) is not None:
        return False
    if data_dir is None:
        return _found(name, None) is None
    return os.path.abspath(data_dir) == folder


def _unchecked(name: str, data_dir: str | None, run_folder: Any) -> None:
    """Say that the copy of dataset ``name`` found for a run recorded before :data:`KEY` is read
    unchecked: a warning, once per command however many of its steps read the copy (within
    :func:`~torchlvm.data.csv_once.parsed_once`, which the CLI wraps every command in); nothing
    for a user's file, an embedded dataset or files not found (loading them says where it
    looked)."""
    from torchlvm.data.csv_once import kept

    found = _found(name, data_dir)
    if found is None:
        return
    said = (
        f"the run in {run_folder} records no digest of its {name} files (it was trained before "
        f"runs recorded one), so the files in {found[0]} are read unchecked: other images under "
        "the same file names (Fashion-MNIST's are MNIST's) would be read as the run's; no "
        "command adds the digest to an existing run, a run trained again records it"
    )
    kept(Path(found[0]), ("said", said), lambda: warnings.warn(said, stacklevel=5))


_PUT_BACK = "put the run's files back there, or pass --data-dir naming a folder that holds them"


def _fix(name: str, recorded: Mapping[str, Any]) -> str:
    """The fix of another copy than the run's, whose own was in ``recorded``'s folder."""
    folder = str(recorded.get("folder"))
    if not os.path.isdir(folder):
        return f"{folder} is gone: {_PUT_BACK}"
    if not _holds(name, folder, recorded):
        return f"the files in {folder} have changed since: {_PUT_BACK}"
    return f"leave out --data-dir to read that copy, or pass --data-dir {quoted(folder)}"


def _found(name: str, data_dir: Any) -> tuple[str, dict[str, Path]] | None:
    """The folder and files of dataset ``name`` where its registered search finds them."""
    from torchlvm.data.registry import is_file_name, list_datasets

    if is_file_name(name) or name not in list_datasets():
        return None
    from torchlvm.data.registry import get_spec

    spec = get_spec(name)
    if spec.locate is None:
        return None
    found = spec.locate(data_dir)
    if found.files is None or found.location is None:
        return None
    return os.path.abspath(found.location), dict(found.files)


def _content_digest(files: Mapping[str, Path]) -> str:
    """One SHA-256 over the files' contents (each decompressed where gzipped), in name order: a
    copy unpacked with gunzip is the same copy."""
    digest = hashlib.sha256()
    for key in sorted(files):
        path = os.path.abspath(files[key])
        stat = os.stat(path)
        digest.update(f"{key}:{_file_digest(path, stat.st_mtime_ns, stat.st_size)}\n".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=16)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    """The SHA-256 of a file's content, decompressed where it is gzipped (hashed once per
    modification time and size in a process)."""
    digest = hashlib.sha256()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()
