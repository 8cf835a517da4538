"""How many torch threads ``torchlvm train`` should use by default: one, or torch's (one per core).

Each configuration trains through the command line in a fresh process, once with ``--threads 1``
and once with ``--threads N``, N torch's default count here (one per core; a table's ``train``
takes one thread without ``--threads`` since this was measured), in interleaved rounds; the times
are the child's wall clock and its CPU time (user + system, from ``wait4``). The models:

- ``wine``, ``breast_cancer``, ``diabetes``: scikit-learn's tables written to a .csv, trained with
  the table defaults (two tanh layers of 128, batches of 64) for a fixed number of epochs;
- ``digits``: the 8×8 images with the image defaults (one layer of 400, batches of 128);
- ``fashion-mnist`` (where installed): the 784-400-20 reference VAE, one epoch of 54,000 images.

Run: ``.venv/bin/python benchmarks/train_threads.py`` (writes benchmarks/results/train_threads.md).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _machine import PYTHON, ROOT, command_line, interleaved, machine_lines, median, write_results

TABLE_EPOCHS = 40
IMAGE_EPOCHS = {"digits": 10, "fashion-mnist": 1}


def write_table(name: str, folder: Path) -> Path:
    """scikit-learn's table ``name`` as ``folder/NAME.csv`` with a header row."""
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    path = folder / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(bunch.feature_names)
        writer.writerows(bunch.data.tolist())
    return path


def train_once(data: str, epochs: int, threads: int | None, out: Path) -> dict[str, float]:
    """One ``torchlvm train vae`` in a fresh process: wall seconds and CPU seconds."""
    argv = [PYTHON, "-m", "torchlvm", "train", "vae", "--data", data, "--epochs", str(epochs)]
    argv += ["--out", str(out), "--overwrite", "--quiet"]
    if threads is not None:
        argv += ["--threads", str(threads)]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"train failed on {data}: {proc.stderr.read().decode() if proc.stderr else ''}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--data", nargs="+", default=["wine", "breast_cancer", "diabetes", "digits"]
    )
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/train_threads.md"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    loads = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sources = {
            name: (str(write_table(name, folder)), TABLE_EPOCHS)
            if name not in IMAGE_EPOCHS
            else (name, IMAGE_EPOCHS[name])
            for name in args.data
        }
        names = [f"{name}|{t}" for name in args.data for t in ("1", "default")]

        import torch

        torch_default = torch.get_num_threads()  # (torch's count, passed to both kinds of data)

        def run(name: str, _round: int) -> dict[str, float]:
            data, threads = name.split("|")
            loads.append(os.getloadavg()[0])
            path, epochs = sources[data]
            count = 1 if threads == "1" else torch_default
            return train_once(path, epochs, count, folder / "run")

        results = interleaved(names, args.rounds, run)
    lines = [
        "# torch threads for `torchlvm train`: one vs torch's default",
        "",
        *__doc__.split("\n\n", 1)[1].split("\n\nRun:")[0].splitlines(),
        "",
        *machine_lines(interleaved=True),
        f"- torch's default here: {torch.get_num_threads()} intra-op threads",
        f"- 1-minute load average when each run started: min {min(loads):.1f}, "
        f"median {median(loads):.1f}, max {max(loads):.1f}",
        f"- {args.rounds} interleaved rounds; {TABLE_EPOCHS} epochs for a table, "
        + ", ".join(f"{k} {v}" for k, v in IMAGE_EPOCHS.items())
        + f"; whole script {time.perf_counter() - started:.0f} s",
        f"- command: `{command_line('benchmarks/train_threads.py', argv or sys.argv[1:])}`",
        "",
        "| data | median wall, 1 thread (s) | median wall, default (s) | wall ratio default/1 "
        "| median CPU, 1 thread (s) | median CPU, default (s) |",
        "|---|---|---|---|---|---|",
    ]
    for data in args.data:
        one, default = results[f"{data}|1"], results[f"{data}|default"]
        w1, wd = median([r["wall"] for r in one]), median([r["wall"] for r in default])
        c1, cd = median([r["cpu"] for r in one]), median([r["cpu"] for r in default])
        lines.append(f"| {data} | {w1:.1f} | {wd:.1f} | {wd / w1:.2f}× | {c1:.1f} | {cd:.1f} |")
    write_results(Path(args.out), lines)


if __name__ == "__main__":
    main()
