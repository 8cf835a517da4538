"""CPU proxy for the per-step overhead of ``fit()``, and ``fit()`` against a plain loop on the
reference model (issue 15, items 1 and 2).

Settings (``--settings``), each a VAE (MLP, ReLU, diagonal Gaussian q, N(0, I) prior, Bernoulli
likelihood on logits) trained with Adam lr 1e-3 on the dynamically binarized Fashion-MNIST
training split (54,000 images):

- ``proxy-1024``: 784-16-z2 at batch 1024, a model so small that a step's arithmetic is cheap,
  so that what ``fit()`` adds around the step (Lightning's loop and hooks, the data path, the
  non-finite guard, logging) shows as a loss of steps/s against the same training in a plain
  loop. On a GPU the same overhead is what keeps a small model from the hardware's speed, so this
  is the number every machine can measure (target: ``fit`` ≥ 0.8× ``plain``).
- ``reference-128``, ``reference-1024``: the reference model 784-400-z20 at batch 128 and 1024
  (targets: ``fit`` ≥ 1.0× ``plain`` and ≥ 0.95× ``plain-fused``).

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
- ``fit-one-step``: ``fit(steps_per_batch=1)``: one optimizer step per Lightning batch, as
  before fit ran several per batch of resident data (what Lightning's per-batch work costs).

Steps/s are over the measured epochs after one warm-up epoch, and steps per CPU-second over the
process's CPU time in them (what other jobs on a shared machine do not inflate); one torch thread
per process (``--threads``).

``--src LABEL=PATH`` (repeatable) runs each ``fit`` configuration once per source tree of
torchlvm in the same interleaved rounds (rows ``fit@LABEL``), e.g. the code before a change beside
the code after it (``git archive REV src | tar -x -C /tmp/before``, then ``--src
before=/tmp/before/src --src after=src``); the plain loops run on the first tree's data loader.

Run: ``nice -n 10 .venv/bin/python benchmarks/train_overhead.py [--rounds 3 --epochs 2]``
(writes ``benchmarks/results/train_overhead.md`` after every round; ``--minutes M`` stops before a
round that would end after M minutes, judged by the rounds so far).
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

D = 784
SETTINGS = {  # name: (hidden width, latent dim, batch size, targets {baseline: fit's ratio})
    "proxy-1024": (16, 2, 1024, {"plain": 0.8}),
    "reference-128": (400, 20, 128, {"plain": 1.0, "plain-fused": 0.95}),
    "reference-1024": (400, 20, 1024, {"plain": 1.0, "plain-fused": 0.95}),
}
CONFIGS = {
    "plain": "hand-written loop, default Adam",
    "plain-fused": "hand-written loop, Adam(fused=True)",
    "fit": "torchlvm fit() (Lightning), progress bar off",
    "fit-fast": "torchlvm fit(fast=True): the whole step as one function (eager on a CPU)",
    "fit-one-step": "torchlvm fit(steps_per_batch=1): one optimizer step per Lightning batch",
}


def _data(seed: int):
    from torchlvm.data import load_dataset

    return load_dataset("fashion-mnist", "train", binarize="dynamic", seed=seed)


def _plain(args: argparse.Namespace, *, fused: bool) -> dict[str, Any]:
    import torch
    from _plain_vae import plain_vae

    torch.manual_seed(args.seed)
    x = _data(args.seed).x
    params, loss_fn = plain_vae(D, args.hidden, args.latent)
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
        for i in range(0, x.shape[0], args.batch):
            total += step(x[order[i : i + args.batch]])
        if epoch >= 1:
            seconds += time.perf_counter() - start
            cpu += time.process_time() - start_cpu
            steps += -(-x.shape[0] // args.batch)
    return _rates(steps, seconds, cpu)


def _rates(steps: int, seconds: float, cpu: float) -> dict[str, Any]:
    return {"steps": steps, "steps_per_s": steps / seconds, "steps_per_cpu_s": steps / cpu}


def _fit(args: argparse.Namespace, *, fast: bool, steps_per_batch: int) -> dict[str, Any]:
    import lightning as L

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    timing = {"steps": 0, "seconds": 0.0, "cpu": 0.0}

    class EpochClock(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.start, self.start_cpu, self.steps = time.perf_counter(), time.process_time(), 0
            self.first = trainer.global_step

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.steps = trainer.global_step - self.first  # optimizer steps, several per batch
            self.end, self.end_cpu = time.perf_counter(), time.process_time()

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.current_epoch >= 1:
                timing["steps"] += self.steps
                timing["seconds"] += self.end - self.start
                timing["cpu"] += self.end_cpu - self.start_cpu

    L.seed_everything(args.seed, verbose=False)
    model = VAE(VAEConfig(D, latent_dim=args.latent, hidden=(args.hidden,)))
    dm = LVMDataModule("fashion-mnist", binarize="dynamic", seed=args.seed, batch_size=args.batch)
    config = TrainConfig(max_epochs=1 + args.epochs, batch_size=args.batch, seed=args.seed)
    with tempfile.TemporaryDirectory() as out:
        fit(
            model, dm, config, Path(out) / "run", progress=False, fast=fast,
            steps_per_batch=steps_per_batch, extra_callbacks=[EpochClock()],
        )  # fmt: skip
    return _rates(int(timing["steps"]), timing["seconds"], timing["cpu"])


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    if args.config.startswith("fit"):
        from torchlvm.training.trainer import STEPS_PER_BATCH

        steps = 1 if args.config == "fit-one-step" else STEPS_PER_BATCH
        M.emit(_fit(args, fast=args.config == "fit-fast", steps_per_batch=steps))
    else:
        M.emit(_plain(args, fused=args.config == "plain-fused"))


def _write(args: argparse.Namespace, results: dict[str, dict[str, list[dict[str, Any]]]]) -> Path:
    lines = [
        "# fit() against a plain loop on a CPU: the per-step overhead proxy and the reference "
        "model (issue 15, items 1 and 2)",
        "",
        f"Fashion-MNIST training split, dynamic binarization, Adam 1e-3, {args.threads} torch "
        f"thread(s) per process; {args.epochs} measured epochs after one warm-up, {args.rounds} "
        "interleaved rounds (every setting and configuration once per round, each in a fresh "
        "process), medians. Steps per CPU-second divide by the process's CPU time "
        "(`time.process_time`), which other jobs on a shared machine do not inflate (one thread: "
        "no spinning threads counted).",
        "",
        *M.machine_lines(interleaved=True),
        f"- each worker process runs torch with {args.threads} thread(s) (`--threads`), under "
        "`nice -n 10`; the load average says how busy the shared machine was",
        f"- command: `{M.command_line('benchmarks/train_overhead.py', sys.argv[1:])}`",
    ]
    for setting, by_config in results.items():
        hidden, latent, batch, targets = SETTINGS[setting]
        lines += [
            "",
            f"## `{setting}`: 784-{hidden}-z{latent} VAE, batch {batch}",
            "",
            "| configuration | steps/s (median; every round) "
            "| steps per CPU-s (median; every round) |",
            "|---|---|---|",
        ]
        for name, runs in by_config.items():
            cells = []
            for key in ("steps_per_s", "steps_per_cpu_s"):
                each = ", ".join(f"{r[key]:.1f}" for r in runs)
                cells.append(f"{M.median([r[key] for r in runs]):.1f} ({each})")
            config, _, tree = name.partition("@")
            what = CONFIGS[config] + (f", source tree `{tree}`" if tree else "")
            lines.append(f"| `{name}`: {what} | " + " | ".join(cells) + " |")
        for name in by_config:
            if name.split("@")[0] == "fit":
                lines += ["", *_verdicts(by_config, targets, name)]
    path = Path(args.out)
    path.write_text("\n".join([*lines, ""]), encoding="utf-8")
    return path


def _verdicts(
    results: dict[str, list[dict[str, Any]]], targets: dict[str, float], fit: str = "fit"
) -> list[str]:
    out = []
    for key, what in (("steps_per_cpu_s", "steps per CPU-second"), ("steps_per_s", "steps/s")):
        rate = {n: M.median([r[key] for r in runs]) for n, runs in results.items()}
        parts = []
        for base in ("plain", "plain-fused"):
            ratio = rate[fit] / rate[base]
            target = targets.get(base)
            verdict = (
                "" if target is None else
                f" (target ≥ {target}×: {'met' if ratio >= target else '**not met**'})"
            )  # fmt: skip
            parts.append(
                f"{ratio:.2f}× `{base}`{verdict}, median of the per-round ratios "
                f"{_paired(results, fit, base, key):.2f}×"
            )
        out.append(f"- {what}: `{fit}` is " + "; ".join(parts) + ".")
    return out


def _paired(results: dict[str, list[dict[str, Any]]], fit: str, base: str, key: str) -> float:
    """The median over rounds of ``fit``'s rate divided by ``base``'s in the same round."""
    pairs = zip(results[fit], results[base], strict=True)
    return M.median([a[key] / b[key] for a, b in pairs])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="measured epochs per run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--minutes", type=float, help="start no round that would end after this many minutes"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument(
        "--out", default=str(M.ROOT / "benchmarks" / "results" / "train_overhead.md")
    )
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--src", action="append", default=[], help="LABEL=PATH of a source tree")
    parser.add_argument("--config", choices=list(CONFIGS), help=argparse.SUPPRESS)
    for name in ("--hidden", "--latent", "--batch"):
        parser.add_argument(name, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.config:
        _worker(args)
        return
    script = str(Path(__file__).resolve())
    common = ["--epochs", str(args.epochs), "--threads", str(args.threads)]
    common += ["--seed", str(args.seed)]

    trees = dict(spec.split("=", 1) for spec in args.src)
    names = [
        f"{config}@{tree}" if trees and config.startswith("fit") else config
        for config in args.configs
        for tree in (trees if trees and config.startswith("fit") else [""])
    ]

    def run(job: str, _round: int) -> dict[str, Any]:
        setting, name = job.split(":")
        hidden, latent, batch, _ = SETTINGS[setting]
        shape = ["--hidden", str(hidden), "--latent", str(latent), "--batch", str(batch)]
        config, _, tree = name.partition("@")
        path = trees.get(tree) or next(iter(trees.values()), None)
        env = None if path is None else {"PYTHONPATH": str(Path(path).resolve())}
        return M.run_worker([script, "--config", config, *shape, *common], env=env)

    jobs = [f"{setting}:{name}" for setting in args.settings for name in names]
    flat: dict[str, list[dict[str, Any]]] = {job: [] for job in jobs}
    started, limit = time.perf_counter(), args.rounds
    for done in range(1, limit + 1):  # the file is written after every round
        for job, runs in M.interleaved(jobs, 1, run).items():
            flat[job] += runs
        args.rounds = done
        results = {
            setting: {name: flat[f"{setting}:{name}"] for name in names}
            for setting in args.settings
        }
        print(f"round {done}: wrote {_write(args, results)}", flush=True)
        minutes = (time.perf_counter() - started) / 60
        if args.minutes is not None and minutes * (done + 1) / done > args.minutes:
            break  # another round would end after the budget


if __name__ == "__main__":
    main()
