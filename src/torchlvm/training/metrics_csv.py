"""``metrics.csv``: one row per epoch, written by a Lightning logger.

Lightning's ``CSVLogger`` writes one row per ``log_metrics`` call (training and validation
metrics of the same epoch land on separate rows) into ``lightning_logs/version_N/``. This logger
merges every call of an epoch into one row keyed by ``epoch`` and rewrites ``metrics.csv``
atomically after each call, so the file is always complete up to the last logged value. On resume
it keeps the rows of the epochs before the resumed one. A row is written whole: ``LVMModule`` logs
a training epoch's means with its validation's values, which Lightning hands over in one call
before the epoch's checkpoints.

Columns: ``epoch``, ``step`` (0-based index of the epoch's last optimizer step), then the metric
names in sorted order (``train/...``, ``val/...``), values in the units the module logs (nats per
example).
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import Logger
from lightning.pytorch.utilities import rank_zero_only

from torchlvm._files import write_text

METRICS_NAME = "metrics.csv"


def read_metrics(path: str | os.PathLike[str]) -> list[dict[str, float]]:
    """Rows of a ``metrics.csv`` as dicts of floats (empty cells are left out), by epoch.

    Returns:
        One dict per epoch, ``epoch`` and ``step`` as ints; [] if the file does not exist.
    """
    path = Path(path)
    if not path.is_file():
        return []
    rows: list[dict[str, float]] = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row: dict[str, Any] = {k: float(v) for k, v in raw.items() if k and v not in ("", None)}
            if "epoch" not in row:
                continue
            row["epoch"] = int(row["epoch"])
            if "step" in row:
                row["step"] = int(row["step"])
            rows.append(row)
    return sorted(rows, key=lambda r: r["epoch"])


class EpochCSVLogger(Logger):
    """A Lightning logger writing one merged row per epoch to ``folder/metrics.csv``.

    Args:
        folder: where ``metrics.csv`` goes (the run folder).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(folder) / METRICS_NAME
        self.rows: dict[int, dict[str, Any]] = {r["epoch"]: r for r in read_metrics(self.path)}
        self._seen: set[int] = set()
        self._dirty = False

    @property
    def name(self) -> str:
        return "torchlvm"

    @property
    def version(self) -> None:
        return None  # one run per folder; None also keeps "v_num" off the progress bar

    @property
    def save_dir(self) -> str:
        return str(self.path.parent)

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Hyperparameters go to ``config.json``, not here."""

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if "epoch" not in metrics:
            return  # step-level values; this file holds epochs
        epoch = int(metrics["epoch"])
        if epoch not in self._seen:
            # the first values of an epoch in this session: forget rows from that epoch on
            # (left by a run that stopped after its last checkpoint)
            self.rows = {e: r for e, r in self.rows.items() if e < epoch}
            self._seen.add(epoch)
        row = self.rows.setdefault(epoch, {"epoch": epoch})
        row.update({k: float(v) for k, v in metrics.items() if k != "epoch"})
        if step is not None:
            row["step"] = max(int(step), int(row.get("step", 0)))
        self._dirty = True

    @rank_zero_only
    def save(self) -> None:
        if not self._dirty:
            return
        names = sorted({k for r in self.rows.values() for k in r} - {"epoch", "step"})
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["epoch", "step", *names])
        for epoch in sorted(self.rows):
            row = self.rows[epoch]
            writer.writerow([epoch, row.get("step", ""), *(_cell(row.get(n)) for n in names)])
        text = buffer.getvalue()
        write_text(self.path, text)
        self._dirty = False

    @rank_zero_only
    def finalize(self, status: str) -> None:
        self.save()


def _cell(value: float | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return repr(float(value))


def drop_epochs_from(folder: str | os.PathLike[str], epoch: int) -> None:
    """Remove the rows of epochs ``epoch`` and later from ``folder/metrics.csv``: the rows of an
    epoch whose training was interrupted before its checkpoint, when the run is finished at the
    checkpoint before it (a resume that trains rewrites them as it goes)."""
    logger = EpochCSVLogger(folder)
    if any(e >= epoch for e in logger.rows):
        logger.rows = {e: r for e, r in logger.rows.items() if e < epoch}
        logger._dirty = True
        logger.save()
