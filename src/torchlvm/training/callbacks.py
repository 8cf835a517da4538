"""Lightning callbacks of a torchlvm run.

:class:`EpochSeeds` makes randomness a function of ``(seed, epoch)``: the global RNG (z samples,
dynamic binarization draws) is reseeded at the start of every training epoch, and to one fixed
seed at the start of every validation pass, so that

- a run resumed from a checkpoint draws the same numbers as an uninterrupted one, and
- the validation bound of every epoch uses the same noise (common random numbers), so the
  difference between epochs, which early stopping and "best" checkpoints compare, is not noise.

Under DDP each process of global rank r > 0 adds r·``_RANK_STRIDE`` to these seeds, so processes
draw independent noise for their different examples (rank 0 draws what a single process draws).

:class:`RunCheckpoint` is Lightning's ``ModelCheckpoint`` with ``last.ckpt`` written at the end of
every epoch and made robust to a moved run folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from torchlvm._epochs import shown
from torchlvm.errors import DataError
from torchlvm.run.layout import users_checkpoint

_EPOCH_STRIDE = 1_000_003  # a prime, so (seed, epoch) pairs do not collide for small values
_RANK_STRIDE = 1_000_000_007  # another prime, for the process rank under DDP


def epoch_seed(seed: int, epoch: int) -> int:
    """The global seed of training epoch ``epoch`` of a run seeded with ``seed``."""
    return (seed * _EPOCH_STRIDE + epoch + 1) % (2**63)


class EpochSeeds(L.Callback):
    """Reseed the global RNG per training epoch and per validation pass (see the module doc)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(_per_rank(epoch_seed(self.seed, trainer.current_epoch), trainer))

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(_per_rank(self.seed, trainer))


def _per_rank(seed: int, trainer: L.Trainer) -> int:
    return (seed + trainer.global_rank * _RANK_STRIDE) % (2**63)


class RunCheckpoint(ModelCheckpoint):
    """``ModelCheckpoint`` whose ``last.ckpt`` is the last epoch and whose state survives moving
    the run folder.

    Last epoch: Lightning (2.6) writes ``last.ckpt`` only when it also writes a top-k
    checkpoint, so with a monitor ``last.ckpt`` would be the *best* epoch and a resume would lose
    every epoch after the last improvement. Here ``last.ckpt`` is written at the end of every
    epoch (after its validation, so it holds the epoch's best-so-far and early-stopping state).
    On Ctrl-C (``KeyboardInterrupt``) an epoch whose work had finished but whose ``last.ckpt``
    was not yet written (the interrupt landed during the saves) is saved; an epoch cut short is
    not (Lightning cannot resume inside an epoch of a non-resumable loader), so ``last.ckpt`` is
    always the end of the last finished epoch.

    Moved folder: Lightning records absolute checkpoint paths and, when the folder differs on
    resume, forgets the best score so far. A run is trained in a staging folder and moved into
    place (and users move run folders), so on load the recorded paths are re-rooted at the
    current ``dirpath``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._last_written_step = -1  # global step of the last last.ckpt this process wrote
        self._finished_step = -1  # global step at the end of the last epoch whose work finished

    def format_checkpoint_name(
        self,
        metrics: dict[str, Any],
        filename: str | None = None,
        ver: int | None = None,
        prefix: str | None = None,
    ) -> str:
        """Lightning's name, with the epoch numbered as every line shows it (from 1,
        :func:`~torchlvm._epochs.shown`): "best epoch 2" is ``best-epoch002.ckpt`` (it was
        best-epoch001, userM #17); the checkpoint's own ``epoch`` stays Lightning's index."""
        if "epoch" in metrics:
            metrics = {**metrics, "epoch": shown(metrics["epoch"])}
        return super().format_checkpoint_name(metrics, filename, ver, prefix)

    def _save_last_checkpoint(self, trainer: L.Trainer, monitor_candidates: dict[str, Any]) -> None:
        super()._save_last_checkpoint(trainer, monitor_candidates)
        self._last_written_step = trainer.global_step

    def _save_last_if_missing(self, trainer: L.Trainer) -> None:
        if (
            self.save_last
            and trainer.global_step > 0
            and self._last_written_step != trainer.global_step
            and trainer.state.fn == "fit"
            and not trainer.sanity_checking
            and not trainer.fast_dev_run
        ):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._finished_step = trainer.global_step
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_missing(trainer)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):
            self._finished_step = trainer.global_step
            self._save_last_if_missing(trainer)

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        super().on_exception(trainer, pl_module, exception)
        # one process only: a save under DDP waits at a barrier the other ranks may not reach
        if isinstance(exception, KeyboardInterrupt) and trainer.world_size == 1:
            if self._finished_step == trainer.global_step:
                self._save_last_if_missing(trainer)

    def _remove_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        """Lightning's removal of a checkpoint it keeps no longer (the best epoch before a
        better one), where the file is still torchlvm's: Lightning removes the path it recorded,
        and a user's own file swapped in under that name (``best-epoch002.ckpt`` replaced by a
        checkpoint of their own training) was deleted when the resumed run found a better epoch.
        The file's content decides, as for ``--overwrite``
        (:func:`~torchlvm.run.layout.users_checkpoint`)."""
        if not users_checkpoint(Path(filepath)):
            super()._remove_checkpoint(trainer, filepath)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        old = state_dict.get("dirpath")
        if old is not None and self.dirpath is not None and old != self.dirpath:

            def move(path: Any) -> Any:
                if isinstance(path, str) and path and os.path.dirname(path) == old:
                    return os.path.join(self.dirpath, os.path.basename(path))
                return path

            state_dict = dict(state_dict)
            for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
                state_dict[key] = move(state_dict.get(key, ""))
            best_k = state_dict.get("best_k_models") or {}
            state_dict["best_k_models"] = {move(p): v for p, v in best_k.items()}
            state_dict["dirpath"] = self.dirpath
        super().load_state_dict(state_dict)


def check_best_is_ours(checkpoint: dict[str, Any], last: Path) -> None:
    """Refuse to resume from ``checkpoint`` (the file ``last``) where the checkpoint of the
    best epoch so far it records (:class:`RunCheckpoint`'s ``best_model_path``, re-rooted beside
    ``last`` as on load) is a file torchlvm did not write: a resume publishes its weights where
    no later epoch is better, and a user's own checkpoint swapped in under
    ``best-epoch002.ckpt`` ended such a resume in a traceback (or published their weights as
    the run's, where the tensor names fitted).

    Raises:
        DataError: naming the file, and the fix.
    """
    for state in (checkpoint.get("callbacks") or {}).values():
        recorded = state.get("best_model_path") if isinstance(state, dict) else None
        if not isinstance(recorded, str) or not recorded:
            continue
        moved = os.path.dirname(recorded) == state.get("dirpath")
        best = last.parent / os.path.basename(recorded) if moved else Path(recorded)
        if best != last and users_checkpoint(best):
            raise DataError(
                f"{best} is not a checkpoint torchlvm wrote (a file of your own under its "
                f"name?), and {last.name} records it as the run's best epoch so far, whose "
                "weights a resume publishes unless a later epoch is better; put the run's own "
                f"back, or move it out of {best.parent} (where no epoch the resume trains beats "
                "that best, the saved weights are then its last epoch's), then resume"
            )
