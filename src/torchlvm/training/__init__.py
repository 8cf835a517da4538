"""Training on PyTorch Lightning: the module pairing a model with an objective, the data module,
callbacks, and :func:`fit`, which writes a run folder. Objectives are registered values
(:mod:`torchlvm.training.objectives`): :func:`register_objective` adds one,
:func:`objectives_for` lists those that train a model type.

>>> from torchlvm.training import LVMDataModule, TrainConfig, fit
>>> result = fit(model, LVMDataModule("digits", binarize="dynamic"), TrainConfig(), "runs/vae")
"""

from torchlvm.training.config import TrainConfig
from torchlvm.training.data import LVMDataModule
from torchlvm.training.losses import kl_weight, training_loss
from torchlvm.training.module import LVMModule
from torchlvm.training.objectives import (
    OBJECTIVES,
    Objective,
    get_objective,
    monitor,
    objectives_for,
    register_objective,
)
from torchlvm.training.trainer import FitResult, fit, read_run_record

__all__ = [
    "OBJECTIVES",
    "FitResult",
    "LVMDataModule",
    "LVMModule",
    "TrainConfig",
    "Objective",
    "fit",
    "get_objective",
    "kl_weight",
    "monitor",
    "objectives_for",
    "read_run_record",
    "register_objective",
    "training_loss",
]
