"""Latent variable models, each a small frozen config dataclass plus an ``nn.Module`` on the
protocol of :mod:`torchlvm.protocol`.

Importing this package registers every model by name (``"ppca"``, ``"ae"``, ``"vae"``,
``"cvae"``), which is how :func:`torchlvm.load` rebuilds one from ``config.json``.
:class:`EMConvergenceWarning` (a scikit-learn ``ConvergenceWarning``) and
:class:`PrecisionWarning` are the warnings a PPCA's fit may give.
"""

from torchlvm.models import conditions
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.ppca import PPCA, PPCAConfig
from torchlvm.models.ppca_fit import EMConvergenceWarning
from torchlvm.models.ppca_float32 import PrecisionWarning
from torchlvm.models.registry import MODELS, model_class, register_model
from torchlvm.models.vae import VAE, VAEConfig

__all__ = [
    "CVAE",
    "MODELS",
    "PPCA",
    "VAE",
    "Autoencoder",
    "AutoencoderConfig",
    "CVAEConfig",
    "EMConvergenceWarning",
    "PPCAConfig",
    "PrecisionWarning",
    "VAEConfig",
    "conditions",
    "model_class",
    "register_model",
]
