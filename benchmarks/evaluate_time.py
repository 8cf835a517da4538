"""How long ``torchlvm evaluate RUN`` takes with its defaults, and the precision it reaches.

Runs the command in a subprocess (a copy of the run folder, so the original keeps its files) and
records its wall time and its CPU time (user + system of the child, from ``getrusage``). With
``--threads 1`` (``OMP_NUM_THREADS=1`` for the child) the CPU time is the work itself: on a
machine shared with other jobs the wall time measures the crowd, and a second thread waiting for
a busy core would add spin time; on a dedicated core the single-threaded wall time is about its
CPU time, and with two cores it is at most that. Then reads the ``metrics.json``
it wrote: k, n, the Monte Carlo standard error of the mean log p(x), the spread over examples
(the data standard error), and the seconds of each section.

Usage:
    python benchmarks/evaluate_time.py RUN [extra evaluate arguments ...] [--threads 1]
        [--out benchmarks/results/evaluate_time.md]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine_lines, write_results  # noqa: E402


def timed_evaluate(run: Path, extra: list[str], threads: int | None) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout) of ``torchlvm evaluate`` on a copy of ``run``."""
    env = dict(os.environ)
    if threads is not None:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "torchlvm.cli", "evaluate", str(run), "--quiet", *extra],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"torchlvm evaluate failed:\n{done.stdout}\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (it is copied, not changed)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/evaluate_time.md"))
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS of the evaluation")
    args, extra = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        shutil.copytree(args.run, run)
        wall, cpu, stdout = timed_evaluate(run, extra, args.threads)
        metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    est = metrics["likelihood"]["log_marginal"]["nats"]
    protocol = metrics["protocol"]
    seconds = ", ".join(f"{name} {value:.1f}" for name, value in metrics["seconds"].items())
    command = f"torchlvm evaluate RUN --quiet {' '.join(extra)}".strip()
    lines = [
        f"## `{command}` on {protocol['data']} ({protocol['split']} split)",
        "",
        f"Measured with: `python {' '.join(shlex.quote(a) for a in sys.argv)}`",
        "",
        f"- Wall time **{wall:.0f} s**, CPU time (user + system) **{cpu:.0f} s**, torch threads "
        f"{args.threads or 'default'}.",
        f"- k = {est['k']}, n = {protocol['n']}, chunk = {protocol.get('chunk')}, "
        f"device {protocol.get('device')}.",
        f"- log p(x) = {est['value']:.3f} nats/example; Monte Carlo standard error of the mean "
        f"**{est['stderr']:.4f}**, standard error over examples {est['data_stderr']:.3f}, "
        f"mean ESS {est['ess']:.1f}.",
        f"- Seconds per section (wall): {seconds}.",
        f"- Expected time it printed first: "
        f"{next((line for line in stdout.splitlines() if 'expected time' in line), '—')}",
        "",
        "Machine:",
        "",
        *machine_lines(),
        "",
    ]
    write_results(args.out, [*lines, ""], append=True)  # a blank line between entries
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
