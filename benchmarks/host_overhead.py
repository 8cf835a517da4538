"""Host (Python) time per optimizer step that ``fit()`` spends outside the step's own ops
(issue 15): Lightning's per-batch work, the whole-step loop of ``LVMModule._whole_steps``, the
resident loader and ``WholeStep.__call__``.

On a GPU the fast path replays the whole step as one CUDA graph (~0.37 ms of GPU time for the
reference VAE at batch 1024 on an H200), so every microsecond the host spends per step around the
replay is a bound on the steps/s. A CPU measures that host time directly: the ops of the step
are taken out (``WholeStep.step`` replaced by a no-op, so nothing is computed and nothing is
launched) and what is left is the Python around them. Each configuration times its process CPU
time (``time.process_time``: not inflated by other jobs on a shared machine) from each measured
epoch's start to its last training batch's end (validation and checkpoints excluded), one torch
thread; a round is one fresh process per source tree (below) running every configuration and
setting in turn (in another order each round: after the imports, which dominate a short
worker's time and would otherwise be paid per configuration); medians over rounds:

- ``loader``: only the resident loader (``ResidentBatches``: the epoch's order, then an
  ``index_select`` per Lightning batch of ``steps_per_batch`` mini-batches), iterated as fit()
  iterates it;
- ``lightning``: fit() with ``LVMModule._whole_steps`` a no-op: the loader plus Lightning's
  per-batch work (its loop, hooks, callbacks, progress and logging bookkeeping);
- ``loop``: fit() with ``WholeStep.__call__`` a no-op: adds the per-step loop of
  ``_whole_steps`` (splitting, the KL weight, Lightning's step count);
- ``eager``: fit() with ``WholeStep.step`` a no-op: adds ``WholeStep.__call__``'s eager arm
  (what every eager step pays around the step: zeroing the gradients);
- ``replay``: as ``eager``, but ``__call__`` takes its graph arm after its warm-up steps, with a
  stand-in graph whose ``replay()`` does nothing: the host work of a fast-path step on a GPU
  (copying the batch into the graph's static input, the KL weight check), all but the replay.

The differences between consecutive configurations are the pieces. The data are random
intensities in [0, 1) with 16 features and dynamic binarization (so that a CPU's copies of a
batch's rows, which a GPU does asynchronously, stay small), 384 optimizer steps per epoch at
every batch size; the model is a 16-8-z2 VAE (its ops never run).

``--accelerator gpu`` trains on a GPU (data resident there; the stand-in graph's static buffers
too): the host time is then that of the GPU machine's CPU, launches of the loader's and
``__call__``'s kernels included (their GPU time is not: process CPU time does not wait for them).

``--src LABEL=PATH`` (repeatable) measures other source trees of torchlvm in the same interleaved
rounds, e.g. the code before a change beside the code after it (``git archive REV src | tar -x
-C /tmp/before``, then ``--src before=/tmp/before/src --src after=src``).

Run: ``nice -n 10 .venv/bin/python benchmarks/host_overhead.py [--rounds 5 --epochs 5]``
(writes ``benchmarks/results/host_overhead.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

D, HIDDEN, LATENT = 16, 8, 2
STEPS_PER_EPOCH = 384
INHERITED_PATH = os.environ.get("PYTHONPATH", "")  # kept after a tree's src in a worker
CONFIGS = {
    "loader": "the resident loader alone",
    "lightning": "+ Lightning per batch (`_whole_steps` a no-op)",
    "loop": "+ the per-step loop of `_whole_steps` (`WholeStep.__call__` a no-op)",
    "eager": "+ `WholeStep.__call__`, eager arm (`WholeStep.step` a no-op)",
    "replay": "+ `WholeStep.__call__`, graph arm (a stand-in graph; `step` a no-op)",
}
PIECES = {  # piece: (configuration, the one before it)
    "resident loader": ("loader", None),
    "Lightning per batch": ("lightning", "loader"),
    "per-step loop of `_whole_steps`": ("loop", "lightning"),
    "`WholeStep.__call__`, eager arm": ("eager", "loop"),
    "`WholeStep.__call__`, graph arm": ("replay", "loop"),
}


def _data(folder: Path, batch: int, seed: int) -> Path:
    import numpy as np

    n = round(STEPS_PER_EPOCH * batch / 0.8)  # the training split is 80% of a file's rows
    path = folder / f"x{batch}.npy"
    if not path.exists():
        np.save(path, np.random.default_rng(seed).random((n, D), dtype=np.float32))
    return path


class _StandInGraph:
    """A captured graph's stand-in on a CPU: ``replay()`` does nothing."""

    def replay(self) -> None:
        pass


def _patches(config: str) -> list[tuple[Any, str, Any]]:
    """``(class, attribute, value)`` that take the ops out of the step (and more, by
    configuration); see the module docstring."""
    import torch

    from torchlvm.training import fast_step, module

    whole = fast_step.WholeStep
    patches: list[tuple[Any, str, Any]] = [(whole, "step", lambda self, x, c, kl_weight: None)]
    if config == "lightning":
        patches.append((module.LVMModule, "_whole_steps", lambda self, batch: None))
    elif config == "loop":
        patches.append((whole, "__call__", lambda self, x, c, kl_weight: None))
    elif config == "replay":
        init = whole.__init__

        def capturing_init(self, *args: Any, **kwargs: Any) -> None:
            init(self, *args, **{**kwargs, "capture": True})

        def capture(self, x: torch.Tensor, c: torch.Tensor | None) -> _StandInGraph:
            if self.kl is None:  # what WholeStep._capture sets up, but the graph
                self.kl = torch.zeros((), dtype=x.dtype, device=x.device)
            self.inputs[x.shape] = (torch.empty_like(x), None if c is None else c.clone())
            return _StandInGraph()

        patches += [(whole, "__init__", capturing_init), (whole, "_capture", capture)]
        patches.append((whole, "_on_side_stream", whole._eager))
    return patches


def _loader_only(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    import torch

    from torchlvm.training import LVMDataModule

    dm = LVMDataModule(str(path), binarize="dynamic", seed=args.seed, batch_size=args.batch)
    dm.setup("fit")
    dm.redraw_in_loader, dm.steps_per_batch = False, args.steps_per_batch
    device = torch.device("cuda" if args.accelerator == "gpu" else "cpu")
    dm._device = lambda: device  # as the Trainer's root device would be
    loader = dm.train_dataloader()
    steps = cpu = 0.0
    for epoch in range(1 + args.epochs):
        loader.sampler.set_epoch(epoch)
        start = time.process_time()
        for _ in loader:
            pass
        if epoch >= 1:
            cpu += time.process_time() - start
            steps += loader.steps_per_epoch
    return {"steps": steps, "us_per_step": 1e6 * cpu / steps}


def _fit(args: argparse.Namespace, path: Path) -> dict[str, Any]:
    import lightning as L

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    timing = {"cpu": 0.0, "batches": 0}

    class EpochClock(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            self.start, self.batches = time.process_time(), 0

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.end, self.batches = time.process_time(), batch_idx + 1

        def on_train_epoch_end(self, trainer, pl_module) -> None:
            if trainer.current_epoch >= 1:
                timing["cpu"] += self.end - self.start
                timing["batches"] += self.batches

    L.seed_everything(args.seed, verbose=False)
    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,)))
    dm = LVMDataModule(str(path), binarize="dynamic", seed=args.seed, batch_size=args.batch)
    config = TrainConfig(
        max_epochs=1 + args.epochs, batch_size=args.batch, seed=args.seed,
        warmup_epochs=args.warmup_epochs,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        fit(
            model, dm, config, Path(out) / "run", progress=False, accelerator=args.accelerator,
            steps_per_batch=args.steps_per_batch, extra_callbacks=[EpochClock()],
        )  # fmt: skip
    steps = args.epochs * STEPS_PER_EPOCH
    assert timing["batches"] == args.epochs * -(-STEPS_PER_EPOCH // args.steps_per_batch)
    return {"steps": steps, "us_per_step": 1e6 * timing["cpu"] / steps}


def _worker(args: argparse.Namespace) -> None:
    """Run every ``config:batch:steps:warmup`` job of ``args.jobs`` in turn; emit their µs per
    step."""
    from unittest import mock

    import torch

    torch.set_num_threads(1)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for job in args.jobs:
            config, batch, steps, warmup = job.split(":")
            args.batch, args.steps_per_batch = int(batch), int(steps)
            args.warmup_epochs = int(warmup)
            path = _data(Path(folder), args.batch, args.seed)
            if config == "loader":
                out[job] = _loader_only(args, path)["us_per_step"]
                continue
            with contextlib.ExitStack() as stack:
                for owner, name, value in _patches(config):
                    stack.enter_context(mock.patch.object(owner, name, value))
                out[job] = _fit(args, path)["us_per_step"]
    M.emit({"us_per_step": out})


def _setting_name(batch: int, steps: int, warmup: int) -> str:
    return f"batch {batch}, {steps} steps per batch" + (f", KL warm-up {warmup}" if warmup else "")


def _write(args: argparse.Namespace, results: dict[str, dict[str, dict[str, list[float]]]]) -> None:
    trees = list(args.trees)
    lines = [
        "# Host time per optimizer step outside the step's ops (issue 15)",
        "",
        "fit()'s process CPU time per optimizer step with the step's ops taken out "
        "(`WholeStep.step` a no-op), µs, by configuration (each adds a piece; see "
        f"`benchmarks/host_overhead.py`); {args.epochs} measured epochs of {STEPS_PER_EPOCH} "
        f"steps after one warm-up epoch, {args.rounds} rounds (a fresh process per source tree "
        "and round, running every configuration in turn, in another order each round; one torch "
        "thread), medians. Random 16-feature data, dynamic "
        "binarization, a 16-8-z2 VAE whose ops never run; training on "
        + (
            "the GPU (data resident there; the host's launches are timed, not the kernels)."
            if args.accelerator == "gpu"
            else "the CPU."
        ),
        "",
        *M.machine_lines(interleaved=True),
        f"- source trees: {', '.join(f'`{k}` = `{v}`' for k, v in args.trees.items())}",
        f"- command: `{M.command_line('benchmarks/host_overhead.py', sys.argv[1:])}`",
        *args.note,
    ]
    head = " | ".join(f"`{t}`: µs per step (median; every round)" for t in trees)
    for setting, by_config in results.items():
        med = {(n, t): M.median(v[t]) for n, v in by_config.items() for t in trees}
        lines += [
            "",
            f"## {setting}",
            "",
            f"| configuration | {head} |",
            "|---|" + "---|" * len(trees),
        ]
        for name, by_tree in by_config.items():
            cells = [
                f"{med[name, t]:.1f} ({', '.join(f'{v:.1f}' for v in by_tree[t])})" for t in trees
            ]
            lines.append(f"| `{name}`: {CONFIGS[name]} | " + " | ".join(cells) + " |")
        lines += ["", "| piece | " + " | ".join(f"`{t}`: µs per step" for t in trees) + " |"]
        lines.append("|---|" + "---|" * len(trees))
        for piece, (config, before) in PIECES.items():
            if config in by_config and (before is None or before in by_config):
                cells = [
                    f"{med[config, t] - (med[before, t] if before else 0.0):.1f}" for t in trees
                ]
                lines.append(f"| {piece} | " + " | ".join(cells) + " |")
    M.write_results(args.out, [*lines, ""])


def _trees(specs: list[str]) -> dict[str, str]:
    """``LABEL=PATH`` source trees (default: this checkout's ``src``)."""
    if not specs:
        return {"this": str(M.ROOT / "src")}
    trees = dict(spec.split("=", 1) for spec in specs)
    return {label: str(Path(path).resolve()) for label, path in trees.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5, help="measured epochs per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--steps-per-batch", type=int, nargs="+", default=[32])
    parser.add_argument("--warmup-epochs", type=int, nargs="+", default=[0])
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--accelerator", choices=["cpu", "gpu"], default="cpu")
    parser.add_argument("--note", action="append", default=[], help="a line for the results")
    parser.add_argument("--src", action="append", default=[], help="LABEL=PATH of a source tree")
    parser.add_argument(
        "--out", default=str(M.ROOT / "benchmarks" / "results" / "host_overhead.md")
    )
    parser.add_argument("--jobs", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.jobs:
        _worker(args)
        return
    script = str(Path(__file__).resolve())
    args.trees = _trees(args.src)
    settings = [
        (b, s, w) for b in args.batches for s in args.steps_per_batch for w in args.warmup_epochs
    ]
    jobs = [f"{name}:{b}:{s}:{w}" for b, s, w in settings for name in args.configs]
    common = ["--epochs", str(args.epochs), "--seed", str(args.seed)]
    common += ["--accelerator", args.accelerator]

    def run(tree: str, round_: int) -> dict[str, float]:
        turn = round_ % len(jobs)  # another order each round
        order = jobs[turn:] + jobs[:turn]
        # the tree first; what PYTHONPATH held stays after it (on the GPU machine, zuko's
        # wheel is installed there: gpu_device_check.sh)
        env = {"PYTHONPATH": os.pathsep.join(filter(None, [args.trees[tree], INHERITED_PATH]))}
        return M.run_worker([script, "--jobs", *order, *common], env=env)["us_per_step"]

    flat = M.interleaved(list(args.trees), args.rounds, run)
    results = {
        _setting_name(b, s, w): {
            name: {tree: [r[f"{name}:{b}:{s}:{w}"] for r in flat[tree]] for tree in args.trees}
            for name in args.configs
        }
        for b, s, w in settings
    }
    _write(args, results)


if __name__ == "__main__":
    main()
