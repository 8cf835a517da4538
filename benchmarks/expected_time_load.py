"""How far `torchlvm evaluate`'s expected time of the importance sampling is from the time it took,
on a machine with other work on its cores.

Each round runs, for every extra load (``--loads``: that many busy-looping Python processes
started beside it, at the script's own niceness) and every source tree (``--src``), ``torchlvm
evaluate RUN --quiet --no-figures EXTRA`` on a copy of the run, and reads from its output the
expected seconds (image-samples × µs each, unrounded) and from its ``metrics.json`` the seconds
the importance sampling took: its ``likelihood`` and ``outliers`` sections. The ratio expected /
taken is 1 for a right prediction. Where the evaluation re-states its expected time from its
own batches (``timing.Pace``), the rate it re-states is multiplied out to all the image-samples
too and compared the same way. The machine's 1-minute load average is recorded before each
evaluation (the busy loops run 3 s first).

    nice -n 10 .venv/bin/python benchmarks/expected_time_load.py RUN --loads 0 2 6 \\
        --src before=/tmp/old/src --src after=src --rounds 3 --out RESULT.md -- --k 5000
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import _machine as M  # noqa: E402

EXPECTED = re.compile(r"\(([\d,]+) (?:image|row)-samples at ([\d.]+) µs each, from a ([\d.]+) s")
RESTATED = re.compile(r"re-stated from its first \d+ s: .*?left at ([\d.]+) µs each\)")


def evaluate(src: str, run: Path, extra: list[str]) -> dict[str, Any]:
    """Expected and taken seconds of one ``torchlvm evaluate`` of a copy of ``run``."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch, "run")
        shutil.copytree(run, copy)
        load = os.getloadavg()[0]
        cmd = [M.PYTHON, "-m", "torchlvm.cli", "evaluate", str(copy), "--quiet", "--no-figures"]
        done = subprocess.run(
            [*cmd, *extra], env={**os.environ, "PYTHONPATH": src}, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
        seconds = json.loads((copy / "metrics.json").read_text(encoding="utf-8"))["seconds"]
    found = EXPECTED.search(done.stdout)
    if found is None:
        raise SystemExit(f"no expected time in the output:\n{done.stdout}")
    samples = int(found[1].replace(",", ""))
    expected = samples * float(found[2]) * 1e-6
    taken = seconds["likelihood"] + seconds.get("outliers", 0.0)
    again = RESTATED.search(done.stderr)  # the rate of the evaluation's own batches, all samples
    restated = None if again is None else samples * float(again[1]) * 1e-6
    return {
        "expected": expected, "restated": restated, "taken": taken, "probe": float(found[3]),
        "load": load,
    }  # fmt: skip


def with_load(busy: int, job: Any) -> Any:
    """``job()`` with ``busy`` busy-looping processes beside it (started 3 s before, ended
    after, by their ids)."""
    loops = [
        subprocess.Popen([M.PYTHON, "-c", "while True: pass"]) for _ in range(busy)
    ]  # (children inherit this process's niceness)
    try:
        time.sleep(3 if busy else 0)
        return job()
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--loads", type=int, nargs="+", default=[0, 2, 6])
    M.tree_options(parser, rounds=3)
    args, extra = parser.parse_known_args(argv)  # the rest: evaluate's, after --
    args.extra = [a for a in extra if a != "--"]
    trees = M.trees(args)
    names = [f"{busy}:{name}" for busy in args.loads for name in trees]

    def one(job: str, _round: int) -> dict[str, Any]:
        busy, name = job.split(":", 1)
        return with_load(int(busy), lambda: evaluate(trees[name], args.run, args.extra))

    results = M.interleaved(names, args.rounds, one)
    rows = []
    for job, runs in results.items():
        busy, name = job.split(":", 1)
        ratios = [r["expected"] / r["taken"] for r in runs]
        again = [r["restated"] / r["taken"] for r in runs if r.get("restated") is not None]
        each = ", ".join(
            f"{r['expected']:.1f}/{r['taken']:.1f} (load {r['load']:.1f})" for r in runs
        )
        restated = (
            f"{M.median(again):.2f} ({min(again):.2f}–{max(again):.2f})" if again else "not said"
        )
        rows.append(
            f"| {busy} | {name} | {M.median(ratios):.2f} | {min(ratios):.2f}–{max(ratios):.2f} "
            f"| {restated} | {M.median([r['probe'] for r in runs]):.1f} | {each} |"
        )
    M.write_results(
        args.out,
        [
            "# Expected time of evaluate's importance sampling against the time it took, "
            "under load",
            "",
            *M.machine_lines(interleaved=True),
            f"- command: `{M.command_line('benchmarks/expected_time_load.py', sys.argv[1:])}`",
            f"- trees: {', '.join(f'`{n}` = `{p}`' for n, p in trees.items())}",
            "",
            "| busy loops added | tree | expected / taken (median) | range "
            "| re-stated / taken (median, range) | probe s (median) "
            "| expected s / taken s (1-min load average before) per round |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ],
    )


if __name__ == "__main__":
    main()
