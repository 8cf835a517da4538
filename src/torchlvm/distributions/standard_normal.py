"""N(0, I_K), the standard normal prior, as a ``torch.distributions`` object that makes its
tensors only when asked.

``StandardNormal`` is ``Independent(Normal(0, 1), 1)`` in every respect a caller sees (type,
shapes, ``log_prob``, ``sample``, ``base_dist``), but its zero mean and unit scale are built on
first use: the KL of a diagonal Gaussian against it, :mod:`torchlvm.distributions.kl`'s closed
form, needs neither, so a training step's prior costs no kernel (it cost four: ``zeros``,
``ones_like`` and two ``expand``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import torch
from torch.distributions import Distribution, Independent, Normal


class StandardNormal(Independent):
    """N(0, I_K) with batch shape ``batch_shape`` and event ``(K,)``.

    Args:
        latent_dim: K.
        batch_shape: the batch shape.
        device, dtype: of the tensors it makes (samples, log-densities, ``base_dist``).
    """

    def __init__(
        self,
        latent_dim: int,
        batch_shape: tuple[int, ...] | torch.Size = (),
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        validate_args: bool | None = None,
    ) -> None:
        if not isinstance(device, torch.device):  # a model's prior passes its parameters' own
            device = torch.device(device or "cpu")
        self.device, self.dtype = device, dtype or torch.get_default_dtype()
        self.reinterpreted_batch_ndims = 1
        Distribution.__init__(
            self, torch.Size(batch_shape), torch.Size((latent_dim,)), validate_args=validate_args
        )

    @cached_property
    def base_dist(self) -> Normal:  # type: ignore[override]
        """``Normal(0, 1)`` over ``batch_shape + (K,)`` (expanded views of two K-vectors)."""
        loc = torch.zeros(self.event_shape, device=self.device, dtype=self.dtype)
        normal = Normal(loc, torch.ones_like(loc), validate_args=self._validate_args)
        return normal.expand(self.batch_shape + self.event_shape)

    def expand(self, batch_shape: Any, _instance: Any = None) -> StandardNormal:
        return StandardNormal(
            self.event_shape[0],
            torch.Size(batch_shape),
            device=self.device,
            dtype=self.dtype,
            validate_args=self._validate_args,
        )
