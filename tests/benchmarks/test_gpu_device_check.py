"""benchmarks/gpu_device_check.sh and its preflight: without a GPU the script says so and exits 0
before any step; on the GPU machine (a bare copy of the checkout, no registry, no datasets) what
is missing is named with the fix before the lease is spent on the steps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(torch.cuda.is_available(), reason="the check runs its steps on a GPU")
def test_without_a_gpu_the_check_says_so_and_exits_0_before_any_step(tmp_path: Path) -> None:
    """It ran its steps anyway (the CUDA tests' collection, the benchmarks, host_overhead with
    --accelerator gpu, which fails without one) and ended non-zero."""
    env = {**os.environ, "OUT": str(tmp_path), "PYTHON": sys.executable}
    done = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_device_check.sh")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no CUDA device is visible here, so there is nothing to measure" in done.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["versions.txt"]


@pytest.fixture(scope="module")
def preflight(benchmark_script):
    return benchmark_script("gpu_preflight")


def test_a_gpu_machine_without_the_dataset_is_told_to_carry_it(
    preflight, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from torchlvm.data import locate

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("TORCHLVM_DATA", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(locate, "SYSTEM_DIR", tmp_path)
    assert preflight.main(["0"]) == 2
    assert "Fashion-MNIST is not in" in (out := capsys.readouterr().out)
    assert "bash benchmarks/gpu_prepare.sh" in out and "carry .devdata" in out
    assert preflight.main(["1"]) == 0  # --cpu-check measures on random data


def test_no_gpu_is_status_3_for_the_script_to_end_with_0(
    preflight, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert preflight.main(["0"]) == 3
    assert "no CUDA device is visible" in capsys.readouterr().out
