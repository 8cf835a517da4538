"""The main job: fit and train torchlvm's models on the built-in digits data.

Run with `make demo` (which sets up .venv first) or `.venv/bin/python scripts/demo.py`.
Each step is an ordinary `torchlvm` command, printed before it runs, so the job doubles as a
walk-through of the command line. The steps pass `--overwrite`, so that the job runs again, and
that would replace a run of the user's of the same name: the job writes only into a folder that is
new, empty, or marked as its own by an earlier run (`.torchlvm-demo`).
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


MARK = ".torchlvm-demo"
WRITES = {"ppca", "ae", "vae", "cvae", "report.html"}  # what steps() leaves in --out


def claim(out: Path) -> str | None:
    """Mark ``out`` as the demo's, or say why it is not: a file, or a folder holding anything
    that an earlier run of the demo did not write there."""
    if out.exists() and not out.is_dir():
        return f"--out {out} is a file; pass a folder (new, or one the demo wrote)"
    if out.is_dir() and not (out / MARK).exists():
        held = sorted(path.name for path in out.iterdir())
        if held and set(held) != WRITES:  # (a demo's folder from before the mark: all of it)
            shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
            return (
                f"--out {out} holds {shown}, which the demo did not write, and its steps replace "
                "runs named ppca, ae, vae and cvae there; pass a new or empty folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / MARK).write_text("written by scripts/demo.py: running it again replaces its runs here\n")
    return None


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder")
    args = parser.parse_args(argv)
    refused = claim(args.out)
    if refused is not None:
        print(f"torchlvm: error: {refused}", file=sys.stderr)
        return 2
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
