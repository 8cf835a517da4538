"""Training batches sliced from tensors that live on the training device.

When the training split is a tensor that fits on the device (always on a CPU; on a GPU when it
takes at most half the free memory), it is copied there once, and each epoch's order (the
sampler's, a function of ``(seed, epoch)``) once per epoch. A batch is then an ``index_select``
on the device and, under dynamic binarization, ``rand_like(x) < x`` on the device: no DataLoader,
no per-batch host work beyond Python's loop, no per-batch host-to-device copy. The batches are the
ones the DataLoader path serves (same order, same draws from the same RNG in the same order), so
a run gives the same numbers either way.

With ``steps`` > 1 an item of the loader holds the rows of that many consecutive mini-batches
(``steps · batch_size`` rows, the epoch's last item fewer), which the training step splits into
``batch_size``-row mini-batches and runs one optimizer step on each: Lightning's per-batch work
(hooks, progress, logging: milliseconds, more than a small model's step on a GPU) is then paid
once per ``steps`` optimizer steps. Such items are never binarized in the loader (the step draws,
so the draws keep their order).

:func:`make_batch` is the one place a batch is made from its rows, for both paths.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch import Tensor

from torchlvm.models.conditions import BoundCondition

Batch = dict[str, Tensor]
_DEVICE_SHARE = 0.5  # resident data may take at most this share of a GPU's free memory


def make_batch(x: Tensor, y: Tensor | None, conditioner: BoundCondition, *, redraw: bool) -> Batch:
    """The batch of rows ``x`` ``(B, D)`` and labels ``y`` ``(B,)``: ``x`` redrawn as
    Bernoulli(x) when ``redraw`` (dynamic binarization), and its condition ``c`` when there is
    one."""
    if redraw:  # x ~ Bernoulli(p) as u < p, u ~ U[0, 1): 3-6× faster than bernoulli()
        x = (torch.rand_like(x) < x).to(x.dtype)
    batch = {"x": x}
    c = conditioner.build(x, y)
    if c is not None:
        batch["c"] = c
    if y is not None:
        batch["y"] = y
    return batch


def fits_on(device: torch.device, *tensors: Tensor | None) -> bool:
    """Whether ``tensors`` may live on ``device`` for the run: on a CPU they already do; on a
    GPU when they take at most half its free memory; elsewhere no (served by a DataLoader)."""
    if device.type == "cpu":
        return True
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    size = sum(t.numel() * t.element_size() for t in tensors if t is not None)
    return size <= _DEVICE_SHARE * free


class ResidentBatches:
    """An iterable of training batches from ``x`` (and ``y``) copied once onto ``device``.

    Args:
        x: ``(N, D)`` rows (intensities when ``redraw``). y: ``(N,)`` labels or None.
        conditioner: builds c from a batch (its mask is moved to ``device``).
        redraw: dynamic binarization.
        sampler: the epoch's order of ``range(N)``; Lightning calls its ``set_epoch``. One with
            an ``epoch_order()`` method gives it as a tensor.
        batch_size: rows per batch (the last batch may be smaller).
        device: where the rows live and the batches are made.
        steps: mini-batches per item (see the module docstring; requires not ``redraw`` if > 1).
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor | None,
        conditioner: BoundCondition,
        *,
        redraw: bool,
        sampler: Any,
        batch_size: int,
        device: torch.device,
        steps: int = 1,
    ) -> None:
        assert steps == 1 or not redraw, "several steps per item draw in the step"
        self.x = x.to(device)
        self.y = None if y is None else y.to(device)
        mask = conditioner.mask
        self.conditioner = (
            conditioner if mask is None else dataclasses.replace(conditioner, mask=mask.to(device))
        )
        self.redraw, self.sampler, self.batch_size, self.device = (
            redraw,
            sampler,
            batch_size,
            device,
        )
        self.steps = steps

    @property
    def steps_per_epoch(self) -> int:
        """Mini-batches (optimizer steps) per epoch."""
        assert isinstance(self.sampler, Sized)
        return math.ceil(len(self.sampler) / self.batch_size)

    def __len__(self) -> int:
        return math.ceil(self.steps_per_epoch / self.steps)

    def __iter__(self) -> Iterator[Batch]:
        if hasattr(self.sampler, "epoch_order"):  # EpochShuffleSampler: no list of N ints
            order = self.sampler.epoch_order().to(self.device)  # (N,)
        else:
            order = torch.as_tensor(list(self.sampler), dtype=torch.long).to(self.device)
        rows = self.steps * self.batch_size
        for start in range(0, order.shape[0], rows):
            index = order[start : start + rows]  # (S·B,)
            y = None if self.y is None else self.y.index_select(0, index)
            yield make_batch(self.x.index_select(0, index), y, self.conditioner, redraw=self.redraw)
