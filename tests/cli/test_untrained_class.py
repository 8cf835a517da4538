"""A class that no row of a run's train split has (its rows all fell in the test split: a file
split at random, as every run's before a CVAE's was split by class, or a class of one row) is
not drawn as if learned: sample and transfer drew it from an embedding no training row touched,
and labelled the draws with its name, without a word (api14 item 5, userK #17)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data.files import FRACTIONS
from torchlvm.data.splits import split_indices


@pytest.fixture(scope="module")
def late_run(tmp_path_factory):
    """A CVAE on a table whose class 'late' has rows only in the test split: one row, which
    the split by class (classes in order, 'a' first) deals to the test split."""
    tmp = tmp_path_factory.mktemp("late")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    for before in range(40, 80):  # ("a" rows before it; then "late", then "z")
        labels = np.array([0] * before + [1] + [2] * (119 - before))
        if before in split_indices(120, FRACTIONS, 0, labels)[2]:
            break
    kinds = np.array(["a", "late", "z"], dtype=object)[labels]
    path = tmp / "late.csv"
    rows = (f"{a:.3f},{b:.3f},{c:.3f},{k}\n" for (a, b, c), k in zip(x, kinds, strict=True))
    path.write_text("x,y,z,kind\n" + "".join(rows))
    run = tmp / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "kind", "--latent-dim", "1"]
    assert main([*argv, "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    return path, run


def test_a_class_without_train_rows_is_refused_by_name(late_run, tmp_path, capsys):
    path, run = late_run
    capsys.readouterr()
    argv = ["sample", str(run), "--condition", "late", "--n", "2", "--out", str(tmp_path / "s.csv")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"torchlvm: error: --condition late: no row of the train split of {run} has class "
        "'late', so the model learned nothing of it; pick a class it was trained on ('a', "
        "'z'), or train on a file whose train split has rows of it\n"
    )
    assert not (tmp_path / "s.csv").exists()
    argv = ["transfer", str(run), "--data", str(path), "--from-condition", "a"]
    assert main([*argv, "--to-condition", "late", "--out", str(tmp_path / "t.csv")]) == 2
    assert "--to-condition late: no row of the train split" in capsys.readouterr().err


def test_all_leaves_out_a_class_without_train_rows_and_says_so(late_run, tmp_path, capsys):
    _, run = late_run
    out = tmp_path / "s.csv"
    argv = ["sample", str(run), "--condition", "all", "--n", "2", "--out", str(out)]
    with pytest.warns(UserWarning, match="--condition all leaves out 'late': no row of the run's"):
        assert main(argv) == 0
    kinds = [line.rsplit(",", 1)[1] for line in out.read_text().splitlines()[1:]]
    assert sorted(set(kinds)) == ["a", "z"]
