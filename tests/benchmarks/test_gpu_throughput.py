"""benchmarks/gpu_throughput.py: without a GPU it says so and exits 0, writing nothing; its
configurations run (on the CPU, with --cpu-check) and fill the table it writes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="module")
def script(benchmark_script):
    return benchmark_script("gpu_throughput")


def test_without_a_gpu_it_says_so_and_writes_nothing(
    script, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu.md"
    assert script.main(["--out", str(out)]) == 0
    assert "no CUDA device is visible: nothing measured" in capsys.readouterr().out
    assert not out.exists()


def test_its_configurations_run_and_fill_the_table(script, tmp_path: Path) -> None:
    torch.set_num_threads(1)
    out = tmp_path / "gpu.md"
    argv = ["--cpu-check", "--data", "random", "--steps", "2", "--warmup", "1", "--out", str(out)]
    argv += ["--configs", "plain", "torchlvm-loop", "fit-fast"]
    assert script.main(argv) == 0
    text = out.read_text()
    assert "device: CPU (--cpu-check)" in text and "command: `" in text
    for name in ("plain", "torchlvm-loop", "fit-fast"):
        row = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        assert row.count("images") == 0 and row.count("×)") == 2, row
