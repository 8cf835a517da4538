"""A crash loses at most the work since the last checkpoint, and a resumed run is the run that
would have happened.

- ``torchlvm train`` killed with SIGKILL in the middle of an epoch, then ``--resume``d, ends with
  the same parameters, optimizer state and metrics, bit for bit, as an uninterrupted run with the
  same seed (CPU, ``--deterministic``, one thread per process).
- Every file a run writes (``last.ckpt``, ``model.safetensors``, ``config.json``,
  ``metrics.json``) is written atomically: a failure in the middle of a write leaves the good file
  that was there before, byte for byte, and no temporary file behind.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import lightning as L
import pytest
import torch
from _reliability import (
    assert_same_tensors,
    cli,
    cli_env,
    error_line,
    load_ckpt,
    patience,
    run_cli,
    start_cli,
    wait_for,
)
from safetensors import safe_open
from safetensors.torch import load_file

import torchlvm._files as files
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit
from torchlvm.training.checkpoint_io import AtomicCheckpointIO

# wide enough that an epoch (79 steps of 16) lasts about a second, so a kill lands mid-epoch
RUN = ["--data", "digits", "--latent-dim", "4", "--hidden", "768", "768", "--batch-size", "16"]
RUN += ["--seed", "3", "--deterministic", "--quiet"]
EPOCHS = "3"


def _stage_or_run_checkpoint(root: Path, name: str) -> Path | None:
    """``last.ckpt`` of the run being written to ``root/name`` (a new run trains in a staging
    folder ``root/.name.*`` that is renamed into place at the end)."""
    for folder in (root / name, *root.glob(f".{name}.*")):
        path = folder / "checkpoints" / "last.ckpt"
        if path.is_file():
            return path
    return None


def safetensors_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


@pytest.mark.budget(150)
def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    done = run_cli(["train", "vae", *RUN, "--epochs", EPOCHS, "--out", str(straight)], timeout=150)
    assert done.returncode == 0, done.stderr

    crashed = tmp_path / "crashed"
    proc = start_cli(["train", "vae", *RUN, "--epochs", EPOCHS, "--out", str(crashed)])
    wait_for(lambda: _stage_or_run_checkpoint(tmp_path, "crashed") is not None, proc, timeout=120)
    time.sleep(0.25)  # into the next epoch's training steps
    assert proc.poll() is None, "the run finished before it could be killed; make it slower"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=patience(30))
    assert proc.returncode == -signal.SIGKILL
    checkpoint = _stage_or_run_checkpoint(tmp_path, "crashed")
    assert checkpoint is not None
    killed_after = load_ckpt(checkpoint)["epoch"]  # the last finished epoch, 0-based
    assert killed_after < int(EPOCHS) - 1

    resumed = run_cli(
        ["train", "vae", "--epochs", EPOCHS, "--quiet", "--out", str(crashed), "--resume"],
        timeout=150,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed at epoch {killed_after + 2}" in resumed.stdout  # counted from 1
    assert not list(tmp_path.glob(".crashed.*")), "the interrupted staging folder was left"

    a = load_ckpt(straight / "checkpoints" / "last.ckpt")
    b = load_ckpt(crashed / "checkpoints" / "last.ckpt")
    assert a["epoch"] == b["epoch"] == int(EPOCHS) - 1
    assert_same_tensors(a["state_dict"], b["state_dict"], "state_dict")
    assert_same_tensors(a["optimizer_states"], b["optimizer_states"], "optimizer_states")
    # the exported weights and their metadata, compared as values: safetensors writes its
    # metadata keys in a per-process random order, so the bytes may differ
    assert_same_tensors(
        load_file(straight / "model.safetensors"),
        load_file(crashed / "model.safetensors"),
        "model.safetensors",
    )
    assert safetensors_metadata(straight / "model.safetensors") == safetensors_metadata(
        crashed / "model.safetensors"
    )
    assert (straight / "metrics.csv").read_text() == (crashed / "metrics.csv").read_text()


# -- atomic writes -------------------------------------------------------------------------------


@contextmanager
def _file_size_limit(limit: int) -> Iterator[None]:
    """While inside, this process may not grow a file past ``limit`` bytes: the kernel refuses
    the write with EFBIG ("File too large"; SIGXFSZ ignored), a real refusal of a write as with a
    full disk. The soft limit goes back to what it was on exit."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


class _LimitFilesFrom(L.Callback):
    """Limit file sizes to ``limit`` bytes from the start of epoch ``epoch`` until ``limited``
    (an ``ExitStack``, used as the context of the ``fit`` call) closes."""

    def __init__(self, epoch: int, limit: int) -> None:
        self.epoch, self.limit, self.limited = epoch, limit, ExitStack()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            self.limited.enter_context(_file_size_limit(self.limit))


def _no_temporaries(folder: Path) -> None:
    left = [p.name for p in folder.rglob(".*.tmp")]
    assert not left, f"temporary files left behind: {left}"


def test_checkpoint_write_failure_keeps_the_previous_last_ckpt(tmp_path: Path) -> None:
    writer = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    writer.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 0}, path)
    before = path.read_bytes()
    with _file_size_limit(1024), pytest.raises(OSError, match=f"File too large: '{path}'"):
        writer.save_checkpoint({"state_dict": {"w": torch.zeros(3000)}, "epoch": 1}, path)
    assert path.read_bytes() == before
    assert writer.load_checkpoint(path)["epoch"] == 0
    _no_temporaries(tmp_path)


def test_a_full_disk_during_training_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    """The kernel refuses the checkpoint writes of epoch 1 half way: the error surfaces as the
    OSError it is, and ``last.ckpt`` is still the complete, loadable checkpoint of epoch 0."""
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(16,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    limit = _LimitFilesFrom(epoch=1, limit=8 * 1024)  # below a checkpoint, above metrics.csv
    with limit.limited, pytest.raises(OSError, match="File too large: .*best-epoch002.ckpt"):
        fit(
            model, dm, TrainConfig(max_epochs=3, batch_size=256), tmp_path, progress=False,
            extra_callbacks=[limit],
        )  # fmt: skip
    checkpoint = load_ckpt(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values())
    assert not (tmp_path / "model.safetensors").exists()
    _no_temporaries(tmp_path)


def _child_file_size_limit(limit: int):
    """A ``preexec_fn``: the process may not grow a file past ``limit`` bytes, and a write that
    would is refused with EFBIG ("File too large") instead of killing it (SIGXFSZ ignored): the
    kernel's own refusal of a write, as with a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.budget(120)
def test_a_write_refused_by_the_kernel_during_a_checkpoint_save_keeps_the_finished_epochs(
    tmp_path: Path,
) -> None:
    """A resumed run whose next checkpoint cannot be written (the kernel refuses the write half
    way): one error line, exit status 1, ``last.ckpt`` of the finished epoch untouched and still
    resumable, no partial or temporary file."""
    out = tmp_path / "run"
    small = ["--data", "digits", "--latent-dim", "4", "--hidden", "128", "--batch-size", "256"]
    small += ["--seed", "3", "--quiet", "--out", str(out)]
    assert run_cli(["train", "vae", *small, "--epochs", "1"], timeout=60).returncode == 0
    last = out / "checkpoints" / "last.ckpt"
    before = last.read_bytes()
    limit = 64 * 1024  # above the run's small files (JSON, CSV), below a checkpoint
    assert len(before) > 2 * limit, "the checkpoint must be larger than the limit"

    resume = ["train", "vae", "--epochs", "2", "--quiet", "--resume", "--out", str(out)]
    done = subprocess.run(
        cli(*resume), capture_output=True, text=True, timeout=patience(60), env=cli_env(),
        preexec_fn=_child_file_size_limit(limit),
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    line = error_line(done.stderr)
    assert "File too large" in line and "best-epoch002.ckpt" in line, line
    assert last.read_bytes() == before
    assert not [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not (tmp_path / "run" / "checkpoints" / "best-epoch002.ckpt").exists()

    resumed = run_cli(resume, timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed at epoch 2" in resumed.stdout  # epoch 0 done: the second, counted from 1
    assert load_ckpt(last)["epoch"] == 1


@pytest.fixture
def export(tmp_path: Path) -> Path:
    L.seed_everything(0)
    model = VAE(VAEConfig(16, latent_dim=2, hidden=(8,)))
    folder = model.save_pretrained(tmp_path / "export")
    files.write_json(folder / "metrics.json", {"elbo": -1.0})
    return folder


@pytest.mark.parametrize("name", ["model.safetensors", "config.json", "metrics.json"])
def test_export_write_failure_keeps_the_previous_file(
    export: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    before = {p.name: p.read_bytes() for p in export.iterdir()}
    real_replace = os.replace

    def torn_write(src, dst, *args, **kwargs):
        if Path(dst).name == name:  # the new bytes are half there, then the rename fails
            data = Path(src).read_bytes()
            Path(src).write_bytes(data[: len(data) // 2])
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(files.os, "replace", torn_write)
    L.seed_everything(1)
    other = VAE(VAEConfig(16, latent_dim=2, hidden=(8,)))
    with pytest.raises(OSError, match="No space left"):
        if name == "metrics.json":
            files.write_json(export / name, {"elbo": -2.0, "more": list(range(100))})
        else:
            other.save_pretrained(export)
    assert (export / name).read_bytes() == before[name]
    _no_temporaries(export)
    if name == "config.json":  # the weights were replaced before config.json failed
        assert json.loads((export / name).read_text())["model_type"] == "vae"


def test_atomic_files_get_the_permissions_open_would_give(export: Path) -> None:
    """Atomic writes go through ``mkstemp`` (mode 0600); the result must still be readable by
    whoever the user's umask lets read it, as with any other file they write."""
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask
    for name in ("model.safetensors", "config.json", "metrics.json"):
        assert (export / name).stat().st_mode & 0o777 == expected, name
    path = export / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, path)
    assert path.stat().st_mode & 0o777 == expected
