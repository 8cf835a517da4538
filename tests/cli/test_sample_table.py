"""``torchlvm sample RUN --out FILE.csv`` of a CVAE trained on a table writes its rows as the
training file writes them: the label column where the file has it, each class as the file
writes it (userG #9: 'kind' came last and a class written 2.0 came out '2')."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from torchlvm import cli
from torchlvm.data.table_schema import TableSchema


def _table(path, header, grade, delimiter=",", decimal="."):
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        for i in range(120):
            a, b = rng.normal(size=2) + i % 3
            cells = [f"{a:.3f}", grade(i % 3), f"{b:.3f}"]
            writer.writerow([c.replace(".", decimal) for c in cells])


@pytest.mark.parametrize(
    ("grade", "delimiter", "decimal", "written"),
    [
        (lambda k: f"{k + 1}.0", ",", ".", {"1.0", "2.0", "3.0"}),
        (lambda k: f"{k}.0", ",", ".", {"0.0", "1.0", "2.0"}),
        (lambda k: f"{k + 1}.0", ";", ",", {"1,0", "2,0", "3,0"}),
        (lambda k: "abc"[k], ",", ".", {"a", "b", "c"}),
        (lambda k: ("01", "02", "10")[k], ",", ".", {"01", "02", "10"}),  # (userU #1: 1, 2, 10)
    ],
    ids=["codes-1-to-3", "codes-0-to-2", "decimal-commas", "text", "zero-padded-codes"],
)
def test_rows_are_written_in_the_training_files_column_order_and_label_form(
    tmp_path, capsys, grade, delimiter, decimal, written
):
    path = tmp_path / "t.csv"
    _table(path, ["a", "grade", "b"], grade, delimiter, decimal)
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "grade", "--epochs", "1"]
    assert (
        cli.main([*argv, "--latent-dim", "2", "--hidden", "8", "--quiet", "--out", str(run)]) == 0
    )
    out = tmp_path / "s.csv"
    capsys.readouterr()
    assert cli.main(["sample", str(run), "--n", "30", "--out", str(out)]) == 0
    rows = list(csv.reader(out.open(newline=""), delimiter=delimiter))
    assert rows[0] == ["a", "grade", "b"]
    assert {row[1] for row in rows[1:]} <= written and len(rows) == 31
    (drawn,) = [s for s in capsys.readouterr().out.splitlines() if "classes drawn" in s]
    assert all(f" {name} 0.333 (" in drawn for name in written), drawn  # (review16 R14)
    # (and the rows read back into the run, each of its class)
    assert cli.main(["score", str(run), "--data", str(out), "--out", str(tmp_path / "r.csv")]) == 0
    assert "no class" not in capsys.readouterr().out


def test_a_run_recorded_before_the_labels_place_writes_it_last(tmp_path):
    record = TableSchema(("a", "b"), label_column="grade").to_dict()
    schema = TableSchema.from_dict(record)
    assert "label_at" not in record and schema.label_at is None and schema.label_form is None


def test_sample_does_not_repeat_the_training_files_warnings(tmp_path, capsys):
    """userK #9: sample re-read the training file for its columns' ranges and repeated train's
    warnings about it (a rare class, rows of no label), which the user can no longer act on."""
    import warnings

    path = tmp_path / "t.csv"
    _table(path, ["a", "grade", "b"], lambda k: "abc"[k])
    text = path.read_text().splitlines()
    text[5] = text[5].replace(",a,", ",rare,").replace(",b,", ",rare,").replace(",c,", ",rare,")
    path.write_text("\n".join(text) + "\n")
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "grade", "--epochs", "1"]
    with pytest.warns(UserWarning, match="'rare' 1 row"):
        assert cli.main([*argv, "--latent-dim", "2", "--quiet", "--out", str(run)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "s.csv")]) == 0


def test_an_arrays_labels_of_whole_number_codes_are_integers(tmp_path, capsys):
    """userU #10: sample --npy of a CVAE on codes 1, 2, 10 wrote its labels file as text
    ('10', dtype <U2), where the CSV wrote numbers and an image run's labels are int64: y == 10
    on it was False. Codes are written as integers; text classes stay text."""
    for grade, want in ((lambda k: ("1", "2", "10")[k], [1, 2, 10]),
                        (lambda k: "abc"[k], ["a", "b", "c"])):  # fmt: skip
        path = tmp_path / "t.csv"
        _table(path, ["a", "grade", "b"], grade)
        run = tmp_path / f"cvae{want[0]}"
        argv = ["train", "cvae", "--data", str(path), "--label-column", "grade", "--epochs", "1"]
        assert cli.main([*argv, "--latent-dim", "2", "--quiet", "--out", str(run)]) == 0
        out, npy = tmp_path / "s.csv", tmp_path / "s.npy"
        argv = ["sample", str(run), "--condition", "all", "--n", "1", "--out", str(out)]
        assert cli.main([*argv, "--npy", str(npy), "--overwrite"]) == 0
        labels = np.load(tmp_path / "s.labels.npy")
        assert labels.tolist() == want and labels.dtype.kind == ("i" if want[0] == 1 else "U")


def test_a_classs_rows_are_the_same_whichever_other_classes_are_asked_for(tmp_path):
    """review16 R15 (userU #10): one source drew every class in turn, so the seed-3 rows of
    class 'b' differed between '--condition b', '--condition all' and '--condition c b'. Each
    class draws from a source of its own, as images do."""
    path = tmp_path / "t.csv"
    _table(path, ["a", "grade", "b"], lambda k: "abc"[k])
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "grade", "--epochs", "1"]
    assert cli.main([*argv, "--latent-dim", "2", "--quiet", "--out", str(run)]) == 0
    drawn = []
    for asked in (["b"], ["all"], ["c", "b"]):
        out = tmp_path / f"s{len(drawn)}.csv"
        argv = ["sample", str(run), "--condition", *asked, "--n", "5", "--seed", "3"]
        assert cli.main([*argv, "--out", str(out)]) == 0
        rows = list(csv.reader(out.open(newline="")))[1:]
        drawn.append([row for row in rows if row[1] == "b"])
    assert len(drawn[0]) == 5 and drawn[1] == drawn[0] and drawn[2] == drawn[0]
