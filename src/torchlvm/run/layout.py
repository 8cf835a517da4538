"""The layout of a run folder: the one place that names its files.

A run folder written by ``torchlvm train`` or ``torchlvm fit`` holds::

    config.json            the run record: model type and config, training, data, runtime, cli
    model.safetensors      the weights (the best validation epoch for ``train``)
    metrics.csv            one row per training epoch
    metrics.json           evaluation records (``fit`` writes the first; ``evaluate`` merges in)
    checkpoints/last.ckpt  the last finished epoch, for ``--resume``
    checkpoints/best-epochNNN.ckpt, checkpoints/run.json (the record, before training ends)
    figures/*.png, report.html, gaps.json
    .torchlvm.lock         present while one process trains the run (see torchlvm.run.lock)

Nothing else in the package spells these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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

RUN_MARKERS: tuple[str, ...] = (CONFIG_NAME, WEIGHTS_NAME, METRICS_CSV_NAME, CHECKPOINT_DIR)
"""Entries whose presence makes a folder a (possibly unfinished) torchlvm run."""


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
    """Whether ``folder`` holds (part of) a torchlvm run."""
    folder = Path(folder)
    return folder.is_dir() and any((folder / name).exists() for name in RUN_MARKERS)
