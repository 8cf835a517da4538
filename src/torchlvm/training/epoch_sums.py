"""The epoch means of the training terms, summed on the device.

Each step adds its per-term sums and its number of examples, unless the non-finite guard flagged
the step, in place into one device vector ``[Σ term_1, ..., Σ term_T, examples]``: no host read
per step, and a step captured as a CUDA graph (:mod:`torchlvm.training.fast_step`) adds to the
same vector on every replay. The whole-step path hands over the per-example terms
(:meth:`EpochSums.add_terms`: three kernels, the count summed with the terms as a row of ones);
Lightning's automatic optimization hands over their sums (:meth:`EpochSums.add`). The epoch's end
reads the vector once and logs the means (nats per example). The count is kept in the terms'
dtype: exact up to 2^24 examples per epoch in float32, beyond which its relative error (~1e-7)
stays below that of the float32 sums themselves.
"""

from __future__ import annotations

import torch
from torch import Tensor


class EpochSums:
    """Per-term sums and the example count of an epoch's unflagged steps, ``(T + 1,)``."""

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.totals: Tensor | None = None  # [Σ term_1, ..., Σ term_T, examples]
        self._zero: Tensor | None = None  # what a flagged step adds (a tensor: no fill kernel)
        self._ones: dict[int, Tensor] = {}  # (B,) ones per batch size: the count row, the sum

    def reset(self) -> None:
        """Start an epoch (in place: a captured graph keeps adding to this tensor)."""
        if self.totals is not None:
            self.totals.zero_()

    def add_terms(self, terms: dict[str, Tensor], finite: Tensor) -> None:
        """Add a step's per-example terms, each ``(B,)``, unless ``finite`` (a 0-dim device
        bool) is false: ``totals += where(finite, [terms; 1], 0) @ 1`` in three kernels."""
        first = next(iter(terms.values()))
        ones = self._ones.get(first.shape[0])
        if ones is None:  # one per batch size, made on the first step of that size
            ones = self._ones[first.shape[0]] = torch.ones_like(first.detach())
        totals = self._totals(tuple(terms), first)
        with torch.no_grad():
            rows = torch.stack([*terms.values(), ones])  # (T + 1, B)
            totals.addmv_(torch.where(finite, rows, self._zero), ones)

    def add(self, names: tuple[str, ...], sums: Tensor, finite: Tensor, n: int) -> None:
        """Add a step's term sums ``(T,)`` over its ``n`` examples, unless ``finite`` (a 0-dim
        device bool) is false."""
        totals = self._totals(names, sums)
        step = torch.cat([sums, sums.new_full((1,), n)])  # (T + 1,)
        totals.add_(torch.where(finite, step, self._zero))

    def _totals(self, names: tuple[str, ...], like: Tensor) -> Tensor:
        if self.totals is None or self._zero is None:
            self.totals = torch.zeros(len(names) + 1, dtype=like.dtype, device=like.device)
            self._zero = torch.zeros((), dtype=like.dtype, device=like.device)
        self.names = names
        return self.totals

    def means(self) -> dict[str, Tensor]:
        """Each term's mean over the epoch's unflagged examples ({} if none); one host read."""
        if self.totals is None:
            return {}
        count = float(self.totals[-1])
        if not count:
            return {}
        return dict(zip(self.names, self.totals[:-1] / count, strict=True))
