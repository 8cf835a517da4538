"""A run trained on a file given by a relative path reads it from any working directory: the
run records the file (and a --data-dir) by its absolute path, so evaluate, reconstruct and
--resume do not look for it relative to wherever the user runs them."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main


def _table(path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(60, 3)) * [1, 10, 100]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c"])
        writer.writerows([f"{v:.6f}" for v in row] for row in x)


@pytest.mark.parametrize("command", ["vae", "fit"])
def test_a_run_on_a_relative_file_works_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir(), elsewhere.mkdir()
    _table(home / "table.csv")
    monkeypatch.chdir(home)
    out = tmp_path / "run"
    if command == "vae":
        argv = ["train", "vae", "--data", "table.csv", "--latent-dim", "1", "--hidden", "4"]
        argv += ["--epochs", "1", "--quiet"]
    else:
        argv = ["fit", "ppca", "--data", "table.csv", "--latent-dim", "1"]
    assert main([*argv, "--out", str(out)]) == 0
    recorded = json.loads((out / "config.json").read_text())["data"]["name"]
    assert recorded == str(home / "table.csv")
    monkeypatch.chdir(elsewhere)
    assert main(["evaluate", str(out), "--n", "20", "--k", "10"]) == 0
    assert (out / "metrics.json").is_file()


def test_resume_from_another_folder_takes_the_same_file_by_either_spelling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _table(tmp_path / "table.csv")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    tiny = ["--latent-dim", "1", "--hidden", "4", "--quiet", "--out", str(out)]
    assert main(["train", "vae", "--data", "table.csv", *tiny, "--epochs", "1"]) == 0
    again = ["train", "vae", "--data", "./table.csv", *tiny, "--epochs", "2", "--resume"]
    assert main(again) == 0
    assert json.loads((out / "config.json").read_text())["training"]["max_epochs"] == 2
