"""A table's rows of no label in score and reconstruct (review9): score writes every row with its
label cell as written (PPCA/VAE scores need no label); reconstruct leaves them out, as training
does, and the other rows keep their own row and line."""

from __future__ import annotations

import csv

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
    with pytest.warns(UserWarning, match=r"1 row has no label in column 4 \('k'\) \(line 3\)"):
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
