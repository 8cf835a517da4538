"""The epoch means of the training terms, summed on the device.

Each step adds its per-term sums and its number of examples, unless the non-finite guard flagged
the step, in place into two device tensors: no host read per step, and a step captured as a CUDA
graph (:mod:`torchlvm.training.fast_step`) adds to the same tensors on every replay. The epoch's
end reads the count once and logs the means (nats per example).
"""

from __future__ import annotations

import torch
from torch import Tensor


class EpochSums:
    """Per-term sums ``(T,)`` and the example count of an epoch's unflagged steps."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.sums: Tensor | None = None
        self.count: Tensor | None = None
        self._zero: Tensor | None = None  # what a flagged step adds (a tensor: no fill kernel)

    def reset(self) -> None:
        """Start an epoch (in place: a captured graph keeps adding to these tensors)."""
        if self.sums is not None and self.count is not None:
            self.sums.zero_()
            self.count.zero_()

    def add(self, names: tuple[str, ...], sums: Tensor, finite: Tensor, n: int) -> None:
        """Add a step's term sums ``(T,)`` over its ``n`` examples, unless ``finite`` (a 0-dim
        device bool) is false; three small kernels."""
        if self.sums is None or self.count is None or self._zero is None:
            self.sums = torch.zeros_like(sums)
            self.count = torch.zeros((), dtype=torch.long, device=sums.device)
            self._zero = torch.zeros((), dtype=sums.dtype, device=sums.device)
        self.names = names
        self.sums.add_(torch.where(finite, sums, self._zero))
        self.count.add_(finite, alpha=n)

    def means(self) -> dict[str, Tensor]:
        """Each term's mean over the epoch's unflagged examples ({} if none); one host read."""
        count = 0 if self.count is None else int(self.count)
        if not count or self.sums is None:
            return {}
        return dict(zip(self.names, self.sums / count, strict=True))
