"""Resuming a run trained on a table file: the run's record with its file found again (a moved
file, checked by content), and a refusal where the file changed since training (its columns, or
its train split's standardization), so that ``train --resume`` never continues on other data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def resume_record(out: Path, data: str | None) -> dict[str, Any]:
    """The record of the run in ``out`` to resume, its data file at ``data`` when given (the
    file moved: :func:`~torchlvm.data.fingerprint.repoint` checks it holds the same data).

    Raises:
        DataError: when ``data`` holds other data. DataNotFoundError: when the recorded file
            is gone and no ``data`` is given.
    """
    from torchlvm.data.fingerprint import located
    from torchlvm.training import read_run_record

    record = read_run_record(out)
    return {**record, "data": located(record.get("data") or {}, data, out)}


def check_resume(data: Mapping[str, Any], dm: Any, out: Path) -> None:
    """Refuse to resume a table run on a file that changed (its options are compared with the
    others', :func:`torchlvm.cli._tables.changed_option`).

    Args:
        data: the run's recorded ``data`` section. dm: the data module built from it.
        out: the run folder.

    Raises:
        DataError: when the file's columns or its train split's standardization are not the
            recorded ones (the file was edited since the run was trained).
    """
    if data.get("table") is not None:
        _check_same_table(data, dm, out)


def _check_same_table(data: Mapping[str, Any], dm: Any, out: Path) -> None:
    """The file, read as recorded, must give the recorded columns and standardization."""
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.errors import DataError

    then = TableSchema.from_dict(data["table"])
    now = TableSchema.from_dict(dm.record().get("table"))
    assert then is not None
    fix = "restore it, or train a new run in another folder"
    name = data.get("name")
    if now is None or now.columns != then.columns:
        columns = "none" if now is None else ", ".join(now.columns)
        raise DataError(
            f"--resume: {name} now has the columns {columns}, but the run in {out} was trained "
            f"on {', '.join(then.columns)}; {fix}"
        )
    a, b = then.standardizer, now.standardizer
    if (a is None) != (b is None):
        raise DataError(f"--resume: {name} is not standardized as the run in {out} was; {fix}")
    j = None if a is None or b is None else a.first_difference(b)
    if j is not None:
        raise DataError(
            f"--resume: {name} has changed since the run in {out} was trained: column "
            f"{then.columns[j]!r} has mean {b.mean[j]:.6g} and scale {b.scale[j]:.6g} in the "
            f"train split, the run recorded {a.mean[j]:.6g} and {a.scale[j]:.6g}; {fix}"
        )
