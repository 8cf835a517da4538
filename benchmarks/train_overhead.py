"""CPU proxy for the per-step overhead of ``fit()`` (issue 15, item 2).

A model so small that a step's arithmetic is cheap — a 784-16-z2 MLP VAE (ReLU, diagonal
Gaussian q, N(0, I) prior, Bernoulli likelihood on logits), batch 1024, Adam lr 1e-3, dynamic
binarization of the Fashion-MNIST training split (54,000 images) — so that what ``fit()`` adds
around the step (Lightning's loop and hooks, the data path, the non-finite guard, logging) shows
as a loss of steps/s against the same training in a plain loop. On a GPU the same overhead is what
keeps a small model from the hardware's speed, so this is the number every machine can measure.

Configurations, each in a fresh subprocess, interleaved round by round (medians compared):

- ``plain``: a hand-written loop (``benchmarks/_plain_vae.py``: ``nn.Linear`` layers,
  ``rand_like(x) < x`` binarization, ``binary_cross_entropy_with_logits``, closed-form KL), data
  as one tensor, a random order per epoch, default ``torch.optim.Adam``; no ``.item()`` per step.
- ``plain-fused``: the same loop with ``Adam(fused=True)``.
- ``fit``: ``torchlvm.training.fit`` — the path ``torchlvm train`` runs — progress bar off, with
  its validation pass, checkpoints and ``metrics.csv`` each epoch; timed from each measured
  epoch's start to its last training step's end (validation and checkpoints are excluded, as the
  plain loops have none).
- ``fit-fast``: ``fit(fast=True)``, the whole step under manual optimization (a CUDA graph on a
  GPU; on a CPU the same function runs eagerly).

Steps/s are over the measured epochs after one warm-up epoch, and steps per CPU-second over the
process's CPU time in them (what other jobs on a shared machine do not inflate); one torch thread
per process (``--threads``).

Run: ``nice -n 10 .venv/bin/python benchmarks/train_overhead.py [--rounds 3 --epochs 2]``
(writes ``benchmarks/results/train_overhead.md``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

D, HIDDEN, LATENT, BATCH = 784, 16, 2, 1024
CONFIGS = {
    "plain": "hand-written loop, default Adam",
    "plain-fused": "hand-written loop, Adam(fused=True)",
    "fit": "torchlvm fit() (Lightning), progress bar off",
    "fit-fast": "torchlvm fit(fast=True): the whole step as one function (eager on a CPU)",
}
TARGET = 0.8  # fit() steps/s over the plain loop's (issue 15, item 2)


def _data(seed: int):
    from torchlvm.data import load_dataset

    return load_dataset("fashion-mnist", "train", binarize="dynamic", seed=seed)


def _plain(args: argparse.Namespace, *, fused: bool) -> dict[str, Any]:
    import torch
    from _plain_vae import plain_vae

    torch.manual_seed(args.seed)
    x = _data(args.seed).x
    params, loss_fn = plain_vae(D, HIDDEN, LATENT)
    opt = torch.optim.Adam(params, lr=1e-3, fused=fused or None)
    generator = torch.Generator().manual_seed(args.seed)

    def step(xb: torch.Tensor) -> torch.Tensor:
        loss = loss_fn(xb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    steps, seconds, cpu = 0, 0.0, 0.0
    for epoch in range(1 + args.epochs):
        start, start_cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(x.shape[0], generator=generator)
        total = torch.zeros(())
        for i in range(0, x.shape[0], BATCH):
            total += step(x[order[i : i + BATCH]])
        if epoch >= 1:
            seconds += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            steps += -(-x.shape[0] // BATCH)
    return _rates(steps, seconds, cpu)


def _rates(steps: int, seconds: float, cpu: float) -> dict[str, Any]:
    return {"steps": steps, "steps_per_s": steps / seconds, "steps_per_cpu_s": steps / cpu}


def _fit(args: argparse.Namespace, *, fast: bool) -> dict[str, Any]:
    import lightning as L

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    timing = {"steps": 0, "seconds": 0.0, "cpu": 0.0}

    class EpochClock(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.start, self.start_cpu, self.steps = time.perf_counter(), time.process_time(), 0

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.steps += 1
            self.end, self.end_cpu = time.perf_counter(), time.process_time()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.current_epoch >= 1:
                timing["steps"] += self.steps
                timing["seconds"] += self.end - self.start
                timing["cpu"] += self.end_cpu - self.start_cpu

    L.seed_everything(args.seed, verbose=False)
    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,)))
    dm = LVMDataModule("fashion-mnist", binarize="dynamic", seed=args.seed, batch_size=BATCH)
    config = TrainConfig(max_epochs=1 + args.epochs, batch_size=BATCH, seed=args.seed)
    with tempfile.TemporaryDirectory() as out:
        fit(
            model, dm, config, Path(out) / "run", progress=False, fast=fast,
            extra_callbacks=[EpochClock()],
        )  # fmt: skip
    return _rates(int(timing["steps"]), timing["seconds"], timing["cpu"])


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.config.startswith("fit"):
        M.emit(_fit(args, fast=args.config == "fit-fast"))
    else:
        M.emit(_plain(args, fused=args.config == "plain-fused"))


def _write(args: argparse.Namespace, results: dict[str, list[dict[str, Any]]]) -> Path:
    lines = [
        "# fit() per-step overhead: the CPU proxy (issue 15, item 2)",
        "",
        f"784-{HIDDEN}-z{LATENT} VAE, batch {BATCH}, Fashion-MNIST training split, dynamic "
        f"binarization, Adam 1e-3, {args.threads} torch thread(s) per process; {args.epochs} "
        f"measured epochs after one warm-up, {args.rounds} interleaved rounds, medians. Steps "
        "per CPU-second divide by the process's CPU time (`time.process_time`), which other jobs "
        "on a shared machine do not inflate (one thread: no spinning threads counted).",
        "",
        *M.machine_lines(),
        f"- each worker process runs torch with {args.threads} thread(s) (`--threads`); the "
        "machine was shared with 7 other sessions' work, run under `nice -n 10`",
        f"- command: `{M.command_line('benchmarks/train_overhead.py', sys.argv[1:])}`",
        "",
        "| configuration | steps/s (median; every round) | steps per CPU-s (median; every round) |",
        "|---|---|---|",
    ]
    for name, runs in results.items():
        cells = []
        for key in ("steps_per_s", "steps_per_cpu_s"):
            each = ", ".join(f"{r[key]:.1f}" for r in runs)
            cells.append(f"{M.median([r[key] for r in runs]):.1f} ({each})")
        lines.append(f"| `{name}`: {CONFIGS[name]} | " + " | ".join(cells) + " |")
    lines += ["", *_verdicts(results), ""]
    path = M.ROOT / "benchmarks" / "results" / "train_overhead.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _verdicts(results: dict[str, list[dict[str, Any]]]) -> list[str]:
    out = []
    for key, what in (("steps_per_cpu_s", "steps per CPU-second"), ("steps_per_s", "steps/s")):
        rate = {n: M.median([r[key] for r in runs]) for n, runs in results.items()}
        ratio = rate["fit"] / rate["plain"]
        out.append(
            f"- {what}: fit() is {ratio:.2f}× the plain loop (target ≥ {TARGET}×: "
            f"{'met' if ratio >= TARGET else 'not met'}) and "
            f"{rate['fit'] / rate['plain-fused']:.2f}× the plain loop with fused Adam (ratio "
            f"of the medians); median of the per-round ratios {_paired(results, 'plain', key):.2f}×"
            f" and {_paired(results, 'plain-fused', key):.2f}×."
        )
    return out


def _paired(results: dict[str, list[dict[str, Any]]], base: str, key: str) -> float:
    """The median over rounds of fit()'s rate divided by ``base``'s in the same round."""
    pairs = zip(results["fit"], results[base], strict=True)
    return M.median([a[key] / b[key] for a, b in pairs])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="measured epochs per run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", choices=list(CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.config:
        _worker(args)
        return
    script = str(Path(__file__).resolve())
    common = ["--epochs", str(args.epochs), "--threads", str(args.threads)]
    common += ["--seed", str(args.seed)]

    def run(name: str, _round: int) -> dict[str, Any]:
        return M.run_worker([script, "--config", name, *common])

    results = M.interleaved(list(CONFIGS), args.rounds, run)
    print(f"wrote {_write(args, results)}")


if __name__ == "__main__":
    main()
