"""How long `torchlvm fit ppca` takes on a 200,000-row table, and its peak memory, per source
tree: the command reads its train and test splits, parsing the file twice before the table was
parsed once per command (torchlvm.data.csv_once).

Each round runs `torchlvm fit ppca` once per tree, in turn, on one seeded 200,000 x 10 CSV of
float64 texts (about 38 MB); it times the whole process and reads its peak resident set size
(ru_maxrss from wait4); medians over the rounds.

    .venv/bin/python benchmarks/table_read.py --src before=/tmp/old/src --src after=src \
        --rounds 3 --out benchmarks/results/table_read.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _machine as M  # noqa: E402

ROWS, COLUMNS = 200_000, 10
FIT = ["fit", "ppca", "--latent-dim", "3"]


def write_table(path: Path) -> None:
    """The seeded table: a header c0..c9, then normal values times 1000, as repr writes them."""
    x = np.random.default_rng(0).normal(size=(ROWS, COLUMNS)) * 1000
    with path.open("w") as f:
        f.write(",".join(f"c{j}" for j in range(COLUMNS)) + "\n")
        for row in x:
            f.write(",".join(repr(float(v)) for v in row) + "\n")


def fit(src: str, table: Path, out: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one `fit ppca` process with ``src`` as torchlvm."""
    env = {**os.environ, "PYTHONPATH": src}
    cmd = [sys.executable, "-m", "torchlvm.cli", *FIT, "--data", str(table), "--out", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed (status {proc.returncode})")
    return seconds, usage.ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    M.tree_options(parser, rounds=3)
    args = parser.parse_args(argv)
    trees = M.trees(args)
    with tempfile.TemporaryDirectory() as scratch:
        table = Path(scratch, "table.csv")
        write_table(table)
        size = table.stat().st_size / 1e6
        results = M.interleaved(
            list(trees),
            args.rounds,
            lambda name, r: fit(trees[name], table, Path(scratch, f"{name}{r}")),
        )
    first = M.median([s for s, _ in results[next(iter(trees))]])
    rows = [
        f"| {name} | {M.median([s for s, _ in runs]):.1f} | "
        f"{M.median([s for s, _ in runs]) / first:.2f} | "
        f"{', '.join(f'{s:.1f}' for s, _ in runs)} | {max(m for _, m in runs):.0f} |"
        for name, runs in results.items()
    ]
    M.write_results(
        args.out,
        [
            "# `fit ppca` on a 200,000 x 10 table: seconds and peak memory per source tree",
            "",
            *M.machine_lines(interleaved=True),
            f"- command: `{M.command_line('benchmarks/table_read.py', sys.argv[1:])}`",
            f"- trees: {', '.join(f'`{n}` = `{p}`' for n, p in trees.items())}",
            f"- each round, once per tree: `torchlvm {' '.join(FIT)} --data TABLE --out DIR` on "
            f"a seeded {ROWS:,} x {COLUMNS} CSV ({size:.1f} MB), the whole process timed",
            "",
            "| tree | median (s) | ratio to the first | rounds (s) | peak RSS (MiB, max) |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ],
    )


if __name__ == "__main__":
    main()
