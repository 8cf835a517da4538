"""`torchlvm train vae` on a .csv table: standardized by default with the table's defaults
(Gaussian p(x | z) with a learned σ per feature), and --allow-missing trains on incomplete rows
with the MIWAE bound; the run records the table for impute and score."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from torchlvm.cli import main
from torchlvm.data.table_schema import TableSchema


def test_train_vae_on_incomplete_rows(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 1] + [0, 0, 50, 9]
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "a", "b", "c", "d"])
        for i, row in enumerate(x):
            writer.writerow([f"r{i}", *("" if rng.random() < 0.2 else f"{v:.5f}" for v in row)])
    out = tmp_path / "vae"
    argv = ["train", "vae", "--data", str(path), "--allow-missing", "--drop-columns", "id"]
    assert main([*argv, "--epochs", "2", "--latent-dim", "2", "--quiet", "--out", str(out)]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["training"]["objective"] == "miwae" and record["training"]["k"] == 5
    assert record["model"]["variance"] == "diagonal" and record["model"]["likelihood"] == "gaussian"
    assert record["result"]["units"] == "nats per row"
    schema = TableSchema.from_dict(record["data"]["table"])
    assert schema.columns == ("a", "b", "c", "d") and schema.standardizer is not None
    assert "val/miwae" in capsys.readouterr().out
    filled = tmp_path / "filled.csv"
    argv = ["impute", str(out), "--data", str(path), "--out", str(filled), "--samples", "20"]
    assert main(argv) == 0
    rows = list(csv.reader(filled.open()))
    assert all(cell != "" for row in rows[1:] for cell in row)


def _table(path: Path, x: np.ndarray, header: list[str]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([f"r{i}", *(f"{v:.6f}" for v in row)] for i, row in enumerate(x))
    return path


def test_resume_refuses_other_table_options_and_a_changed_file(tmp_path: Path, capsys) -> None:
    x = np.random.default_rng(1).normal(size=(60, 3)) * [1, 10, 100]
    path = _table(tmp_path / "t.csv", x, ["id", "a", "b", "c"])
    out = tmp_path / "vae"
    tiny = ["--latent-dim", "1", "--hidden", "4", "--quiet", "--out", str(out)]
    first = ["train", "vae", "--data", str(path), "--drop-columns", "id", *tiny, "--epochs", "1"]
    assert main(first) == 0
    said = capsys.readouterr().out  # a table is said in rows
    assert "48 train / 6 val rows" in said and "nats/row" in said and "nats/example" not in said
    resume = ["train", "vae", *tiny, "--epochs", "2", "--resume"]
    refused = {
        "--allow-missing": "but --allow-missing (the run has no --allow-missing)",
        "--no-standardize": "but --no-standardize (the run has --standardize)",
        "--drop-columns id,c": "but --drop-columns id,c (the run has --drop-columns id)",
        "--label-column c": "but --label-column c (the run has no --label-column)",
    }
    for option, message in refused.items():
        capsys.readouterr()
        assert main([*resume, *option.split()]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "train a new run" in err
    changed = x.copy()
    changed[:, 1] *= 2  # the file edited since training: column b's scale doubles
    _table(path, changed, ["id", "a", "b", "c"])
    assert main(resume) == 2
    err = capsys.readouterr().err
    assert "has changed since the run" in err and "column 'b'" in err and err.count("\n") == 1
    _table(path, x, ["id", "a", "b", "d"])
    assert main(resume) == 2
    assert "now has the columns a, b, d" in capsys.readouterr().err
    _table(path, x, ["id", "a", "b", "c"])  # as it was: the run continues
    assert main([*resume, "--drop-columns", "id"]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["result"]["epochs"] == 2
