"""The output files of commands: checked before any work is done, written atomically.

The policy: a command writes over an existing file only if it created that file itself (its own
default output, a report it wrote), or torchlvm wrote the file there, unchanged since, and the
user passed ``--overwrite`` (:mod:`torchlvm.run.written`: never a user's file); and never, even
with ``--overwrite``, over a run's own files (its record, weights, metrics and checkpoints),
which only ``train``, ``fit``, ``evaluate`` and ``gaps`` write.

- :func:`output_file`: the file a command is about to write, refused if it has the wrong suffix,
  is a folder or lies inside a file, is a run's own file, or already exists and the user did not
  pass ``--overwrite``.
- :func:`keep`: a file no output replaces (the data file of a run a command loaded).
- :func:`run_file_of`: the run whose own file a path is.
- :func:`torchlvm_figure`: whether a file in a run's ``figures/`` is one torchlvm drew (then
  ``evaluate``, ``sample``, ``reconstruct``, ``gaps``... redraw it freely; any other file there
  is the user's, which ``evaluate`` leaves as it is, the report leaves out, and the others
  replace only with ``--overwrite``).
- :func:`figure_file`: a figure a command draws at its own name in ``figures/``, checked.
- :func:`labels_file`: where the labels go next to an array file.
- :func:`write_npy`: several ``.npy`` files (and figures) written atomically, all of them or none.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import ConfigError, RunDirectoryError
from torchlvm.run import written
from torchlvm.run.layout import (
    CHECKPOINT_DIR,
    CONFIG_NAME,
    FIGURES_DIR,
    GAPS_NAME,
    LOCK_NAME,
    METRICS_CSV_NAME,
    METRICS_JSON_NAME,
    STAGE_MARKER_NAME,
    WEIGHTS_NAME,
    holds_run,
)

RUN_OWN_FILES: frozenset[str] = frozenset(
    {
        CONFIG_NAME,
        WEIGHTS_NAME,
        METRICS_CSV_NAME,
        METRICS_JSON_NAME,
        GAPS_NAME,
        LOCK_NAME,
        STAGE_MARKER_NAME,
    }
)
"""The files of a run folder that no output option may name (``checkpoints/*`` too)."""


_KEPT: dict[str, str] = {}
"""Files this process reads and no output may replace, even with ``--overwrite`` (the data file
of a run it loaded: :func:`keep`), each with what it is."""
_KEPT_BYTES: dict[tuple[int, str], str] = {}
"""The (size, SHA-256) of the kept files' contents as their runs recorded them, each with what it
is: a copy or a moved file of a run's data is kept wherever it now lies."""


def keep(
    path: str | os.PathLike[str] | None, what: str, record: Mapping[str, Any] | None = None
) -> None:
    """Mark ``path`` (when it is a file) as one that :func:`output_file` refuses to replace, even
    with ``--overwrite``: ``what`` it is, for the message (``the data file the run in R was
    trained on``). :func:`~torchlvm.run.loaded.load_run` keeps the data file of each run it
    loads, so that no command that loads a run writes over the file it was trained on (a
    ``sample --out`` naming it left 3 rows of a 500-row table, and the run unusable). With the
    run's ``record`` of the file (``{"sha256", "bytes"}``), any file of those bytes is kept too:
    the file moved (review9: ``mv d/w.csv d/w2.csv`` then ``sample --out d/w2.csv
    --overwrite``), or a copy of it."""
    if path is not None and os.path.isfile(path):
        _KEPT[os.path.abspath(path)] = what
    if record and isinstance(record.get("sha256"), str) and isinstance(record.get("bytes"), int):
        _KEPT_BYTES[(record["bytes"], record["sha256"])] = what


def _kept_as(out: Path) -> str | None:
    """What ``out`` is, where it is one of the kept files (:func:`keep`) or holds a kept file's
    recorded bytes (hashed only where its size is one of theirs), else None."""
    kept = next((what for kept, what in _KEPT.items() if _same_file(out, kept)), None)
    if kept is not None or not _KEPT_BYTES:
        return kept
    from torchlvm.data.fingerprint import file_sha256

    try:
        size = out.stat().st_size
        if not out.is_file() or all(size != known for known, _ in _KEPT_BYTES):
            return None
        return _KEPT_BYTES.get((size, file_sha256(out)))
    except OSError:
        return None


def run_file_of(path: str | os.PathLike[str]) -> Path | None:
    """The run folder whose own file (record, weights, metrics, checkpoint) ``path`` is, or
    None."""
    path = Path(os.path.abspath(path))
    parent = path.parent
    if path.name in RUN_OWN_FILES and holds_run(parent):
        return parent
    if parent.name == CHECKPOINT_DIR and holds_run(parent.parent):
        return parent.parent
    return None


def torchlvm_figure(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a figure torchlvm drew in a run's ``figures/`` folder: a PNG whose
    ``Software`` text names torchlvm (:func:`torchlvm.plots.drawn_by_torchlvm`), or one that the
    run's ``metrics.json`` lists as drawn by ``evaluate``, this one or an earlier one (figures of
    versions that did not mark their PNGs). False for a file anywhere else."""
    from torchlvm.errors import TorchLVMError
    from torchlvm.plots import drawn_by_torchlvm
    from torchlvm.run.metrics import read_metrics

    path = Path(os.path.abspath(path))
    if path.parent.name != FIGURES_DIR or not holds_run(path.parent.parent):
        return False
    if drawn_by_torchlvm(path):
        return True
    try:
        figures = (read_metrics(path.parent.parent) or {}).get("figures")
    except (TorchLVMError, OSError):
        return False
    if not isinstance(figures, dict):
        return False
    earlier = figures.get("earlier")  # (figures of earlier evaluations still there)
    groups = [figures, *(earlier if isinstance(earlier, list) else [])]
    lists = [group.get("written") for group in groups if isinstance(group, dict)]
    return any(isinstance(written, list) and path.name in written for written in lists)


def figure_file(path: Path, *, overwrite: bool) -> Path:
    """A figure a command draws at its own name in a run's ``figures/`` (``gaps`` its
    ``gaps.png``), checked before any work is done: a figure torchlvm drew there is redrawn
    (:func:`torchlvm_figure`, the check every command makes), the user's own file never, even
    with ``overwrite`` (the one rule of :mod:`torchlvm.run.written`), which only words the
    refusal.

    Raises:
        RunDirectoryError: if ``figures/`` is a file, the path a folder, or a file torchlvm did
            not draw.
    """
    if path.parent.exists() and not path.parent.is_dir():
        raise RunDirectoryError(
            f"{path.parent} is a file, where the run's figures go; move it away"
        )
    if path.is_dir():
        raise RunDirectoryError(f"{path} is a folder, where a figure goes; move it away")
    if os.path.lexists(path) and not torchlvm_figure(path):
        also = " (--overwrite does not replace it)" if overwrite else ""
        raise RunDirectoryError(
            f"{path} is not a figure torchlvm drew, and this command draws one there{also}; "
            "move it away"
        )
    return path


def output_file(
    path: str | os.PathLike[str] | None,
    default: Path,
    *,
    suffix: str | tuple[str, ...],
    flag: str = "--out",
    overwrite: bool | None = False,
    ours: Callable[[Path], bool] | None = None,
    reads: str | os.PathLike[str] | None = None,
) -> Path:
    """The file to write: ``path`` (the user's, given by ``flag``) or ``default`` (the command's
    own choice, such as ``compare.md`` in the folder ``--out`` names), checked before any work
    is done.

    Args:
        suffix: the allowed suffix (or suffixes; the first is named in messages).
        overwrite: the command's ``--overwrite``; None for a command without one, whose
            refusal then offers only the fixes it has.
        ours: tells whether an existing file is one this command wrote (replaced freely, but
            for one that torchlvm recorded and the user then edited: :func:`written.edited`).
        reads: the file the command reads (its ``--data``), which its output never replaces.

    Raises:
        ConfigError: if the name does not end in ``suffix``.
        RunDirectoryError: if it is a run's own file, the file the command reads or the data
            file of a run the command loaded (even with ``overwrite``), a folder, inside a file,
            or an existing file that is not ours, unless torchlvm wrote it there, unchanged
            since, and ``overwrite`` is True.
    """
    out = default if path is None else Path(path)
    named = str(out) if path is None else f"{flag} {out}"  # (what the user typed, if they did)
    suffixes = (suffix,) if isinstance(suffix, str) else suffix
    _check_not_kept(out, named, flag, reads)
    if path is not None and os.fspath(path) == "-":  # (numpy, matplotlib: a file, not a pipe)
        raise ConfigError(
            f"{flag} - would be standard output, which this command does not write to; pass a "
            f"file path ending in {suffixes[0]}"
        )
    if out.is_dir():  # before the suffix: a folder's name has none
        raise _a_folder(out, path is None, default, suffixes[0], flag)
    if out.suffix.lower() not in suffixes:
        raise ConfigError(f"{flag} must name a {suffixes[0]} file, got {out}")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise RunDirectoryError(
            f"{named} lies inside {blocking}, which is a file; choose another {flag}"
        )
    if (home := unexpanded_home(out, flag.removeprefix("--").replace("-", "_"))) is not None:
        raise home
    if os.path.lexists(out) and not (ours is not None and ours(out) and not written.edited(out)):
        _check_replaceable(out, flag, overwrite)
    _check_writable_place(out, flag, own=path is None)
    _name_killed_writes(out)
    written.expect(out)  # (recorded where it is put in place: run/written.py)
    return out


def _name_killed_writes(out: Path) -> None:
    """Remove the temporary files a killed write of ``out`` surely left beside it (or of its
    staged name, :func:`write_npy`'s), and warn of each of their names that a write killed may
    have left and no process writes now, to delete by hand: a ``sample --out x.png`` or ``encode
    --out z.csv`` killed while writing left its temporary file (``.x.png.``, then mkstemp's eight
    random characters, ``.tmp``) for good (userO #4). One written on another host is named with
    it: a folder shared by hosts may hold its write under way."""
    import warnings

    from torchlvm._files import killed_writes, written_elsewhere
    from torchlvm.run.commit import staging_name

    for left in [*killed_writes(out), *killed_writes(staging_name(out))]:
        host = written_elsewhere(left)
        by, where = ("", "") if host is None else (f" on host {host}", f" on {host}")
        warnings.warn(
            f"{left} may be the temporary file of a write of {out.name}{by} that was killed "
            f"(torchlvm writes a file under such a name, then renames it); delete it if no "
            f"command{where} is writing {out} now",
            stacklevel=3,
        )


def _check_writable_place(out: Path, flag: str, *, own: bool) -> None:
    """Refuse ``out`` where its folder (or the nearest one there is) may not be written, before
    any work (userF: ``sample RUN`` on a read-only file system sampled, then failed 'Read-only
    file system: RUN/figures' naming no fix): the fix is ``flag``, where the command chose the
    place (``own``: its default, in the run folder) as where the user named it. A full disk and
    the like are left to the write itself, which names them.

    Raises:
        OSError: the system's refusal (its errno), naming the folder and the fix.
    """
    from torchlvm._files import check_writable
    from torchlvm._os_errors import reworded, unwritable

    folder = next((p for p in out.parents if p.is_dir()), None)
    try:
        if folder is not None:
            check_writable(folder)
    except OSError as err:
        if not unwritable(err):
            return
        fix = (
            f"this command writes {out.name} there by default; pass {flag} to write it where "
            "you can"
            if own
            else f"choose another {flag}, where you can write"
        )
        raise reworded(err, folder, fix) from None


def _check_replaceable(out: Path, flag: str, overwrite: bool | None) -> None:
    """Refuse the existing file ``out`` unless torchlvm wrote it there, unchanged since
    (:func:`torchlvm.run.written.refusal`), and ``overwrite``: the user's own file is never
    replaced, even with ``--overwrite``, whose offer would be a fix that fails."""
    why = written.refusal(out)
    if overwrite is None:
        why = why if why == written.EDITED else "is not a file this command wrote"
        raise RunDirectoryError(
            f"{out} already exists and {why}; move it away, or choose another {flag}"
        )
    if why is not None:
        also = ", so --overwrite does not replace it" if overwrite else ""
        raise RunDirectoryError(
            f"{out} already exists and {why}{also}; move it away, or choose another {flag}"
        )
    if not overwrite:
        raise RunDirectoryError(
            f"{out} already exists; pass --overwrite to replace it, or choose another {flag}"
        )


def _check_not_kept(out: Path, named: str, flag: str, reads: str | os.PathLike[str] | None) -> None:
    """Refuse ``out`` where it is a file no option replaces, even with ``--overwrite``: a run's
    own file, the ``--data`` file the command reads, or a run's data file (:func:`keep`)."""
    run = run_file_of(out)
    if run is not None:
        raise RunDirectoryError(
            f"{named} is a file of the run in {run}, which no command but training "
            f"replaces; choose another {flag}"
        )
    if reads is not None and _same_file(out, reads):
        raise RunDirectoryError(
            f"{named} is the --data file this command reads, which its output would "
            f"replace (even with --overwrite); choose another {flag}"
        )
    if (what := _kept_as(out)) is not None:
        raise RunDirectoryError(
            f"{named} is {what}, which no command's output replaces (even with --overwrite); "
            f"choose another {flag}"
        )


def _a_folder(out: Path, own: bool, default: Path, suffix: str, flag: str) -> RunDirectoryError:
    """The refusal of ``out``, a folder: where the command chose the name (``own``), a folder
    that takes the place of its file; else the user's folder, with a file path in it."""
    if own:
        return RunDirectoryError(
            f"{out} is a folder, where this command writes its {out.name}; move it away, or "
            f"choose another {flag}"
        )
    named = default != out  # (a command without a default file names no example)
    inside = f"such as {quoted(out / (default.stem + suffix))}" if named else "in it"
    return RunDirectoryError(
        f"{flag} {out} is a folder; pass a file path ending in {suffix}, {inside}"
    )


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one existing file (through links and relative names)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def labels_file(path: Path) -> Path:
    """``z.npy`` → ``z.labels.npy``: where labels go next to an array file."""
    return path.with_name(path.stem + ".labels.npy")


def write_npy(arrays: dict[Path, np.ndarray], *, figures: dict[Path, Any] | None = None) -> None:
    """Write each array to its ``.npy`` path atomically, and each of ``figures`` (a matplotlib
    figure, closed after) as a PNG at its path; all of them or none are replaced.

    Every file is written and synced under a temporary name first; only then are they renamed
    into place, and if a rename fails the files already replaced are put back as they were.
    """
    from torchlvm._files import atomic_path
    from torchlvm._os_errors import reworded
    from torchlvm.plots import save_figure
    from torchlvm.run.commit import replaced, staging_name

    staged: dict[Path, Path] = {}  # (each named before it is written: an interrupt or error
    try:  # at any point up to the renames leaves no hidden file, userY #9)
        with ExitStack() as stack:
            for path, array in arrays.items():
                staged[staging_name(path)] = path
                tmp = stack.enter_context(atomic_path(staging_name(path), shown=path))
                with open(tmp, "wb") as f:
                    np.save(f, np.ascontiguousarray(array))
            stack.close()  # each is now complete and synced at .NAME.torchlvm-new
        for path, fig in (figures or {}).items():
            staged[staging_name(path)] = path  # (before: a failed write leaves no hidden file)
            try:
                save_figure(fig, staging_name(path))
            except OSError as err:  # (a full disk: named by the file the user asked for)
                raise reworded(err, path) from None
    except BaseException:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    with replaced(staged):
        pass
