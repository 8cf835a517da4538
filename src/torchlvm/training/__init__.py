"""Training on PyTorch Lightning: the module pairing a model with an objective, the data module,
callbacks, and :func:`fit`, which writes a run folder.

>>> from torchlvm.training import LVMDataModule, TrainConfig, fit
>>> result = fit(model, LVMDataModule("digits", binarize="dynamic"), TrainConfig(), "runs/vae")
"""

from torchlvm.training.config import TrainConfig
from torchlvm.training.data import LVMDataModule
from torchlvm.training.losses import LOSSES, kl_weight, register_loss, training_loss
from torchlvm.training.module import LVMModule, monitor
from torchlvm.training.trainer import FitResult, fit, read_run_record

__all__ = [
    "LOSSES",
    "FitResult",
    "LVMDataModule",
    "LVMModule",
    "TrainConfig",
    "fit",
    "kl_weight",
    "monitor",
    "read_run_record",
    "register_loss",
    "training_loss",
]
