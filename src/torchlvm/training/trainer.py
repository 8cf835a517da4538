"""``fit``: train a model on a datamodule with Lightning and write a run folder.

A run folder (DESIGN.md, "A run directory") holds

- ``checkpoints/``: Lightning checkpoints — ``last.ckpt`` (every epoch, for resuming),
  ``best-epochNNN.ckpt`` (the best validation bound so far) and ``run.json`` (the run's record,
  written before training, so that an interrupted run can be resumed);
- ``metrics.csv``: one row per epoch (see :mod:`torchlvm.training.metrics_csv`);
- ``model.safetensors`` + ``config.json``: the best weights and everything needed to rebuild the
  model and repeat the run, written at the end, so ``torchlvm.load(folder)`` works;
- ``tensorboard/``: only when TensorBoard is installed.

Distributed training (``devices`` × ``num_nodes`` processes, Lightning's DDP; gloo on CPUs) is the
same call: Lightning starts the other processes (or ``torchrun`` / SLURM started them), every
process trains on its shard of each global batch, and only global rank 0 writes the run folder.
The world size is recorded (``run.json``, ``config.json`` and each checkpoint, section
``runtime``); resuming with another world size is refused, since it would change the global batch.

Checkpoints are read back with ``weights_only=True`` (tensors and plain values only; nothing is
unpickled), and the module saves no hyperparameter objects in them.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import signal
import threading
import time
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import EarlyStopping, TQDMProgressBar
from lightning.pytorch.utilities import rank_zero_only

from torchlvm._files import write_json
from torchlvm.errors import ConfigError, DataError, NonFiniteError, RunDirectoryError
from torchlvm.models.base import CONFIG_NAME, WEIGHTS_NAME, model_record
from torchlvm.training.callbacks import EpochSeeds, RunCheckpoint
from torchlvm.training.checkpoint_io import (
    AtomicCheckpointIO,
    check_checkpoint_fits,
    nonfinite_weights_as_error,
    read_checkpoint,
)
from torchlvm.training.config import TrainConfig
from torchlvm.training.data import LVMDataModule
from torchlvm.training.metrics_csv import METRICS_NAME, EpochCSVLogger, read_metrics
from torchlvm.training.module import LVMModule, monitor

CHECKPOINT_DIR = "checkpoints"
LAST_NAME = "last.ckpt"
RUN_RECORD_NAME = "run.json"


@dataclass(frozen=True)
class FitResult:
    """What a call to :func:`fit` did.

    Attributes:
        out_dir: the run folder.
        epochs: epochs completed in total (counting those before a resume).
        start_epoch: the epoch this call started at (0, or where a resume picked up).
        monitor: the validation metric that picked the saved weights, e.g. ``"val/elbo"``.
        best_epoch: the epoch whose weights were saved (0-based), or None.
        best_value: ``monitor`` at ``best_epoch``, nats per example, or None.
        metrics: every row of ``metrics.csv``, one dict per epoch.
        seconds: wall-clock seconds this call spent training.
        stopped_early: whether early stopping ended the run.
        skipped_steps: updates skipped for a non-finite loss (``on_nonfinite="skip"``).
    """

    out_dir: Path
    epochs: int
    start_epoch: int
    monitor: str
    best_epoch: int | None
    best_value: float | None
    metrics: list[dict[str, float]] = field(repr=False)
    seconds: float
    stopped_early: bool
    skipped_steps: int

    @property
    def final(self) -> dict[str, float]:
        """The last epoch's row of ``metrics.csv`` ({} if none)."""
        return self.metrics[-1] if self.metrics else {}


def holds_run(folder: Path) -> bool:
    """Whether ``folder`` holds (part of) a torchlvm run."""
    names = (CONFIG_NAME, WEIGHTS_NAME, METRICS_NAME, CHECKPOINT_DIR)
    return folder.is_dir() and any((folder / n).exists() for n in names)


def read_run_record(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The record of a run: ``config.json`` if the run finished, else ``checkpoints/run.json``.

    Raises:
        RunDirectoryError: if the folder holds neither.
        DataError: if the file is not valid JSON.
    """
    folder = Path(folder)
    for path in (folder / CONFIG_NAME, folder / CHECKPOINT_DIR / RUN_RECORD_NAME):
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as err:
                raise DataError(f"{path} is not valid JSON ({err}); the file is damaged") from None
    raise RunDirectoryError(
        f"{folder} holds no run to resume ({CONFIG_NAME} and {CHECKPOINT_DIR}/{RUN_RECORD_NAME} "
        "are missing); train it from scratch without resume"
    )


def _tensorboard_available() -> bool:
    return any(importlib.util.find_spec(m) is not None for m in ("tensorboard", "tensorboardX"))


def _loggers(out_dir: Path) -> list[Any]:
    loggers: list[Any] = [EpochCSVLogger(out_dir)]
    if _tensorboard_available():
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers.append(TensorBoardLogger(save_dir=str(out_dir), name="tensorboard", version=""))
    return loggers


@contextmanager
def _quiet_lightning(quiet: bool):
    """Silence Lightning's informational lines (and, always, warnings that do not apply)."""
    names = ("lightning.pytorch", "lightning.fabric")
    levels = [logging.getLogger(n).level for n in names]
    with warnings.catch_warnings():
        # data live in memory and are sliced a whole batch at a time: workers would not help
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not.*")
        warnings.filterwarnings("ignore", message=".*smaller than the logging interval.*")
        warnings.filterwarnings("ignore", message=".*isinstance.treespec, LeafSpec.*")
        if quiet:
            for n in names:
                logging.getLogger(n).setLevel(logging.WARNING)
        try:
            yield
        finally:
            for n, level in zip(names, levels, strict=True):
                logging.getLogger(n).setLevel(level)


def _load_module_weights(model: torch.nn.Module, path: str) -> int:
    """Load the ``model.*`` weights of a Lightning checkpoint into ``model``; return its epoch."""
    checkpoint = read_checkpoint(path)
    prefix = "model."
    state = {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }
    model.load_state_dict(state, strict=True)
    return int(checkpoint.get("epoch", -1))


def _many(devices: int | str, num_nodes: int) -> bool:
    return num_nodes > 1 or (isinstance(devices, int) and devices > 1)


def _checkpoint_epoch(path: Path) -> int | None:
    if not path.is_file():
        return None
    return int(read_checkpoint(path).get("epoch", -1))


def available_devices(accelerator: str) -> tuple[int, str]:
    """How many processes ``devices`` may ask for on this machine, and of what: usable CPU
    cores for ``"cpu"``, visible GPUs for ``"gpu"``/``"cuda"`` (and ``"auto"`` when there are
    any)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpus):
        return gpus, "GPUs"
    try:
        return len(os.sched_getaffinity(0)), "CPU cores"
    except AttributeError:  # not Linux
        return os.cpu_count() or 1, "CPU cores"


def check_devices(accelerator: str, devices: int | str, num_nodes: int) -> None:
    """Refuse a device or node count this machine cannot give.

    Raises:
        ConfigError: for ``devices`` or ``num_nodes`` that is not a positive integer (or
            ``"auto"`` devices), or more devices than :func:`available_devices`.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ConfigError(f"num_nodes must be a positive integer, got {num_nodes!r}")
    if devices == "auto":
        return
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ConfigError(f"devices must be a positive integer or 'auto', got {devices!r}")
    available, kind = available_devices(accelerator)
    if devices > available and available == 0:
        raise ConfigError(
            f"devices={devices} asks for {kind} but this machine has none visible; train with "
            "accelerator 'cpu' (--accelerator cpu)"
        )
    if devices > available:
        raise ConfigError(
            f"devices={devices} asks for {devices} processes on this node but only {available} "
            f"{kind} are available; pass devices={available} or fewer (and num_nodes for more "
            "machines)"
        )


def _check_world_size(last: Path, world_size: int) -> None:
    """Refuse to resume ``last`` with another world size than it was trained with."""
    saved = int((read_checkpoint(last).get("torchlvm") or {}).get("world_size", 1))
    if saved != world_size:
        raise ConfigError(
            f"{last} was trained with world size {saved} (processes: devices × num_nodes) and "
            f"this resume has world size {world_size}; the global batch and the data order "
            f"depend on it, so resume with devices × num_nodes = {saved}"
        )


def fit(
    model: torch.nn.Module,
    datamodule: LVMDataModule,
    config: TrainConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool = True,
    accelerator: str = "cpu",
    devices: int | str = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    compile: bool = False,
    extra_callbacks: Sequence[L.Callback] = (),
    extra_config: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` and write the run folder ``out_dir``.

    Seed before building the model (``lightning.seed_everything(config.seed)``) for a repeatable
    initialization; ``fit`` seeds everything again before training.

    Args:
        model: a VAE, CVAE or autoencoder (any registered model with ``save_pretrained``).
        datamodule: the data; its ``batch_size`` should equal ``config.batch_size``.
        config: objective, optimizer and run settings.
        out_dir: the run folder (created if needed).
        resume: continue from ``out_dir/checkpoints/last.ckpt`` up to ``config.max_epochs``
            epochs in total (weights, optimizer, epoch counter and early-stopping state).
        progress: show a progress bar and Lightning's informational lines.
        accelerator, devices, num_nodes: passed to ``lightning.Trainer``; ``devices`` ×
            ``num_nodes`` processes train together (``datamodule.batch_size`` each).
        strategy: Lightning's strategy; ``"auto"`` is ``"ddp"`` when there is more than one
            process (a process per device, not ``ddp_spawn``, so this process keeps the model).
        compile: pass the training loss through ``torch.compile``.
        extra_callbacks: further Lightning callbacks (e.g. timing for a benchmark).
        extra_config: further JSON sections for ``config.json`` (e.g. the command line).

    Returns:
        A :class:`FitResult`.

    Raises:
        RunDirectoryError: if ``out_dir`` already holds a run and ``resume`` is False, or
            ``resume`` is True and there is no checkpoint.
        NonFiniteError: if training diverged with ``on_nonfinite="stop"``; the message names
            the step and the checkpoint that stays.
        DataError, ConfigError: if the model does not suit the data or the objective, more
            devices are asked for than are available, or a resume changes the world size.
    """
    check_devices(accelerator, devices, num_nodes)
    out_dir = Path(out_dir)
    ckpt_dir = out_dir / CHECKPOINT_DIR
    last = ckpt_dir / LAST_NAME
    if resume and not last.is_file():
        raise RunDirectoryError(f"cannot resume: {last} does not exist; train from scratch instead")
    # under DDP, Lightning re-runs the script for ranks > 0 after rank 0 has made the folder
    is_zero = rank_zero_only.rank == 0
    if not resume and is_zero and holds_run(out_dir):
        raise RunDirectoryError(
            f"{out_dir} already holds a run; resume it, or choose another folder"
        )
    start_epoch = 0
    if resume:
        start_epoch = (_checkpoint_epoch(last) or 0) + 1
        if start_epoch >= config.max_epochs:
            raise ConfigError(
                f"the run in {out_dir} has already trained {start_epoch} epochs and max_epochs "
                f"is {config.max_epochs}; ask for more epochs (--epochs) to continue it"
            )
    if datamodule.batch_size != config.batch_size:
        datamodule.batch_size = config.batch_size
    datamodule.setup("fit")
    datamodule.check_model(model)
    module = LVMModule(model, config, compile=compile)
    if resume:  # a foreign or damaged checkpoint is named here, not deep inside Lightning
        check_checkpoint_fits(read_checkpoint(last), module, last)
    record = {
        **model_record(model),
        "training": asdict(config),
        "data": datamodule.record(),
        **(extra_config or {}),
    }
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
    callbacks: list[L.Callback] = [EpochSeeds(config.seed), checkpoint, *extra_callbacks]
    early = None
    if config.patience is not None:
        early = EarlyStopping(monitor=metric, mode=mode, patience=config.patience)
        callbacks.append(early)
    if progress:
        callbacks.append(TQDMProgressBar())

    L.seed_everything(config.seed, workers=True, verbose=False)
    started = time.perf_counter()
    with _quiet_lightning(not progress):
        trainer = L.Trainer(
            accelerator=accelerator,
            devices=devices,
            max_epochs=config.max_epochs,
            gradient_clip_val=config.gradient_clip,
            deterministic=config.deterministic,
            callbacks=callbacks,
            logger=_loggers(out_dir),
            enable_progress_bar=progress,
            enable_model_summary=progress,
            log_every_n_steps=max(1, min(50, datamodule.num_train_batches())),
            default_root_dir=str(out_dir),
            plugins=[AtomicCheckpointIO()],  # temp file + fsync + rename; weights-only loads
            num_nodes=num_nodes,
            strategy="ddp" if strategy == "auto" and _many(devices, num_nodes) else strategy,
        )
        runtime = {
            "world_size": trainer.world_size,
            "devices": trainer.num_devices,
            "num_nodes": trainer.num_nodes,
            "strategy": type(trainer.strategy).__name__,
            "compile": compile,
        }
        if resume:
            _check_world_size(last, trainer.world_size)
        if trainer.is_global_zero:  # known once the Trainer has read the launcher's ranks
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            write_json(ckpt_dir / RUN_RECORD_NAME, {**record, "runtime": runtime})
        sigint = signal.getsignal(signal.SIGINT)
        try:
            with nonfinite_weights_as_error(module, trainer):
                trainer.fit(
                    module,
                    datamodule=datamodule,
                    ckpt_path=str(last) if resume else None,
                    weights_only=True,
                )
        except SystemExit:
            # Lightning turns Ctrl-C into sys.exit(1) after a graceful shutdown; give the
            # caller the KeyboardInterrupt back (the checkpoints written so far stay)
            if trainer.interrupted:
                raise KeyboardInterrupt from None
            raise
        except NonFiniteError as err:
            done = _checkpoint_epoch(last)
            kept = (
                f"the last good checkpoint (end of epoch {done}) stays at {last}"
                if done is not None
                else "no checkpoint was written (the first epoch did not finish)"
            )
            raise NonFiniteError(f"{err}; {kept}") from None
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, sigint)  # Lightning ignores SIGINT after Ctrl-C
    seconds = time.perf_counter() - started

    model.cpu()
    best_epoch: int | None = None
    if checkpoint.best_model_path and Path(checkpoint.best_model_path).is_file():
        best_epoch = _load_module_weights(model, checkpoint.best_model_path)
    model.eval()
    if hasattr(model, "fit_code_distribution"):
        with torch.no_grad():
            x = datamodule.train_x()  # a streamed (mmap=True) file's rows are all read here
            model.fit_code_distribution(x if isinstance(x, torch.Tensor) else x[slice(None)])

    rows = read_metrics(out_dir / METRICS_NAME)
    best_value = next(
        (r.get(metric) for r in rows if r["epoch"] == best_epoch and metric in r), None
    )
    result = FitResult(
        out_dir=out_dir,
        epochs=trainer.current_epoch,
        start_epoch=start_epoch,
        monitor=metric,
        best_epoch=best_epoch,
        best_value=None if best_value is None or not math.isfinite(best_value) else best_value,
        metrics=rows,
        seconds=seconds,
        stopped_early=bool(early is not None and early.stopped_epoch > 0),
        skipped_steps=module.skipped_steps,
    )
    if not trainer.is_global_zero:
        return result  # under DDP, rank 0 writes the run folder
    model.save_pretrained(
        out_dir,
        training=asdict(config),
        data=datamodule.record(),
        result={
            "weights": "best" if best_epoch is not None else "last",
            "monitor": metric,
            "best_epoch": best_epoch,
            "best_value": result.best_value,
            "epochs": result.epochs,
            "stopped_early": result.stopped_early,
            "skipped_steps": result.skipped_steps,
            "units": "nats per example",
        },
        runtime=runtime,
        **(extra_config or {}),
    )
    return result
