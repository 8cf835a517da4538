"""A table's default latent size comes from its columns: min(20, max(2, D // 2)), measured
against the earlier 20 in benchmarks/results/tables_latent.md; --latent-dim still sets it, and
images keep 20."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data.table_schema import table_latent_dim


@pytest.mark.parametrize(
    ("columns", "latent"), [(1, 2), (4, 2), (5, 2), (6, 3), (13, 6), (30, 15), (40, 20), (200, 20)]
)
def test_the_rule(columns: int, latent: int) -> None:
    assert table_latent_dim(columns) == latent


def _trained(tmp_path: Path, columns: int, *options: str) -> int:
    """The latent size of a VAE trained for one epoch on a table of ``columns`` columns."""
    x = np.random.default_rng(0).normal(size=(40, columns))
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"c{j}" for j in range(columns)])
        writer.writerows([f"{v:.5f}" for v in row] for row in x)
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", str(path), "--epochs", "1", "--hidden", "4", "--quiet"]
    assert main([*argv, *options, "--out", str(out)]) == 0
    return json.loads((out / "config.json").read_text())["model"]["latent_dim"]


def test_a_five_column_table_gets_a_latent_smaller_than_its_columns(tmp_path: Path) -> None:
    """A 5-column table got a 20-dimensional z, bigger than the data."""
    assert _trained(tmp_path, 5) == 2


def test_latent_dim_given_is_kept(tmp_path: Path) -> None:
    assert _trained(tmp_path, 5, "--latent-dim", "7") == 7


def test_the_help_says_both_defaults(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "vae", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: 20; half the columns, 2 to 20, for a table)" in help_text
