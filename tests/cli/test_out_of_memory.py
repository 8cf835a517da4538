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
        "foresee this allocation); free memory (files written before stay as they were)\n"
    )


@pytest.mark.parametrize(
    ("argv", "less"),
    [
        (["score", "RUN", "--data", "x.csv", "--out", "s.csv"], "--samples"),
        (["sample", "RUN"], "--n"),
        (["evaluate", "RUN"], "--n, --k, --chunk, --ais-chains or --batch-size"),
        (["gaps", "RUN"], "--n, --k, --samples or --chains"),
        (["impute", "RUN", "--data", "x.csv", "--out", "f.csv"], "--n, --samples or --draws"),
        (["fit", "ppca", "--data", "x.csv", "--out", "r"], None),
    ],
    ids=lambda v: v[0] if isinstance(v, list) else None,
)
def test_the_line_names_only_the_running_commands_options(argv, less, monkeypatch, capsys):
    """review13's nit on 485c7df: the line offered --hidden and --draws to every command,
    ``fit`` (which takes none of them) too: it names what the running command takes."""

    def allocating(args):
        raise MemoryError

    monkeypatch.setattr(cli, "_start", _starting(argv, allocating))
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    said = "" if less is None else f"ask for less (a smaller {less}) or "
    assert f"this allocation); {said}free memory" in err


def _starting(argv, run):
    """cli._start, with the parsed command's ``run`` replaced by ``run``."""
    start = cli._start

    def started(given):
        parser, args, extra = start(given)
        args.run = run
        return parser, args, extra

    return started


def test_any_other_runtime_error_is_not_taken_for_one(monkeypatch):
    def failing(args):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(datasets, "run", failing)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        cli.main(["datasets"])
