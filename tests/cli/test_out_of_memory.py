"""An allocation that fails after the size checks is one line, not a traceback: no command
caught MemoryError, and torch's allocators raise a RuntimeError ("DefaultCPUAllocator: can't
allocate memory: you tried to allocate 81920000000 bytes"), so a request the checks did not
foresee ended in torch's traceback (run13's note)."""

from __future__ import annotations

import pytest
import torch

from torchlvm import cli
from torchlvm.cli import datasets


@pytest.mark.parametrize(
    ("error", "asked"),
    [
        (RuntimeError("[enforce fail at alloc_cpu.cpp:127] data. DefaultCPUAllocator: can't "
                      "allocate memory: you tried to allocate 81920000000 bytes."),
         " (81.9 GB asked)"),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:114] data. DefaultCPUAllocator: not "
                      "enough memory: you tried to allocate 80000000000 bytes."),
         " (80 GB asked)"),  # (torch's Windows build: readB #4)
        (torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; ...)"),
         " (20.00 GiB asked)"),
        (MemoryError(), ""),
    ],
    ids=["cpu", "cpu-windows", "cuda", "python"],
)  # fmt: skip
def test_an_allocation_that_fails_is_one_line(error, asked, monkeypatch, capsys):
    def allocating(args):
        raise error

    monkeypatch.setattr(datasets, "run", allocating)
    assert cli.main(["datasets"]) == 1
    assert capsys.readouterr().err == (
        f"torchlvm: error: out of memory{asked} (the sizes checked before the work did not "
        "foresee this allocation); ask for less (a smaller --n, --k, --samples, --draws, "
        "--hidden or --batch-size) or free memory (files written before stay as they were)\n"
    )


def test_any_other_runtime_error_is_not_taken_for_one(monkeypatch):
    def failing(args):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(datasets, "run", failing)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        cli.main(["datasets"])
