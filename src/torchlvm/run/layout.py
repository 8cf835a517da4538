"""The layout of a run folder: the one place that names its files.

A run folder written by ``torchlvm train`` or ``torchlvm fit`` holds::

    config.json            the run record: model type and config, training, data, runtime, cli
    model.safetensors      the weights (the best validation epoch for ``train``)
    metrics.csv            one row per training epoch
    metrics.json           evaluation records (``fit`` writes the first; ``evaluate`` merges in)
    checkpoints/last.ckpt  the last finished epoch, for ``--resume``
    checkpoints/best-epochNNN.ckpt, checkpoints/run.json (the record, before training ends)
    figures/*.png, report.html, gaps.json, latents.npy (the outputs of later commands)
    .torchlvm.lock         present while one process trains the run (see torchlvm.run.lock)

A new run is built in ``.NAME.torchlvm-stage`` beside its destination NAME (see
:func:`stage_path`), which holds ``.torchlvm-stage.json`` (the marker naming NAME) until it is
renamed into place.

Nothing else in the package spells these names.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torchlvm._files import temporary_of
from torchlvm.models.base import CONFIG_NAME, WEIGHTS_NAME

METRICS_CSV_NAME = "metrics.csv"
METRICS_JSON_NAME = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
LAST_NAME = "last.ckpt"
RUN_RECORD_NAME = "run.json"
FIGURES_DIR = "figures"
REPORT_NAME = "report.html"
GAPS_NAME = "gaps.json"
LOCK_NAME = ".torchlvm.lock"
STAGE_MARKER_NAME = ".torchlvm-stage.json"
STAGE_SUFFIX = ".torchlvm-stage"
COMMIT_JOURNAL_NAME = ".torchlvm-commit.json"  # (run.commit's journal of a commit under way)
# run.commit's names beside a place: the new file before the commit, the old one during it.
# They name torchlvm so that no file of the user's (a `.z.npy.old` of their own) is taken for one.
STAGED_SUFFIX = ".torchlvm-new"
KEPT_SUFFIX = ".torchlvm-old"

RUN_MARKERS: tuple[str, ...] = (CONFIG_NAME, WEIGHTS_NAME, METRICS_CSV_NAME, CHECKPOINT_DIR)
"""Entries whose presence makes a folder a (possibly unfinished) torchlvm run."""

TRAINING_MARKERS: tuple[str, ...] = tuple(
    name for name in RUN_MARKERS if name not in (CONFIG_NAME, WEIGHTS_NAME)
)
"""The run markers that only training writes (an exported model has the other two)."""

RUN_ENTRIES: frozenset[str] = frozenset(
    {
        *RUN_MARKERS,
        METRICS_JSON_NAME,
        FIGURES_DIR,
        REPORT_NAME,
        GAPS_NAME,
        LOCK_NAME,
        STAGE_MARKER_NAME,
        COMMIT_JOURNAL_NAME,  # and the records' staged and kept files (run.commit's names):
        *(
            f".{name}{end}"
            for name in (METRICS_JSON_NAME, GAPS_NAME, WEIGHTS_NAME, CONFIG_NAME)
            for end in (STAGED_SUFFIX, KEPT_SUFFIX)
        ),
        "tensorboard",
        "latents.npy",
        "latents.labels.npy",
    }
)
"""Every entry torchlvm itself writes into a run folder (``train``, ``fit`` and the default
outputs of the commands that read a run)."""


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder."""

    folder: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "folder", Path(self.folder))

    @property
    def config(self) -> Path:
        return self.folder / CONFIG_NAME

    @property
    def weights(self) -> Path:
        return self.folder / WEIGHTS_NAME

    @property
    def metrics_csv(self) -> Path:
        return self.folder / METRICS_CSV_NAME

    @property
    def metrics_json(self) -> Path:
        return self.folder / METRICS_JSON_NAME

    @property
    def checkpoints(self) -> Path:
        return self.folder / CHECKPOINT_DIR

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoints / LAST_NAME

    @property
    def run_record(self) -> Path:
        return self.checkpoints / RUN_RECORD_NAME

    @property
    def figures(self) -> Path:
        return self.folder / FIGURES_DIR

    @property
    def report(self) -> Path:
        return self.folder / REPORT_NAME

    @property
    def gaps(self) -> Path:
        return self.folder / GAPS_NAME

    @property
    def lock(self) -> Path:
        return self.folder / LOCK_NAME

    def figure(self, name: str) -> Path:
        """``figures/NAME``."""
        return self.figures / name


def holds_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds entries of a run's names (:data:`RUN_MARKERS`), which may be the
    user's own (a Hugging Face model's config.json): where no new run may be written.
    :func:`is_run` says whether torchlvm made them."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).exists() for name in RUN_MARKERS)


def is_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds a run torchlvm made (finished, or being trained): its
    ``config.json``, or while it trains its ``checkpoints/run.json``, is torchlvm's record
    (:func:`torchlvm_record`). A folder of files of a run's names only (a Hugging Face model's
    config.json and model.safetensors, a user's own config.json and metrics.csv) is none:
    ``--overwrite`` deleted such folders as runs (userO #2)."""
    folder = Path(folder)
    return folder.is_dir() and (
        torchlvm_record(folder / CONFIG_NAME)
        or torchlvm_record(folder / CHECKPOINT_DIR / RUN_RECORD_NAME)
    )


def torchlvm_record(path: Path) -> bool:
    """Whether the file ``path`` is a record torchlvm wrote: a JSON object naming a model type
    and the torchlvm version that wrote it (:func:`torchlvm.models.base.model_record`)."""
    try:
        if not path.is_file() or path.is_symlink():
            return False
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and isinstance(record.get("torchlvm_version"), str)
        and isinstance(record.get("model_type"), str)
    )


def torchlvm_weights(path: Path) -> bool:
    """Whether the file ``path`` is weights torchlvm saved: a safetensors file whose metadata
    holds the fingerprint of its model's config (:func:`torchlvm.models.base.save_weights`),
    read from its header alone."""
    try:
        with open(path, "rb") as f:
            size = struct.unpack("<Q", f.read(8))[0]
            if size > 100_000_000:  # (no safetensors header is this large)
                return False
            header = json.loads(f.read(size).decode("utf-8"))
    except (OSError, struct.error, UnicodeDecodeError, ValueError):
        return False
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return isinstance(metadata, dict) and "config_sha256" in metadata


def torchlvm_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint ``path`` where torchlvm's training wrote it, else None: a Lightning
    checkpoint holding torchlvm's own entry (``checkpoint["torchlvm"]``, which
    :class:`~torchlvm.training.module.LVMModule` adds to every checkpoint it saves), read as data
    (``weights_only``) with its tensors mapped, not read. A checkpoint of the user's own
    Lightning training, copied in under a torchlvm name (``checkpoints/last.ckpt``), is None,
    and so is a file that cannot be read."""
    checkpoint = _read_checkpoint(path)
    return checkpoint if _ours(checkpoint) else None


def users_checkpoint(path: Path) -> bool:
    """Whether the file ``path`` is not torchlvm's checkpoint: a torch file that reads without
    torchlvm's entry (a Lightning checkpoint of the user's own training), or one that cannot be
    torchlvm's (:func:`_read_checkpoint`: not a zip archive, or objects weights-only loading
    refuses). A zip archive that cannot be read is not (a checkpoint of torchlvm's cut short by
    a killed copy stays torchlvm's: review15 R3)."""
    checkpoint = _read_checkpoint(path)
    return checkpoint is not _UNREADABLE and not _ours(checkpoint)


_UNREADABLE = object()
_NOT_OURS = object()  # (a file no torchlvm checkpoint can be, whole or damaged)
ZIP_START = b"PK\x03\x04"
"""The first bytes of every checkpoint torchlvm writes (torch.save's zip format), also of one
a killed copy cut short."""


def _read_checkpoint(path: Path) -> Any:
    """The torch file ``path`` as data, its tensors mapped; :data:`_UNREADABLE` where it cannot
    be read (no file, a link, damaged bytes); :data:`_NOT_OURS` where it cannot be torchlvm's: a
    non-empty file that is not a zip archive (a legacy-format torch file, a text file: readE E3),
    or a whole torch file whose objects weights-only loading refuses (a user's Lightning
    checkpoint whose hyper-parameters hold a ``pathlib.Path``: review15 R5)."""
    import pickle

    import torch

    try:
        if not path.is_file() or path.is_symlink():
            return _UNREADABLE
        with open(path, "rb") as f:
            start = f.read(len(ZIP_START))
        if start and start != ZIP_START[: len(start)]:
            return _NOT_OURS
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError:  # (torch's 'Weights only load failed': read, and refused)
        return _NOT_OURS
    except Exception:  # damaged bytes make torch.load raise almost anything
        return _UNREADABLE


def _ours(checkpoint: Any) -> bool:
    return isinstance(checkpoint, dict) and isinstance(checkpoint.get("torchlvm"), dict)


_COMMIT_FILE = re.compile(rf"\..+({re.escape(STAGED_SUFFIX)}|{re.escape(KEPT_SUFFIX)})")
"""run.commit's staged and kept files, beside their places."""
_FIGURE_FILE = re.compile(r"[^/]+\.png")
"""The names of torchlvm's figures in ``figures/``."""
_NO_FILE = re.compile(r"(?!)")
"""No name (a run's top level: its temporary files are of :data:`RUN_ENTRIES` names)."""
_CHECKPOINT_FILE = re.compile(rf"(last|best-epoch\d+)(-v\d+)?\.ckpt|{re.escape(RUN_RECORD_NAME)}")
"""The names torchlvm (Lightning's ModelCheckpoint under it) writes in ``checkpoints/``."""


def _trained(folder: Path) -> bool:
    """Whether the run in ``folder`` was trained (or is being trained), so that it may hold
    :data:`TRAINING_MARKERS`: its record has a ``training`` section, or its training record
    ``checkpoints/run.json`` is torchlvm's; a fitted PPCA or an exported model has neither."""
    if torchlvm_record(folder / CHECKPOINT_DIR / RUN_RECORD_NAME):
        return True
    try:
        record = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and "training" in record


def torchlvm_metrics_csv(path: Path) -> bool:
    """Whether the file ``path`` is a training's metrics.csv: Lightning's CSV logger's header,
    its ``epoch`` and ``step`` columns beside torchlvm's ``train/`` or ``val/`` ones."""
    try:
        with open(path, encoding="utf-8") as f:
            header = f.readline(100_000).strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False
    logged = any(h.startswith(("train/", "val/")) for h in header)
    return {"epoch", "step"} <= set(header) and logged


_CHECKED = {
    CONFIG_NAME: torchlvm_record,
    WEIGHTS_NAME: torchlvm_weights,
    METRICS_CSV_NAME: torchlvm_metrics_csv,
}
"""The run entries whose content says whether torchlvm wrote them, each with its test."""


def foreign_entries(folder: str | Path) -> list[str]:
    """The entries of a run folder that torchlvm did not write there (the user's own files),
    which ``--overwrite`` would delete with the old run: at the top level, any entry that is
    not one of :data:`RUN_ENTRIES` nor an output torchlvm recorded there unchanged (sample's
    ``samples.csv``: :mod:`torchlvm.run.written`), or one of them that the user edited since
    torchlvm wrote it (``report.html``) or whose content is not torchlvm's (a config.json,
    model.safetensors or metrics.csv it did not write), and in a run that was not trained
    (``fit``, an export) ``metrics.csv`` and ``checkpoints/``; in ``checkpoints/``, a file of
    another name than torchlvm's, or of its name and other content (a Lightning checkpoint of
    the user's own, named ``last.ckpt``); in ``figures/``, a file that is not a figure torchlvm drew
    (userF: a note in ``checkpoints/``, a plot in ``figures/`` were deleted by ``train
    --overwrite``)."""
    from torchlvm.run import written
    from torchlvm.run.outputs import torchlvm_figure

    folder = Path(folder)
    foreign: list[str] = []
    trained = _trained(folder)
    for name in sorted(os.listdir(folder)):
        path = folder / name
        if name in TRAINING_MARKERS and not trained:  # (a fit or an export never writes them)
            foreign.append(name)  # (review14 R22)
            continue
        if name == CHECKPOINT_DIR and path.is_dir():
            ours = [n for n in os.listdir(path) if _torchlvm_checkpoint_file(path / n)]
        elif name == FIGURES_DIR and path.is_dir():
            ours = [n for n in os.listdir(path) if torchlvm_figure(path / n)]
        elif name in _CHECKED and path.is_file() and not _CHECKED[name](path):
            foreign.append(name)  # (of a run's name, not torchlvm's content: userO #2)
            continue
        elif name in RUN_ENTRIES:
            edited = path.is_file() and not path.is_symlink() and written.edited(path)
            foreign += [f"{name} (changed since torchlvm wrote it)"] if edited else []
            continue
        elif path.is_file() and _ours_left(name, _NO_FILE):  # (a killed write's, of a run entry)
            continue
        else:
            foreign += [] if path.is_file() and written.refusal(path) is None else [name]
            continue
        names = _CHECKPOINT_FILE if name == CHECKPOINT_DIR else _FIGURE_FILE
        inside = set(os.listdir(path)) - set(ours)
        foreign += [f"{name}/{n}" for n in sorted(inside) if not _ours_left(n, names)]
    return foreign


def _torchlvm_checkpoint_file(path: Path) -> bool:
    """Whether ``path``, in a run's ``checkpoints/``, is a file torchlvm wrote there: of one of
    its names (:data:`_CHECKPOINT_FILE`) and of its content, a ``run.json`` of torchlvm's or a
    checkpoint that is not the user's (:func:`users_checkpoint`: a user's own Lightning
    checkpoint named ``last.ckpt`` is the user's; a damaged one, torchlvm's as before)."""
    if not _CHECKPOINT_FILE.fullmatch(path.name):
        return False
    if path.name == RUN_RECORD_NAME:
        return torchlvm_record(path)
    return not users_checkpoint(path)


def _ours_left(name: str, ours: re.Pattern[str]) -> bool:
    """Whether ``name`` is a file torchlvm left while writing one of the names ``ours`` matches:
    run.commit's staged or kept file, or the temporary file of a write killed with SIGKILL
    (``.best-epoch001.ckpt.fdvb1u9a.tmp``: it was refused as the user's, userO #4)."""
    if _COMMIT_FILE.fullmatch(name):
        return True
    written = temporary_of(name)
    if written is None:
        return False
    written = written.removeprefix(".").split(STAGED_SUFFIX)[0]  # (a staged file's own name)
    return bool(ours.fullmatch(written)) or written in RUN_ENTRIES


def resolved_folder(folder: Path) -> Path:
    """``folder`` with its links resolved, once, where it passes through one (else as given, so
    that messages keep the path typed): a command that reads a run and then writes it writes
    the run it read. ``train --resume --out runs/cur`` while a deploy flipped the link to run B
    wrote its metrics.csv into B (userV #5); ``evaluate`` its numbers (userV #4)."""
    real = Path(os.path.realpath(folder))
    return folder if real == Path(os.path.abspath(folder)) else real


def free_sibling(out: str | os.PathLike[str]) -> Path:
    """``OUT-2`` (or ``OUT-3``, ...): the first sibling of ``out`` that does not exist, for a
    command a message offers that trains a run anew beside it."""
    out = Path(out)
    return next(p for i in range(2, 10**6) if not (p := out.with_name(f"{out.name}-{i}")).exists())


def _hidden_sibling(out: str | os.PathLike[str], suffix: str) -> Path:
    out = Path(os.path.abspath(out))
    name = out.name or "root"
    if len(os.fsencode(name)) > 200:  # leave room for the suffix within a file name's 255 bytes
        name = hashlib.sha256(os.fsencode(name)).hexdigest()[:32]
    return out.parent / f".{name}{suffix}"


def stage_path(out: str | os.PathLike[str]) -> Path:
    """The staging folder of a new run into ``out``: ``.NAME.torchlvm-stage`` beside it (a
    hash of the name where the name is too long to carry the suffix)."""
    return _hidden_sibling(out, STAGE_SUFFIX)


def trash_prefix(out: str | os.PathLike[str]) -> str:
    """The name prefix of the folder a replaced run is moved to before it is removed."""
    return _hidden_sibling(out, ".torchlvm-old-").name
