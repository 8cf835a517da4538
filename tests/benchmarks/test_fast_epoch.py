"""benchmarks/fast_epoch.py: fit(fast=True)'s epochs after the first, each with its Lightning
batches' host timestamps, with the garbage collector on and off (on the CPU the fast path runs
eagerly: the same code, nothing captured)."""

from __future__ import annotations

import re

import pytest
import torch


def test_it_times_every_epoch_after_the_first_with_gc_on_and_off(
    benchmark_script, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.set_num_threads(1)
    script = benchmark_script("fast_epoch")
    assert script.main(["--data", "random", "--batch", "512", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    on, off = out.split("## gc on")[1].split("## gc off")
    line = re.compile(r"^epoch (\d+): total ([\d.]+) ms .*?; batches (.*?); final", re.M)
    for part in (on, off):
        epochs = line.findall(part)
        assert [e[0] for e in epochs] == ["2", "3"]  # 2048 rows: 4 steps, one batch of 32
        assert all(float(total) > 0 and spans.count("[") == 1 for _, total, spans in epochs)
    assert re.search(r"epoch order \(randperm \+ copy\), ms: ([\d.]+ ){4}[\d.]+$", out, re.M)
