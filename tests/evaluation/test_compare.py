"""``compare`` trains its runs as ``torchlvm train`` does: under the run lock, in a staging
folder, so that a concurrent ``train`` into one of them is refused, and the other way round."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import torchlvm.training
from torchlvm.cli import main
from torchlvm.errors import RunBusyError
from torchlvm.evaluation.compare import Budget, Contender, train_contender
from torchlvm.run import acquire, holds_run, stage_path

VAE = Contender("vae", "VAE", "vae")
BUDGET = Budget(epochs=1, latent_dim=2, hidden=(8,), batch_size=256)


def test_a_train_into_a_run_that_compare_is_training_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shapes" / "vae"
    fit, refused = torchlvm.training.fit, []

    def fit_while_someone_trains_the_same_folder(*args, **kwargs):
        code = main(["train", "vae", "--data", "shapes", "--epochs", "1", "--out", str(folder)])
        refused.append((code, capsys.readouterr().err))
        return fit(*args, **kwargs)

    monkeypatch.setattr(torchlvm.training, "fit", fit_while_someone_trains_the_same_folder)
    train_contender(VAE, "shapes", folder, BUDGET)
    busy = f"{folder} is being trained by pid {os.getpid()}; wait for it to finish"
    assert refused == [(2, f"torchlvm: error: {busy}\n")]
    assert holds_run(folder) and (folder / "model.safetensors").is_file()
    assert not stage_path(folder).exists() and not (folder / ".torchlvm.lock").exists()


def test_compare_refuses_a_run_folder_that_a_train_is_building(tmp_path: Path) -> None:
    folder = tmp_path / "shapes" / "vae"
    stage = stage_path(folder)
    stage.mkdir(parents=True)
    with acquire(stage, "torchlvm train vae"):
        with pytest.raises(RunBusyError, match=f"{folder} is being trained by pid {os.getpid()}"):
            train_contender(VAE, "shapes", folder, BUDGET)
    assert not folder.exists()
