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
import signal
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from _reliability import assert_same_tensors, load_ckpt, run_cli, start_cli, wait_for
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


@pytest.mark.budget(150)
def safetensors_metadata(path: Path) -> dict[str, str]:
    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


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
    proc.communicate(timeout=30)
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
    assert f"resumed at epoch {killed_after + 1}" in resumed.stdout
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


class _Boom(OSError):
    pass


def _fail_midway(monkeypatch: pytest.MonkeyPatch, target, name: str) -> None:
    """Make ``target.name`` (a writer taking a path) write half its bytes and then raise."""
    real = getattr(target, name)

    def half_then_raise(obj, path, *args, **kwargs):
        real(obj, path, *args, **kwargs)
        data = Path(path).read_bytes()
        Path(path).write_bytes(data[: len(data) // 2])
        raise _Boom(28, "No space left on device")

    monkeypatch.setattr(target, name, half_then_raise)


def _no_temporaries(folder: Path) -> None:
    left = [p.name for p in folder.rglob(".*.tmp")]
    assert not left, f"temporary files left behind: {left}"


def test_checkpoint_write_failure_keeps_the_previous_last_ckpt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": torch.ones(3)}, "epoch": 0}, path)
    before = path.read_bytes()
    _fail_midway(monkeypatch, torch, "save")
    with pytest.raises(_Boom):
        io.save_checkpoint({"state_dict": {"w": torch.zeros(300)}, "epoch": 1}, path)
    assert path.read_bytes() == before
    assert io.load_checkpoint(path)["epoch"] == 0
    _no_temporaries(tmp_path)


def test_a_full_disk_during_training_keeps_the_last_good_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills during the save at the end of epoch 1: the error surfaces, and
    ``last.ckpt`` is still the complete, loadable checkpoint of epoch 0."""
    real = torch.save
    saves = {"n": 0}

    def fill_up(obj, path, *args, **kwargs):
        saves["n"] += 1
        if isinstance(obj, dict) and obj.get("epoch") == 1:
            real(obj, path, *args, **kwargs)
            data = Path(path).read_bytes()
            Path(path).write_bytes(data[: len(data) // 3])
            raise OSError(28, "No space left on device")
        return real(obj, path, *args, **kwargs)

    monkeypatch.setattr(torch, "save", fill_up)
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(16,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    with pytest.raises(OSError, match="No space left"):
        fit(model, dm, TrainConfig(max_epochs=3, batch_size=256), tmp_path, progress=False)
    checkpoint = load_ckpt(tmp_path / "checkpoints" / "last.ckpt")
    assert checkpoint["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values())
    assert not (tmp_path / "model.safetensors").exists()
    _no_temporaries(tmp_path)


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
