"""The main job: fit and train torchlvm's models on the built-in digits data.

Run with `make demo` (which sets up .venv first) or `.venv/bin/python scripts/demo.py`.
Each step is an ordinary `torchlvm` command, printed before it runs, so the job doubles as a
walk-through of the command line.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from torchlvm.cli import main as torchlvm


def steps(out: Path) -> list[list[str]]:
    """The commands of the main job, in order."""
    train = ["--data", "digits", "--epochs", "40", "--latent-dim", "8", "--quiet", "--overwrite"]
    evaluate = ["--k", "1000", "--quiet"]
    return [
        ["datasets"],
        [
            "fit",
            "ppca",
            "--data",
            "digits",
            "--latent-dim",
            "10",
            "--out",
            f"{out}/ppca",
            "--overwrite",
        ],
        ["train", "ae", *train, "--out", f"{out}/ae"],
        ["train", "vae", *train, "--out", f"{out}/vae"],
        ["train", "cvae", *train, "--out", f"{out}/cvae"],
        ["evaluate", f"{out}/ae", *evaluate],
        ["evaluate", f"{out}/vae", *evaluate],
        ["evaluate", f"{out}/cvae", *evaluate],
        [
            "sample",
            f"{out}/cvae",
            "--condition",
            "7",
            "--n",
            "16",
            "--out",
            f"{out}/cvae/figures/sevens.png",
            "--overwrite",
        ],
        ["report", f"{out}/ae", f"{out}/vae", f"{out}/cvae", "--out", f"{out}/report.html"],
        ["report", f"{out}/vae"],
    ]


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    args = parser.parse_args()
    start = time.perf_counter()
    for argv in steps(args.out):
        print(f"\n$ torchlvm {shlex.join(argv)}", flush=True)
        status = torchlvm(argv)
        if status != 0:
            return status
    print(f"\nmain job done in {time.perf_counter() - start:.0f} s; results in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
