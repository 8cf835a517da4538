"""``--drop-columns`` given twice adds its columns, and each fix that drops a column names the
whole option, the columns already dropped with the new ones: userG's
``--drop-columns patient_id --drop-columns diagnosis visit`` kept only the last flag's columns,
was told patient_id looks like an ID, and a fix of ``--drop-columns visit`` alone undid the
first one: a loop between two refusals."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data import load_dataset
from torchlvm.errors import DataError


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)) @ rng.normal(size=(3, 4))
    rows = (
        f"{1000 + i},{rng.choice(['red', 'blue'])},{','.join(map(repr, row))},7"
        for i, row in enumerate(x.tolist())
    )
    path = tmp_path / "t.csv"
    path.write_text("patient_id,kind,a,b,c,d,site\n" + "\n".join(rows) + "\n")
    return path


def _fit(table, tmp_path, *drop: str) -> int:
    argv = ["fit", "ppca", "--data", str(table), "--latent-dim", "1", *drop]
    return main([*argv, "--out", str(tmp_path / "run"), "--overwrite"])


def test_each_offered_fix_names_the_columns_already_dropped(table, tmp_path, capsys):
    assert _fit(table, tmp_path, "--drop-columns", "patient_id") == 2
    err = capsys.readouterr().err
    assert "holds text, not numbers" in err and "(--drop-columns patient_id kind)" in err
    assert _fit(table, tmp_path, "--drop-columns", "patient_id", "kind") == 2
    err = capsys.readouterr().err  # standardizing: a constant column
    assert "'site' is constant" in err and "(--drop-columns patient_id kind site)" in err
    assert _fit(table, tmp_path, "--drop-columns", "patient_id", "kind", "site") == 0


def test_a_repeated_flag_adds_its_columns(table, tmp_path, capsys):
    drop = ["--drop-columns", "patient_id", "--drop-columns", "kind", "site"]
    assert _fit(table, tmp_path, *drop) == 0
    assert "--drop-columns" not in capsys.readouterr().err


def test_python_s_fix_names_the_whole_list_too(table):
    with pytest.raises(DataError, match=r"drop_columns=\['patient_id', 'kind'\]"):
        load_dataset(table, "all", drop_columns=["patient_id"])


def test_train_says_once_which_column_an_index_drops(tmp_path):
    """review14 R15: train printed "--drop-columns 1 drops column 'b'" twice (the run's record is
    made twice); once a command."""
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(60, 3))
    path.write_text("a,b,c\n" + "".join(",".join(f"{v:.3f}" for v in r) + "\n" for r in rows))
    argv = ["train", "vae", "--data", str(path), "--drop-columns", "1", "--epochs", "1"]
    with pytest.warns(UserWarning) as told:
        assert main([*argv, "--quiet", "--latent-dim", "1", "--out", str(tmp_path / "run")]) == 0
    said = [str(w.message) for w in told if "drops column" in str(w.message)]
    assert said == [f"{path}: drop_columns=[1] drops column 'b' (an index counts from 0)"]
