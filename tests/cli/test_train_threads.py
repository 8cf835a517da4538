"""How many torch threads `torchlvm train` uses: one for a table unless --threads says otherwise
(a table's matrices are too small to share among threads; benchmarks/results/train_threads.md),
torch's own count for images."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm.cli import main


def _table(tmp_path: Path) -> Path:
    x = np.random.default_rng(0).normal(size=(60, 3))
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([["a", "b", "c"], *x.round(4).tolist()])
    return path


def _threads_set(monkeypatch, argv: list[str]) -> list[int]:
    """The counts train passed to torch.set_num_threads (the caller's count comes back after)."""
    calls: list[int] = []
    real = torch.set_num_threads

    def record(n: int) -> None:
        calls.append(n)
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", record)
    assert main(["train", "vae", *argv, "--latent-dim", "2", "--quiet"]) == 0
    return calls


def test_a_table_trains_on_one_thread_by_default(tmp_path: Path, monkeypatch) -> None:
    run = ["--out", str(tmp_path / "run")]
    assert (
        _threads_set(monkeypatch, ["--data", str(_table(tmp_path)), "--epochs", "1", *run])[0] == 1
    )
    assert _threads_set(monkeypatch, ["--epochs", "2", *run, "--resume"])[0] == 1  # still a table


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs two cores")
def test_threads_given_are_kept_for_a_table(tmp_path: Path, monkeypatch) -> None:
    argv = ["--data", str(_table(tmp_path)), "--threads", "2", "--epochs", "1"]
    argv += ["--out", str(tmp_path / "run")]
    assert _threads_set(monkeypatch, argv)[0] == 2


def test_images_keep_torchs_thread_count(tmp_path: Path, monkeypatch) -> None:
    before = torch.get_num_threads()
    argv = ["--data", "digits", "--hidden", "8", "--epochs", "1", "--out", str(tmp_path / "run")]
    assert set(_threads_set(monkeypatch, argv)) <= {before}  # at most the caller's count put back


def test_every_command_that_computes_takes_threads(tmp_path: Path, monkeypatch, capsys) -> None:
    """Only train took --threads: fit (PPCA by EM: 1.06 s on torch's two threads, 0.035 s on one,
    on a busy machine), evaluate, sample, ... stalled alike, with nothing to say so."""
    table = str(_table(tmp_path))
    run = str(tmp_path / "ppca")
    calls: list[int] = []
    real = torch.set_num_threads
    monkeypatch.setattr(torch, "set_num_threads", lambda n: (calls.append(n), real(n)))
    fit = ["fit", "ppca", "--data", table, "--latent-dim", "1", "--out", run]
    for argv in (
        [*fit, "--threads", "1"],
        ["sample", run, "--n", "3", "--out", str(tmp_path / "s.csv"), "--threads", "1"],
        ["encode", run, "--data", table, "--out", str(tmp_path / "z.npy"), "--threads", "1"],
    ):
        calls.clear()
        assert main(argv) == 0, argv
        assert calls[:1] == [1], (argv, calls)
    too_many = str(len(os.sched_getaffinity(0)) + 1)
    assert main(["sample", run, "--n", "3", "--threads", too_many]) != 0
    err = capsys.readouterr().err
    assert f"torchlvm: error: --threads {too_many} is more than the" in err
    assert err.rstrip().endswith(f"pass --threads {len(os.sched_getaffinity(0))} or fewer")


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="needs an affinity mask (Linux)")
@pytest.mark.parametrize(
    ("usable", "said"),
    [({0}, "the 1 CPU core this process may use; pass --threads 1"), ({0, 1}, "the 2 CPU cores")],
    ids=["one-core", "two-cores"],
)
def test_threads_are_counted_against_the_cores_this_process_may_use(monkeypatch, usable, said):
    """--threads counted os.cpu_count(), the machine's cores, not those this process may run on
    (taskset, a container's cpuset): on 1 of 16 cores, --threads 8 ran 8 threads on one core.
    It is now counted where --devices is (training.devices.available_devices)."""
    from torchlvm.cli._accelerator import apply_threads
    from torchlvm.errors import ConfigError

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: usable)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)  # (apply_threads exports it: put back)
    with pytest.raises(ConfigError, match=f"^--threads {len(usable) + 1} is more than {said}"):
        apply_threads(len(usable) + 1)
    before = torch.get_num_threads()
    try:
        apply_threads(len(usable))
        assert torch.get_num_threads() == len(usable)
    finally:
        torch.set_num_threads(before)
