"""The default chunk of ``torchlvm.inference.log_marginal_is`` against every chunk tried: the
default (``chunk=None``, :func:`torchlvm.inference.importance.auto_chunk`) must run at least
0.9× the images/s of the best chunk.

The setting of ``torchlvm evaluate``: the reference VAE (784-400-z20, Bernoulli, untrained
weights: the arithmetic does not depend on their values), batches of 100 Fashion-MNIST test
images (random binary images if it is missing), k importance samples per image (``--batch``
sets other batch sizes: a Python caller may pass thousands of rows at once). Chunks are timed
in interleaved rounds (A B C ... A B C ...) so that a busy patch of a shared machine hits every
chunk alike; the median of the rounds is reported. On the CPU (one torch thread) each timing is
also taken in the thread's own CPU time (``time.thread_time``), which waiting for a core shared
with other processes does not inflate: on a shared machine that is the comparable number, and the
verdict uses it. On a CUDA device the same is run there too (wall time).

Usage:
    python benchmarks/eval_chunk.py [--k 1000] [--images 200] [--rounds 5] [--threads 1]
        [--chunks 1,2,5,10,20,50,100,256,1000] [--batch 100 ...] [--device all|cpu|cuda]
        [--out benchmarks/results/eval_chunk.md]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (  # noqa: E402
    interleaved,
    load_average,
    machine_lines,
    median,
    write_results,
)
from eval_throughput import data  # noqa: E402  (the same images as the throughput benchmark)

from torchlvm.inference import log_marginal_is  # noqa: E402
from torchlvm.inference.importance import auto_chunk  # noqa: E402
from torchlvm.models import VAE, VAEConfig  # noqa: E402

BATCH = 100  # images per call, as torchlvm evaluate's --batch-size


def images_per_second(
    model: VAE, x: torch.Tensor, k: int, chunk: int | None, batch: int = BATCH
) -> tuple[float, float]:
    """Images per wall-clock second and per CPU second of this thread (``nan`` on a GPU) of
    ``log_marginal_is`` over ``x`` in batches of ``batch`` images."""
    cuda = x.device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    sync()
    start, cpu = time.perf_counter(), time.thread_time()
    for i in range(0, len(x), batch):
        log_marginal_is(model, x[i : i + batch], num_samples=k, chunk=chunk)
    sync()
    wall, cpu = time.perf_counter() - start, time.thread_time() - cpu
    return len(x) / wall, float("nan") if cuda else len(x) / cpu


def measure(device: str, args: argparse.Namespace, x: torch.Tensor, batch: int) -> list[str]:
    """Markdown rows (chunk, images/s, ratio to the best) and the verdict, on ``device``, for
    calls of ``batch`` images."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=784, latent_dim=20, hidden=(400,))).eval().to(device)
    x = x.to(device)
    default = auto_chunk(batch, x.shape[-1], x.device, x.element_size())
    chunks = [int(c) for c in args.chunks.split(",")]
    names = ["default", *(str(c) for c in chunks)]

    def chunk_of(name: str) -> int | None:
        return None if name == "default" else int(name)

    def run(name: str, _: int) -> tuple[float, float]:
        return images_per_second(model, x, args.k, chunk_of(name), batch)

    peak = dict.fromkeys(names, float("nan"))  # GiB of device memory one call of `batch` took
    with torch.no_grad():
        for name in names:  # warm-up: each chunk's shapes once (kernels chosen, memory cached)
            if x.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(x.device)
            images_per_second(model, x[:batch], args.k, chunk_of(name), batch)
            if x.device.type == "cuda":
                peak[name] = torch.cuda.max_memory_allocated(x.device) / 2**30
        results = interleaved(names, args.rounds, run, log=False)
    wall = {name: median([v[0] for v in values]) for name, values in results.items()}
    cpu = {name: median([v[1] for v in values]) for name, values in results.items()}
    judged = wall if x.device.type == "cuda" else cpu
    best = max(judged, key=judged.get)
    ratio = judged["default"] / judged[best]
    rows = [f"### {device}: k = {args.k}, {len(x)} images in batches of {batch}", ""]
    rows += [
        "| chunk (samples) | images/s, wall (median) | images/CPU-s (median) | × best "
        "| peak device memory, GiB |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        label = f"default (auto_chunk = {default})" if name == "default" else name
        rows.append(
            f"| {label} | {wall[name]:.1f} | {cpu[name]:.1f} | {judged[name] / judged[best]:.2f} "
            f"| {peak[name]:.2f} |"
        )
    verdict = "met" if ratio >= 0.9 else "NOT met"
    basis = "wall time" if x.device.type == "cuda" else "CPU time"
    rows += [
        "",
        f"- Default vs best (chunk {best}), by {basis}: **{ratio:.2f}×** — the ≥ 0.9× target is "
        f"**{verdict}**.",
        f"- Load average after the {device} runs: {load_average()} (1/5/15 min).",
        "",
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=1000, help="importance samples per image")
    parser.add_argument("--images", type=int, default=200, help="images per timing")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median kept)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    parser.add_argument("--chunks", default="1,2,5,10,20,50,100,256,1000")
    parser.add_argument("--batch", type=int, nargs="+", default=[BATCH], help="images per call")
    parser.add_argument("--device", choices=("all", "cpu", "cuda"), default="all")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/eval_chunk.md"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    x, what = data(args.images)
    lines = [
        "# Default chunk of `log_marginal_is` vs the best chunk",
        "",
        f"Command: `python {' '.join(shlex.quote(a) for a in sys.argv)}`",
        "",
        f"Data: {what}; model: VAE 784-400-z20, Bernoulli, untrained weights; "
        f"{args.rounds} interleaved rounds per chunk, median reported.",
        "",
    ]
    for batch in args.batch:
        if args.device in ("all", "cpu"):
            lines += measure("cpu", args, x, batch)
        if args.device in ("all", "cuda") and torch.cuda.is_available():
            lines += measure("cuda", args, x, batch)
    if args.device in ("all", "cuda") and not torch.cuda.is_available():
        lines += ["No CUDA device visible: the GPU default is unmeasured.", ""]
    lines += ["Machine:", "", *machine_lines(interleaved=True), ""]
    write_results(args.out, lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
