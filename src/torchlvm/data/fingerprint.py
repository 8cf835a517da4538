"""What a run records of its data file, so that the file can be moved and the run re-pointed.

A run records its data file by absolute path and, since this module, by its content: the SHA-256
of its bytes and its size (:func:`file_record`). When the file has moved, ``--data NEW`` points
the run at it (:func:`repoint`) if NEW holds the same data: the same bytes where the run recorded
them; for a run recorded before, the same per-example shape, the same train and validation row
counts under the run's seed and options, and for a table the same columns and train-split
standardization. Anything else is refused in one line naming the difference: a run is never
evaluated or resumed on other data than it was trained on. A re-pointed record keeps the place the
run was trained on (:data:`TRAINED_ON`), so that a refusal of its later file names that one too,
and ``--data`` with it points the run back.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shlex
from collections.abc import Mapping
from typing import Any

from torchlvm._shell import quoted
from torchlvm.data.columns import listed
from torchlvm.data.export_record import save_advice
from torchlvm.errors import ConfigError, DataError, DataNotFoundError

CHUNK = 1 << 20  # bytes hashed at a time

TRAINED_ON = "trained_on"
"""The key, in a re-pointed run's ``data`` record, of the file the run was trained on (its path
then); absent while the run reads that file."""


def file_record(name: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"file": {"sha256": hex digest, "bytes": size}}`` for a user's file, else ``{}`` (a
    dataset by name, or a file that cannot be read: loading it says why)."""
    from torchlvm.data.registry import is_file_name

    if not is_file_name(name):
        return {}
    try:
        stat = os.stat(name)
        digest = file_sha256(name)
    except OSError:
        return {}
    return {"file": {"sha256": digest, "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}}


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 (hex) of the file at ``path``, hashed once while its modification time and
    size stay (a run records its data file several times; train --resume, evaluate and report
    each stamp or check a run's weights).

    Raises:
        OSError: where the file cannot be read.
    """
    stat = os.stat(path)
    return _sha256(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    """The SHA-256 of the file at ``path`` (hashed once per modification time and size: a run
    records it several times)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def holds_run_file(data: Mapping[str, Any], name: str | os.PathLike[str] | None) -> bool:
    """Whether file ``name`` is the data file a run's ``data`` record names: that path, however
    spelled, or a copy holding the bytes the run recorded (its size, then its SHA-256). Its
    splits are the run's, by the run's seed and options; another file's are seed 0's (readI I1:
    of ``cp wine.csv copy.csv``, ``encode RUN --data copy.csv --split test`` read seed 0's test
    split, 9 of its 11 rows in a --seed 5 run's train split)."""
    from torchlvm.data.load import data_reference
    from torchlvm.data.registry import is_file_name

    own = data.get("name")
    if not own or name is None:
        return False
    if data_reference(name) == data_reference(own):
        return True
    recorded = data.get("file")
    if not isinstance(recorded, dict) or "sha256" not in recorded or not is_file_name(name):
        return False
    try:
        if os.path.getsize(name) != recorded.get("bytes"):
            return False  # (told apart by its size, without reading it)
        return file_sha256(name) == recorded["sha256"]
    except OSError:
        return False


def located(data: Mapping[str, Any], new: str | None, folder: Any) -> dict[str, Any]:
    """The run's ``data`` record pointed at ``new`` (:func:`repoint`), or when no ``new`` is
    given, as recorded once its file is checked to be there (:func:`check_present`), and either
    way checked to hold what it held (:func:`check_unchanged`; its new modification time where
    only that changed): for ``train --resume``, which reads the run's splits without
    :func:`~torchlvm.run.split.load_split` (the one check of the commands that read a run)."""
    if new is not None:
        data = repoint(data, new, folder)
    else:
        check_present(data, folder)
    return check_unchanged(data, folder) or dict(data)


def check_unchanged(data: Mapping[str, Any], folder: Any) -> dict[str, Any] | None:
    """Refuse a run whose recorded data file was edited in place since it was trained: its
    seeded splits, drawn again over other rows, would put rows the model trained on into the
    test split, and its numbers would be of other data. The file's size tells most edits at
    once; its modification time, where recorded, spares hashing a file untouched since.

    Returns:
        ``data`` with the file's new modification time where only that changed (a ``cp``,
        ``touch`` or ``git checkout``: its bytes were hashed and are the run's), for the caller
        to record so that later commands need not hash the file again; else None.

    Raises:
        DataError: naming the file, how it differs and the two fixes.
    """
    recorded, name = data.get("file"), data.get("name")
    if not isinstance(recorded, dict) or "bytes" not in recorded or not name:
        return  # a dataset by name, or a run recorded before its file's content was
    try:
        stat = os.stat(name)
    except OSError:
        return  # gone or unreadable: check_present and loading it say so
    same_size = stat.st_size == recorded["bytes"]
    if same_size and (stat.st_mtime_ns == recorded.get("mtime_ns") or "sha256" not in recorded):
        return  # untouched since, or nothing more recorded to tell an edit of the same size
    why = _difference(data, str(name)) if same_size else _sizes(stat.st_size, recorded)
    if why is not None and data.get("table") is not None:  # a table says which column
        why = _loaded_difference(data, str(name)) or why
    if why is not None:
        raise _changed(data, str(name), folder, why)
    if not same_size or stat.st_mtime_ns == recorded.get("mtime_ns"):
        return None  # (a run recorded before its content: its rows were compared instead)
    return {**data, "file": {**recorded, "mtime_ns": stat.st_mtime_ns}}


def _changed(data: Mapping[str, Any], name: str, folder: Any, why: str) -> DataError:
    """The refusal of the run's data file ``name``, changed since it was recorded (``why``),
    naming the file the run was trained on where it was re-pointed since."""
    fix = "put back the file the run was trained on, or train a new run on the file as it is now"
    if (original := _original(data)) is not None:
        fix = (
            f"{_back(original[0])}, or train a new run on {name} as it is now"
            if original[1] == "holds"
            else f"put back the file the run was trained on ({original[0]}, {original[1]} "
            "since), or train a new run on the file as it is now"
        )
    since = "was trained on it" if original is None else "recorded it"
    return DataError(
        f"{name} has changed since the run in {folder} {since} ({why}): its splits would now "
        f"hold other rows, the test split some the model trained on; {fix}"
    )


def _sizes(now: int, recorded: Mapping[str, Any]) -> str:
    """The size a file has now against the one its run recorded."""
    return f"it holds {now} bytes; the run recorded {recorded.get('bytes')}"


def check_present(data: Mapping[str, Any], folder: Any) -> None:
    """Refuse a run whose recorded data file is gone, naming the fix (``--data`` its new place).

    Raises:
        DataNotFoundError: when the run was trained on a file that no longer exists there.
    """
    from torchlvm.data.registry import is_file_name

    old = data.get("name")
    if old and is_file_name(old) and os.path.isabs(old) and not os.path.exists(old):
        fix, reads = "if the file moved, pass its new place with --data FILE", "was trained on"
        if (original := _original(data)) is not None:
            reads = "reads its data from"
            fix = (
                f"{_back(original[0])}, or if {old} moved, its new place"
                if original[1] == "holds"
                else f"{fix} (the run was trained on {original[0]}, {original[1]} since)"
            )
        raise DataNotFoundError(f"the run in {folder} {reads} {old}, which no longer exists; {fix}")


def _original(data: Mapping[str, Any]) -> tuple[str, str] | None:
    """For a re-pointed run, the file it was trained on (:data:`TRAINED_ON`) and what became of
    it: ``"holds"`` (still the run's data: ``--data`` with it points the run back), ``"changed"``
    or ``"gone"``; None for a run that reads the file it was trained on."""
    original = data.get(TRAINED_ON)
    if not original:
        return None
    if not os.path.exists(original):
        return str(original), "gone"
    holds = os.path.isfile(original) and _difference(data, str(original)) is None
    return str(original), "holds" if holds else "changed"


def _back(original: str) -> str:
    """The fix that points a re-pointed run back at the file it was trained on."""
    return (  # quoted: a path with a space pasted as it was printed split into words
        f"pass --data {shlex.quote(original)} (the file the run was trained on, which still "
        "holds its data)"
    )


def repoint(data: Mapping[str, Any], new: str, folder: Any) -> dict[str, Any]:
    """The run's ``data`` record pointed at file ``new``, when ``new`` holds the data it was
    trained on (see the module docstring), keeping the place it was trained on
    (:data:`TRAINED_ON`, dropped when ``new`` is that place); unchanged when ``new`` is the
    recorded file (which :func:`check_unchanged` checks, as for a run given no ``--data``).

    Raises:
        ConfigError: when the run was trained on a dataset by name, not a file.
        DataError: when ``new`` holds other data, naming the first difference.
    """
    from torchlvm.data.load import data_reference
    from torchlvm.data.registry import is_file_name, list_datasets, unreadable

    old, path = data.get("name"), data_reference(new)
    if path == old:
        return dict(data)  # (whether it holds what it held: check_unchanged)
    if not old:  # (an export saved without a data section: dropping --data was refused next)
        raise ConfigError(
            f"--data {new}: {folder} records no data it was trained on (its config.json has no "
            f"'data' section), so there is no file to re-point; {save_advice(folder, new, None)}"
            f"; or score the file's rows with torchlvm score {quoted(str(folder))} --data "
            f"{quoted(str(new))} --out scores.csv"
        )
    if not is_file_name(old):
        if str(old).lower() not in list_datasets():  # (an export's data={'name': 'wine'})
            score = f"torchlvm score {quoted(folder)} --data {quoted(new)} --out scores.csv"
            raise ConfigError(
                f"--data {new}: {folder}/config.json records its data as {old!r}, which is "
                f"neither a dataset torchlvm knows ({', '.join(list_datasets())}) nor a file, "
                "so dropping --data cannot read it either; "
                f"{save_advice(folder, 'FILE.csv', None)}, FILE.csv the .npy/.csv of its "
                f"training rows; or score this file's rows with the model ('{score}')"
            )  # (it said "drop --data", then "unknown dataset 'wine'": readB #13)
        raise ConfigError(
            f"--data {new}: the run in {folder} was trained on {old}, not on a file that could "
            "have moved; drop --data"
        )
    if not is_file_name(new):
        raise unreadable(new) or ConfigError(
            f"--data {new} is not a file; pass the new place of the run's data file ({old}), "
            "or drop --data"
        )
    if not _checkable(data):
        raise DataError(
            f"--data {new}: the run in {folder} recorded neither the content nor the size of its "
            f"file, so no other file can be checked against it; put the file back at {old}"
        )
    why = _difference(data, path)
    if why is not None:
        then = old if TRAINED_ON not in data else f"{old}, at first {data[TRAINED_ON]}"
        score = f"torchlvm score {quoted(folder)} --data {quoted(new)} --out scores.csv"
        raise DataError(
            f"--data {new} is not the data the run in {folder} was trained on ({then}): {why}; "
            f"pass that file at its new place, train a new run on this one, or score its rows "
            f"with the run ('{score}')"
        )
    original = data.get(TRAINED_ON, old)
    moved = {key: value for key, value in data.items() if key != TRAINED_ON}
    back = {} if path == original else {TRAINED_ON: original}  # (back where it was trained)
    return {**moved, "name": path, **file_record(path), **back}


def _checkable(data: Mapping[str, Any]) -> bool:
    """Whether the record tells its file from another: its content, or (a run recorded before)
    its rows' shape and count, or a table's train-split standardization."""
    from torchlvm.data.table_schema import TableSchema

    if isinstance(data.get("file"), dict):
        return True
    if data.get("shape") is not None and data.get("num_train") is not None:
        return True
    table = TableSchema.from_dict(data.get("table"))
    return table is not None and table.standardizer is not None


def _difference(data: Mapping[str, Any], path: str) -> str | None:
    """How file ``path`` differs from the recorded data, or None."""
    recorded = data.get("file")
    if isinstance(recorded, dict) and "sha256" in recorded:
        now = file_record(path).get("file")
        if now is None:
            return "it cannot be read"
        if now["sha256"] != recorded["sha256"]:
            return (
                f"its content differs (SHA-256 {now['sha256'][:12]}…, {now['bytes']} bytes; the "
                f"run recorded {recorded['sha256'][:12]}…, {recorded.get('bytes')} bytes)"
            )
        return None
    return _loaded_difference(data, path)  # a run recorded before its file's content was


def _loaded_difference(data: Mapping[str, Any], path: str) -> str | None:
    """How ``path``, loaded as the run loaded its file, differs from what the run recorded."""
    from torchlvm.data import load_dataset
    from torchlvm.data.csv_once import parsed_once
    from torchlvm.data.table_schema import TableSchema

    then = TableSchema.from_dict(data.get("table"))
    options = dict(data.get("options") or {})
    seed = int(data.get("seed", 0))
    try:
        with parsed_once():
            train = load_dataset(path, "train", seed=seed, **options)
            val = load_dataset(path, "val", seed=seed, **options)
    except DataError as error:  # its problem, not its fix: the options are the run's
        return f"read as the run read its file, {str(error).split('; ')[0]}"
    shape = data.get("shape")
    if shape is not None and list(train.shape) != list(shape):
        return f"its rows have shape {tuple(train.shape)}, the run's {tuple(shape)}"
    for split, n in (("train", len(train)), ("val", len(val))):
        recorded = data.get(f"num_{split}")
        if recorded is not None and recorded != n:
            return f"its {split} split has {n} rows, the run's had {recorded}"
    if then is None:
        return None
    if tuple(train.columns or ()) != then.columns:
        return _columns_differ(tuple(train.columns or ()), then.columns)
    a, b = then.standardizer, train.standardizer
    if (a is None) != (b is None):
        return "it is not standardized as the run's file was"
    j = None if a is None or b is None else a.first_difference(b)
    if j is None:
        return None
    return f"column {then.columns[j]!r} has another train-split mean or scale"


def _columns_differ(now: tuple[str, ...], then: tuple[str, ...]) -> str:
    """How a file's columns ``now`` differ from the run's ``then``: both lists where they are
    short; else the first column that differs, or those missing and new (a renamed column of a
    300-column table was reported as both full lists, review13 #11)."""
    if len(now) + len(then) <= 12:
        return f"its columns are {', '.join(now)}, the run's {', '.join(then)}"
    if len(now) == len(then):
        differ = [j for j in range(len(now)) if now[j] != then[j]]
        more = f" ({len(differ) - 1} more columns differ)" if len(differ) > 1 else ""
        j = differ[0]
        return f"its column at index {j} is {now[j]!r}, the run's {then[j]!r}{more}"
    known, given = set(then), set(now)  # (a wide table's columns: not a scan per name)
    missing = [c for c in then if c not in given]
    new = [c for c in now if c not in known]
    parts = [f"lacks the run's {listed(missing, 3)}"] if missing else []
    parts += [f"has {listed(new, 3)} the run has not"] if new else []
    return f"it has {len(now)} columns, the run {len(then)}: it " + " and ".join(parts)
