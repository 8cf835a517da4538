"""torchlvm: latent variable models in PyTorch.

Models share one protocol (:class:`torchlvm.protocol.LatentVariableModel`): ``prior``, ``encode``
and ``decode`` return ``torch.distributions`` objects. Objectives live in
:mod:`torchlvm.inference`, data in :mod:`torchlvm.data`.

    >>> import torchlvm
    >>> from torchlvm import PPCA, VAE, CVAE, Autoencoder
    >>> model = torchlvm.load("runs/vae")        # a run folder or an export folder

``import torchlvm`` imports nothing else: each name below (and each subpackage, such as
``torchlvm.inference``) is imported when first used (PEP 562). The ``torchlvm`` command relies on
it: its Ctrl-C handling is in place before torch's seconds-long import begins.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (typing.TYPE_CHECKING: importing typing alone takes longer than the rest)
if TYPE_CHECKING:
    from torchlvm.errors import TorchLVMError
    from torchlvm.io import load
    from torchlvm.models import CVAE, PPCA, VAE, Autoencoder

__version__ = "0.1.0"

__all__ = ["CVAE", "PPCA", "VAE", "Autoencoder", "TorchLVMError", "__version__", "load"]

#: public name → the module that defines it
_HOMES = {
    "CVAE": "torchlvm.models",
    "PPCA": "torchlvm.models",
    "VAE": "torchlvm.models",
    "Autoencoder": "torchlvm.models",
    "TorchLVMError": "torchlvm.errors",
    "load": "torchlvm.io",
}


def __getattr__(name: str) -> object:
    """``torchlvm.VAE``, ``from torchlvm import load``, ``torchlvm.inference``: imported now."""
    if name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name]), name)
        globals()[name] = value  # looked up once
        return value
    if not name.startswith("__"):
        try:  # a subpackage or module (importing it makes it an attribute of the package)
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise  # the module exists, one of its imports does not
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
