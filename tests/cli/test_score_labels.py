"""A table's rows of no label in score and reconstruct (review9): score writes every row with its
label cell as written (PPCA/VAE scores need no label); reconstruct leaves them out, as training
does, and the other rows keep their own row and line."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest

from torchlvm.cli import main


def _table(path, labels):
    x = np.random.default_rng(0).normal(size=(len(labels), 3))
    rows = [f"{a:.3f},{b:.3f},{c:.3f},{k}" for (a, b, c), k in zip(x, labels, strict=True)]
    path.write_text("a,b,c,k\n" + "\n".join(rows) + "\n")
    return path


def test_rows_of_no_label_are_scored_and_reconstructed_as_training_reads_them(tmp_path, capsys):
    train = _table(tmp_path / "train.csv", ["u", "v"] * 20)
    run = tmp_path / "run"
    fit = ["fit", "ppca", "--data", str(train), "--label-column", "k", "--latent-dim", "1"]
    assert main([*fit, "--out", str(run)]) == 0
    data = _table(tmp_path / "new.csv", ["u", "", "v", "u"])
    assert main(["score", str(run), "--data", str(data), "--out", str(tmp_path / "s.csv")]) == 0
    scored = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["line"] for r in scored] == ["2", "3", "4", "5"]
    assert [r["k"] for r in scored] == ["u", "", "v", "u"] and all(r["neg_log_p"] for r in scored)
    out = tmp_path / "r.csv"
    with pytest.warns(UserWarning, match=r"1 row has no label in column 'k' \(line 3\)"):
        assert main(["reconstruct", str(run), "--data", str(data), "--out", str(out)]) == 0
    rebuilt = list(csv.DictReader(out.open()))
    assert [(r["row"], r["line"], r["k"]) for r in rebuilt] == [
        ("1", "2", "u"), ("3", "4", "v"), ("4", "5", "u")
    ]  # fmt: skip


def test_the_written_columns_quote_a_name_with_a_comma(tmp_path, capsys):
    """table10's finding: "wrote FILE: row, line, Total, USD, neg_log_p" read as two columns."""
    x = np.random.default_rng(0).normal(size=(40, 3))
    path = tmp_path / "t.csv"
    rows = [f"{i},{a:.3f},{b:.3f},{c:.3f}" for i, (a, b, c) in enumerate(x)]
    path.write_text('"Total, USD",a,b,c\n' + "\n".join(rows) + "\n")
    run = tmp_path / "run"
    fit = ["fit", "ppca", "--data", str(path), "--drop-columns", "0", "--latent-dim", "1"]
    assert main([*fit, "--out", str(run)]) == 0
    out = tmp_path / "s.csv"
    assert main(["score", str(run), "--data", str(path), "--out", str(out)]) == 0
    assert "'row', 'line', 'Total, USD', 'neg_log_p'," in capsys.readouterr().out
    assert next(csv.reader(out.open()))[2] == "Total, USD"


def test_a_cvae_scores_a_later_files_labels_named_as_condition_names_them(tmp_path, capsys):
    """userJ #19 / userK #7: a CVAE trained on labels written decomposed (NFD, as macOS writes
    'Kätze') left every row of an NFC copy unscored ("no class the run was trained on"), and a
    later export's 'HUND' for 'hund', while `--condition` takes both: a file's label cell and its
    label column's header name a class by that one rule (written so, else as NFC case-folded)."""
    import unicodedata

    def nfd(text: str) -> str:
        return unicodedata.normalize("NFD", text)

    x = np.random.default_rng(0).normal(size=(40, 3))
    labels = [nfd("Kätze"), "hund"] * 20
    rows = [f"{a:.3f},{b:.3f},{c:.3f},{k}" for (a, b, c), k in zip(x, labels, strict=True)]
    (tmp_path / "t.csv").write_text(f"a,b,c,{nfd('Tierärt')}\n" + "\n".join(rows) + "\n")
    train = ["train", "cvae", "--data", str(tmp_path / "t.csv"), "--label-column", nfd("Tierärt")]
    assert main([*train, "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    later = [r.replace(nfd("Kätze"), "Kätze").replace("hund", "HUND") for r in rows[:6]]
    (tmp_path / "later.csv").write_text("a,b,c,Tierärt\n" + "\n".join(later) + "\n")
    capsys.readouterr()
    argv = ["score", str(tmp_path / "run"), "--data", str(tmp_path / "later.csv"), "--out"]
    assert main([*argv, str(tmp_path / "s.csv"), "--samples", "3"]) == 0
    assert "no class the run was trained on" not in capsys.readouterr().out
    scored = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [r["Tierärt"] for r in scored] == ["Kätze", "HUND"] * 3  # (as the file wrote them)
    assert all(r["neg_log_p_given_Tierärt"] for r in scored)


def test_a_headerless_cvae_run_scores_a_headered_file_by_its_own_classes(tmp_path, capsys):
    """A CVAE fit on a file without a header, given the same rows with one, is read by
    position: its label column was carried under the header's name, not found, and score fell
    back to the mixture saying 'the file has no column 3' (readA #12): both score alike."""
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    table = wine.iloc[:, :5].assign(grade=wine["target"] + 1.0)
    table.insert(1, "id", range(1, len(table) + 1))
    table.to_csv(tmp_path / "named.csv", index=False)
    table.to_csv(tmp_path / "bare.csv", index=False, header=False)
    run = tmp_path / "run"
    train = ["train", "cvae", "--data", tmp_path / "bare.csv", "--label-column", "6"]
    train += ["--drop-columns", "1", "--epochs", "1", "--quiet", "--out", run]
    assert main([str(a) for a in train]) == 0
    scores = {}
    for name in ("bare", "named"):
        out = tmp_path / f"{name}s.csv"
        assert (
            main([str(a) for a in ["score", run, "--data", tmp_path / f"{name}.csv", "--out", out]])
            == 0
        )
        with open(tmp_path / f"{name}s.csv", newline="") as f:
            rows = list(csv.reader(f))
        scores[name] = [row[4] for row in rows[1:]], rows[0][4]
    assert "each row's own class, from its column 'grade'" in capsys.readouterr().out
    assert scores["bare"][0] == scores["named"][0]
    assert scores["named"][1] == "neg_log_p_given_grade"


@pytest.mark.parametrize("label", ["column 4", "3"], ids=["by-its-name", "by-index"])
def test_a_headerless_files_label_column_is_taken_and_written_by_its_name(tmp_path, label):
    """userK #16: the README names a headerless file's columns 'column 1'.., but
    `--label-column "column 14"` was refused ('not a column name'), and score wrote the label
    column under the name '--label-column 13'. The name is taken, and written."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 3))
    path = tmp_path / "bare.csv"
    path.write_text(
        "".join(",".join(f"{v:.3f}" for v in r) + f",{i % 2}\n" for i, r in enumerate(x))
    )
    run, out = tmp_path / "run", tmp_path / "s.csv"
    fit = ["fit", "ppca", "--data", path, "--label-column", label, "--latent-dim", "1"]
    assert main([str(a) for a in [*fit, "--out", run]]) == 0
    assert main([str(a) for a in ["score", run, "--data", path, "--out", out]]) == 0
    assert out.read_text().splitlines()[0].startswith("row,line,column 4,neg_log_p,")


@pytest.mark.parametrize("model", ["ppca", "cvae"], ids=["random-split", "split-by-class"])
def test_a_split_of_a_table_with_rows_of_no_label_names_the_rows_it_read(tmp_path, model):
    """readG G1: a file of 150 rows, 3 of no label (left out by every read), read for its test
    split: encode's id cells named other rows than those it encoded (0 of 15 right), since the
    test split of all 150 rows is 15 rows too, and a CVAE's split by class took no labels from
    a file with an empty one (split at random then)."""
    rng = np.random.default_rng(5)
    kinds = rng.choice(["x", "y", "zz"], p=[0.6, 0.3, 0.1], size=150).astype(object)
    kinds[[3, 40, 77]] = ""
    x = rng.normal(size=(150, 3))
    cells = (f"r{i},{a:.4f},{b:.4f},{c:.4f},{kinds[i]}\n" for i, (a, b, c) in enumerate(x))
    path = tmp_path / "t.csv"
    path.write_text("id,a,b,c,kind\n" + "".join(cells))
    run, codes = tmp_path / "run", tmp_path / "codes.csv"
    argv = [
        "--data",
        str(path),
        "--drop-columns",
        "id",
        "--label-column",
        "kind",
        "--out",
        str(run),
    ]
    argv += ["--latent-dim", "1"]
    argv = ["fit", "ppca", *argv] if model == "ppca" else ["train", "cvae", *argv, "--epochs", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (3 rows have no label)
        assert main([*argv, "--quiet"] if model == "cvae" else argv) == 0
    _check_encoded_ids(run, codes, x)


def test_a_split_of_a_table_with_rows_of_no_value_names_the_rows_it_read(tmp_path):
    """readG G1, the same for rows of no value in any feature column: a run made
    --allow-missing leaves them out of its own file as training did, and encode's id cells
    named other rows than those it encoded (1 of 15 right), the test split of all 150 rows
    being 15 rows too."""
    x = np.random.default_rng(5).normal(size=(150, 3))
    x[[10, 20, 30]] = np.nan
    x[::9, 1] = np.nan
    cells = [",".join("" if np.isnan(v) else f"{v:.4f}" for v in row) for row in x]
    path = tmp_path / "t.csv"
    path.write_text("id,a,b,c\n" + "".join(f"r{i},{row}\n" for i, row in enumerate(cells)))
    run, codes = tmp_path / "run", tmp_path / "codes.csv"
    argv = ["train", "vae", "--data", str(path), "--drop-columns", "id", "--allow-missing"]
    argv += ["--latent-dim", "1", "--epochs", "1", "--quiet", "--out", str(run)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (3 rows have no value)
        assert main(argv) == 0
    _check_encoded_ids(run, codes, x)


def _check_encoded_ids(run, codes, x) -> None:
    """encode RUN --split test names by its id cells the rows of x it encoded: the test split's,
    15 of them."""
    from torchlvm import run as _run

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the file's rows of no label or value, as training)
        assert main(["encode", str(run), "--split", "test", "--out", str(codes)]) == 0
        test = _run.load_split(_run.load_run(run), None, "test")
    named = [int(r["id"][1:]) for r in csv.DictReader(codes.open())]
    assert len(named) == len(test) == 15
    read = test.standardizer.inverse(test.x.double()).numpy()
    np.testing.assert_allclose(x[named], read, atol=1e-3)
