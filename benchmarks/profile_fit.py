"""Where a training step's time goes: torch.profiler over the plain loop and over ``fit()``.

Issue 15 asks ``fit()`` to train at the plain eager loop's speed; on an H200 it reached 1.01× /
1.04× at batch 128 / 1024 (medians, 2026-11-27; 0.77× / 0.55× before; benchmarks/results/gpu.md),
below the plain loop with fused Adam. This script measures, for the reference
VAE (784-400-z20, Bernoulli, dynamic binarization, Adam 1e-3, data resident on the device), per
optimizer step: wall time, host (CPU) time of the operators torch records, and the number of
GPU kernels launched; then the operators that take the most host time in ``fit()``. The plain
loop is ``benchmarks/_plain_vae.py`` with fused Adam (what ``fit()`` uses on CUDA).

Run: ``python benchmarks/profile_fit.py [--batches 128 1024] [--steps 200] [--out FILE]``.
Data are uniform intensities of Fashion-MNIST's shape (timing does not depend on the pixels).
Without CUDA it profiles on the CPU with one thread (kernel counts are then 0).
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
from _plain_vae import plain_vae  # noqa: E402

D, HIDDEN, LATENT, N = 784, 400, 20, 54_000


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _summary(prof: Any, steps: int, seconds: float) -> dict[str, float]:
    """Per step: wall ms, recorded host ms of top-level operators, GPU kernels launched."""
    events = prof.events()
    kernels = sum(1 for e in events if str(getattr(e, "device_type", "")).endswith("CUDA"))
    host_us = sum(e.self_cpu_time_total for e in prof.key_averages())
    return {
        "wall_ms": 1e3 * seconds / steps,
        "host_ms": host_us / 1e3 / steps,
        "kernels": kernels / steps,
    }


def _plain(x: Any, batch: int, steps: int) -> tuple[dict[str, float], Any]:
    import torch
    from torch.profiler import ProfilerActivity, profile

    params, loss_fn = plain_vae(D, HIDDEN, LATENT, x.device)
    opt = torch.optim.Adam(params, lr=1e-3, fused=True)
    order = torch.randperm(x.shape[0], device=x.device)

    def step(i: int) -> None:
        idx = order[(i * batch) % (N - batch) :][:batch]
        opt.zero_grad(set_to_none=True)
        loss_fn(x[idx]).backward()
        opt.step()

    for i in range(20):
        step(i)
    _sync(x.device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if x.is_cuda else [])
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        _sync(x.device)
        seconds = time.perf_counter() - start
    return _summary(prof, steps, seconds), prof


def _fit(path: Path, batch: int, steps: int, accelerator: str) -> tuple[dict[str, float], Any]:
    """fit() for one warm-up epoch, then ``steps`` profiled optimizer steps of the second."""
    import lightning as L
    from torch.profiler import ProfilerActivity, profile

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    state: dict[str, Any] = {}

    class Profiled(L.Callback):
        def on_train_epoch_start(self, trainer, pl_module) -> None:
            if trainer.current_epoch == 1:
                _sync(pl_module.device)
                cuda = pl_module.device.type == "cuda"
                acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
                state["prof"] = profile(activities=acts)
                state["prof"].__enter__()
                state["start"], state["step0"] = time.perf_counter(), trainer.global_step

        def on_train_batch_end(self, trainer, pl_module, outputs, batch_, batch_idx) -> None:
            if "prof" in state and "seconds" not in state:
                if trainer.global_step - state["step0"] >= steps:
                    _sync(pl_module.device)
                    state["seconds"] = time.perf_counter() - state["start"]
                    state["steps"] = trainer.global_step - state["step0"]
                    state["prof"].__exit__(None, None, None)

    L.seed_everything(0, verbose=False)
    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,)))
    dm = LVMDataModule(str(path), binarize="dynamic", batch_size=batch)
    with tempfile.TemporaryDirectory() as out:
        fit(
            model, dm, TrainConfig(max_epochs=2, batch_size=batch), Path(out) / "run",
            progress=False, accelerator=accelerator, extra_callbacks=[Profiled()],
        )  # fmt: skip
    if "seconds" not in state:  # the epoch had fewer steps than asked
        raise SystemExit(f"an epoch at batch {batch} has fewer than {steps} steps; ask fewer")
    return _summary(state["prof"], state["steps"], state["seconds"]), state["prof"]


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[128, 1024])
    parser.add_argument("--steps", type=int, default=40, help="profiled optimizer steps")
    parser.add_argument("--top", type=int, default=20, help="operators listed per fit()")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/profile_fit.md"))
    args = parser.parse_args(argv)

    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    if not cuda:  # one thread for both loops: two threads on a shared 2-core CPU spin and skew
        torch.set_num_threads(1)
    x = torch.rand(N, D, generator=torch.Generator().manual_seed(0))
    lines = ["# Where a training step's time goes: the plain loop and fit() (issue 15)", ""]
    lines += [__doc__.split("\n\n")[1].replace("\n", " "), ""]
    lines += [f"- device: {torch.cuda.get_device_name() if cuda else 'CPU'}"]
    command = M.command_line("benchmarks/profile_fit.py", sys.argv[1:] if argv is None else argv)
    lines += [*M.machine_lines(), f"- command: `{command}`", ""]
    lines += ["| batch | loop | wall ms/step | host ms/step (recorded ops) | GPU kernels/step |"]
    lines += ["|---|---|---|---|---|"]
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.npy"
        np.save(path, x.numpy())
        x = x.to(device)
        for batch in args.batches:
            for name, run in (
                ("plain, fused Adam", lambda b=batch: _plain(x, b, args.steps)),
                ("fit()", lambda b=batch: _fit(path, b, args.steps, "gpu" if cuda else "cpu")),
            ):
                s, prof = run()
                row = f"| {batch} | {name} | {s['wall_ms']:.3f} | {s['host_ms']:.3f} | "
                lines.append(row + f"{s['kernels']:.1f} |")
                print(lines[-1], flush=True)
                if name == "fit()":
                    table = prof.key_averages().table(
                        sort_by="self_cpu_time_total", row_limit=args.top, max_name_column_width=60
                    )
                    tables += ["", f"## fit() at batch {batch}: operators by host time", ""]
                    tables += ["```", table, "```"]
    M.write_results(args.out, lines + tables)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
