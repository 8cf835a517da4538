"""Where an epoch of ``fit(fast=True)`` spends its time beyond its steps (issue 15).

At batch 1024 an epoch of Fashion-MNIST is 53 optimizer steps: the fast path's graph replays
take ~20 ms of GPU time, so milliseconds of per-epoch host work (Lightning's epoch start, the
epoch's order, the guard's reads, Python's garbage collector) weigh on its images/s. This
script trains the reference VAE (784-400-z20, Bernoulli, dynamic binarization) with
``fit(fast=True)`` for ``--epochs`` epochs and prints, per epoch after the first, host
timestamps (ms from the epoch's start, the GPU idle there): the first batch's start, each
Lightning batch's start and end (no synchronization), the wait for the GPU after the last, and
the time Python's garbage collector ran inside the epoch; then the same with the collector
off, and the epoch order's cost alone.

Run: ``python benchmarks/fast_epoch.py [--batch 1024] [--epochs 5] [--data fashion-mnist]``
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gpu_throughput import HIDDEN, LATENT, D, _data, _sync  # noqa: E402

from torchlvm.models.vae import VAE, VAEConfig  # noqa: E402
from torchlvm.training import LVMDataModule, TrainConfig, fit  # noqa: E402


class Timeline(L.Callback):
    """Host timestamps of each epoch's Lightning batches, ms from the epoch's start."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, Any]] = []
        self.gc_ms = 0.0
        self._gc_start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            self.gc_ms += (time.perf_counter() - self._gc_start) * 1e3

    def _now(self) -> float:
        return (time.perf_counter() - self.start) * 1e3

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        _sync(pl_module.device)
        self.start, self.gc_ms = time.perf_counter(), 0.0
        self.epochs.append({"batches": []})

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.epochs[-1]["batches"].append([self._now()])

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        epoch = self.epochs[-1]
        epoch["batches"][-1].append(self._now())
        if batch_idx + 1 == trainer.num_training_batches:
            before = self._now()
            _sync(pl_module.device)
            epoch["sync_wait"], epoch["total"] = self._now() - before, self._now()
            epoch["gc"] = self.gc_ms


def run(x: torch.Tensor, batch: int, epochs: int, collect: bool) -> list[dict[str, Any]]:
    path = Path(tempfile.gettempdir()) / "fast_epoch.npy"
    np.save(path, x.cpu().numpy())
    L.seed_everything(0, verbose=False)
    timeline = Timeline()
    model = VAE(VAEConfig(D, latent_dim=LATENT, hidden=(HIDDEN,)))
    dm = LVMDataModule(str(path), binarize="dynamic", batch_size=batch)
    if not collect:
        gc.disable()
    try:
        with tempfile.TemporaryDirectory() as out:
            fit(
                model, dm, TrainConfig(max_epochs=epochs, batch_size=batch), Path(out) / "run",
                progress=False, accelerator="gpu" if x.is_cuda else "cpu", fast=True,
                extra_callbacks=[timeline],
            )  # fmt: skip
    finally:
        gc.enable()
        gc.callbacks.remove(timeline._on_gc)
    return timeline.epochs[1:]


def show(label: str, epochs: list[dict[str, Any]], batch: int, n: int) -> None:
    print(f"## {label}")
    for i, e in enumerate(epochs, start=2):
        spans = " ".join(f"[{a:.1f}-{b:.1f}]" for a, b in e["batches"])
        print(
            f"epoch {i}: total {e['total']:.1f} ms ({n / e['total'] * 1e3:,.0f} img/s); "
            f"batches {spans}; final sync wait {e['sync_wait']:.1f} ms; gc {e['gc']:.1f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", default="fashion-mnist")
    args = parser.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x, _ = _data(args.data, device)
    print(f"device {device}, torch {torch.__version__}, {x.shape[0]} rows, batch {args.batch}")
    show("gc on", run(x, args.batch, args.epochs, True), args.batch, x.shape[0])
    show("gc off", run(x, args.batch, args.epochs, False), args.batch, x.shape[0])
    from torchlvm.training.data import EpochShuffleSampler

    sampler = EpochShuffleSampler(x.shape[0], seed=0)
    times = []
    for epoch in range(5):
        sampler.set_epoch(epoch)
        _sync(device)
        start = time.perf_counter()
        sampler.epoch_order().to(device)
        _sync(device)
        times.append((time.perf_counter() - start) * 1e3)
    print("epoch order (randperm + copy), ms:", " ".join(f"{t:.2f}" for t in times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
