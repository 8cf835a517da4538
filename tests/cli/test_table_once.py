"""Each command table_parses its table file once, however many splits it reads
(:mod:`torchlvm.data.csv_once`)."""

from __future__ import annotations

import pytest

from torchlvm.cli import main

ROWS = "".join(f"{i * 0.5},{(i * 7) % 11},{(i * i) % 13 - 6.5},{(i * 5) % 9}\n" for i in range(60))


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,d\n" + ROWS)
    return path


def test_fit_parses_its_table_once_for_train_and_test(table, tmp_path, table_parses):
    out = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(table), "--latent-dim", "2", "--out", str(out)]) == 0
    assert table_parses == ["t.csv"]


def test_train_evaluate_and_impute_each_parse_it_once(table, tmp_path, table_parses):
    out = str(tmp_path / "vae")
    train = ["train", "vae", "--data", str(table), "--latent-dim", "2", "--epochs", "1"]
    assert main([*train, "--hidden", "8", "--out", out, "--quiet"]) == 0
    assert table_parses == ["t.csv"]  # train and val
    assert main(["evaluate", out, "--k", "2", "--n", "6", "--no-figures"]) == 0
    assert table_parses == ["t.csv"] * 2  # test and val
    holes = tmp_path / "holes.csv"
    holes.write_text("a,b,c,d\n" + ROWS.replace(",3,", ",,"))
    filled = str(tmp_path / "filled.csv")
    assert main(["impute", out, "--data", str(holes), "--out", filled, "--samples", "5"]) == 0
    assert table_parses == ["t.csv"] * 2 + ["holes.csv"]  # the rows to fill and their cells
