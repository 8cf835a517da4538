"""The one interface every torchlvm model implements: every estimator, objective and command
works on any model that has it.

A model is a joint distribution p(x, z | c) = p(z | c) p(x | z, c) together with an inference
distribution q(z | x, c). Each of the three is returned as a ``torch.distributions.Distribution``
whose event is one flat vector: ``x`` has shape ``(B, D)`` and ``z`` has shape ``(B, K)``, with any
sample dimensions leading (``(S, B, K)``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor
from torch.distributions import Distribution


@runtime_checkable
class LatentVariableModel(Protocol):
    """p(z | c), q(z | x, c) and p(x | z, c) as distributions.

    Attributes:
        latent_dim: K, the size of z.
    """

    latent_dim: int

    def prior(self, c: Tensor | None = None, batch_shape: tuple[int, ...] = ()) -> Distribution:
        """p(z) or p(z | c). Event shape ``(K,)``; batch shape ``c.shape[:-1]`` when conditioned,
        else ``batch_shape``."""
        ...

    def encode(self, x: Tensor, c: Tensor | None = None) -> Distribution:
        """q(z | x[, c]) for ``x`` of shape ``(B, D)``: batch shape ``(B,)``, event ``(K,)``."""
        ...

    def decode(self, z: Tensor, c: Tensor | None = None) -> Distribution:
        """p(x | z[, c]) for ``z`` of shape ``(..., B, K)``: batch shape ``(..., B)``, event
        ``(D,)``."""
        ...


def latent_size(model: LatentVariableModel) -> int:
    """K, the size of the z that ``model`` draws and reads: its ``fitted_config``'s
    ``latent_dim`` where it has one, else ``latent_dim``. The two differ on a fitted
    :class:`~torchlvm.PPCA` after ``set_params(latent_dim=...)``, which changes the parameter
    for the next ``fit`` (scikit-learn's contract), not the fitted W."""
    fitted = getattr(model, "fitted_config", None)
    return int(model.latent_dim if fitted is None else fitted.latent_dim)
