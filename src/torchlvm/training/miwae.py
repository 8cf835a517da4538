"""The ``"miwae"`` objective: train a VAE on rows with missing cells (NaN) by the MIWAE bound
(Mattei & Frellsen 2019, eq. 4; :func:`torchlvm.inference.miwae.miwae_bound`), which integrates
the missing cells out of p(x | z) exactly; on complete rows it is the IWAE bound L_k.

Registered like the built-in objectives (:mod:`torchlvm.training.objectives`): ``k`` importance
samples (``TrainConfig.k``), validated and monitored by the same bound.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

from torchlvm.inference.miwae import miwae_bound
from torchlvm.training.objectives import Monitor, Terms, register_objective

if TYPE_CHECKING:  # config.py imports this module to fill the registry
    from torchlvm.training.config import TrainConfig


def miwae_terms(model: Any, x: Tensor, c: Tensor | None, config: TrainConfig) -> Terms:
    """Validation: ``miwae`` = L_k on the observed cells, ``(B,)``."""
    return {"miwae": miwae_bound(model, x, c, num_samples=config.k)}


def _monitor(config: TrainConfig) -> Monitor:
    del config
    return ("val/miwae", "max")


@register_objective(
    "miwae",
    models=("vae",),
    monitor=_monitor,
    validation=miwae_terms,
    importance_samples=True,
)
def miwae_loss(
    model: Any, x: Tensor, c: Tensor | None, config: TrainConfig, *, kl_weight: float
) -> Terms:
    """−L_k over each row's observed cells, with k = ``config.k``.

    Returns:
        ``loss`` and ``miwae`` (L_k), each ``(B,)``.
    """
    del kl_weight  # L_k has no separate KL term
    bound = miwae_bound(model, x, c, num_samples=config.k)
    return {"loss": -bound, "miwae": bound}
