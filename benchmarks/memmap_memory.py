"""Peak memory of training from a ``.npy`` file streamed with ``mmap=True`` as the file grows,
against loading the same file into memory.

Files: float32 ``(N, 784)`` arrays of Fashion-MNIST training images (pixels / 255, tiled to the
size asked for), written to ``--dir`` (default: the system's temporary folder) and deleted at the
end. For each file, fresh worker processes:

- ``stream``: ``LVMDataModule(file, binarize="dynamic", batch_size=128)`` serves one epoch of
  training batches (80% of the rows, random order, a Bernoulli draw per batch) and one pass of
  validation batches (10%), without a model — the data path of training, alone;
  ``mmap`` passes ``options={"mmap": True}`` (:mod:`torchlvm.data.memmap`: the file stays on disk
  and a batch is read at a time), ``memory`` loads the file (``numpy.load`` + the split copies).
- ``fit``: one epoch of ``torchlvm.training.fit`` with the reference VAE (784-400-z20) on the
  streamed file, validation and checkpoint included.

Peak memory is the worker's peak resident set size, ``VmHWM`` from ``/proc/self/status``
(interpreter, torch, Lightning, buffers; not ``ru_maxrss``, which on Linux also keeps the size of
the parent before ``exec``), and at the end ``RssAnon`` / ``RssFile``. The files are read from the
page cache (just written); this measures resident memory, not disk speed.

Target: the peak RSS of streamed training does not grow with the file: less than 5% of the
file's growth.

Run: ``.venv/bin/python benchmarks/memmap_memory.py [--quick]`` (writes
``benchmarks/results/memmap_memory.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

D = 784
ROW_BYTES = 4 * D


def write_file(path: Path, gib: float) -> int:
    """A float32 (N, 784) file of about ``gib`` GiB of tiled Fashion-MNIST images; returns N."""
    import numpy as np

    from torchlvm.data import load_dataset

    images = load_dataset("fashion-mnist", "all").x.numpy()  # (70000, 784) in [0, 1]
    n = int(gib * 2**30 // ROW_BYTES)
    M.tiled_npy(path, images.astype(np.float32), n)
    return n


def _status() -> dict[str, float]:
    """RssAnon / RssFile / VmHWM of this process now, MiB."""
    values: dict[str, float] = {}
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


def worker(args: argparse.Namespace) -> None:
    import lightning as L
    import torch

    from torchlvm.training import LVMDataModule, TrainConfig, fit

    torch.set_num_threads(1)
    options = {"mmap": True} if args.worker == "mmap" else {}
    start = time.perf_counter()
    dm = LVMDataModule(args.path, binarize="dynamic", batch_size=128, options=options)
    dm.setup()
    opened = time.perf_counter() - start
    rows = 0
    start = time.perf_counter()
    if args.mode == "stream":
        for batch in dm.train_dataloader():
            rows += batch["x"].shape[0]
        for batch in dm.val_dataloader():
            rows += batch["x"].shape[0]
    else:
        from torchlvm.models.vae import VAE, VAEConfig

        L.seed_everything(0, verbose=False)
        model = VAE(VAEConfig(D, latent_dim=20, hidden=(400,)))
        with tempfile.TemporaryDirectory() as out:
            fit(model, dm, TrainConfig(max_epochs=1), Path(out) / "run", progress=False)
        rows = dm.record()["num_train"] + dm.record()["num_val"]
    seconds = time.perf_counter() - start
    M.emit({"rows": rows, "open_s": opened, "seconds": seconds, **_status()})


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="stream", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="smaller files, no fit runs")
    parser.add_argument("--sizes", type=float, nargs="+", help="file sizes, GiB")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--out", type=Path, default=M.ROOT / "benchmarks/results/memmap_memory.md")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return {}

    sizes = args.sizes or ([0.25, 0.5, 1.0] if args.quick else [0.5, 1.0, 2.0])
    header = M.machine_lines()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    folder = Path(tempfile.mkdtemp(prefix="torchlvm-memmap-", dir=args.dir))
    try:
        for gib in sizes:
            path = folder / f"fashion-{gib:g}gib.npy"
            n = write_file(path, gib)
            plan = [("mmap", "stream"), ("memory", "stream")]
            if not args.quick and gib in (min(sizes), max(sizes)):
                plan.append(("mmap", "fit"))
            for how, mode in plan:
                cmd = ["benchmarks/memmap_memory.py", "--worker", how, "--mode", mode]
                try:
                    r = M.run_worker([*cmd, "--path", str(path)], env={"OMP_NUM_THREADS": "1"})
                except RuntimeError as err:
                    r = {"error": str(err).splitlines()[0]}
                    print(err, file=sys.stderr)
                results.append({"gib": gib, "rows": n, "how": how, "mode": mode, **r})
                shown = r.get("peak_rss_mib", r.get("error"))
                print(f"  {gib:g} GiB {how} {mode}: peak RSS {shown} MiB", flush=True)
            path.unlink()
    finally:
        for leftover in folder.glob("*"):
            leftover.unlink()
        folder.rmdir()
    summary = _summary(results, sizes)
    summary["seconds"] = time.perf_counter() - started
    text = _report(summary, results, header, argv if argv is not None else sys.argv[1:])
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    M.write_results(args.out, [text])
    return summary


def _peak(results, gib: float, how: str, mode: str) -> float | None:
    for r in results:
        if (r["gib"], r["how"], r["mode"]) == (gib, how, mode) and "peak_rss_mib" in r:
            return r["peak_rss_mib"]
    return None


def _summary(results, sizes) -> dict[str, Any]:
    small, large = min(sizes), max(sizes)
    growth_file = (large - small) * 1024
    out: dict[str, Any] = {"sizes_gib": sizes, "file_growth_mib": growth_file}
    for how, mode in (("mmap", "stream"), ("memory", "stream"), ("mmap", "fit")):
        a, b = _peak(results, small, how, mode), _peak(results, large, how, mode)
        if a is not None and b is not None:
            out[f"{how}-{mode}"] = {
                "small": a,
                "large": b,
                "growth_fraction": (b - a) / growth_file,
            }
    fractions = [out[k]["growth_fraction"] for k in ("mmap-stream", "mmap-fit") if k in out]
    out["met"] = bool(fractions) and all(f < 0.05 for f in fractions)
    out["worst_growth_fraction"] = max(fractions) if fractions else None
    return out


def _report(summary, results, header, argv) -> str:
    lines = [
        "# Peak memory of training from a .npy file streamed with mmap=True as the file grows",
        "",
        f"Command: `{M.command_line('benchmarks/memmap_memory.py', argv)}` "
        f"({time.strftime('%Y-%m-%d %H:%M %Z')}, {summary['seconds'] / 60:.1f} min)",
        "",
        *header,
        "",
        "Each row is a fresh worker process; peak RSS is its `VmHWM` (MiB). `stream` serves "
        "one epoch of training batches and one validation pass through `LVMDataModule` without "
        "a model; `fit` trains the reference VAE for one epoch. Files: float32 (N, 784) tiled "
        "Fashion-MNIST, read from the page cache.",
        "",
        "| file GiB | rows | data | mode | peak RSS MiB | RssAnon at end | RssFile at end | "
        "open s | pass s | rows/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['gib']:g} | {r['rows']:,} | {r['how']} | {r['mode']} | "
                         f"failed: {r['error']} | | | | | |")  # fmt: skip
            continue
        lines.append(
            f"| {r['gib']:g} | {r['rows']:,} | {r['how']} | {r['mode']} | "
            f"{r['peak_rss_mib']:.0f} | {r.get('RssAnon', 0):.0f} | {r.get('RssFile', 0):.0f} | "
            f"{r['open_s']:.1f} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} |"
        )
    lines += ["", "## Target", ""]
    growth = summary["file_growth_mib"]
    for key, label in (
        ("mmap-stream", "streamed (mmap=True), data path"),
        ("mmap-fit", "streamed (mmap=True), training"),
        ("memory-stream", "loaded into memory (for comparison)"),
    ):
        if key in summary:
            s = summary[key]
            lines.append(
                f"- {label}: peak RSS {s['small']:.0f} → {s['large']:.0f} MiB while the file "
                f"grew by {growth:.0f} MiB: {100 * s['growth_fraction']:.1f}% of the file's growth."
            )
    worst = summary["worst_growth_fraction"]
    lines.append(
        f"- Target (streamed peak RSS grows by < 5% of the file's growth): "
        f"**{'met' if summary['met'] else 'not met'}**"
        + (f" (worst {100 * worst:.1f}%)." if worst is not None else ".")
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
