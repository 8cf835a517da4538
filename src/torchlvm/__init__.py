"""torchlvm: latent variable models in PyTorch.

Models share one protocol (:class:`torchlvm.protocol.LatentVariableModel`): ``prior``, ``encode``
and ``decode`` return ``torch.distributions`` objects. Objectives live in
:mod:`torchlvm.inference`, data in :mod:`torchlvm.data`.
"""

from torchlvm.errors import TorchLVMError

__version__ = "0.1.0"

__all__ = ["TorchLVMError", "__version__"]
