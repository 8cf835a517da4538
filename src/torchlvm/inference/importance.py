"""Importance-sampled estimate of log p(x), with its standard error and effective sample size.

    p̂(x) = (1/S) Σ_s w_s,   w_s = p(x, z_s) / q(z_s),   z_s ~ q,

is unbiased for p(x); log p̂(x) is a consistent (slightly low-biased) estimate of log p(x), and
equals the IWAE bound L_S in expectation. The sums are streamed over chunks of samples with
running log-sum-exps, so memory is O(chunk · B) whatever S is.

Chunk size: by default (``chunk=None``) a chunk's decoder output, ``(chunk, B, D)``, takes about
:data:`CPU_CHUNK_BYTES` (8 MiB) on a CPU, so the elementwise passes of the likelihood run from
cache while each chunk still does enough work to hide Python's per-chunk overhead, and on a GPU
up to :data:`GPU_CHUNK_BYTES` (2 GiB), no more than a sixteenth of the device's memory, so that
a chunk's fixed cost (about a millisecond of launches on an H200) is paid rarely (see
:func:`auto_chunk`; measured in ``benchmarks/results/eval_chunk.md``). The chunk
changes neither the estimator nor its memory bound O(chunk · B · D), but it does change which
random numbers are drawn: torch's generator fills a tensor by its size (on a CPU, normal draws
come in blocks of 16 and a size that is not a multiple of 16 redraws its tail), so two chunks
draw different samples from the same seed. The same seed and chunk give the same value; another
chunk gives another draw of the same estimator, within its standard errors.

Standard error (delta method): Var(log p̂) ≈ Var(w) / (S · E[w]²). With the sample variance this
is (S / ESS − 1) / (S − 1), where ESS = (Σ w)² / Σ w² is Kish's effective sample size. Both are
computed from the same weights, so a proposal that misses posterior mass yields an ESS near 1 and
a standard error that understates the true error: read a small ESS as a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.distributions import Distribution

from torchlvm._checks import check_model, check_positive_int, check_rows
from torchlvm.errors import ConfigError
from torchlvm.inference.objectives import (
    check_bernoulli_values,
    check_data,
    log_weights_unchecked,
)
from torchlvm.protocol import LatentVariableModel

CPU_CHUNK_BYTES = 8 * 2**20
"""Bytes of one chunk's decoder output on a CPU: a few times an L2 cache (the chunk's hidden
activations and log-density temporaries come on top), the middle of the measured plateau
(``benchmarks/results/eval_chunk.md``)."""
GPU_CHUNK_BYTES = 2 * 2**30
"""Most bytes of one chunk's decoder output on a GPU. On an H200 (k = 1000, reference VAE) the
images/s grew with the chunk up to about this size and were flat beyond it; 256 MiB, the
earlier value, ran at 0.72-0.79× the best (``benchmarks/results/eval_chunk.md``)."""
GPU_MEMORY_SHARE = 16
"""A GPU chunk's decoder output takes at most 1/16 of the device's memory: the chunk's hidden
activations and log-density temporaries come on top (the H200 sweep's peak was about 3× the
output), and the caller's model and data are already there. The device's total memory, not its
free memory: with the free memory read on every call (a driver call and two allocator-statistics
dicts), a call of 100 images at k = 1000 ran 0.88× the same chunk given explicitly on an H200."""


def auto_chunk(rows: int, dim: int, device: torch.device | str = "cpu", itemsize: int = 4) -> int:
    """Samples per chunk so that a ``(chunk, rows, dim)`` array of ``itemsize`` bytes fills
    :data:`CPU_CHUNK_BYTES` on a CPU, or on a GPU the smaller of :data:`GPU_CHUNK_BYTES` and
    1/:data:`GPU_MEMORY_SHARE` of its memory (at least 1)."""
    device = torch.device(device)
    budget = CPU_CHUNK_BYTES
    if device.type == "cuda":
        budget = min(GPU_CHUNK_BYTES, _device_memory(device) // GPU_MEMORY_SHARE)
    return max(1, budget // max(1, rows * dim * itemsize))


def _device_memory(device: torch.device) -> int:
    """Bytes of memory of the CUDA ``device`` (its properties, which torch caches: no driver
    call)."""
    return torch.cuda.get_device_properties(device).total_memory


@dataclass(frozen=True)
class Estimate:
    """An importance-sampled log p(x) per example, in nats.

    Attributes:
        mean: log p̂(x), shape ``(B,)``.
        stderr: delta-method standard error of ``mean``, shape ``(B,)``.
        ess: effective sample size (1 ≤ ESS ≤ S), shape ``(B,)``.
        num_samples: S.
    """

    mean: Tensor
    stderr: Tensor
    ess: Tensor
    num_samples: int


def _proposal(
    model: LatentVariableModel, x: Tensor, c: Tensor | None, proposal: Distribution | str | None
) -> Distribution:
    if proposal is None or proposal == "encoder":
        return model.encode(x, c)
    if proposal == "prior":
        return model.prior(c, batch_shape=x.shape[:-1])
    if isinstance(proposal, Distribution):
        return proposal
    raise ConfigError(
        f"proposal must be 'encoder', 'prior' or a torch Distribution, got {proposal!r}"
    )


@torch.no_grad()
def log_marginal_is(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_samples: int,
    chunk: int | None = None,
    proposal: Distribution | str | None = None,
    advance: Callable[[int], None] | None = None,
    log_weights: Callable[[Tensor], None] | None = None,
) -> Estimate:
    """Importance-sampled log p(x | c) per example, without gradients (the differentiable
    estimate is :func:`~torchlvm.inference.iwae_bound`, whose mean is the same estimator).

    Args:
        model: any :class:`~torchlvm.protocol.LatentVariableModel`.
        x: data, shape ``(B, D)``.
        c: condition, shape ``(B, C)``, for conditional models.
        num_samples: S, the number of importance samples per example.
        chunk: samples drawn at a time; bounds memory to O(chunk · B · D). None: sized to
            the device by :func:`auto_chunk`.
        proposal: ``"encoder"`` (default, q(z | x, c)), ``"prior"`` (p(z | c)) or a
            distribution with batch shape ``(B,)``.
        advance: called as ``advance(n)`` after each chunk of n samples (a progress bar's
            update); it does not change the estimate.
        log_weights: called with each chunk's log importance weights log w, shape ``(n, B)``,
            in the order drawn (e.g. to form IWAE bounds at smaller k from the same samples,
            as :func:`torchlvm.evaluation.per_example_likelihood` does); it does not change
            the estimate.

    Returns:
        :class:`Estimate` with ``mean``, ``stderr`` and ``ess`` of shape ``(B,)``.
    """
    check_positive_int("num_samples", num_samples)
    if proposal is None or proposal == "encoder":
        check_model(model)
        check_rows("x", x, model, c=c)  # a tensor with rows (the encoder checks the rest)
        check_bernoulli_values(model, x)  # (check_data below does it too)
    else:
        check_data(model, x, c, proposal=proposal)  # and the proposal's device
    if chunk is None:
        rows = math.prod(x.shape[:-1]) if x.dim() > 1 else 1
        chunk = auto_chunk(rows, x.shape[-1], x.device, x.element_size())
    check_positive_int("chunk", chunk)
    q = _proposal(model, x, c, proposal)
    lse_w = lse_w2 = shift = None
    for start in range(0, num_samples, chunk):
        n = min(chunk, num_samples - start)
        log_w = log_weights_unchecked(model, x, c, q, n, reparameterize=False)  # (n, B)
        if log_weights is not None:
            log_weights(log_w)
        if shift is None:
            # log weights relative to the first chunk's largest: the ESS below is a difference
            # of two log-sums, which in float32 loses every digit when log w is ~ -1e6 (tiny
            # likelihood variances) unless it is taken near 0
            top = log_w.detach().max(0).values
            shift = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        log_w = log_w - shift
        part_w, part_w2 = torch.logsumexp(log_w, 0), torch.logsumexp(2 * log_w, 0)
        lse_w = part_w if lse_w is None else torch.logaddexp(lse_w, part_w)
        lse_w2 = part_w2 if lse_w2 is None else torch.logaddexp(lse_w2, part_w2)
        if advance is not None:
            advance(n)
    mean = lse_w + shift - math.log(num_samples)
    ess = torch.exp(2 * lse_w - lse_w2)
    if num_samples > 1:
        variance = ((num_samples / ess - 1) / (num_samples - 1)).clamp_min(0)
    else:
        variance = torch.full_like(mean, float("inf"))
    return Estimate(mean, variance.sqrt(), ess, num_samples)
