"""Lightning callbacks of a torchlvm run.

:class:`EpochSeeds` makes randomness a function of ``(seed, epoch)``: the global RNG (z samples,
dynamic binarization draws) is reseeded at the start of every training epoch, and to one fixed
seed at the start of every validation pass, so that

- a run resumed from a checkpoint draws the same numbers as an uninterrupted one, and
- the validation bound of every epoch uses the same noise (common random numbers), so the
  difference between epochs, which early stopping and "best" checkpoints compare, is not noise.
"""

from __future__ import annotations

import lightning as L
import torch

_EPOCH_STRIDE = 1_000_003  # a prime, so (seed, epoch) pairs do not collide for small values


def epoch_seed(seed: int, epoch: int) -> int:
    """The global seed of training epoch ``epoch`` of a run seeded with ``seed``."""
    return (seed * _EPOCH_STRIDE + epoch + 1) % (2**63)


class EpochSeeds(L.Callback):
    """Reseed the global RNG per training epoch and per validation pass (see the module doc)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(epoch_seed(self.seed, trainer.current_epoch))

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.manual_seed(self.seed)
