"""The importance-sampled log-likelihood sharded over the processes of a ``torch.distributed``
group and gathered, with a result that does not depend on how many processes share the work.

The examples are cut into blocks of ``block`` rows; block b is estimated by the process of rank
b mod R with :func:`torchlvm.inference.log_marginal_is`, its random numbers drawn from the global
generator reseeded to a function of ``(seed, b)`` (inside :func:`torchlvm._kept_state.seeded`,
so the caller's generators, CUDA's too, are left as they were). Every process then holds the
estimates of its blocks; one ``all_gather`` of equally padded ``(3, rows)`` tensors (mean,
standard error, effective sample size) gives every process the whole result in the original
order.

So R = 1 (no process group) computes exactly the same blocks with the same numbers as R = 2, 4,
...: the single-process call is the reference the sharded one must equal, up to the rounding of
the gather (none: values are copied, not reduced).

Speed: by default each block draws its samples in chunks sized to the device by
:func:`torchlvm.inference.importance.auto_chunk` (a decoder output of about 8 MiB on a CPU, so
the elementwise passes of the likelihood run from cache; much larger on a GPU). Measured on the
reference VAE at k = 1000 (``benchmarks/eval_throughput.py``, one thread): chunks of 10 samples ×
100 images ran 2.0× the matmul FLOP floor's time, chunks of 500 × 100 (157 MB of logits per
pass) 4.6×; ``benchmarks/results/eval_chunk.md`` compares the default with every chunk.

Estimator: Burda et al. 2016, eq. 8 / :mod:`torchlvm.inference.importance`; nats per example.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from torchlvm._checks import check_positive_int
from torchlvm._kept_state import seeded
from torchlvm.inference.importance import Estimate, auto_chunk, log_marginal_is
from torchlvm.protocol import LatentVariableModel

_BLOCK_STRIDE = 1_000_003  # a prime: (seed, block) pairs do not collide for small values


def block_seed(seed: int, block: int) -> int:
    """The global seed with which block ``block`` is estimated."""
    return (seed * _BLOCK_STRIDE + block + 1) % (2**63)


def _world(group: object | None) -> tuple[int, int]:
    """(rank, world size) in ``group``; (0, 1) without an initialized process group."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return dist.get_rank(group), dist.get_world_size(group)


def _block_rows(n: int, block: int, b: int) -> slice:
    return slice(b * block, min(n, (b + 1) * block))


def _rows_of_rank(n: int, block: int, rank: int, world: int) -> int:
    return sum(
        _block_rows(n, block, b).stop - b * block for b in range(rank, math.ceil(n / block), world)
    )


def log_marginal_is_sharded(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int,
    chunk: int | None = None,
    block: int = 256,
    seed: int = 0,
    group: object | None = None,
) -> Estimate:
    """Importance-sampled log p(x | c) per example, the examples shared by the ranks of ``group``.

    Call it on every rank of the group with the same ``model`` weights, ``x``, ``c`` and
    arguments (each rank computes only its blocks). Without an initialized process group it runs
    every block itself and returns the same values.

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel`.
        x: data, shape ``(N, D)``, the same on every rank.
        c: condition, shape ``(N, C)``, or None.
        num_samples: S, importance samples per example.
        chunk: samples drawn at a time within a block (memory O(chunk · block · D)); None
            picks :func:`~torchlvm.inference.importance.auto_chunk` for a block.
        block: examples per block; blocks are dealt to ranks round robin.
        seed: seed of the sampling; block b draws from ``block_seed(seed, b)``.
        group: the ``torch.distributed`` process group; None is the default group.

    Returns:
        :class:`~torchlvm.inference.importance.Estimate` with ``mean``, ``stderr`` and ``ess``
        of shape ``(N,)``, the same on every rank.

    Raises:
        ConfigError: for a non-positive ``num_samples``, ``chunk`` or ``block``.
    """
    check_positive_int("num_samples", num_samples)
    check_positive_int("block", block)
    if chunk is None:
        rows = min(block, max(1, x.shape[0]))
        chunk = auto_chunk(rows, x.shape[-1], x.device, x.element_size())
    check_positive_int("chunk", chunk)
    rank, world = _world(group)
    n = x.shape[0]
    if n == 0:
        return log_marginal_is(model, x, c, num_samples=num_samples, chunk=chunk)
    blocks = math.ceil(n / block)
    parts = []
    for b in range(rank, blocks, world):
        rows = _block_rows(n, block, b)
        with seeded(block_seed(seed, b)):  # (every generator put back after)
            est = log_marginal_is(
                model,
                x[rows],
                None if c is None else c[rows],
                num_samples=num_samples,
                chunk=chunk,
            )
        parts.append(torch.stack([est.mean, est.stderr, est.ess]))  # (3, rows)
    if world == 1:
        local = torch.cat(parts, 1)
        return Estimate(local[0], local[1], local[2], num_samples)
    dtype = _result_dtype(model, x)  # the same on every rank, also on one without blocks
    local = torch.cat(parts, 1) if parts else torch.empty(3, 0, device=x.device)
    return _gather(local.to(torch.float64), n, block, world, num_samples, group, dtype)


def _result_dtype(model: LatentVariableModel, x: Tensor) -> torch.dtype:
    """The dtype ``log_marginal_is`` returns: that of the model's parameters and ``x``."""
    params = [p.dtype for p in model.parameters()] if isinstance(model, torch.nn.Module) else []
    dtype = torch.promote_types(x.dtype, torch.float32) if x.is_floating_point() else torch.float32
    for p in params[:1]:
        dtype = torch.promote_types(dtype, p)
    return dtype


def _gather(
    local: Tensor,
    n: int,
    block: int,
    world: int,
    num_samples: int,
    group: object,
    dtype: torch.dtype,
) -> Estimate:
    """All-gather every rank's ``(3, rows)`` float64 estimates (copied, not reduced, so no
    rounding) and put the rows back in order, as ``dtype``."""
    import torch.distributed as dist

    sizes = [_rows_of_rank(n, block, r, world) for r in range(world)]
    padded = local.new_zeros(3, max(sizes))
    padded[:, : local.shape[1]] = local
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded, group=group)
    out = padded.new_empty(3, n)
    for r in range(world):
        offset = 0
        for b in range(r, math.ceil(n / block), world):
            rows = _block_rows(n, block, b)
            size = rows.stop - rows.start
            out[:, rows] = gathered[r][:, offset : offset + size]
            offset += size
    out = out.to(dtype)
    return Estimate(out[0], out[1], out[2], num_samples)
