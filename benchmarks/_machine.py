"""Shared by the benchmark scripts: what machine this is, how fast it multiplies matrices, and
how to time and measure memory without fooling ourselves.

- :func:`machine_lines`: CPU model, cores, load average, thread counts, library versions —
  the lines every recorded result starts with.
- :func:`matmul_rate`: this machine's measured float32 matrix-multiply rate (GFLOP/s, 2·n³ FLOPs
  per n×n×n product), the yardstick for "fraction of the machine's limit".
- :func:`run_worker`: run one configuration in a fresh Python subprocess that prints one JSON
  line; the child reports its own peak resident set size (:func:`peak_rss_mib`: ``VmHWM``), so
  the memory of one configuration is not mixed with another's.
- :func:`interleaved`: A B C A B C ... rounds, so that a slow patch of a shared machine hits
  every configuration alike; compare medians.
- :func:`write_results`: write a result file (its folder made if needed) and print it.
- :func:`tiled_npy`: a large ``.npy`` file of images repeated, written without holding it.
- :func:`tree_options`, :func:`trees`: the ``--src NAME=PATH --rounds --out`` options of a script
  that runs a command once per source tree in interleaved rounds.

torch is imported inside the functions that need it, so a driver that only starts workers stays
small (a worker's peak RSS is its own, see :func:`peak_rss_mib`).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, formatted."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def version(package: str) -> str | None:
    """The installed version of ``package``, or None."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def memory_total_gib() -> float | None:
    """Physical memory in GiB (Linux), or None."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def source_commit(tree: str | None = None) -> str:
    """The commit of the torchlvm tree this script belongs to (or of the checkout at ``tree``),
    ``-dirty`` with local changes, or "not a git checkout"."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=tree or os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"
    return done.stdout.strip() or "not a git checkout"


def machine_lines(extra_packages: Sequence[str] = (), *, interleaved: bool = False) -> list[str]:
    """Markdown bullets describing the machine and the software, for a results file;
    ``interleaved``: the script timed its configurations in interleaved rounds (say so)."""
    import torch

    packages = ["torch", "lightning", "numpy", *extra_packages]
    versions = ", ".join(f"{p} {version(p) or 'not installed'}" for p in packages)
    memory = memory_total_gib()
    return [
        f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores (`nproc`), "
        f"{usable_cores()} usable; memory {memory:.0f} GiB"
        if memory
        else f"- CPU: {cpu_model()}; {os.cpu_count()} logical cores, {usable_cores()} usable",
        f"- load average (1, 5, 15 min) when written: {load_average()} — the machine may be "
        "shared with other jobs, so single timings are noisy"
        + ("; configurations are interleaved and the medians compared" if interleaved else ""),
        f"- Python {platform.python_version()} on {platform.system()} {platform.release()}; "
        f"{versions}",
        f"- torchlvm: {source_commit()} (`git describe --always --dirty` of the tree measured)",
        f"- torch threads: {torch.get_num_threads()} intra-op (as the script left them), "
        f"{torch.get_num_interop_threads()} inter-op; OMP_NUM_THREADS="
        f"{os.environ.get('OMP_NUM_THREADS', 'unset')}",
    ]


def matmul_rate(
    n: int = 2048, *, repeats: int = 7, threads: int | None = None, dtype: Any = None
) -> dict[str, float]:
    """Measured rate of an n×n by n×n matrix product, GFLOP/s (2·n³ FLOPs per product).

    Returns ``{"median": ..., "best": ...}`` over ``repeats`` timed products after one warm-up.
    """
    import torch

    old = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        a = torch.randn(n, n, dtype=dtype or torch.float32)
        b = torch.randn(n, n, dtype=dtype or torch.float32)
        torch.mm(a, b)
        rates = []
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
    finally:
        torch.set_num_threads(old)
    return {"median": statistics.median(rates), "best": max(rates)}


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, MiB.

    ``VmHWM`` from ``/proc/self/status`` where there is one: ``getrusage(RUSAGE_SELF).ru_maxrss``
    keeps the high-water mark of the process before ``exec``, i.e. of the parent that forked it,
    so a worker started by a big parent would report the parent's size (measured: a 0.8 GB
    driver made every worker report 0.8 GB). ``ru_maxrss`` (KiB on Linux) elsewhere.
    """
    try:
        with open("/proc/self/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def emit(result: dict[str, Any]) -> None:
    """Print a worker's result as the one JSON line :func:`run_worker` looks for."""
    result = {**result, "peak_rss_mib": peak_rss_mib()}
    print("RESULT " + json.dumps(result), flush=True)


def run_worker(
    args: Sequence[str], *, env: dict[str, str] | None = None, timeout: float = 900
) -> dict[str, Any]:
    """Run ``python ARGS`` in a fresh process and return the dict it :func:`emit`-ted.

    Raises:
        RuntimeError: if the worker fails or prints no result; the message holds its output.
    """
    full_env = {**os.environ, **(env or {})}
    full_env.setdefault("PYTHONPATH", str(ROOT / "src"))
    proc = subprocess.run(
        [PYTHON, *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    tail = (proc.stdout + proc.stderr)[-3000:]
    raise RuntimeError(f"worker {' '.join(args)} failed (exit {proc.returncode}):\n{tail}")


def interleaved(
    names: Sequence[str], rounds: int, run: Callable[[str, int], Any], *, log: bool = True
) -> dict[str, list[Any]]:
    """Call ``run(name, round)`` for every name, round after round; results by name."""
    results: dict[str, list[Any]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names:
            results[name].append(run(name, r))
            if log:
                print(f"  round {r + 1}/{rounds} {name}: {results[name][-1]}", flush=True)
    return results


def median(values: Sequence[float]) -> float:
    """The median (nan for no values)."""
    return statistics.median(values) if values else float("nan")


def command_line(script: str, argv: Sequence[str]) -> str:
    """The command that reproduces a run, as the user would type it (without ``--json PATH``,
    a temporary file of the suite driver)."""
    import shlex

    shown = list(argv)
    if "--json" in shown:
        i = shown.index("--json")
        del shown[i : i + 2]
    return shlex.join([".venv/bin/python", script, *shown])


def tiled_npy(path: str | os.PathLike[str], images: Any, n: int) -> None:
    """Write ``n`` rows to the ``.npy`` file at ``path``, the rows of ``images`` (a numpy array,
    rows first) over and over, streamed to disk (a file larger than memory is never held)."""
    import numpy as np

    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=images.dtype, shape=(n, *images.shape[1:])
    )
    for start in range(0, n, len(images)):
        stop = min(n, start + len(images))
        out[start:stop] = images[: stop - start]
    out.flush()
    del out


def write_results(
    path: str | os.PathLike[str], lines: Sequence[str], *, append: bool = False
) -> str:
    """Write the result ``lines`` to ``path`` (``append``: after what the file holds), making
    its folder if needed, and print them. The text ends with a newline (a last line ``""``
    ends it, else one is added). Returns the text."""
    text = "\n".join(lines)
    text += "" if text.endswith("\n") else "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        f.write(text)
    print(text, end="")
    return text


def tree_options(parser: argparse.ArgumentParser, *, rounds: int) -> None:
    """Add ``--src NAME=PATH`` (repeatable, required), ``--rounds`` and ``--out`` to ``parser``:
    a script that times a command once per source tree of torchlvm, round after round."""
    parser.add_argument("--src", action="append", required=True, metavar="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--out", type=Path, required=True)


def trees(args: argparse.Namespace) -> dict[str, str]:
    """The source trees of :func:`tree_options`' ``--src``, by name, as absolute paths."""
    return {name: os.path.abspath(path) for name, path in (s.split("=", 1) for s in args.src)}
