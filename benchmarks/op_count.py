"""Aten operators per optimizer step: a plain PyTorch loop with fused Adam against ``fit()``'s
training step, and the CPU time per step of both (issue 15).

On a GPU a small VAE's step is bound by kernel launches, and nearly every aten operator the step
dispatches is one launch (~10 µs of host time each on an NVIDIA H200, ``profile_fit.md``); on a
CPU each costs host time too. So the operator count per step, the same on every machine, is the
proxy for what ``fit()`` adds to a step.

- ``plain``: the hand-written loop of ``benchmarks/_plain_vae.py`` (``zero_grad``, loss,
  ``backward``, ``Adam(fused=True).step()``).
- ``fit``: one call of :class:`~torchlvm.training.fast_step.WholeStep`, the step every
  single-process ``fit()`` runs eagerly (and captures as a CUDA graph with ``fast=True``): the
  binarization draw, the objective, ``backward``, the non-finite guard, fused Adam and the epoch
  sums of the logged terms. Configurations: the reference VAE (Bernoulli, N(0, I) prior, diagonal
  q), a Gaussian likelihood, β = 2, a KL weight given as a 0-dim tensor (what the captured graph
  reads during KL warm-up), IWAE with k = 5, a CVAE (learned prior, and the N(0, I) prior).
- ``--baseline-src PATH``: the same ``fit`` counts and timings for another checkout's ``src``
  (e.g. a worktree of an earlier commit), run by this script in a subprocess, so that before and
  after are measured alike.

Operators are counted with a ``TorchDispatchMode`` over one step after two warm-up steps (views
and profiler scopes count too: they cost host time). Timings: each configuration in its own
subprocess, one torch thread, ``--steps`` steps after warm-up, interleaved round by round
(``--rounds``), medians of the per-step process CPU time (what other jobs on a shared machine do
not inflate) and wall time.

Run: ``nice -n 10 .venv/bin/python benchmarks/op_count.py [--baseline-src PATH]``
(writes ``benchmarks/results/op_count.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

D = 784
SETTINGS = {"reference-128": (400, 20, 128), "proxy-1024": (16, 2, 1024)}  # hidden, K, batch
CONFIGS: dict[str, tuple[str, dict[str, Any], dict[str, Any], Any]] = {
    # name: (model, model options, TrainConfig options, KL weight: a float, or "tensor")
    "reference": ("vae", {}, {}, 1.0),
    "gaussian": ("vae", {"likelihood": "gaussian"}, {}, 1.0),
    "beta-2": ("vae", {}, {"beta": 2.0}, 2.0),
    "warmup-tensor": ("vae", {}, {"beta": 2.0, "warmup_epochs": 1}, "tensor"),
    "iwae-5": ("vae", {}, {"objective": "iwae", "k": 5}, 1.0),
    "cvae": ("cvae", {}, {}, 1.0),
    "cvae-standard": ("cvae", {"prior": "standard"}, {}, 1.0),
}
CLASSES = 10  # the CVAE's condition: one-hot labels


def plain_step(hidden: int, latent: int, batch: int) -> Callable[[], None]:
    """One step of the hand-written loop with fused Adam on a fixed batch of intensities."""
    import torch
    from _plain_vae import plain_vae

    torch.manual_seed(0)
    params, loss_fn = plain_vae(D, hidden, latent)
    optimizer = torch.optim.Adam(params, lr=1e-3, fused=True)
    x = torch.rand(batch, D)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(x).backward()
        optimizer.step()

    return step


def fit_step(config: str, hidden: int, latent: int, batch: int) -> Callable[[], None]:
    """One step of ``fit()``'s WholeStep (eager, with the binarization draw) on a fixed batch."""
    import torch

    from torchlvm.models.cvae import CVAE, CVAEConfig
    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training.config import TrainConfig
    from torchlvm.training.fast_step import WholeStep
    from torchlvm.training.module import LVMModule

    kind, model_options, train_options, weight = CONFIGS[config]
    torch.manual_seed(0)
    c = None
    if kind == "cvae":
        model: Any = CVAE(
            CVAEConfig(D, CLASSES, latent_dim=latent, hidden=(hidden,), **model_options)
        )
        c = torch.nn.functional.one_hot(torch.arange(batch) % CLASSES, CLASSES).float()
    else:
        model = VAE(VAEConfig(D, latent_dim=latent, hidden=(hidden,), **model_options))
    module = LVMModule(model, TrainConfig(**train_options), whole_step=True, redraw=True)
    whole = WholeStep(module, module.configure_optimizers(), redraw=True, capture=False)
    x = torch.rand(batch, D)
    if weight != "tensor":
        return lambda: whole(x, c, weight)
    tensor = torch.tensor(0.5)  # the captured step's KL weight, mid warm-up

    def step() -> None:
        for p in whole.params:
            p.grad = None
        whole.step(x, c, tensor)

    return step


def count_ops(step: Callable[[], None], warmup: int = 2) -> int:
    """Aten operators dispatched by one call of ``step`` after ``warmup`` calls."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            Count.n += 1
            return func(*args, **(kwargs or {}))

    for _ in range(warmup):
        step()
    with Count():
        step()
    return Count.n


def _worker(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)
    hidden, latent, batch = SETTINGS[args.setting]
    if args.worker == "plain":
        step = plain_step(hidden, latent, batch)
    else:
        step = fit_step(args.worker.removeprefix("fit:"), hidden, latent, batch)
    ops = count_ops(step)
    for _ in range(args.warmup):
        step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    M.emit({"ops": ops, "cpu_ms": 1e3 * cpu / args.steps, "wall_ms": 1e3 * wall / args.steps})


def _run(args: argparse.Namespace, name: str, setting: str, src: str | None, steps: int) -> dict:
    """One worker: ``name`` is "plain" or "fit:<config>"; ``src`` the PYTHONPATH (None: this
    tree's)."""
    command = [__file__, "--worker", name, "--setting", setting, "--steps", str(steps)]
    command += ["--threads", str(args.threads)]
    return M.run_worker(command, env=None if src is None else {"PYTHONPATH": src})


def _counts(args: argparse.Namespace) -> list[str]:
    trees = {"this tree": None} | ({"baseline": args.baseline_src} if args.baseline_src else {})
    header = "| configuration (reference-128) | plain, fused Adam | " + " | ".join(
        f"fit, {t}" for t in trees
    )
    lines = [header + " |", "|" + "---|" * (2 + len(trees))]
    plain = _run(args, "plain", "reference-128", None, 1)["ops"]
    for config in CONFIGS:
        fits = [
            _run(args, f"fit:{config}", "reference-128", src, 1)["ops"] for src in trees.values()
        ]
        shown = plain if config == "reference" else "—"
        lines.append(f"| {config} | {shown} | " + " | ".join(str(n) for n in fits) + " |")
    return lines


def _timings(args: argparse.Namespace) -> list[str]:
    names = {"plain (fused Adam)": ("plain", None), "fit": ("fit:reference", None)}
    if args.baseline_src:
        names["fit, baseline"] = ("fit:reference", args.baseline_src)
    lines = [
        "| setting | configuration | ops/step | CPU ms/step | wall ms/step | plain / it (CPU) |",
        "|---|---|---|---|---|---|",
    ]
    for setting in SETTINGS:
        runs = M.interleaved(
            list(names),
            args.rounds,
            lambda n, _r, s=setting: _run(args, names[n][0], s, names[n][1], args.steps),
        )
        plain_cpu = M.median([r["cpu_ms"] for r in runs["plain (fused Adam)"]])
        for name, results in runs.items():
            cpu = M.median([r["cpu_ms"] for r in results])
            wall = M.median([r["wall_ms"] for r in results])
            lines.append(
                f"| {setting} | {name} | {results[0]['ops']} | {cpu:.3f} | {wall:.3f} | "
                f"{plain_cpu / cpu:.2f}x |"
            )
    return lines


def _commit(src: str) -> str:
    """The git commit (short) of the checkout holding ``src``, or "unknown"."""
    import subprocess

    done = subprocess.run(
        ["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    return done.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-src", help="another checkout's src folder to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="timed steps per worker")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps per worker")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--setting", default="reference-128", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(M.ROOT / "benchmarks/results/op_count.md"))
    args = parser.parse_args()
    if args.worker:
        return _worker(args)
    lines = [
        "# Aten operators and CPU time per optimizer step: plain loop vs fit()'s step",
        "",
        f"Command: `nice -n 10 {M.command_line('benchmarks/op_count.py', sys.argv[1:])}`",
        "",
        *M.machine_lines(interleaved=True),
        f"- this tree: commit {_commit(str(M.ROOT))} (with its uncommitted changes, if any)",
        *([f"- baseline: commit {_commit(args.baseline_src)}"] if args.baseline_src else []),
        "",
        "## Operators per step (deterministic; batch 128, 784-400-z20)",
        "",
        *_counts(args),
        "",
        f"## Time per step ({args.steps} steps per worker after {args.warmup}, "
        f"{args.threads} thread, median of {args.rounds} interleaved rounds)",
        "",
        *_timings(args),
    ]
    M.write_results(args.out, lines)


if __name__ == "__main__":
    main()
