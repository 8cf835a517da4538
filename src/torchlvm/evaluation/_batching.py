"""Running a per-batch computation over a whole dataset, with a progress bar.

Evaluation never loops over data points in Python: each function handed to :func:`map_batches`
takes a batch ``x`` of shape ``(B, D)`` (and its condition ``c``) and returns per-example
tensors with leading dimension ``B``, which are concatenated.

Within :func:`batches_reported`, every batch is also reported to its ``advance(desc, rows)``
(and the start of each computation, as ``rows`` 0):
every section of an evaluation runs its batches here, so that ``evaluate(advance=...)`` is told of
them all without each section passing a callback along.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor
from tqdm.auto import tqdm

from torchlvm._checks import check_positive_int
from torchlvm._device import model_device as model_device  # (where it is looked up)

BatchFn = Callable[[Tensor, Tensor | None], dict[str, Tensor]]
Advance = Callable[[str, int], None]
"""``advance(desc, rows)``: told before the first batch (``rows`` 0) and after each batch, by
the progress bar's label and the batch's rows."""

_ADVANCE: ContextVar[Advance | None] = ContextVar("advance", default=None)


@contextmanager
def batches_reported(advance: Advance | None) -> Iterator[None]:
    """Within it, :func:`map_batches` calls ``advance(desc, 0)`` before its first batch and
    ``advance(desc, rows)`` after each (None: nothing is called)."""
    token = _ADVANCE.set(advance)
    try:
        yield
    finally:
        _ADVANCE.reset(token)


def map_batches(
    fn: BatchFn,
    x: Tensor,
    c: Tensor | None = None,
    *,
    batch_size: int,
    desc: str,
    progress: bool = False,
    device: torch.device | str | None = None,
) -> dict[str, Tensor]:
    """Apply ``fn`` to consecutive batches of ``x`` (and ``c``) and concatenate its outputs.

    Args:
        fn: ``fn(xb, cb) -> {name: tensor (B, ...)}``.
        x: data, shape ``(N, D)``.
        c: conditions, shape ``(N, C)``, or None.
        batch_size: examples per batch.
        desc: label of the progress bar.
        progress: show a tqdm progress bar (on stderr).
        device: where each batch is moved before ``fn`` sees it (the model's device); None
            leaves the batches where they are.

    Returns:
        ``{name: tensor (N, ...)}``, detached, on the CPU.
    """
    check_positive_int("batch_size", batch_size)
    parts: dict[str, list[Tensor]] = {}
    advance = _ADVANCE.get()
    if advance is not None:
        advance(desc, 0)
    starts = range(0, x.shape[0], batch_size)
    for start in tqdm(starts, desc=desc, disable=not progress, leave=False, unit="batch"):
        xb = x[start : start + batch_size]
        cb = None if c is None else c[start : start + batch_size]
        if device is not None:
            xb, cb = xb.to(device), None if cb is None else cb.to(device)
        out = fn(xb, cb)
        for name, value in out.items():
            parts.setdefault(name, []).append(value.detach().cpu())
        if advance is not None:
            advance(desc, len(xb))
    return {name: torch.cat(values) for name, values in parts.items()}


def model_dtype(model: torch.nn.Module) -> torch.dtype:
    """The floating-point type of a model's first floating parameter or buffer (float32 if
    it has none)."""
    for tensor in (*model.parameters(), *model.buffers()):
        if tensor is not None and tensor.is_floating_point():
            return tensor.dtype
    return torch.float32
