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
    return [
        ["datasets"],
        ["fit", "ppca", "--data", "digits", "--latent-dim", "10", "--out", f"{out}/ppca"],
    ]


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    args = parser.parse_args()
    start = time.perf_counter()
    for argv in steps(args.out):
        if "--out" in argv:
            argv = [*argv, "--overwrite"]
        print(f"\n$ torchlvm {shlex.join(argv)}", flush=True)
        status = torchlvm(argv)
        if status != 0:
            return status
    print(f"\nmain job done in {time.perf_counter() - start:.0f} s; results in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(run())
