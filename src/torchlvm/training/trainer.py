"""``fit``: train a model on a datamodule with Lightning and write a run folder.

A run folder (its layout is :mod:`torchlvm.run.layout`'s) holds

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

import contextlib
import math
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import lightning as L
import torch
from lightning.pytorch.utilities import rank_zero_only

from torchlvm._epochs import shown
from torchlvm._shell import unexpanded_home
from torchlvm._terminated import as_interrupt
from torchlvm.errors import (
    ConfigError,
    NonFiniteError,
    OptionError,
    RunDirectoryError,
    TorchLVMError,
    spelled,
)
from torchlvm.evaluation.records import example_noun
from torchlvm.io import read_weights
from torchlvm.models.base import expected_tensors, model_record
from torchlvm.run.layout import CHECKPOINT_DIR, LAST_NAME, RunLayout, holds_run, resolved_folder
from torchlvm.run.record import read_record as read_run_record
from torchlvm.run.record import write_finished, write_training_record
from torchlvm.run.resume import check_model_is_runs
from torchlvm.training.callbacks import check_best_is_ours
from torchlvm.training.checkpoint_io import (
    check_checkpoint_fits,
    clear_killed_writes,
    nonfinite_weights_as_error,
    read_checkpoint,
)
from torchlvm.training.collapse import warn_collapsed
from torchlvm.training.config import TrainConfig
from torchlvm.training.data import LVMDataModule
from torchlvm.training.devices import check_devices, many_processes
from torchlvm.training.guard import CHECK_EVERY
from torchlvm.training.lightning_setup import (
    RunCallbacks,
    make_trainer,
    quiet_lightning,
    run_callbacks,
    runtime_record,
)
from torchlvm.training.metrics_csv import drop_epochs_from, read_metrics
from torchlvm.training.module import LVMModule

__all__ = [
    "CHECKPOINT_DIR",  # the names of torchlvm.run.layout, kept importable from here
    "LAST_NAME",
    "FitResult",
    "check_devices",
    "fit",
    "holds_run",
    "read_run_record",
]


@dataclass(frozen=True)
class FitResult:
    """What a call to :func:`fit` did.

    Attributes:
        out_dir: the run folder.
        epochs: epochs completed in total (counting those before a resume).
        start_epoch: the epoch this call started at (0, or where a resume picked up); equal to
            ``epochs`` for an interrupted run finished where it stopped (nothing trained).
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


def _load_module_weights(model: torch.nn.Module, path: str) -> int:
    """Load the ``model.*`` weights of a Lightning checkpoint into ``model``; return its epoch."""
    checkpoint = read_checkpoint(path)
    prefix = "model."
    state = {
        k[len(prefix) :]: v for k, v in checkpoint["state_dict"].items() if k.startswith(prefix)
    }
    model.load_state_dict(state, strict=True)
    return int(checkpoint.get("epoch", -1))


def _checkpoint_epoch(path: Path) -> int | None:
    if not path.is_file():
        return None
    return int(read_checkpoint(path).get("epoch", -1))


def _check_world_size(last: Path, world_size: int) -> None:
    """Refuse to resume ``last`` with another world size than it was trained with."""
    saved = int((read_checkpoint(last).get("torchlvm") or {}).get("world_size", 1))
    if saved != world_size:
        raise ConfigError(
            f"{last} was trained with world size {saved} (processes: devices × num_nodes) and "
            f"this resume has world size {world_size}; the global batch and the data order "
            f"depend on it, so resume with devices × num_nodes = {saved}"
        )


def _count(epochs: int) -> str:
    return f"{epochs} epoch" if epochs == 1 else f"{epochs} epochs"


def _published_epochs(layout: RunLayout, model: torch.nn.Module) -> int | None:
    """The epochs of the model the run folder holds (``config.json``), None if it holds none
    whose weights read as ``model``'s (a damaged one is published again from the checkpoints).
    Every process reads the same files, so under DDP all take the same way."""
    if not layout.config.is_file():
        return None
    try:
        read_weights(layout.weights, expected_tensors(model))
    except TorchLVMError:
        return None
    epochs = (read_run_record(layout.folder).get("result") or {}).get("epochs")
    return epochs if isinstance(epochs, int) else None


def _start_epoch(
    layout: RunLayout, config: TrainConfig, resume: bool, model: torch.nn.Module
) -> int:
    """The epoch this call starts at; refuses a run folder that does not suit ``resume``.

    An interrupted run (no model, or the model of an earlier end) resumed with ``max_epochs``
    equal to the epochs it finished starts at ``max_epochs``: Lightning restores it and trains
    nothing, and the run is finished where it stopped."""
    last = layout.last_checkpoint
    if resume and not last.is_file():
        raise RunDirectoryError(
            f"cannot resume: {last} does not exist, so there is no training state to continue; "
            "train anew into another out_dir (fit(..., resume=False))"
        )
    if not resume:
        return 0  # (the folder was checked before it was locked: _check_new_folder)
    check_model_is_runs(layout.folder, model)  # (before its checkpoint is blamed: userY #8)
    done, asked = (_checkpoint_epoch(last) or 0) + 1, config.max_epochs
    if _published_epochs(layout, model) == done and done >= asked:
        raise spelled(OptionError, lambda spell: (
            f"the run in {layout.folder} has finished its {_count(done)} and "
            f"{spell('max_epochs')} is {asked}; set {spell('max_epochs')} above {done} to "
            "continue it"
        ))  # fmt: skip
    if done > asked:
        raise spelled(OptionError, lambda spell: (
            f"the run in {layout.folder} was interrupted after {_count(done)}, more than the "
            f"{asked} that {spell('max_epochs')} asks for; set {spell('max_epochs')} to {done} "
            "to finish it where it stopped (saving its best epoch), or above to train on"
        ))  # fmt: skip
    return done


STEPS_PER_BATCH = CHECK_EVERY
"""fit's optimizer steps per Lightning batch of resident data, 32: Lightning's per-batch work
(~2 ms per batch on a GPU host, ~0.25 ms on the 2-core CPU; benchmarks/results/host_overhead.md)
divided by 32, and the non-finite guard's read (every :data:`~torchlvm.training.guard.CHECK_EVERY`
steps) once per batch. The steps and their draws are those of one step per batch; callbacks see
the rows of each step."""


def _takes_whole_steps(datamodule: LVMDataModule, compile: bool, steps: int | None) -> bool:
    """Whether training takes the whole-step path (``LVMModule(whole_step=True)``): one process
    (``steps`` not None), no ``compile``, a condition not built from the binarized batch."""
    return steps is not None and not compile and datamodule.condition.kind != "mask"


def _prepare_module(
    model: torch.nn.Module,
    datamodule: LVMDataModule,
    config: TrainConfig,
    last: Path,
    resume: bool,
    compile: bool,
    fast: bool,
    steps: int | None,
) -> LVMModule:
    """Set the data up for ``model`` and pair them; ``last``: the checkpoint to ``resume`` from.
    The whole-step path (:func:`_takes_whole_steps`) runs ``steps`` mini-batches per batch of
    resident data; ``fast`` captures it as a CUDA graph on a GPU."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise ConfigError(f"steps_per_batch must be a positive integer, got {steps!r}")
    if datamodule.batch_size != config.batch_size:
        datamodule.batch_size = config.batch_size
    datamodule.setup("fit")
    datamodule.check_model(model)
    fast = fast and _takes_whole_steps(datamodule, False, steps)
    whole = fast or _takes_whole_steps(datamodule, compile, steps)
    datamodule.redraw_in_loader = not whole
    datamodule.steps_per_batch = steps if whole and steps else 1
    redraw = whole and datamodule.binarize == "dynamic"
    module = LVMModule(model, config, compile=compile, fast=fast, whole_step=whole, redraw=redraw)
    if resume:  # a foreign or damaged checkpoint is named here, not inside Lightning
        checkpoint = read_checkpoint(last)
        check_checkpoint_fits(checkpoint, module, last)
        check_best_is_ours(checkpoint, last)
    return module


def _begin(trainer: L.Trainer, layout: RunLayout, record: dict[str, Any], resume: bool) -> None:
    """Check a resume's world size; write ``checkpoints/run.json`` (rank 0) before training."""
    if resume:
        _check_world_size(layout.last_checkpoint, trainer.world_size)
    if trainer.is_global_zero:  # known once the Trainer has read the launcher's ranks
        write_training_record(layout.folder, record)


def _train(
    trainer: L.Trainer, module: LVMModule, datamodule: LVMDataModule, last: Path, resume: bool
) -> None:
    """``trainer.fit``, with Ctrl-C given back as ``KeyboardInterrupt`` (SIGTERM as
    :class:`~torchlvm._terminated.Terminated`), a divergence named
    with the checkpoint that stays, and the caller's grad mode kept (Lightning's fit loop turns
    gradients on and leaves them on, also inside a caller's ``torch.no_grad()``)."""
    sigint = signal.getsignal(signal.SIGINT)
    try:
        with torch.enable_grad(), nonfinite_weights_as_error(module, trainer):
            trainer.fit(
                module,
                datamodule=datamodule,
                ckpt_path=str(last) if resume else None,
                weights_only=True,
            )
    except SystemExit as err:
        # Lightning turns Ctrl-C into sys.exit(1) after a graceful shutdown (and SIGTERM, where
        # it handles it itself, into its SIGTERMException); give the caller the interrupt back,
        # a SIGTERM's as Terminated (last.ckpt holds the last finished epoch)
        if trainer.interrupted:
            raise as_interrupt(err) from None
        raise
    except NonFiniteError as err:
        done = _checkpoint_epoch(last)
        kept = (
            f"the last good checkpoint (end of epoch {shown(done)}) stays at {last}"
            if done is not None
            else "no checkpoint was written (the first epoch did not finish)"
        )
        raise NonFiniteError(f"{err}; {kept}") from None
    finally:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, sigint)  # Lightning ignores SIGINT after Ctrl-C


def _result(
    model: torch.nn.Module,
    datamodule: LVMDataModule,
    trainer: L.Trainer,
    callbacks: RunCallbacks,
    layout: RunLayout,
    start_epoch: int,
    started: float,
) -> FitResult:
    """Load the best epoch's weights into ``model`` (on the CPU, in eval mode), warn where its
    posterior collapsed (:func:`~torchlvm.training.collapse.warn_collapsed`, global rank 0) and
    describe the run (``started``: when training started, ``time.perf_counter()``)."""
    seconds = time.perf_counter() - started
    model.cpu()
    best_epoch: int | None = None
    best_path = callbacks.checkpoint.best_model_path
    if best_path and Path(best_path).is_file():
        best_epoch = _load_module_weights(model, best_path)
    elif best_path and trainer.is_global_zero:  # (moved out, deleted: review16 R8)
        warnings.warn(
            f"{best_path}, the checkpoint of the run's best epoch before this resume, is gone, "
            f"and no epoch since was better: the saved weights are the last epoch's (epoch "
            f"{shown(trainer.current_epoch - 1)}), not the best epoch's",
            stacklevel=3,
        )
    model.eval()
    if hasattr(model, "fit_code_distribution"):
        with torch.no_grad():
            x = datamodule.train_x()  # a streamed (mmap=True) file's rows are all read here
            model.fit_code_distribution(x if isinstance(x, torch.Tensor) else x[slice(None)])
    if trainer.is_global_zero:
        warn_collapsed(model, datamodule)  # (a posterior that read nothing of x: userQ #4)
    metric = callbacks.checkpoint.monitor or ""
    if start_epoch == trainer.max_epochs and trainer.is_global_zero:  # finished where it stopped
        drop_epochs_from(layout.folder, start_epoch)
    rows = read_metrics(layout.metrics_csv)
    best = next((r.get(metric) for r in rows if r["epoch"] == best_epoch and metric in r), None)
    early = callbacks.early
    return FitResult(
        out_dir=layout.folder,
        epochs=trainer.current_epoch,
        start_epoch=start_epoch,
        monitor=metric,
        best_epoch=best_epoch,
        best_value=None if best is None or not math.isfinite(best) else best,
        metrics=rows,
        seconds=seconds,
        stopped_early=bool(early is not None and early.stopped_epoch > 0),
        skipped_steps=trainer.lightning_module.skipped_steps,
    )


def _export(
    model: torch.nn.Module, result: FitResult, record: dict[str, Any], *, writer: bool
) -> None:
    """Write ``model.safetensors`` + ``config.json``: the saved weights and the run's record,
    where this process is the ``writer`` (under DDP, global rank 0 writes the run folder)."""
    if not writer:
        return
    write_finished(
        result.out_dir,
        model,
        {
            **record,
            "result": {
                "weights": "best" if result.best_epoch is not None else "last",
                "monitor": result.monitor,
                "best_epoch": result.best_epoch,
                "best_value": result.best_value,
                "epochs": result.epochs,
                "stopped_early": result.stopped_early,
                "skipped_steps": result.skipped_steps,
                "units": f"nats per {example_noun('table' in record.get('data', {}))}",
            },
        },
    )


def _check_arguments(
    datamodule: Any, config: Any, accelerator: str, devices: int | str, num_nodes: int,
    progress: Any,
) -> None:  # fmt: skip
    """Refuse a ``datamodule`` or ``config`` of the wrong type, naming what to pass instead, a
    ``progress`` other than True, False or "lines", and devices that are not there
    (:func:`check_devices`)."""
    if not (progress is True or progress is False or progress == "lines"):
        raise ConfigError(f'progress must be True, False or "lines", got {progress!r}')
    for value, kind, what, example in (
        (datamodule, LVMDataModule, "an LVMDataModule", 'LVMDataModule("digits")'),
        (config, TrainConfig, "a TrainConfig", "TrainConfig(max_epochs=10)"),
    ):
        if not isinstance(value, kind):
            raise ConfigError(
                f"fit() takes {what} where it got {type(value).__name__} {value!r:.60}; "
                f"pass one, e.g. {example}"
            )
    check_devices(accelerator, devices, num_nodes)


def fit(
    model: torch.nn.Module,
    datamodule: LVMDataModule,
    config: TrainConfig,
    out_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    progress: bool | Literal["lines"] = True,
    accelerator: str = "cpu",
    devices: int | str = 1,
    num_nodes: int = 1,
    strategy: str = "auto",
    compile: bool = False,
    fast: bool = False,
    steps_per_batch: int = STEPS_PER_BATCH,
    extra_callbacks: Sequence[L.Callback] = (),
    extra_config: dict[str, Any] | None = None,
) -> FitResult:
    """Train ``model`` and write the run folder ``out_dir``; returns a :class:`FitResult`.

    Seed (``lightning.seed_everything``) before building the model for a repeatable initialization
    (``fit`` seeds again to train). ``datamodule``'s batch size is set to ``config.batch_size``;
    ``resume`` continues from ``checkpoints/last.ckpt`` (the last finished epoch), under the run's
    lock, up to ``config.max_epochs`` in all (if it stopped there, the best epoch is published);
    ``progress``: a bar on stderr (``"lines"``: a line per epoch, for a log file); ``accelerator``,
    ``devices``, ``num_nodes``, ``strategy`` go to ``lightning.Trainer`` (DDP for several
    processes); ``compile``: the loss through ``torch.compile``; ``fast``: the whole step as a
    CUDA graph on a GPU (:mod:`torchlvm.training.fast_step`); ``steps_per_batch``: optimizer steps
    per Lightning batch of resident data (one process; :data:`STEPS_PER_BATCH`);
    ``extra_callbacks``: more Lightning callbacks; ``extra_config``: more sections of config.json.

    Raises:
        RunDirectoryError: ``out_dir`` holds a run and not ``resume``, or nothing to resume.
        RunBusyError: another process trains (or evaluates) the run ``resume`` continues.
        NonFiniteError: training diverged (``on_nonfinite="stop"``), naming the step and the
            checkpoint that stays.
        DataError, ConfigError: the model does not suit the data or the objective, too many
            devices, a resume with another world size or fewer epochs, a wrong argument type.
    """
    _check_arguments(datamodule, config, accelerator, devices, num_nodes, progress)
    with _resume_held(out_dir, resume) as layout:
        start_epoch, last = _start_epoch(layout, config, resume, model), layout.last_checkpoint
        steps = None if many_processes(devices, num_nodes) else steps_per_batch
        module = _prepare_module(model, datamodule, config, last, resume, compile, fast, steps)
        callbacks = run_callbacks(config, layout.checkpoints, extra_callbacks, progress)
        record = {**model_record(model), "training": asdict(config), "data": datamodule.record()}
        L.seed_everything(config.seed, workers=True, verbose=False)
        started = time.perf_counter()
        with quiet_lightning():
            trainer = make_trainer(
                config, callbacks, layout.folder, progress=progress, manual=module.whole_step,
                batches_per_epoch=math.ceil(datamodule.num_train_batches() / (steps or 1)),
                accelerator=accelerator, devices=devices, num_nodes=num_nodes, strategy=strategy,
            )  # fmt: skip
            record.update(**(extra_config or {}), runtime=runtime_record(trainer, module))
            _begin(trainer, layout, record, resume)
            _train(trainer, module, datamodule, last, resume)
        result = _result(model, datamodule, trainer, callbacks, layout, start_epoch, started)
        _export(model, result, record, writer=trainer.is_global_zero)
    return result


@contextlib.contextmanager
def _resume_held(out_dir: str | os.PathLike[str], resume: bool) -> Iterator[RunLayout]:
    """The layout of the run folder ``out_dir``, with the run's lock held meanwhile by the
    process that writes it (global rank 0). For a resume,
    :func:`~torchlvm.run.resume.held_for_resume` finishes a publish a kill left half done first
    (a folder with nothing to resume, which :func:`_start_epoch` names, takes no lock), then
    the temporary files of checkpoint saves a kill cut short go (userV #3); a new run's folder
    is checked, made and locked (:func:`_new_run_held`)."""
    from torchlvm.run.resume import held_for_resume

    layout = RunLayout(resolved_folder(Path(out_dir)) if resume else Path(out_dir))
    if not resume:
        with _new_run_held(layout):
            yield layout
        return
    if rank_zero_only.rank != 0 or not layout.folder.is_dir():
        yield layout
        return
    with held_for_resume(layout.folder, f"python {sys.argv[0]}: torchlvm.training.fit(resume)"):
        clear_killed_writes(layout.checkpoints)  # (under the run's lock: no save under way)
        yield layout


def _check_new_folder(layout: RunLayout) -> None:
    """Refuse a new run's folder that holds a run, or that a '~' no shell expanded names."""
    if (home := unexpanded_home(layout.folder, "out_dir")) is not None:
        raise home  # the run's folders would be made under a folder named '~' here
    # under DDP, Lightning re-runs the script for ranks > 0 after rank 0 has made the folder
    if rank_zero_only.rank == 0 and holds_run(layout.folder):
        raise RunDirectoryError(
            f"{layout.folder} already holds a run; resume it, or choose another folder"
        )


@contextlib.contextmanager
def _new_run_held(layout: RunLayout) -> Iterator[None]:
    """A new run's folder, checked, then made and locked by global rank 0 while it is trained
    (a reader meanwhile says it is being trained, where it called the run interrupted and
    offered a resume that would train the folder twice at once). Where this process holds its
    lock already (``train`` locks its staging folder), the block just runs; a folder made here
    that is still empty when the block fails (before training wrote anything) is removed."""
    from torchlvm.run.lock import acquire, held_here

    _check_new_folder(layout)
    folder = layout.folder
    if rank_zero_only.rank != 0 or held_here(folder):
        yield
        return
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with acquire(folder, f"python {sys.argv[0]}: torchlvm.training.fit", what=str(folder)):
            yield
    finally:
        if made and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
