"""Throughput of importance-sampled log p(x) (``torchlvm.inference.log_marginal_is``) at k = 1000
on the reference VAE (784-400-z20, Bernoulli), next to a per-data-point loop in the style of
pythae's ``get_nll``, and the FLOP floor of the computation on this machine.

The floor: FLOPs per image = k × (decoder FLOPs per sample) + encoder FLOPs per image, counted
from the layer shapes (2 FLOPs per multiply-add; activations, sampling and log-densities are not
counted, so the floor is optimistic), divided by this machine's float32 matrix-multiply rate,
measured with a large ``torch.mm``. The target is a measured time within 2× of the floor.

Usage:
    python benchmarks/eval_throughput.py [--k 1000] [--images 500] [--loop-images 20]
        [--threads N] [--out benchmarks/results/eval_throughput.md]

Untrained weights are fine for throughput (the arithmetic does not depend on their values).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import torch

from torchlvm.inference import log_marginal_is
from torchlvm.models import VAE, VAEConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_results  # noqa: E402


def matmul_rate(m: int = 2048, k: int = 2048, n: int = 2048, repeats: int = 10) -> float:
    """Best-of-``repeats`` float32 ``torch.mm`` rate in FLOP/s for an (m, k) @ (k, n) product."""
    a, b = torch.randn(m, k), torch.randn(k, n)
    torch.mm(a, b)  # warm-up
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * m * k * n / best


def best_of(repeats: int, run) -> float:
    """The smallest of ``repeats`` timings (the least disturbed by other processes)."""
    return min(run() for _ in range(repeats))


def linear_flops(model: torch.nn.Module) -> int:
    """2 × multiply-adds of every ``nn.Linear`` in ``model`` for one input row."""
    return sum(
        2 * m.in_features * m.out_features
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
    )


def data(n: int) -> tuple[torch.Tensor, str]:
    """``n`` binarized Fashion-MNIST test images, or random binary images if it is missing."""
    from torchlvm.data import load_dataset
    from torchlvm.errors import DataNotFoundError

    try:
        test = load_dataset("fashion-mnist", "test", binarize="dynamic")
        return test.fixed_binarized(0)[:n], "Fashion-MNIST test images, one seeded binarization"
    except DataNotFoundError:
        g = torch.Generator().manual_seed(0)
        return torch.bernoulli(torch.full((n, 784), 0.3), generator=g), "random binary images"


@torch.no_grad()
def batched(model: VAE, x: torch.Tensor, k: int, batch: int, chunk: int) -> float:
    """Seconds for ``log_marginal_is`` over ``x`` in batches of ``batch`` images."""
    start = time.perf_counter()
    for i in range(0, len(x), batch):
        log_marginal_is(model, x[i : i + batch], num_samples=k, chunk=chunk)
    return time.perf_counter() - start


@torch.no_grad()
def per_point_loop(model: VAE, x: torch.Tensor, k: int, sample_batch: int = 100) -> float:
    """Seconds for the per-data-point estimate, as pythae's ``get_nll`` computes it: for each
    image, ``k / sample_batch`` rounds that repeat the image ``sample_batch`` times, encode the
    copies, draw one z per copy, decode, and combine the log weights at the end."""
    start = time.perf_counter()
    for i in range(len(x)):  # the per-point Python loop being compared against
        xi = x[i : i + 1]
        log_w = []
        for _ in range(k // sample_batch):
            x_rep = xi.repeat(sample_batch, 1)  # (sample_batch, D), as get_nll does
            q = model.encode(x_rep)
            z = q.sample()
            prior = model.prior(batch_shape=(sample_batch,))
            log_w.append(model.decode(z).log_prob(x_rep) + prior.log_prob(z) - q.log_prob(z))
        torch.logsumexp(torch.cat(log_w), 0) - math.log(k)
    return time.perf_counter() - start


@torch.no_grad()
def breakdown(model: VAE, x: torch.Tensor, chunk: int, repeats: int) -> dict[str, float]:
    """Seconds of one chunk's parts for a batch ``x``: the decoder network alone, and the decoder
    plus the Bernoulli log-likelihood of x (what ``log_prob`` adds on top of the matmuls)."""
    q = model.encode(x)
    z = q.sample((chunk,))  # (chunk, B, K)
    network = best_of(repeats, lambda: _timed(lambda: model.decoder(z)))
    with_lik = best_of(repeats, lambda: _timed(lambda: model.decode(z).log_prob(x)))
    return {"decoder network": network, "Bernoulli log-likelihood": with_lik - network}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--images", type=int, default=500, help="images for the batched run")
    parser.add_argument("--loop-images", type=int, default=20, help="images for the loop")
    parser.add_argument("--batch", type=int, default=100, help="images per batch")
    parser.add_argument("--chunks", default="500,1000", help="sample chunks to try")
    parser.add_argument("--repeats", type=int, default=3, help="timings per setting (best kept)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/eval_throughput.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=784, latent_dim=20, hidden=(400,))).eval()
    x, source = data(max(args.images, args.loop_images))
    k = args.k

    rate_before = matmul_rate()
    batched(model, x[: args.batch], k, args.batch, 250)  # warm-up
    chunk_times = {}
    for chunk in (int(c) for c in args.chunks.split(",")):
        chunk_times[chunk] = best_of(
            args.repeats, lambda c=chunk: batched(model, x[: args.images], k, args.batch, c)
        )
    best_chunk = min(chunk_times, key=chunk_times.get)
    loop_seconds = best_of(args.repeats, lambda: per_point_loop(model, x[: args.loop_images], k))
    rate_after = matmul_rate()
    rate = max(rate_before, rate_after)
    parts = breakdown(model, x[: args.batch], best_chunk, args.repeats)
    # the decoder's second layer at the best chunk: (chunk · batch, 400) @ (400, 784)
    decoder_rate = matmul_rate(min(best_chunk * args.batch, 50_000), 400, 784, repeats=3)

    flops = k * linear_flops(model.decoder) + linear_flops(model.encoder)
    floor_ips = rate / flops
    batched_ips = args.images / chunk_times[best_chunk]
    loop_ips = args.loop_images / loop_seconds
    ratio = floor_ips / batched_ips
    met = "met" if ratio <= 2 else "NOT met"

    command = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0], *(argv or sys.argv[1:])])
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    lines = [
        f"# Evaluation throughput: importance-sampled log p(x) at k = {k}",
        "",
        f"Command: `{command}`",
        "",
        "| | images/s | time per image |",
        "|---|---|---|",
        f"| `log_marginal_is`, batched ({args.batch} images × chunks of {best_chunk} samples) "
        f"| {batched_ips:.1f} | {1e3 / batched_ips:.2f} ms |",
        f"| per-data-point loop (pythae `get_nll` style, {args.loop_images} images) "
        f"| {loop_ips:.2f} | {1e3 / loop_ips:.1f} ms |",
        f"| FLOP floor at the measured matmul rate | {floor_ips:.1f} | {1e3 / floor_ips:.2f} ms |",
        "",
        f"- Batched vs loop: **{batched_ips / loop_ips:.1f}×** faster.",
        f"- Batched vs floor: **{ratio:.2f}×** the floor's time — the within-2× target is "
        f"**{met}**.",
        f"- FLOPs per image: k × {linear_flops(model.decoder):,} (decoder 20-400-784 per sample) "
        f"+ {linear_flops(model.encoder):,} (encoder 784-400-40 once) = {flops:,.0f} "
        "(2 per multiply-add; activations, sampling, log-densities and the Bernoulli "
        "log-likelihood over k × 784 values are not counted, so the floor is optimistic).",
        f"- Matmul rate: {rate / 1e9:.1f} GFLOP/s float32 (best `torch.mm` of 2048² matrices, "
        f"measured before ({rate_before / 1e9:.1f}) and after ({rate_after / 1e9:.1f}) the runs); "
        f"the decoder's own shape, ({min(best_chunk * args.batch, 50_000)}, 400) @ (400, 784), "
        f"runs at {decoder_rate / 1e9:.1f} GFLOP/s.",
        f"- Timings are the best of {args.repeats} runs. Time per chunk size (s for the batched "
        f"run of {args.images} images): "
        + ", ".join(f"{c}: {t:.2f}" for c, t in chunk_times.items())
        + ".",
        f"- Where a chunk's time goes ({best_chunk} samples × {args.batch} images): "
        + ", ".join(f"{name} {t:.3f} s" for name, t in parts.items())
        + " — the log-likelihood pass over every decoded pixel, which the FLOP floor does not "
        "count, costs about as much as the matmuls it does count.",
        f"- Data: {source}; model: VAE 784-400-z20, Bernoulli likelihood, untrained weights.",
        "",
        "Machine:",
        "",
        f"- CPU: {cpu_name()}, {os.cpu_count()} logical cores visible, torch threads "
        f"{torch.get_num_threads()}; load average at the end {load[0]:.2f} / {load[1]:.2f} / "
        f"{load[2]:.2f} (1/5/15 min; other processes shared these cores).",
        f"- Python {platform.python_version()}, torch {torch.__version__}, "
        f"{platform.system()} {platform.release()}.",
        "",
    ]
    write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
