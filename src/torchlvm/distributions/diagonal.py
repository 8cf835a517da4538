"""The diagonal Gaussian q(z | x) = N(μ, diag σ²) as ``Independent(Normal(μ, σ), 1)``, drawing its
reparameterized samples in one kernel fewer.

``IndependentNormal`` is torch's ``Independent(Normal(loc, scale), 1)`` (its ``base_dist`` is the
``Normal``) with one override: ``rsample`` draws ε ~ N(0, I) with ``torch.randn`` (one kernel)
where ``Normal.rsample`` makes an empty tensor and fills it (two), then returns μ + ε·σ as torch
does: the same draws from the same generator, the same numbers bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import Independent, Normal
from torch.types import _size

_SCALAR = torch.Size()


class IndependentNormal(Independent):
    """``Independent(Normal(loc, scale), 1)``: batch ``loc.shape[:-1]``, event ``(K,)``."""

    base_dist: Normal

    def rsample(self, sample_shape: _size = _SCALAR) -> Tensor:
        """Reparameterized draws μ + ε·σ, shape ``sample_shape + batch_shape + (K,)``."""
        base = self.base_dist
        shape = self._extended_shape(torch.Size(sample_shape))
        eps = torch.randn(shape, dtype=base.loc.dtype, device=base.loc.device)
        return base.loc + eps * base.scale
