"""Peak memory and seconds of ``encode`` and ``score`` on a run trained with ``--mmap``, per
source tree: before, each command read the run's split (``encode``) or the scored file
(``score``) into memory whole; after, a batch of rows at a time (:mod:`torchlvm.run.loaded`'s
``model_batches``, ``score``'s blocks).

The file (written to ``--dir``, the system's temporary folder by default, deleted at the end):
float32 (N, 28, 28) Fashion-MNIST training images / 255, tiled to about ``--gib`` GiB. The run: a
VAE (K = 8, one hidden layer of 64, Gaussian likelihood, untrained: memory and the passes do not
depend on the weights) saved with the file's record and ``options={"mmap": True}``, as ``train
--mmap`` records it. Each round runs, once per tree and command, a fresh worker process that
calls ``torchlvm.cli.main`` with

- ``encode RUN --split all --out Z.npy`` (every row of the file), and
- ``score RUN --data FILE --out S.csv --samples 1`` (every row, one importance sample: the
  memory of the rows, not of the samples),

and reports its seconds and its peak resident set size (``VmHWM``, the interpreter and torch
included). The file is read from the page cache (just written).

    .venv/bin/python benchmarks/stream_commands.py --src before=/tmp/old/src --src after=src \\
        --rounds 3 --out benchmarks/results/stream_commands.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

SIDE = 28
COMMANDS = ("encode", "score")


def write_file(path: Path, gib: float) -> int:
    """A float32 (N, 28, 28) file of about ``gib`` GiB of tiled Fashion-MNIST; returns N."""
    import numpy as np

    from torchlvm.data import load_dataset

    images = load_dataset("fashion-mnist", "train").x.numpy().astype(np.float32)  # (60000, 784)
    n = int(gib * 2**30 // (SIDE * SIDE * 4))
    M.tiled_npy(path, images.reshape(-1, SIDE, SIDE), n)
    return n


def write_run(folder: Path, data: Path) -> None:
    """The VAE run of the module docstring."""
    import torch

    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    config = VAEConfig(input_dim=SIDE * SIDE, latent_dim=8, hidden=(64,), likelihood="gaussian")
    record = {"name": str(data), "binarize": "none", "seed": 0, "condition": "none",
              "shape": [1, SIDE, SIDE], "options": {"mmap": True}}  # fmt: skip
    VAE(config).save_pretrained(folder, data=record)


def worker(command: str, run: str, data: str, scratch: str) -> None:
    from torchlvm import cli

    out = Path(scratch, f"{command}-{time.monotonic_ns()}")
    argv = {
        "encode": ["encode", run, "--split", "all", "--out", f"{out}.npy"],
        "score": ["score", run, "--data", data, "--out", f"{out}.csv", "--samples", "1"],
    }[command]
    start, cpu = time.perf_counter(), time.process_time()
    code = cli.main([*argv, "--quiet"] if command == "score" else argv)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    if code != 0:
        raise SystemExit(f"{command} exited {code}")
    M.emit({"seconds": seconds, "cpu_seconds": cpu})


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        worker(*argv[1:5])
        return
    if argv[:1] == ["--write"]:
        path, run = Path(argv[1]), Path(argv[2])
        print("RESULT " + json.dumps({"rows": write_file(path, float(argv[3]))}))
        write_run(run, path)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    M.tree_options(parser, rounds=3)
    parser.add_argument("--gib", type=float, default=0.75, help="size of the file, GiB")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    args = parser.parse_args(argv)
    trees = M.trees(args)
    header = M.machine_lines(interleaved=True)
    runs = [f"{tree} {command}" for command in COMMANDS for tree in trees]
    scratch = tempfile.mkdtemp(prefix="torchlvm-stream-", dir=args.dir)
    try:
        data, run_dir = Path(scratch, "big.npy"), Path(scratch, "run")
        script = "benchmarks/stream_commands.py"
        rows = M.run_worker([script, "--write", str(data), str(run_dir), str(args.gib)])["rows"]

        def run(name: str, _round: int) -> dict[str, float]:
            tree, command = name.split()
            worker_args = [script, "--worker", command, str(run_dir), str(data), scratch]
            return M.run_worker(worker_args, env={"PYTHONPATH": trees[tree]}, timeout=1800)

        results = M.interleaved(runs, args.rounds, run)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = []
    for command in COMMANDS:
        first = None
        for tree in trees:
            got = results[f"{tree} {command}"]
            peaks = [r["peak_rss_mib"] for r in got]
            peak = M.median(peaks)
            first = first or peak
            seconds = [r["seconds"] for r in got]
            cpu = [r["cpu_seconds"] for r in got]
            table.append(
                f"| {command} | {tree} | {peak:,.0f} | {peak / first:.2f} | "
                f"{', '.join(f'{p:,.0f}' for p in peaks)} | "
                f"{M.median(seconds):.1f} ({', '.join(f'{s:.1f}' for s in seconds)}) | "
                f"{M.median(cpu):.1f} ({', '.join(f'{s:.1f}' for s in cpu)}) |"
            )
    size = rows * SIDE * SIDE * 4 / 2**20
    M.write_results(
        args.out,
        [
            "# encode and score on a run trained with --mmap: peak memory and seconds per "
            "source tree",
            "",
            *header,
            f"- command: `{M.command_line('benchmarks/stream_commands.py', sys.argv[1:])}`",
            f"- trees: {', '.join(f'`{n}` = `{p}`' for n, p in trees.items())}",
            f"- file: {rows:,} float32 images (N, 28, 28), {size:,.0f} MiB, read from the page "
            "cache; run: an untrained VAE (K = 8, hidden 64) recorded with --mmap",
            "- each round, once per tree and command, a fresh process runs `encode RUN --split "
            "all --out Z.npy` or `score RUN --data FILE --out S.csv --samples 1`; peak RSS is "
            "the process's VmHWM (MiB; imports included); wall and CPU seconds "
            "(`time.process_time`, every thread) are the command's own, on a shared machine",
            "",
            "| command | tree | median peak RSS (MiB) | ratio to the first tree | rounds (MiB) | "
            "median wall seconds (rounds) | median CPU seconds (rounds) |",
            "|---|---|---|---|---|---|---|",
            *table,
            "",
        ],
    )


if __name__ == "__main__":
    main()
