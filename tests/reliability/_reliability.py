"""Helpers of the reliability tests: running ``torchlvm`` in a subprocess, hashing folders,
reading the one error line a failed command prints."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

ERROR_PREFIX = "torchlvm: error: "

MAX_LOAD_FACTOR = 6.0
"""The most :func:`load_factor` stretches a time limit (a hung test still fails, 6× later)."""


def load_factor() -> float:
    """How many times slower than on an idle machine a CPU-bound process runs now: the 1-minute
    load average per usable core, at least 1, at most :data:`MAX_LOAD_FACTOR`.

    The time limits of these tests guard against a hang (a deadlock, a wait that never ends);
    none is a claim about speed (speed is measured in benchmarks/). On the 2 shared cores of a
    loaded machine the same work takes several times its idle wall-clock time, so each limit is
    its idle value times this factor: a hang still fails, a slow machine does not."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return min(MAX_LOAD_FACTOR, max(1.0, os.getloadavg()[0] / max(1, cores or 1)))


def patience(seconds: float) -> float:
    """``seconds`` (a time limit on an idle machine) stretched by :func:`load_factor`."""
    return seconds * load_factor()


def cli_env() -> dict[str, str]:
    """The environment of a ``torchlvm`` subprocess: one thread (CI machines are shared, and
    bit-for-bit comparisons need the same reduction order in every process)."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def cli(*args: str) -> list[str]:
    """The command line of ``torchlvm ARGS`` with this interpreter."""
    return [sys.executable, "-m", "torchlvm.cli", *args]


def run_cli(
    args: Sequence[str],
    *,
    timeout: float = 120,
    cwd: Path | None = None,
    extra_env: dict[str, str] | None = None,
):
    """Run ``torchlvm ARGS`` to completion; returns the ``CompletedProcess`` (text output).
    ``timeout``: seconds on an idle machine (stretched by :func:`load_factor`)."""
    env = {**cli_env(), **(extra_env or {})}
    return subprocess.run(
        cli(*args), capture_output=True, text=True, timeout=patience(timeout), env=env, cwd=cwd
    )


def start_cli(args: Sequence[str], *, cwd: Path | None = None) -> subprocess.Popen:
    """Start ``torchlvm ARGS`` without waiting (stdout/stderr piped, text)."""
    return subprocess.Popen(
        cli(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
        cwd=cwd,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail if ``proc`` ends first or time runs
    out (the process is killed then). ``timeout``: seconds on an idle machine (stretched by
    :func:`load_factor`)."""
    timeout = patience(timeout)
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process ended first (rc {proc.returncode}):\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            raise AssertionError(f"condition not met within {timeout:.0f} s")
        time.sleep(0.02)


def error_line(err: str) -> str:
    """The one ``torchlvm: error: ...`` line of a failed command's stderr.

    Asserts there is exactly one, and no traceback. The only other line allowed is a one-line
    hint after it (``  see 'torchlvm train --help'``).
    """
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, f"expected one error line, got:\n{err}"
    others = [line for line in lines if line is not errors[0]]
    assert len(others) <= 1, f"unexpected stderr lines:\n{err}"
    if others:
        assert lines.index(others[0]) > lines.index(errors[0]), f"hint before the error:\n{err}"
        assert others[0].startswith("  see "), f"unexpected stderr line:\n{err}"
    assert len(errors[0]) > len(ERROR_PREFIX) + 10, errors[0]
    return errors[0]


def folder_digest(folder: Path, *, folders: bool = True) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``folder`` ({} when it does not exist),
    plus, with ``folders``, an entry per folder, so that a new or removed folder counts too."""
    if not folder.exists():
        return {}
    digest: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        name = str(path.relative_to(folder))
        if path.is_file():
            digest[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and folders:
            digest[name] = "<dir>"
    return digest


def load_ckpt(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_tensors(a: dict, b: dict, where: str = "") -> None:
    """Recursively assert two checkpoint structures are equal, tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape, where
        assert torch.equal(a, b), f"{where} differs (max |Δ| {(a - b).abs().max().item():.3g})"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: {a.keys()} vs {b.keys()}"
        for key in a:
            assert_same_tensors(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_tensors(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"
