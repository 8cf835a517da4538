"""A model saved from a DataFrame records its column names (config.json's feature_names_in); the
command line reads a file's columns by place, so a file of those columns in another order, or of
other columns, is refused by every reader of it (readH H3: ``score`` of a saved PPCA's columns
reversed read 21.97 nats a row for 15.67, exit 0, where ``torchlvm.load(...).score`` refuses)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from torchlvm.cli import main
from torchlvm.models import PPCA


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(120, 5))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d", "e"])
    folder = tmp_path_factory.mktemp("saved") / "ppca"
    PPCA(latent_dim=2).fit(frame).save_pretrained(folder)
    return folder, frame


def _file(tmp_path: Path, frame: pd.DataFrame, name: str, *, header: bool = True) -> str:
    path = tmp_path / name
    frame.to_csv(path, index=False, header=header)
    return str(path)


COMMANDS = {
    "score": lambda run, data, out: ["score", run, "--data", data, "--out", f"{out}.csv"],
    "encode": lambda run, data, out: ["encode", run, "--data", data, "--out", f"{out}.npy"],
    "impute": lambda run, data, out: ["impute", run, "--data", data, "--out", f"{out}.csv"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_file_of_the_columns_in_another_order_is_refused(saved, tmp_path, capsys, command):
    folder, frame = saved
    argv = COMMANDS[command]
    reversed_ = _file(tmp_path, frame[frame.columns[::-1]], "reversed.csv")
    assert main(argv(str(folder), reversed_, tmp_path / "out")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("torchlvm: error: ")
    assert "holds the columns the model in" in err and "(column 1 is 'e', the model's 'a')" in err
    assert not list(tmp_path.glob("out*"))
    renamed = _file(tmp_path, frame.rename(columns={"c": "C"}), "renamed.csv")
    assert main(argv(str(folder), renamed, tmp_path / "out")) == 2
    assert "; not 'C'; it lacks 'c': feature_names_in in" in capsys.readouterr().err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_fitted_order_and_a_file_without_a_header_are_read(saved, tmp_path, command):
    folder, frame = saved
    argv = COMMANDS[command]
    assert main(argv(str(folder), _file(tmp_path, frame, "same.csv"), tmp_path / "one")) == 0
    headerless = _file(tmp_path, frame, "plain.csv", header=False)  # (read by place, as before)
    assert main(argv(str(folder), headerless, tmp_path / "two")) == 0


def test_the_refused_file_scored_otherwise_reads_another_density(saved, tmp_path):
    """The refusal's reason, measured: the reversed columns read by place score other numbers."""
    folder, frame = saved
    main(["score", str(folder), "--data", _file(tmp_path, frame, "same.csv"), "--out",
          str(tmp_path / "s.csv")])  # fmt: skip
    right = pd.read_csv(tmp_path / "s.csv").neg_log_p.mean()
    wrong = -PPCA.score(_loaded(folder), frame[frame.columns[::-1]].to_numpy())
    assert abs(wrong - right) > 1.0


def _loaded(folder: Path) -> PPCA:
    import torchlvm

    return torchlvm.load(folder)


def test_impute_of_the_right_file_says_nothing_of_feature_names(saved, tmp_path, capsys):
    """readH H5: the command line's impute called the scikit-learn face with a tensor, and a
    model with restored column names warned 'X does not have valid feature names, but PPCA was
    fitted with feature names' of a file whose header names them rightly."""
    import warnings

    folder, frame = saved
    holes = frame.copy()
    holes.iloc[0, 2] = np.nan
    data = _file(tmp_path, holes, "holes.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (a warning would fail the command)
        assert main(["impute", str(folder), "--data", data, "--out", str(tmp_path / "f.csv")]) == 0
    assert "feature names" not in capsys.readouterr().err
    filled = pd.read_csv(tmp_path / "f.csv")
    want = _loaded(folder).impute(holes)[0, 2]  # (the face, given the frame: its own check)
    assert filled.iloc[0, 2] == pytest.approx(want, abs=1e-3)
