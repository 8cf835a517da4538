"""Training's progress as plain lines on stderr, for a log file: one line per epoch (its number,
the numbers the bar shows, its steps and seconds), and a line at most every
:data:`EpochLines.interval` seconds within an epoch that takes longer.

A bar redraws its line with carriage returns and cursor moves, which a log file keeps as they
are: ``train --progress 2> log`` wrote ``^MEpoch 0: 100%|...`` and ``ESC[A`` into the log, and a
run of hours wrote nothing readable until it ended (userV #8). Where stderr is not a terminal,
``train --progress`` prints these lines instead (:func:`torchlvm.cli._progress.bar_or_lines`).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import lightning as L


def optimizer_steps(trainer: L.Trainer, batches: int | None) -> tuple[int, int | None]:
    """(optimizer steps per Lightning batch, per epoch) of ``trainer``'s training data, whose
    epoch is ``batches`` Lightning batches (None: not known): a batch of resident data holds
    several steps (:class:`~torchlvm.training.resident.ResidentBatches`), any other one."""
    loader = trainer.train_dataloader
    return getattr(loader, "steps", 1), getattr(loader, "steps_per_epoch", batches)


def _number(value: Any) -> str:
    value = float(value)
    return f"{value:.5g}" if abs(value) < 1e6 else f"{value:.4e}"


class EpochLines(L.Callback):
    """Print ``epoch E/N: val/elbo -28.742; 10 steps in 1.3 s`` on stderr as each epoch ends
    (E counted from 1, as the run's summary counts epochs), and ``epoch E/N: S/T steps, 61 s``
    within an epoch at most every ``interval`` seconds. Only global rank 0 prints."""

    interval: float = 60.0  # seconds between lines within one epoch

    def __init__(self) -> None:
        self._started = self._said = 0.0

    def _say(self, trainer: L.Trainer, text: str) -> None:
        if trainer.is_global_zero:
            print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: {text}",
                  file=sys.stderr, flush=True)  # fmt: skip

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._started = self._said = time.monotonic()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        now = time.monotonic()
        if now - self._said < self.interval:
            return
        self._said = now
        per_batch, per_epoch = optimizer_steps(trainer, _batches(trainer))
        done = (batch_idx + 1) * per_batch
        total = "" if per_epoch is None else f"/{per_epoch}"
        done = done if per_epoch is None else min(done, per_epoch)
        self._say(trainer, f"{done}{total} steps, {now - self._started:.0f} s")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        shown = {k: v for k, v in trainer.progress_bar_metrics.items() if k != "v_num"}
        numbers = ", ".join(f"{k} {_number(v)}" for k, v in sorted(shown.items()))
        steps = optimizer_steps(trainer, _batches(trainer))[1]
        seconds = time.monotonic() - self._started
        took = f"{'' if steps is None else f'{steps} steps '}in {seconds:.1f} s"
        self._say(trainer, f"{numbers}; {took}" if numbers else took)


def _batches(trainer: L.Trainer) -> int | None:
    """Lightning batches in an epoch of ``trainer``'s training data; None where not known."""
    count = trainer.num_training_batches
    return None if count == float("inf") else int(count)
