"""Run the whole benchmark suite and write ``benchmarks/RESULTS.md``: the machine, the versions,
every command, each target with its measured value and whether it was met, and each benchmark's
own report.

The suite (each script in its own process; a missing optional package or dataset is a skip with
a note, a failing script a "failed" row with its last lines, never the end of the run):

- ``train_throughput.py``: the reference VAE through torchlvm vs a plain PyTorch loop, Pyro SVI
  and pythae (issues 3 and 6);
- ``eval_throughput.py``: ``log_marginal_is`` at k = 1000 vs its FLOP floor and a per-point loop
  (issue 4);
- ``ppca_fit.py``: PPCA's closed-form fit vs scikit-learn's full SVD (the foundation issue);
- ``memmap_memory.py``: peak memory of streamed (``mmap=True``) training as the file grows.

Peak memory: the training and memmap workers report their own (``VmHWM``); for the other scripts
it is the ``ru_maxrss`` of the script's process from ``os.wait4`` (this driver imports no torch,
so the size it had before ``exec`` is small).

Run: ``.venv/bin/python benchmarks/run_all.py [--quick]`` — about 15-25 minutes in full on two
shared cores, 6-10 with ``--quick`` (fewer rounds, configurations and sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _machine as M  # noqa: E402

RESULTS = M.ROOT / "benchmarks" / "RESULTS.md"


@dataclass
class Target:
    """One target and what was measured for it."""

    what: str
    goal: str
    measured: str
    met: bool | None  # None: not measured (skipped or failed)


@dataclass
class Outcome:
    """What one benchmark script did."""

    name: str
    command: list[str]
    status: str = "ok"  # ok, failed, skipped
    seconds: float = 0.0
    peak_rss_mib: float | None = None
    report: str = ""
    note: str = ""
    targets: list[Target] = field(default_factory=list)


def run_script(args: list[str], timeout: float, log: Path) -> tuple[int, float, float]:
    """Run ``python ARGS`` from the repository root with output to ``log``.

    Returns (exit status, seconds, peak RSS MiB of the script's process from ``os.wait4``);
    status 124 after ``timeout`` seconds (the process group is killed).
    """
    import subprocess

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [M.PYTHON, *args], cwd=M.ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() - start > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = 124
                break
            time.sleep(0.5)
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024


def _tail(path: Path, lines: int = 12) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join(text[-lines:])


def _fmt_ratio(value: Any, digits: int = 2) -> str:
    if not isinstance(value, (int, float)) or value != value:
        return "–"
    return f"{value:.{digits}f}×"


# -- the benchmarks ----------------------------------------------------------------------------


def bench_train(quick: bool, tmp: Path) -> Outcome:
    json_path = tmp / "train.json"
    cmd = [
        "benchmarks/train_throughput.py",
        *(["--quick"] if quick else ["--rounds", "3", "--epochs", "1"]),
    ]
    out = Outcome("Training throughput", [*cmd, "--json", str(json_path)])
    code, out.seconds, _ = run_script(out.command, 3600, tmp / "train.log")
    out.command = cmd
    if code != 0 or not json_path.is_file():
        return _failed(out, code, tmp / "train.log")
    s = json.loads(json_path.read_text())
    out.report = (M.ROOT / "benchmarks/results/train_throughput.md").read_text(encoding="utf-8")
    rows = s["rows"]
    peaks = [r["peak_rss_mib"] for r in rows.values() if "peak_rss_mib" in r]
    out.peak_rss_mib = max(peaks) if peaks else None
    t1 = min(s["threads"])
    plain = rows.get(f"plain@{t1}", {}).get("images_per_s")
    ours = rows.get(f"torchlvm@{t1}", {}).get("images_per_s")
    ratio, fraction = s["ratio_vs_plain"], s.get("fraction_of_matmul")
    measured = (
        f"{ours:.0f} vs {plain:.0f} images/s = **{_fmt_ratio(ratio)}** (median of "
        f"{s['rounds']} interleaved rounds, {t1} thread; per-round ratios' median "
        f"{_fmt_ratio(s['paired_ratio_vs_plain'])})"
        if ours and plain
        else "–"
    )
    ok = ratio == ratio and ours is not None
    rate = s["matmul_gflops"].get(str(t1))
    out.targets = [
        Target("Training vs a plain PyTorch loop (issue 6)", "≥ 1.0×", measured,
               ratio >= 1.0 if ok else None),
        Target("Training vs a plain PyTorch loop (issue 3)", "≥ 0.9×", measured,
               ratio >= 0.9 if ok else None),
        Target("Training, fraction of the measured matmul rate (stretch)", "≥ 60%",
               f"**{100 * fraction:.0f}%** ({rows[f'torchlvm@{t1}']['gflops']:.0f} of "
               f"{rate:.0f} GFLOP/s)" if fraction and rate else "–",
               fraction >= 0.6 if fraction else None),
    ]  # fmt: skip
    others = []
    for key in ("pyro", "pythae", "plain-fused"):
        row = rows.get(f"{key}@{t1}", {})
        if "images_per_s" in row and ours:
            others.append(f"{key} {row['images_per_s']:.0f} images/s (torchlvm "
                          f"{_fmt_ratio(ours / row['images_per_s'])} of it)")  # fmt: skip
    for key, package in s.get("skipped", {}).items():
        others.append(f"{key} skipped (`{package}` not installed)")
    out.note = "; ".join(others)
    return out


def bench_eval(quick: bool, tmp: Path) -> Outcome:
    report = tmp / "eval_throughput.md"
    # chunks of 10 samples × 100 images keep the decoder's output in cache; 100 and 500 do not
    # (log_marginal_is's default is 256): the report lists the time of each
    quick_args = ["--images", "100", "--loop-images", "5", "--repeats", "1", "--chunks", "10,500"]
    full_args = ["--repeats", "2", "--chunks", "10,25,100,500"]
    cmd = ["benchmarks/eval_throughput.py", *(quick_args if quick else full_args), "--threads", "1"]
    out = Outcome("Evaluation throughput", [*cmd, "--out", str(report)])
    if not (M.ROOT / cmd[0]).is_file():
        out.status, out.note = "skipped", f"{cmd[0]} is not in this checkout"
        return out
    code, out.seconds, out.peak_rss_mib = run_script(out.command, 3600, tmp / "eval.log")
    out.command = cmd
    if code != 0 or not report.is_file():
        return _failed(out, code, tmp / "eval.log")
    out.report = report.read_text(encoding="utf-8")
    floor = _search(r"vs floor: \*\*([\d.]+)×", out.report)
    loop = _search(r"vs loop: \*\*([\d.]+)×", out.report)
    out.targets = [
        Target("Evaluation (log_marginal_is, k = 1000) time vs its FLOP floor", "≤ 2×",
               f"**{floor:.2f}×** the floor's time (1 thread, best chunk size; see its "
               "report for each)" if floor else "–",
               floor <= 2.0 if floor else None),
    ]  # fmt: skip
    if loop:
        out.note = f"batched estimate {loop:.1f}× faster than a per-data-point loop"
    return out


def bench_ppca(quick: bool, tmp: Path) -> Outcome:
    report = tmp / "ppca_fit.md"
    cmd = ["benchmarks/ppca_fit.py", *(["--latent-dims", "20", "--repeats", "2"] if quick else [])]
    out = Outcome("PPCA fit", [*cmd, "--out", str(report)])
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        out.status, out.note = "skipped", "Fashion-MNIST not installed (apt-get install "
        out.note += "dataset-fashion-mnist)"
        return out
    code, out.seconds, out.peak_rss_mib = run_script(out.command, 3600, tmp / "ppca.log")
    out.command = cmd
    if code != 0 or not report.is_file():
        return _failed(out, code, tmp / "ppca.log")
    out.report = report.read_text(encoding="utf-8")
    for k, speed, verdict in re.findall(
        r"- K=(\d+): ([\d.]+)× faster than the full SVD.*?\*\*(met|not met)\*\*", out.report
    ):
        out.targets.append(
            Target(f"PPCA closed-form fit vs scikit-learn full SVD, K={k}", "≥ 5× (and the same "
                   "log-likelihood)", f"**{float(speed):.1f}×** faster", verdict == "met")
        )  # fmt: skip
    return out


def bench_memmap(quick: bool, tmp: Path) -> Outcome:
    json_path = tmp / "memmap.json"
    cmd = ["benchmarks/memmap_memory.py", *(["--quick"] if quick else [])]
    out = Outcome("Streamed .npy memory", [*cmd, "--json", str(json_path)])
    code, out.seconds, _ = run_script(out.command, 3600, tmp / "memmap.log")
    out.command = cmd
    if code != 0 or not json_path.is_file():
        return _failed(out, code, tmp / "memmap.log")
    s = json.loads(json_path.read_text())
    out.report = (M.ROOT / "benchmarks/results/memmap_memory.md").read_text(encoding="utf-8")
    worst = s.get("worst_growth_fraction")
    sizes = s["sizes_gib"]
    parts = [
        f"{label} {s[key]['small']:.0f} → {s[key]['large']:.0f} MiB"
        for key, label in (("mmap-stream", "data path"), ("mmap-fit", "training"))
        if key in s
    ]
    out.peak_rss_mib = max((s[k]["large"] for k in ("mmap-stream", "mmap-fit") if k in s),
                           default=None)  # fmt: skip
    out.targets = [
        Target(f"Streamed .npy (mmap=True): peak RSS flat as the file grows {min(sizes):g} → "
               f"{max(sizes):g} GiB", "growth < 5% of the file's",
               f"**{100 * worst:.1f}%** ({'; '.join(parts)})" if worst is not None else "–",
               s.get("met") if worst is not None else None),
    ]  # fmt: skip
    if "memory-stream" in s:
        m = s["memory-stream"]
        out.note = (
            f"loading the file instead: {m['small']:.0f} → {m['large']:.0f} MiB "
            f"({100 * m['growth_fraction']:.0f}% of the file's growth)"
        )
    return out


def _search(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match.group(1)) if match else None


def _failed(out: Outcome, code: int, log: Path) -> Outcome:
    out.status = "failed"
    why = "timed out" if code == 124 else f"exit status {code}"
    out.note = f"{why}; last lines:\n\n```\n{_tail(log)}\n```"
    return out


BENCHMARKS: dict[str, Callable[[bool, Path], Outcome]] = {
    "train": bench_train,
    "eval": bench_eval,
    "ppca": bench_ppca,
    "memmap": bench_memmap,
}


# -- the report --------------------------------------------------------------------------------


def _verdict(met: bool | None) -> str:
    return {True: "**met**", False: "**not met**", None: "not measured"}[met]


def write_results(outcomes: list[Outcome], quick: bool, argv: list[str], seconds: float) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Command: `{M.command_line('benchmarks/run_all.py', argv)}` "
        f"({'quick' if quick else 'full'} suite, {time.strftime('%Y-%m-%d %H:%M %Z')}, "
        f"{seconds / 60:.1f} min)",
        "",
        *M.machine_lines(["scikit-learn", "pyro-ppl", "pythae"]),
        "",
        "Every number below was measured in this run, on this machine; the two cores are shared "
        "with other jobs, so each benchmark interleaves what it compares and reports medians (or "
        "best-of, where its own report says so).",
        "",
        "## Targets",
        "",
        "| target | goal | measured | verdict |",
        "|---|---|---|---|",
    ]
    for o in outcomes:
        if o.status != "ok":
            lines.append(f"| {o.name} | | {o.status} | not measured |")
        for t in o.targets:
            lines.append(f"| {t.what} | {t.goal} | {t.measured} | {_verdict(t.met)} |")
    lines += [
        "",
        "## Commands, time and peak memory",
        "",
        "| benchmark | command | status | minutes | peak RSS MiB | notes |",
        "|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        rss = f"{o.peak_rss_mib:.0f}" if o.peak_rss_mib else "–"
        note = o.note.split("\n")[0] if o.status == "failed" else o.note
        lines.append(
            f"| {o.name} | `{M.command_line(o.command[0], o.command[1:])}` | {o.status} | "
            f"{o.seconds / 60:.1f} | {rss} | {note} |"
        )
    lines.append("")
    lines.append(
        "Peak RSS: for training and streaming, the largest worker's `VmHWM` (each configuration "
        "runs in its own process); for the others, `ru_maxrss` of the script's process."
    )
    for o in outcomes:
        lines += ["", f"## {o.name}", ""]
        if o.status == "failed":
            lines.append(f"Failed: {o.note}")
        elif o.status == "skipped":
            lines.append(f"Skipped: {o.note}")
        else:
            body = re.sub(r"^(#+) ", r"#\1 ", o.report.strip(), flags=re.MULTILINE)
            lines.append(re.sub(r"^## (?!#)", "### ", body, count=1, flags=re.MULTILINE))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a shorter suite (6-10 minutes)")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    argv = argv if argv is not None else sys.argv[1:]
    started = time.perf_counter()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="torchlvm-bench-") as tmp:
        for name in args.only or list(BENCHMARKS):
            print(f"== {name}", flush=True)
            outcome = BENCHMARKS[name](args.quick, Path(tmp))
            print(
                f"   {outcome.status} in {outcome.seconds / 60:.1f} min: "
                + "; ".join(f"{t.what}: {t.measured} ({_verdict(t.met)})" for t in outcome.targets),
                flush=True,
            )
            outcomes.append(outcome)
    text = write_results(outcomes, args.quick, argv, time.perf_counter() - started)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0 if all(o.status != "failed" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
