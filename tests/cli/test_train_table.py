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
    printed = capsys.readouterr().out
    assert "val/miwae" in printed
    line = "validation MIWAE bound L_5 (bound on log p(x_o), the observed cells; k=5 samples)"
    last = list(csv.DictReader((out / "metrics.csv").open()))[-1]["val/miwae"]
    assert f"{line}, last epoch: {float(last):.3f} nats/row" in printed, printed
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
    assert "its columns are a, b, d, the run's a, b, c" in capsys.readouterr().err
    _table(path, x, ["id", "a", "b", "c"])  # as it was: the run continues
    assert main([*resume, "--drop-columns", "id"]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["result"]["epochs"] == 2


def test_a_bernoulli_likelihood_on_a_table_names_a_fix_that_works(tmp_path: Path, capsys) -> None:
    """--likelihood bernoulli on a table said 'pass --binarize dynamic (or threshold)', and that
    failed on the standardized values ('needs values in [0, 1]'). A table of 0/1 columns is
    told --no-standardize, which trains; other values --likelihood gaussian; --binarize on a
    standardized table names --no-standardize up front."""
    rng = np.random.default_rng(0)
    binary = tmp_path / "b.csv"
    np.savetxt(binary, rng.random((120, 4)) < 0.3, fmt="%d", delimiter=",", header="a,b,c,d",
               comments="")  # fmt: skip
    real = tmp_path / "r.csv"
    np.savetxt(real, rng.normal(size=(120, 3)) * 10, delimiter=",", header="a,b,c", comments="")

    def train(path: Path, *flags: str) -> tuple[int, str]:
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        argv = ["train", "vae", "--data", str(path), "--likelihood", "bernoulli", *flags]
        code = main([*argv, "--epochs", "1", "--latent-dim", "2", "--quiet", "--out", str(out)])
        return code, capsys.readouterr().err

    code, err = train(binary)
    assert code == 2 and "0/1 columns are standardized" in err and "--no-standardize" in err
    assert train(binary, "--no-standardize")[0] == 0
    code, err = train(real)
    assert code == 2 and "pass --likelihood gaussian (the default for tables)" in err
    assert "--binarize" not in err
    code, err = train(binary, "--binarize", "dynamic")
    assert code == 2 and "a table is standardized by default" in err
    assert "--no-standardize as well" in err
    assert train(binary, "--binarize", "threshold", "--no-standardize")[0] == 0
    # an autoencoder's Bernoulli cross-entropy took standardized values (-2..4) as targets
    argv = ["train", "ae", "--data", str(real), "--likelihood", "bernoulli", "--epochs", "1"]
    assert main([*argv, "--quiet", "--out", str(tmp_path / "ae")]) == 2
    assert "pass --likelihood gaussian (the default for tables)" in capsys.readouterr().err


def test_a_regression_target_as_label_column_is_named_as_such(tmp_path: Path, capsys) -> None:
    """sklearn's diabetes as CSV, `train cvae --label-column target`: its target (25..346) was
    told 'renumber the classes 0..C-1', which makes 200 classes of a measurement; with `train
    vae` or `fit ppca` it trained, and evaluate's probes then listed 44 classes of one row. Every
    model is refused up front: a measured quantity, to keep as a feature or drop."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    whole, fractional = tmp_path / "whole.csv", tmp_path / "fractional.csv"
    for path, target in ((whole, rng.integers(25, 347, 200)), (fractional, rng.random(200))):
        np.savetxt(
            path,
            np.column_stack([x, target]),
            delimiter=",",
            header="a,b,c,target",
            comments="",
            fmt="%.1f" if path == whole else "%.18e",
        )  # pandas writes 151.0
    measured = "so it is a measured quantity (such as a regression target), not classes; keep it "
    fix = "as a feature (leave out --label-column) or leave it out (--drop-columns target)"
    train = ["--epochs", "1", "--quiet"]
    for command in (["train", "cvae", *train], ["train", "vae", *train], ["fit", "ppca"]):
        for path in (whole, fractional):
            argv = [*command, "--data", str(path), "--label-column", "target", "--latent-dim", "1"]
            assert main([*argv, "--out", str(tmp_path / "r")]) == 2
            err = capsys.readouterr().err
            assert measured + fix in err, err
    assert not (tmp_path / "r").exists()
    assert main(["train", "vae", "--data", str(whole), "--epochs", "1", "--quiet", "--out",
                 str(tmp_path / "v")]) == 0  # fmt: skip


def test_dropped_columns_may_be_named_with_spaces_or_commas(tmp_path: Path) -> None:
    """`--drop-columns customer_id city` (as --hidden takes its widths) was refused by argparse
    ('unrecognized arguments: city'); both spellings now drop the same columns."""
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["customer_id", "city", "a", "b", "c"])
        writer.writerows([i, "xy"[i % 2], *rng.normal(size=3).round(3)] for i in range(40))
    schemas = []
    for out, names in (("spaces", ["customer_id", "city"]), ("commas", ["customer_id,city"])):
        argv = ["fit", "ppca", "--data", str(path), "--drop-columns", *names, "--latent-dim", "1"]
        assert main([*argv, "--out", str(tmp_path / out)]) == 0
        record = json.loads((tmp_path / out / "config.json").read_text())
        schemas.append(TableSchema.from_dict(record["data"]["table"]))
    assert schemas[0].columns == schemas[1].columns == ("a", "b", "c")
    assert schemas[0].drop_columns == schemas[1].drop_columns == ("customer_id", "city")
