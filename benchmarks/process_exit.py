"""How long a `torchlvm train` process takes to end after it printed its last line ('wrote ...'):
the interpreter's teardown, in which a Ctrl-C used to end the process by SIGINT.

Each round starts `torchlvm train vae` (digits, 1 epoch, a 64-16-z2 VAE) once per source tree, in
turn, and times from the moment its 'wrote' line is read to the process's exit; medians over the
rounds. Writes a Markdown table with the machine and the command.

    .venv/bin/python benchmarks/process_exit.py --src before=/tmp/old/src --src after=src \
        --rounds 5 --out benchmarks/results/process_exit.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import _machine as M  # noqa: E402

TRAIN = ["train", "vae", "--data", "digits", "--latent-dim", "2", "--hidden", "16"]
TRAIN += ["--epochs", "1", "--quiet"]


def exit_seconds(src: str, out: Path) -> float:
    """Seconds from train's 'wrote' line to its process's exit, with ``src`` as torchlvm."""
    env = {**os.environ, "PYTHONPATH": src, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "torchlvm.cli", *TRAIN, "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    wrote = None
    for line in proc.stdout:
        if line.startswith("wrote "):
            wrote = time.perf_counter()
    if proc.wait() != 0 or wrote is None:
        raise SystemExit(f"{' '.join(cmd)} failed (status {proc.returncode})")
    return time.perf_counter() - wrote


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    M.tree_options(parser, rounds=5)
    args = parser.parse_args(argv)
    trees = M.trees(args)
    times: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory() as scratch:
        for r in range(args.rounds):
            for name, src in trees.items():
                times[name].append(exit_seconds(src, Path(scratch, f"{name}{r}")))
    rows = [
        f"| {name} | {statistics.median(t):.2f} | {', '.join(f'{x:.2f}' for x in t)} |"
        for name, t in times.items()
    ]
    args.out.write_text(
        "\n".join(
            [
                "# Seconds from train's last line to its process's exit",
                "",
                *M.machine_lines(interleaved=True),
                f"- command: `{' '.join([Path(sys.executable).name, *sys.argv])}`",
                f"- trees: {', '.join(f'`{n}` = `{p}`' for n, p in trees.items())}",
                f"- each round, once per tree: `torchlvm {' '.join(TRAIN)} --out DIR` (a 64-16-z2 "
                "VAE, 1 epoch on digits), timed from its 'wrote' line to its exit",
                "",
                "| tree | median (s) | rounds (s) |",
                "|---|---|---|",
                *rows,
                "",
            ]
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
