"""Training on PyTorch Lightning: the module pairing a model with an objective, the data module,
callbacks, and :func:`fit`, which writes a run folder. Objectives are registered values
(:mod:`torchlvm.training.objectives`): :func:`register_objective` adds one,
:func:`objectives_for` lists those that train a model type.

>>> from torchlvm import VAE
>>> from torchlvm.models import VAEConfig
>>> from torchlvm.training import LVMDataModule, TrainConfig, fit
>>> model = VAE(VAEConfig(input_dim=64, latent_dim=8))       # digits: 8 x 8 images
>>> data, config = LVMDataModule("digits", binarize="dynamic"), TrainConfig(max_epochs=2)
>>> result = fit(model, data, config, "runs/vae", progress=False)
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
