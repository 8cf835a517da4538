"""The speed argument for amortized inference, measured: images per second of one encoder pass
(amortized) against per-point optimization of q (non-amortized) run until its ELBO is within a
tolerance of its converged value.

Setup: a VAE on binarized digits (8×8, threshold protocol) — trained here with a plain Adam loop
unless ``--run DIR`` names a saved VAE with a ``data`` section — and ``--n`` test images.

* Amortized: ``model.encode(x)`` then the ELBO with one draw and analytic KL, in one batch; the
  median of ``--repeats`` timings.
* Non-amortized: a diagonal Gaussian per image, started at the prior N(0, I), optimized by Adam
  (constant step ``--lr``, ``--samples`` draws per step) for ``--max-steps``. Every ``--every``
  steps the batch-mean ELBO is evaluated with 500 fixed draws per image (common random numbers,
  analytic KL); the converged value is the best of these evaluations. The steps needed are the
  first evaluation within ``--tol`` nats per image of it. A fresh run of exactly that many steps
  (no evaluations inside) is then timed: images/s = n / its time.
* Semi-amortized, for reference: the same optimization started from the encoder's q.

Run: ``.venv/bin/python benchmarks/inference_cost.py`` (writes
``benchmarks/results/inference_cost.md``).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

import torch

from torchlvm.data import load_dataset
from torchlvm.inference import elbo
from torchlvm.inference.gaps import evaluate_elbo
from torchlvm.inference.local import fit_local_posterior
from torchlvm.models import VAE, VAEConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import write_results  # noqa: E402


def train_vae(epochs: int, seed: int) -> VAE:
    """A 64-128-8 tanh VAE with a Bernoulli likelihood on thresholded digits, plain Adam."""
    torch.manual_seed(seed)
    data = load_dataset("digits", "train", binarize="threshold", seed=seed)
    model = VAE(VAEConfig(64, latent_dim=8, hidden=(128,), activation="tanh"))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for xb, _ in data.batches(64, shuffle=True, generator=generator):
            loss = -elbo(model, xb).elbo.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def test_images(args: argparse.Namespace) -> tuple[VAE, torch.Tensor, str]:
    if args.run is None:
        start = time.perf_counter()
        model = train_vae(args.epochs, args.seed)
        what = (
            f"VAE 64-128-8 (tanh, Bernoulli) trained here for {args.epochs} epochs on digits "
            f"train, threshold protocol ({time.perf_counter() - start:.1f} s)"
        )
        data = {"name": "digits", "binarize": "threshold", "seed": args.seed}
    else:
        from torchlvm.io import load, read_config

        model, data = load(args.run), read_config(args.run)["data"]
        what = f"model loaded from {args.run}"
    test = load_dataset(
        data["name"], "test", binarize=data.get("binarize", "none"), seed=data.get("seed", 0)
    )
    x = test.fixed_binarized(data.get("seed", 0))[: args.n].float()
    return model, x, what


def crn_mean_elbo(model: VAE, x: torch.Tensor, q) -> float:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(12345)
        return evaluate_elbo(model, x, None, q, num_samples=500, chunk=250).mean().item()


def amortized(model: VAE, x: torch.Tensor, repeats: int) -> tuple[float, float]:
    """(median seconds of encode + 1-draw ELBO for the batch, mean ELBO with 500 draws)."""
    times = []
    with torch.no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            elbo(model, x, num_samples=1).elbo.sum().item()
            times.append(time.perf_counter() - start)
        q = model.encode(x)
    return statistics.median(times), crn_mean_elbo(model, x, q)


def curve(model: VAE, x: torch.Tensor, init, args: argparse.Namespace) -> dict[int, float]:
    """Batch-mean ELBO (500 fixed draws) every ``--every`` steps of a non-amortized fit."""
    values: dict[int, float] = {}

    def record(t: int, q) -> None:
        if t % args.every == 0 or t == args.max_steps:
            values[t] = crn_mean_elbo(model, x, q)

    torch.manual_seed(args.seed)
    fit_local_posterior(
        model,
        x,
        steps=args.max_steps,
        lr=args.lr,
        num_samples=args.samples,
        init=init,
        callback=record,
    )
    return values


def timed_fit(
    model: VAE, x: torch.Tensor, from_encoder: bool, steps: int, args: argparse.Namespace
) -> float:
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    init = None
    if from_encoder:
        with torch.no_grad():
            init = model.encode(x)  # the encoder pass is part of semi-amortized cost
    if steps > 0:
        fit_local_posterior(model, x, steps=steps, lr=args.lr, num_samples=args.samples, init=init)
    return time.perf_counter() - start


def steps_to(values: dict[int, float], target: float) -> int:
    return min(t for t, v in values.items() if v >= target)


def machine() -> list[str]:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores visible; torch threads: "
        f"{torch.get_num_threads()}; load average at the end {load[0]:.2f}, {load[1]:.2f}, "
        f"{load[2]:.2f} (the machine is shared, so absolute rates are noisy; the ratio is the "
        "point)",
        f"- {platform.platform()}",
        f"- Python {platform.python_version()}, torch {torch.__version__}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, help="a saved VAE run folder (default: train one)")
    parser.add_argument("--epochs", type=int, default=60, help="training epochs (no --run)")
    parser.add_argument("--n", type=int, default=256, help="test images")
    parser.add_argument("--tol", type=float, default=0.1, help="nats per image")
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--every", type=int, default=10, help="evaluate every this many steps")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--samples", type=int, default=4, help="draws per step")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/inference_cost.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, x, what = test_images(args)
    n = x.shape[0]
    amortized_seconds, encoder_elbo = amortized(model, x, args.repeats)

    rows = []
    for name, from_encoder in (
        ("non-amortized (from the prior)", False),
        ("semi-amortized (from the encoder)", True),
    ):
        with torch.no_grad():
            q0 = model.encode(x) if from_encoder else None
        values = curve(model, x, q0, args)
        converged = max(values.values())
        steps = steps_to(values, converged - args.tol)
        seconds = timed_fit(model, x, from_encoder, steps, args)
        rows.append((name, steps, seconds, values[steps], converged))
    best = max(r[4] for r in rows)

    lines = [
        "# Inference cost: amortized vs non-amortized",
        "",
        f"Command: `{shlex.join([sys.executable, *sys.argv])}`",
        "",
        *machine(),
        "",
        f"Model: {what}. Data: the first {n} digits test images (threshold protocol).",
        f"Non-amortized: diagonal Gaussian per image, Adam lr {args.lr} (constant), "
        f"{args.samples} draws per step, up to {args.max_steps} steps; ELBOs below are batch "
        "means over 500 fixed draws per image (analytic KL), nats per image; tolerance "
        f"{args.tol} nats per image of the batch mean below its converged (best evaluated) "
        "value.",
        "",
        "| inference | steps | seconds for the batch | images/s | ELBO reached | converged ELBO |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| amortized (encoder, 1 pass) | 0 | {amortized_seconds:.5f} | "
        f"{n / amortized_seconds:,.0f} | {encoder_elbo:.3f} | — |",
    ]
    for name, steps, seconds, reached, converged in rows:
        lines.append(
            f"| {name} | {steps} | {seconds:.3f} | {n / seconds:,.1f} | {reached:.3f} | "
            f"{converged:.3f} |"
        )
    non_amortized = rows[0]
    lines += [
        "",
        f"Amortized encoding is {non_amortized[2] / amortized_seconds:,.0f}× faster per image "
        f"than non-amortized optimization to within {args.tol} nats; it gives up "
        f"{best - encoder_elbo:.3f} nats per image of ELBO (the amortization gap on these "
        "images, against the best converged per-point q).",
        "",
    ]
    write_results(args.out, lines)


if __name__ == "__main__":
    main()
