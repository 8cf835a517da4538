"""torchlvm: latent variable models in PyTorch.

Models share one protocol (:class:`torchlvm.protocol.LatentVariableModel`): ``prior``, ``encode``
and ``decode`` return ``torch.distributions`` objects. Objectives live in
:mod:`torchlvm.inference`, data in :mod:`torchlvm.data`.

    >>> import torchlvm
    >>> from torchlvm import PPCA, VAE, CVAE, Autoencoder
    >>> model = torchlvm.load("runs/vae")        # a run folder or an export folder
"""

from torchlvm.errors import TorchLVMError
from torchlvm.io import load
from torchlvm.models import CVAE, PPCA, VAE, Autoencoder

__version__ = "0.1.0"

__all__ = ["CVAE", "PPCA", "VAE", "Autoencoder", "TorchLVMError", "__version__", "load"]
