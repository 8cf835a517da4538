"""Distributed training on 2 CPU processes (Lightning's DDP over gloo) through `torchlvm train`.

The run with 2 processes × batch 64 must match a single process with batch 128 over the same
global batches: the training order is dealt round robin to the processes
(``ShardedEpochShuffleSampler``), DDP averages the two half-batch gradients into the full-batch
mean, and the autoencoder on thresholded digits draws no random numbers while training, so the
only difference is the order of floating point sums: the weights after 20 Adam steps agree to
float32 rounding (measured 4.5e-8 at most, for weights of size ~0.2; tolerance 2e-6 absolute),
the epoch losses to 2e-6 relative. Only global rank 0 writes: the run folder's
parent, the working directory and TMPDIR of the command hold nothing else afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from torchlvm.cli import main
from torchlvm.training.checkpoint_io import read_checkpoint
from torchlvm.training.metrics_csv import read_metrics

RUN = ["ae", "--data", "digits", "--binarize", "threshold", "--latent-dim", "4"]
RUN += ["--hidden", "32", "--epochs", "2", "--lr", "3e-3", "--quiet"]
LAUNCHER_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "GROUP_RANK")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("ddp")
    work, scratch, parent = root / "work", root / "tmp", root / "runs"
    for folder in (work, scratch, parent):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    env.update(TMPDIR=str(scratch), PYTHONWARNINGS="ignore")
    command = [sys.executable, "-m", "torchlvm.cli", "train", *RUN, "--batch-size", "64"]
    command += ["--devices", "2", "--strategy", "ddp", "--out", str(parent / "ddp")]
    proc = subprocess.run(
        command, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = main(["train", *RUN, "--batch-size", "128", "--out", str(root / "single")])
    finally:
        torch.set_num_threads(threads)
    return {
        "proc": proc,
        "ddp": parent / "ddp",
        "single": root / "single",
        "single_status": single,
        "work": work,
        "scratch": scratch,
        "parent": parent,
    }


def _ok(runs: dict) -> subprocess.CompletedProcess:
    proc = runs["proc"]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert runs["single_status"] == 0
    return proc


def test_two_processes_match_one_process_over_the_same_global_batches(runs) -> None:
    _ok(runs)
    ddp = read_checkpoint(runs["ddp"] / "checkpoints" / "last.ckpt")
    single = read_checkpoint(runs["single"] / "checkpoints" / "last.ckpt")
    assert ddp["global_step"] == single["global_step"] == 2 * 10  # 1258 images / 128 per step
    assert ddp["state_dict"].keys() == single["state_dict"].keys()
    for name, value in single["state_dict"].items():
        torch.testing.assert_close(ddp["state_dict"][name], value, rtol=0, atol=2e-6, msg=name)
    rows_ddp = read_metrics(runs["ddp"] / "metrics.csv")
    rows_single = read_metrics(runs["single"] / "metrics.csv")
    assert [r["epoch"] for r in rows_ddp] == [r["epoch"] for r in rows_single] == [0, 1]
    for a, b in zip(rows_ddp, rows_single, strict=True):
        for key in ("train/loss", "val/reconstruction"):
            assert a[key] == pytest.approx(b[key], rel=2e-6), key
    assert rows_single[1]["train/loss"] < rows_single[0]["train/loss"]  # it did train


def test_the_world_size_is_recorded(runs) -> None:
    _ok(runs)
    config = json.loads((runs["ddp"] / "config.json").read_text())
    assert config["runtime"]["world_size"] == 2 and config["runtime"]["devices"] == 2
    record = json.loads((runs["ddp"] / "checkpoints" / "run.json").read_text())
    assert record["runtime"]["world_size"] == 2
    ckpt = read_checkpoint(runs["ddp"] / "checkpoints" / "last.ckpt")
    assert ckpt["torchlvm"]["world_size"] == 2
    single = json.loads((runs["single"] / "config.json").read_text())
    assert single["runtime"]["world_size"] == 1


def test_only_rank_zero_writes_files_and_prints(runs) -> None:
    proc = _ok(runs)
    assert sorted(p.name for p in runs["parent"].iterdir()) == ["ddp"]  # no second staging dir
    assert list(runs["work"].iterdir()) == []  # e.g. no lightning_logs/ from another rank
    assert list(runs["scratch"].iterdir()) == []  # rank 1's scratch folder is gone
    names = sorted(str(p.relative_to(runs["ddp"])) for p in runs["ddp"].rglob("*"))
    assert names == [
        "checkpoints",
        "checkpoints/best-epoch002.ckpt",
        "checkpoints/last.ckpt",
        "checkpoints/run.json",
        "config.json",
        "metrics.csv",
        "model.safetensors",
    ]
    assert proc.stdout.count("trained ae on digits") == 1


def test_resuming_with_another_world_size_is_refused(runs, capsys) -> None:
    _ok(runs)
    before = (runs["ddp"] / "checkpoints" / "last.ckpt").read_bytes()
    resume = ["train", "ae", "--epochs", "3", "--quiet", "--resume", "--out", str(runs["ddp"])]
    status = main(resume)
    err = capsys.readouterr().err
    assert status == 2
    assert "world size 2" in err and "world size 1" in err and "Traceback" not in err
    assert (runs["ddp"] / "checkpoints" / "last.ckpt").read_bytes() == before


def test_more_devices_than_cores_is_refused(tmp_path: Path, capsys) -> None:
    cores = len(os.sched_getaffinity(0))
    out = tmp_path / "run"
    status = main(["train", *RUN, "--devices", str(cores + 1), "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2
    assert f"--devices {cores + 1} asks" in err and f"only {cores} CPU cores are available" in err
    assert f"pass --devices {cores} or fewer" in err
    assert not out.exists()
