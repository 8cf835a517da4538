"""The Lightning objects of a run: its callbacks, its loggers and its ``Trainer``, and the
silencing of Lightning's informational lines and of warnings that do not apply to torchlvm.

A run prints what torchlvm has to say and nothing of Lightning's: no accelerator banners, tips,
parameter tables or "stopped" lines (its loggers are held at WARNING while a run trains). The
progress bar, when asked for, is drawn on stderr, so stdout carries only results and can be piped.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import Tqdm, convert_inf

from torchlvm.training.callbacks import EpochSeeds, RunCheckpoint
from torchlvm.training.checkpoint_io import AtomicCheckpointIO
from torchlvm.training.config import TrainConfig
from torchlvm.training.devices import many_processes
from torchlvm.training.metrics_csv import EpochCSVLogger
from torchlvm.training.objectives import monitor
from torchlvm.training.progress_lines import EpochLines, optimizer_steps


@dataclass(frozen=True)
class RunCallbacks:
    """The callbacks of a run; ``checkpoint`` and ``early`` are read back after training."""

    checkpoint: RunCheckpoint
    early: EarlyStopping | None
    all: list[L.Callback]


def run_callbacks(
    config: TrainConfig,
    ckpt_dir: Path,
    extra: Sequence[L.Callback],
    progress: bool | Literal["lines"],
) -> RunCallbacks:
    """Seeds per epoch, ``last.ckpt`` every epoch + the best epoch by the objective's monitor,
    early stopping when ``config.patience`` is set, the caller's extras and a progress bar
    (``progress`` True), or a line per epoch (``"lines"``: :class:`EpochLines`)."""
    metric, mode = monitor(config)
    checkpoint = RunCheckpoint(
        dirpath=ckpt_dir,
        filename="best-epoch{epoch:03d}",
        monitor=metric,
        mode=mode,
        save_top_k=1,
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    callbacks: list[L.Callback] = [EpochSeeds(config.seed), checkpoint, *extra]
    early = None
    if config.patience is not None:
        early = GivenPatience(monitor=metric, mode=mode, patience=config.patience)
        callbacks.append(early)
    if progress == "lines":
        callbacks.append(EpochLines())
    elif progress:
        callbacks.append(StderrProgressBar())
    return RunCallbacks(checkpoint, early, callbacks)


class GivenPatience(EarlyStopping):
    """Early stopping whose patience is the one given, also on resume: Lightning's
    ``load_state_dict`` puts back the checkpoint's patience with its counters, so a run stopped
    at --patience 3 and resumed with --patience 100 stopped again 4 epochs later (userJ #15),
    while config.json recorded 100. The counters (epochs without improvement, best score) are
    the run's and are kept; the epoch an earlier call stopped at is not this call's."""

    @property
    def state_key(self) -> str:  # Lightning's own key: checkpoints written before keep resuming
        return f"EarlyStopping{repr({'monitor': self.monitor, 'mode': self.mode})}"

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        given = self.patience
        super().load_state_dict(state_dict)
        self.patience = given
        self.stopped_epoch = 0  # a stop before the resume is not this call's (stopped_early)


class _Bar(Tqdm):
    """Lightning's tqdm bar, its numbers shown to 5 significant digits: Lightning's 3 (tqdm's
    ``format_num``, padded) showed a validation bound of -255.36 nats as ``-255.``, no digit
    after the point (userS #8)."""

    @staticmethod
    def format_num(n: int | float | str) -> str:
        if isinstance(n, float) and abs(n) < 1e6:  # (inf and NaN as Lightning shows them)
            return f"{n:.5g}"
        return Tqdm.format_num(n)


class StderrProgressBar(TQDMProgressBar):
    """Lightning's tqdm bars drawn on stderr instead of stdout (Lightning hard-codes stdout).

    The training bar counts optimizer steps (``steps/s``), as metrics.csv's ``step`` does:
    Lightning's counts its batches, and a batch of resident data holds up to 32 steps
    (:data:`~torchlvm.training.trainer.STEPS_PER_BATCH`), so its ``it/s`` was neither steps nor
    examples a second (userS #8). The validation bar counts its batches."""

    def _bar(self, desc: str, position: int, leave: bool, unit: str) -> Tqdm:
        return _Bar(
            desc=desc,
            position=position,
            disable=self.is_disabled,
            leave=leave,
            dynamic_ncols=True,
            file=sys.stderr,
            smoothing=0,
            bar_format=self.BAR_FORMAT,
            unit=unit,
        )

    def init_sanity_tqdm(self) -> Tqdm:
        position = 2 * self.process_position
        return self._bar(self.sanity_check_description, position, False, " batches")

    def init_train_tqdm(self) -> Tqdm:
        return self._bar(self.train_description, 2 * self.process_position, True, " steps")

    def init_validation_tqdm(self) -> Tqdm:
        has_main_bar = self.trainer.state.fn != "validate"
        position = 2 * self.process_position + has_main_bar
        return self._bar(self.validation_description, position, not has_main_bar, " batches")

    def on_train_epoch_start(self, trainer: L.Trainer, *_: Any) -> None:
        if self._leave:
            self.train_progress_bar = self.init_train_tqdm()
        bar = self.train_progress_bar  # Lightning's start of an epoch, its total in steps
        bar.reset(total=optimizer_steps(trainer, convert_inf(self.total_train_batches))[1])
        bar.initial = 0
        bar.set_description(f"Epoch {trainer.current_epoch}")

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        bar = self.train_progress_bar
        batches = convert_inf(self.total_train_batches)
        if bar is None or bar.disable or not self._should_update(batch_idx + 1, batches):
            return  # (Lightning's refresh rate, counted in its batches as Lightning counts it)
        per_batch, per_epoch = optimizer_steps(trainer, bar.total)
        done = (batch_idx + 1) * per_batch  # the steps of the epoch done
        bar.n = done if per_epoch is None else min(done, per_epoch)
        bar.refresh()
        bar.set_postfix(self.get_metrics(trainer, pl_module))

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        """End the bar's line, so that the message of an error or Ctrl-C starts its own line."""
        bar = self._train_progress_bar
        if bar is not None and not bar.disable:
            bar.close()


def _tensorboard_available() -> bool:
    return any(importlib.util.find_spec(m) is not None for m in ("tensorboard", "tensorboardX"))


def _loggers(out_dir: Path) -> list[Any]:
    loggers: list[Any] = [EpochCSVLogger(out_dir)]
    if _tensorboard_available():
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(save_dir=str(out_dir), name="tensorboard", version=""))
    return loggers


def make_trainer(
    config: TrainConfig,
    callbacks: RunCallbacks,
    out_dir: Path,
    *,
    progress: bool | Literal["lines"],
    batches_per_epoch: int,
    manual: bool,
    accelerator: str,
    devices: int | str,
    num_nodes: int,
    strategy: str,
) -> L.Trainer:
    """The ``lightning.Trainer`` of a run writing ``out_dir`` (checkpoints saved atomically);
    ``manual``: the module optimizes (and clips gradients) itself; ``progress``: a bar (True) or
    not (the lines of ``"lines"`` are a callback of ``callbacks``)."""
    many = strategy == "auto" and many_processes(devices, num_nodes)
    return L.Trainer(
        accelerator=accelerator,
        devices=devices,
        max_epochs=config.max_epochs,
        gradient_clip_val=None if manual else config.gradient_clip,
        deterministic=config.deterministic,
        callbacks=callbacks.all,
        logger=_loggers(out_dir),
        enable_progress_bar=progress is True,
        enable_model_summary=False,  # torchlvm's summary says what matters; no parameter table
        log_every_n_steps=max(1, min(50, batches_per_epoch)),
        default_root_dir=str(out_dir),
        plugins=[AtomicCheckpointIO()],  # temp file + fsync + rename; weights-only loads
        num_nodes=num_nodes,
        strategy="ddp" if many else strategy,
    )


def runtime_record(trainer: L.Trainer, module: Any) -> dict[str, Any]:
    """The ``runtime`` section of a run's record: how many processes of what trained it, and
    how (``compile``; ``fast``: the whole-step path, a CUDA graph on a GPU)."""
    return {
        "world_size": trainer.world_size,
        "devices": trainer.num_devices,
        "num_nodes": trainer.num_nodes,
        "strategy": type(trainer.strategy).__name__,
        "compile": module.compiled,
        "fast": module.fast,
    }


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Silence Lightning's informational lines and the warnings that do not apply to torchlvm."""
    names = ("lightning.pytorch", "lightning.fabric")
    levels = [logging.getLogger(n).level for n in names]
    with warnings.catch_warnings():
        # data live in memory and are sliced a whole batch at a time: workers would not help
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*isinstance.treespec, LeafSpec.*")
        for n in names:
            logging.getLogger(n).setLevel(logging.WARNING)
        try:
            yield
        finally:
            for n, level in zip(names, levels, strict=True):
                logging.getLogger(n).setLevel(level)
