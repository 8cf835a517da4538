"""A run trained on flat rows (a .npy of shape (N, D)) cannot be drawn as pictures: the commands
that draw say so and name the way they write rows instead, and that way works."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main


@pytest.fixture(scope="module")
def flat_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flat")
    data = folder / "flat.npy"
    np.save(data, np.random.default_rng(0).normal(size=(120, 5)).astype(np.float32))
    out = folder / "run"
    argv = ["train", "vae", "--data", str(data), "--likelihood", "gaussian", "--epochs", "1"]
    assert main([*argv, "--latent-dim", "2", "--hidden", "4", "--quiet", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("command", ["sample", "reconstruct"])
def test_drawing_rows_names_the_csv_output_that_works(flat_run, tmp_path, capsys, command):
    assert main([command, str(flat_run), "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: the data are not images") and err.count("\n") == 1
    assert "as rows with --out FILE.csv" in err
    assert main([command, str(flat_run), "--out", str(tmp_path / "x.csv")]) == 0
    assert (tmp_path / "x.csv").is_file() and not (tmp_path / "x.png").exists()


def test_impute_on_rows_names_the_table_imputation_instead(flat_run, tmp_path, capsys):
    argv = ["impute", str(flat_run), "--mask", "top", "--out", str(tmp_path / "i.png")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: the data are not images") and err.count("\n") == 1
    assert "--data FILE.csv --out FILLED.csv" in err
    assert not (tmp_path / "i.png").exists()
