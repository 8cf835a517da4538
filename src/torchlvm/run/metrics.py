"""A run's ``metrics.json``: several commands write their part, none loses another's.

``torchlvm fit`` writes the first record (exact train and test log-likelihood, noise variance,
fit time); ``torchlvm evaluate`` merges its sections in (:func:`merge_metrics`), replacing only
the keys it owns and leaving every other key as it was. The read-modify-write is atomic
(:mod:`torchlvm._files`): a reader sees the old file or the new one, never a mixture, and a
failure (a full disk) leaves the old file untouched. A ``metrics.json`` that is not a JSON object
is refused with a :class:`~torchlvm.errors.DataError` naming it, never silently replaced.

Each merge stamps the document with the SHA-256 of the ``model.safetensors`` its numbers were
measured on (``meta.weights_sha256``), so that a reader can tell numbers of an earlier model of
the run (before a ``train --resume``) from the current one's (:func:`measured_on_other_weights`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from torchlvm._files import write_json
from torchlvm._nested import lookup
from torchlvm.errors import DataError, TorchLVMError
from torchlvm.run.layout import RunLayout


def read_metrics(folder: str | Path) -> dict[str, Any] | None:
    """The run's ``metrics.json`` as a dict, or None when the run has none.

    Raises:
        DataError: when the file is not UTF-8 JSON holding an object (a damaged file).
        OSError: when it cannot be read (permissions, a folder in its place).
    """
    path = RunLayout(folder).metrics_json
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(
            f"{path} is damaged ({type(err).__name__}: {err}); move it aside (or delete it) "
            "and run the command again"
        ) from None
    if not isinstance(data, dict):
        raise DataError(
            f"{path} holds a JSON {type(data).__name__}, not an object of metrics; move it "
            "aside (or delete it) and run the command again"
        )
    return data


def merge_metrics(
    folder: str | Path,
    updates: Mapping[str, Any],
    *,
    replaces: Iterable[str] = (),
    into: Path | None = None,
) -> dict[str, Any]:
    """Merge ``updates`` into the run's ``metrics.json`` (created if absent), atomically.

    Args:
        folder: the run folder.
        updates: top-level keys to set; each replaces the key of that name whole.
        replaces: keys the writer owns: those not in ``updates`` are removed (a section of an
            earlier evaluation that this one did not compute would describe another protocol).
        into: where to write the merged document instead (a staging name, put in place with
            other files by :class:`torchlvm.run.commit.Staging`).

    Returns:
        The merged document as written.

    Raises:
        DataError: when the existing ``metrics.json`` is damaged (it is left as it was).
        OSError: when the file cannot be written (the old one is left as it was).
        RunDirectoryError: where this process locked ``folder`` and it was moved or replaced
            since (:func:`~torchlvm.run.lock.check_still_held`).
    """
    from torchlvm.run.lock import check_still_held

    check_still_held(folder)  # (the run read is the run written: userV #4)
    merged = read_metrics(folder) or {}
    for key in replaces:
        if key not in updates:
            merged.pop(key, None)
    merged.update(updates)
    digest = weights_digest(folder)
    if digest is not None:
        meta = merged.get("meta")
        merged["meta"] = {**(meta if isinstance(meta, dict) else {}), WEIGHTS_KEY: digest}
    write_json(into or RunLayout(folder).metrics_json, merged)
    return merged


WEIGHTS_KEY = "weights_sha256"
"""The key, in ``metrics.json``'s ``meta`` section, of the weights its numbers were measured on."""


def weights_digest(folder: str | Path) -> str | None:
    """The SHA-256 (hex) of the run's ``model.safetensors``, None when it has none or it cannot
    be read (loading the model names why)."""
    from torchlvm.data.fingerprint import file_sha256

    try:
        return file_sha256(RunLayout(folder).weights)
    except OSError:
        return None


def measured_on_other_weights(folder: str | Path, metrics: Any) -> bool:
    """Whether ``metrics`` (the run's ``metrics.json``) were measured on other weights than the
    run's ``model.safetensors`` now holds (an evaluation before a ``train --resume``); False
    where it does not say (a document written before the stamp)."""
    meta = metrics.get("meta") if isinstance(metrics, dict) else None
    stamp = meta.get(WEIGHTS_KEY) if isinstance(meta, dict) else None
    if not isinstance(stamp, str):
        return False
    now = weights_digest(folder)
    return now is not None and stamp != now  # (no weights to compare: nothing claimed)


def stale_metrics(folder: str | Path) -> str | None:
    """What of the run's evaluation describes other weights than ``model.safetensors`` holds
    (``"metrics.json"`` or ``"metrics.json and the figures it drew"``, after a ``train
    --resume``), or None: none does, there is none, or it cannot be read (evaluate names it)."""
    try:
        metrics = read_metrics(folder)
    except (OSError, TorchLVMError):
        return None
    if not measured_on_other_weights(folder, metrics):
        return None
    drawn = lookup(metrics, "figures", "written")
    return "metrics.json and the figures it drew" if drawn else "metrics.json"


def figures_record(
    drawn: Mapping[str, Any] | None, previous: Mapping[str, Any] | None, folder: str | Path
) -> dict[str, Any] | None:
    """``metrics.json``'s ``figures`` entry of an evaluation, which says which evaluation drew
    each figure in ``figures/``: those it drew (``written``, with ``drawn_at``, the UTC time),
    and in ``earlier`` those an earlier evaluation drew that are still there and that it did not
    redraw (``evaluate --no-figures``, or a figure that failed this time), nothing being deleted.

    Args:
        drawn: the entry of the figures this evaluation drew (``folder``, ``written``,
            ``skipped``); None when it drew none (``--no-figures``).
        previous: the ``metrics.json`` before this evaluation (None when there was none).
        folder: the run folder.

    Returns:
        The entry: ``drawn`` with ``drawn_at`` when it wrote a figure, and ``earlier``, a list of
        ``{"written": [file names], "drawn_by": command, "drawn_at": time}`` (those known), one
        per earlier evaluation, newest first, when there are such figures; None when there is
        nothing to record.
    """
    from datetime import datetime, timezone

    entry = dict(drawn) if drawn is not None else {"folder": "figures", "written": []}
    if entry.get("written"):
        entry["drawn_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    earlier = _earlier_figures(previous, set(entry.get("written") or ()), folder)
    if earlier:
        entry["earlier"] = earlier
    return entry if drawn is not None or earlier else None


def _earlier_figures(
    previous: Mapping[str, Any] | None, redrawn: set[str], folder: str | Path
) -> list[dict[str, Any]]:
    """The earlier evaluations' figures still in ``figures/`` and not in ``redrawn``, grouped by
    the evaluation that drew them (:func:`figures_record`)."""
    entry = previous.get("figures") if isinstance(previous, Mapping) else None
    if not isinstance(entry, dict):
        return []
    protocol = previous.get("protocol") if isinstance(previous, Mapping) else None
    last = {
        "written": entry.get("written"),
        "drawn_by": protocol.get("command") if isinstance(protocol, dict) else None,
        "drawn_at": entry.get("drawn_at"),
    }
    older = entry.get("earlier")
    groups = [last, *(older if isinstance(older, list) else [])]
    figures = RunLayout(folder).figures
    kept = []
    for group in groups:
        names = group.get("written") if isinstance(group, dict) else None
        names = [
            name
            for name in (names if isinstance(names, list) else [])
            if isinstance(name, str) and name not in redrawn and (figures / name).is_file()
        ]
        if names:
            rest = {k: group[k] for k in ("drawn_by", "drawn_at") if group.get(k) is not None}
            kept.append({"written": names, **rest})
    return kept
