"""A class that no row of a run's train split has (its rows all fell in the test split: a file
split at random, as every run's was before a CVAE's split by class) is not drawn as if learned:
sample and transfer drew it from an embedding no training row touched, and labelled the draws
with its name, without a word (api14 item 5, userK #17)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data.files import FRACTIONS
from torchlvm.data.splits import split_indices


@pytest.fixture(scope="module")
def late_run(tmp_path_factory):
    """A CVAE on a table whose class 'late' has rows only in the test split: a run made before
    splits were by class (its record without "stratify", its train counts those of the random
    split it read), whose 4 'late' rows the random split dealt to the test split."""
    import json

    from torchlvm import run as _run

    tmp = tmp_path_factory.mktemp("late")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 3))
    kinds = np.array(["a", "z"])[rng.integers(0, 2, size=120)].astype(object)
    kinds[split_indices(120, FRACTIONS, 0)[2][:4]] = "late"
    path = tmp / "late.csv"
    rows = (f"{a:.3f},{b:.3f},{c:.3f},{k}\n" for (a, b, c), k in zip(x, kinds, strict=True))
    path.write_text("x,y,z,kind\n" + "".join(rows))
    run = tmp / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "kind", "--latent-dim", "1"]
    assert main([*argv, "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    config["data"]["options"].pop("stratify")  # (as an earlier run records its data)
    (run / "config.json").write_text(json.dumps(config))
    train = _run.load_split(_run.load_run(run), None, "train")
    names = config["data"]["class_names"]
    counts = np.bincount(train.y.numpy(), minlength=len(names))
    config["data"]["class_counts"] = dict(zip(names, counts.tolist(), strict=True))
    (run / "config.json").write_text(json.dumps(config))
    return path, run


def test_a_split_by_class_gives_a_class_of_one_row_a_train_row():
    """userU #9: the split by class dealt a class of one row to the test split (404 of 2,000
    seeds put one after a class of 1..169 rows there), and a CVAE learned nothing of it."""
    rng = np.random.default_rng(0)
    for seed in range(200):
        before = int(rng.integers(1, 170))
        labels = np.array([0] * before + [1] + [2] * (177 - before))
        parts = split_indices(178, FRACTIONS, seed, labels)
        assert before in parts[0] and [len(p) for p in parts] == [142, 18, 18]


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
