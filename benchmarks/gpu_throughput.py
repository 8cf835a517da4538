"""Training and evaluation images/s on the CUDA device present (issue 15, item 5).

The reference VAE — 784-400-z20 MLP, ReLU, diagonal Gaussian q, N(0, I) prior, Bernoulli
likelihood on logits, dynamic binarization, Adam lr 1e-3 — on the Fashion-MNIST training split
(54,000 images) held on the GPU, at batch 128 and 1024:

- ``plain``: the loop people write by hand (``benchmarks/_plain_vae.py``: ``nn.Linear``,
  ``rand_like(x) < x`` binarization, ``binary_cross_entropy_with_logits``, closed-form KL),
  default ``torch.optim.Adam``;
- ``plain-fused``: the same with ``Adam(fused=True)``;
- ``plain-compile``: the same with the loss under ``torch.compile`` and fused Adam;
- ``plain-graph``: the whole step (binarization, forward, backward, ``Adam(fused=True,
  capturable=True)``) captured once as a CUDA graph with a static input buffer, then replayed;
- ``torchlvm-loop``: torchlvm's ``VAE`` and ``torchlvm.inference.elbo`` in the plain loop;
- ``fit``: ``torchlvm.training.fit(accelerator="gpu")``, steady state: the third epoch (of
  three) from its start to its last training step's end (without its validation and checkpoint);
- ``fit-fast``: ``fit(accelerator="gpu", fast=True)``, the whole-step CUDA graph inside
  Lightning, timed as ``fit``. Its graphs are captured in the first two epochs, once: the full
  mini-batch's after three eager steps, the epoch's last, smaller one's in the second epoch,
  after one eager run in the first (~20 ms of host time on an H200 at batch 1024, against an
  epoch of ~18 ms: ``benchmarks/fast_epoch.py`` shows it per epoch). The second epoch, timed
  until then, measured that one-time capture as if every epoch paid it.
- ``fit-one-step``: ``fit(accelerator="gpu", steps_per_batch=1)``: one optimizer step per
  Lightning batch (fit's default runs 32 per batch of resident data), for what Lightning's
  per-batch work costs; ``fit-s8``, ``fit-fast-s8``: 8 steps per batch (the default until the
  32 of benchmarks/results/host_overhead.md).

Evaluation: ``torchlvm.inference.log_marginal_is`` at k = 1000 on 2,000 test images, images/s,
with its default chunk and with chunk = 1000 (``--no-eval`` leaves it out).

Every timing synchronizes the device before reading the clock; the plain loops run
``--steps`` steps after ``--warmup`` steps. Results go to ``benchmarks/results/gpu.md`` with the
device's name, the versions and the command. Without a CUDA device the script says so and exits
0, writing nothing. ``--cpu-check`` runs every configuration that does not need CUDA for a few
steps on the CPU (writing to ``--out``), so that the script itself is tested where no GPU is.

Run: ``.venv/bin/python benchmarks/gpu_throughput.py [--steps 300]``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402
from _plain_vae import plain_vae  # noqa: E402

D, HIDDEN, LATENT = 784, 400, 20
BATCHES = (128, 1024)
N_TEST = 2000  # test images of the evaluation
CONFIGS = {
    "plain": "plain eager loop, default Adam",
    "plain-fused": "plain loop, Adam(fused=True)",
    "plain-compile": "plain loop, torch.compile(loss) + fused Adam",
    "plain-graph": "plain loop, whole step as one CUDA graph, Adam(capturable=True)",
    "torchlvm-loop": "torchlvm VAE + torchlvm.inference.elbo in the plain loop",
    "fit": "torchlvm fit(), steady state",
    "fit-fast": "torchlvm fit(fast=True): whole-step CUDA graph in Lightning",
    "fit-one-step": "torchlvm fit(steps_per_batch=1): one optimizer step per Lightning batch",
    "fit-s8": "torchlvm fit(steps_per_batch=8)",
    "fit-fast-s8": "torchlvm fit(fast=True, steps_per_batch=8)",
}
STEPS_PER_BATCH = {"fit-one-step": 1, "fit-s8": 8, "fit-fast-s8": 8}  # else fit's default
ORDER = ["plain", "fit", "fit-fast", "plain-graph", "torchlvm-loop", "plain-fused", "fit-one-step"]
ORDER += ["fit-s8", "fit-fast-s8"]
ORDER += ["plain-compile"]  # the order of measuring: compiling is slow, so it runs last
NEEDS_CUDA = {"plain-graph"}
DATA_FILE = Path(tempfile.gettempdir()) / f"gpu_throughput-{os.getpid()}.npy"  # fit()'s data
SLOW_ON_CPU = {"plain-compile"}  # compiles for minutes on a CPU: left out of --cpu-check


def _data(name: str, device: Any):
    import torch

    if name == "random":  # --cpu-check: intensities of the right shape, no files needed
        x = torch.rand(2048, D, generator=torch.Generator().manual_seed(0))
        return x.to(device), (x[:32] > 0.5).to(x.dtype).to(device)
    from torchlvm.data import load_dataset

    train = load_dataset(name, "train", binarize="dynamic", seed=0)
    test = load_dataset(name, "test", binarize="dynamic", seed=0)
    return train.x.to(device), test.fixed_binarized(0)[:N_TEST].to(device)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _torchlvm_parts(device: Any):
    from torchlvm.inference import elbo
    from torchlvm.models.vae import VAE, VAEConfig

    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,))).to(device)

    def loss_fn(x):
        import torch

        x = (torch.rand_like(x) < x).to(x.dtype)
        return -elbo(model, x).elbo.mean()

    return list(model.parameters()), loss_fn


def _loop(name: str, x, batch: int, steps: int, warmup: int) -> float:
    """Images/s of a plain loop over batches of ``x`` (a random order per pass)."""
    import torch

    device = x.device
    if name == "torchlvm-loop":
        params, loss_fn = _torchlvm_parts(device)
    else:
        params, loss_fn = plain_vae(D, HIDDEN, LATENT, device)
    fused = name != "plain" and device.type in ("cpu", "cuda")
    capturable = name == "plain-graph"
    opt = torch.optim.Adam(params, lr=1e-3, fused=fused or None, capturable=capturable)
    if name == "plain-compile":
        loss_fn = torch.compile(loss_fn)
    order = torch.randperm(x.shape[0], device=device)
    batches = [order[i : i + batch] for i in range(0, x.shape[0] - batch + 1, batch)]

    def step(xb: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn(xb).backward()
        opt.step()

    run = _graphed(step, x[batches[0]], opt) if name == "plain-graph" else step
    for i in range(warmup):
        run(x[batches[i % len(batches)]])
    _sync(device)
    start = time.perf_counter()
    for i in range(steps):
        run(x[batches[i % len(batches)]])
    _sync(device)
    return steps * batch / (time.perf_counter() - start)


def _graphed(step: Callable, example, opt) -> Callable:
    """``step`` captured as a CUDA graph over a static input buffer (warm-up on a side stream,
    the pattern of PyTorch's "whole network capture")."""
    import torch

    static = example.clone()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step(static)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):  # step sets the grads to None: backward writes them
        step(static)

    def replay(xb: torch.Tensor) -> None:
        static.copy_(xb)
        graph.replay()

    return replay


def _fit(x, batch: int, name: str, accelerator: str) -> float:
    """Images/s of fit()'s third epoch's training steps (data on the device)."""
    import lightning as L
    import numpy as np

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    clock: dict[str, float] = {}

    class Clock(L.Callback):  # from the epoch's start to its last step's end (no validation)
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            _sync(pl_module.device)
            clock["start"], clock["images"] = time.perf_counter(), 0

        def on_train_batch_end(self, trainer, pl_module, outputs, batch_, batch_idx) -> None:
            clock["images"] += batch_["x"].shape[0]
            if batch_idx + 1 == trainer.num_training_batches:
                _sync(pl_module.device)
                clock["rate"] = clock["images"] / (time.perf_counter() - clock["start"])

    path = DATA_FILE
    if not path.exists():  # the same training split for every fit() of this run
        np.save(path, x.cpu().numpy())
    L.seed_everything(0, verbose=False)
    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,)))
    dm = LVMDataModule(str(path), binarize="dynamic", batch_size=batch)
    config = TrainConfig(max_epochs=3, batch_size=batch)  # the last is timed: steady state
    with tempfile.TemporaryDirectory() as out:
        fit(
            model, dm, config, Path(out) / "run", progress=False, accelerator=accelerator,
            fast=name.startswith("fit-fast"), extra_callbacks=[Clock()],
            **({"steps_per_batch": STEPS_PER_BATCH[name]} if name in STEPS_PER_BATCH else {}),
        )  # fmt: skip
    return clock["rate"]


def _evaluation(test, device: Any, chunk: int | None) -> float:
    import torch

    from torchlvm.inference import log_marginal_is
    from torchlvm.models.vae import VAE, VAEConfig

    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,))).to(device).eval()
    with torch.no_grad():
        log_marginal_is(model, test, num_samples=1000, chunk=chunk)  # warm-up: the same shapes
        _sync(device)
        start = time.perf_counter()
        log_marginal_is(model, test, num_samples=1000, chunk=chunk)
        _sync(device)
    return test.shape[0] / (time.perf_counter() - start)


def _guarded(what: str, measure_one: Callable[..., float], *args: Any) -> float:
    """``measure_one(*args)``, or nan (with the traceback printed) if it fails: one
    configuration's failure does not lose the others' numbers."""
    try:
        return measure_one(*args)
    except Exception:  # noqa: BLE001 - any failure is reported and the run goes on
        print(f"  {what} FAILED:", file=sys.stderr)
        traceback.print_exc()
        return float("nan")


def measure(
    args: argparse.Namespace, device: Any, written: Callable[[dict], Any]
) -> dict[str, dict[int, float]]:
    """Images/s by configuration and batch size (nan where a configuration failed); the table
    so far is handed to ``written`` after each measurement, so that a run stopped at its time
    limit keeps what it measured. The most telling configurations run first."""
    names = [n for n in args.configs if device.type == "cuda" or n not in NEEDS_CUDA | SLOW_ON_CPU]
    x, test = _data(args.data, device)
    table: dict[str, dict[int, float]] = {name: {} for name in names}
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    for name in sorted(names, key=ORDER.index):
        for batch in args.batches:
            if name.startswith("fit"):
                rate = _guarded(name, _fit, x, batch, name, accelerator)
            else:
                rate = _guarded(name, _loop, name, x, batch, args.steps, args.warmup)
            table[name][batch] = rate
            print(f"  {name} batch {batch}: {rate:,.0f} images/s", flush=True)
            written(table)
    if test is not None and not args.no_eval:
        args.eval_images = test.shape[0]
        table["evaluation"] = {
            chunk or 0: _guarded(f"evaluation chunk {chunk}", _evaluation, test, device, chunk)
            for chunk in (None, 1000)
        }
        print(f"  evaluation: {table['evaluation']}", flush=True)
        written(table)
    return table


def _write(args: argparse.Namespace, device: Any, table: dict[str, dict[int, float]]) -> Path:
    import torch

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (--cpu-check)"
    lines = [
        "# Training and evaluation images/s on a GPU (issue 15, item 5)",
        "",
        f"Reference VAE 784-{HIDDEN}-z{LATENT}, Bernoulli, dynamic binarization, Adam 1e-3, "
        f"data ({args.data}) resident on the device; {args.steps} steps after {args.warmup} "
        "warm-up steps for the loops; for fit(), its third epoch (of three, after the fast path's "
        "one-time captures) from its start to its last training step's end (without validation "
        "and checkpoint).",
        "",
        f"- device: {name}; torch {torch.__version__}, CUDA {torch.version.cuda}",
        *M.machine_lines(),
        f"- command: `{M.command_line('benchmarks/gpu_throughput.py', sys.argv[1:])}`",
        "",
        "| configuration | " + " | ".join(f"batch {b}, images/s" for b in args.batches) + " |",
        "|---|" + "---|" * len(args.batches),
    ]
    plain = table.get("plain", {})  # (ratios need the plain loop among --configs)
    for config, rates in table.items():
        if config == "evaluation":
            continue
        cells = [_cell(rates.get(b, math.nan), plain.get(b)) for b in args.batches]
        lines.append(f"| `{config}`: {CONFIGS[config]} | " + " | ".join(cells) + " |")
    if "evaluation" in table:
        auto, fixed = (f"{table['evaluation'][c]:,.0f}" for c in (0, 1000))
        lines += [
            "",
            f"Evaluation: `log_marginal_is`, k = 1000, {args.eval_images:,} test images (fixed "
            "binarization):"
            f" {auto} images/s with its default chunk, {fixed} with chunk = 1000.",
        ]
    lines += [
        "",
        "Ratios are to the plain eager loop at the same batch size; nan: the configuration "
        "failed (its traceback is in the run's log).",
        "",
    ]
    out = Path(args.out)
    out.write_text("\n".join(lines), encoding="utf-8")
    return out


def _cell(rate: float, plain: float | None) -> str:
    if plain is None or not math.isfinite(plain) or not math.isfinite(rate):
        return f"{rate:,.0f}"
    return f"{rate:,.0f} ({rate / plain:.2f}×)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--data", default="fashion-mnist")
    parser.add_argument("--out", default=str(M.ROOT / "benchmarks" / "results" / "gpu.md"))
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--cpu-check", action="store_true", help="test the script on a CPU")
    parser.add_argument("--no-eval", action="store_true", help="leave the evaluation out")
    args = parser.parse_args(argv)
    import torch

    if args.cpu_check:
        device = torch.device("cpu")
    elif not torch.cuda.is_available():
        print("no CUDA device is visible: nothing measured, benchmarks/results/gpu.md unchanged")
        return 0
    else:
        device = torch.device("cuda")
    try:
        table = measure(args, device, lambda so_far: _write(args, device, so_far))
    finally:
        DATA_FILE.unlink(missing_ok=True)
    print(f"wrote {args.out}")
    return 0 if all(math.isfinite(r) for rates in table.values() for r in rates.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
