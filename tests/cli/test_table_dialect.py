"""Files a command writes for a run trained on a table follow the separator and decimal point of
the file they were read from, else of the run's training file: a European Excel's semicolons
and decimal commas (pandas' ``to_csv(sep=";", decimal=",")``) come back as they went in, so the
spreadsheet that wrote the file opens the rows in columns; a run recorded before reads as
commas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data.csv_dialect import sniff
from torchlvm.data.csv_table import read_csv
from torchlvm.data.table_schema import TableSchema

NAMES = ["a", "b", "c", "d"]


def _table(x: np.ndarray, kinds: list[str], *, sep: str, decimal: str) -> str:
    lines = [sep.join([*NAMES, "kind"])]
    for row, kind in zip(x, kinds, strict=True):
        lines.append(sep.join([repr(float(v)).replace(".", decimal) for v in row] + [kind]))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> tuple[Path, Path]:
    """The same 120 rows as a European file (e.csv) and as a comma file (c.csv)."""
    folder = tmp_path_factory.mktemp("dialect")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 1] + [0, 5, 50, 3]
    x += 0.1 * rng.normal(size=x.shape)
    kinds = ["low" if v < 0 else "high" for v in x[:, 0]]
    european, commas = folder / "e.csv", folder / "c.csv"
    european.write_text(_table(x, kinds, sep=";", decimal=","))
    commas.write_text(_table(x, kinds, sep=",", decimal="."))
    return european, commas


@pytest.fixture(scope="module")
def ppca(files, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ppca"
    argv = ["fit", "ppca", "--data", str(files[0]), "--drop-columns", "kind", "--latent-dim", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    return out


def _european(path: Path, width: int) -> list[list[str]]:
    """The rows of a file written with semicolons and decimal commas, ``width`` cells each."""
    rows = [line.split(";") for line in path.read_text().splitlines()]
    assert {len(row) for row in rows} == {width}
    numbers = [cell for row in rows[1:] for cell in row if cell.lstrip("-")[:1].isdigit()]
    assert numbers and all("." not in cell for cell in numbers)
    assert any("," in cell for cell in numbers)
    dialect = sniff(path.read_text(), tabs=False)  # read back as written
    assert dialect.delimiter == ";" and dialect.decimal == ","
    return rows


def test_the_run_records_its_files_separator_and_decimal_point(ppca):
    record = json.loads((ppca / "config.json").read_text())["data"]["table"]
    assert record["delimiter"] == ";" and record["decimal"] == ","
    before = {k: v for k, v in record.items() if k not in ("delimiter", "decimal")}
    old = TableSchema.from_dict(before)  # a run recorded before dialects were: commas
    assert old.dialect.delimiter == "," and old.dialect.decimal == "."


def test_sample_and_reconstruct_write_semicolons_and_decimal_commas(ppca, files, tmp_path):
    out = tmp_path / "s.csv"
    assert main(["sample", str(ppca), "--out", str(out), "--n", "5"]) == 0
    assert _european(out, 4)[0] == NAMES
    assert main(["score", str(ppca), "--data", str(out), "--out", str(tmp_path / "x.csv")]) == 0
    out = tmp_path / "r.csv"
    assert main(["reconstruct", str(ppca), "--data", str(files[0]), "--out", str(out)]) == 0
    assert len(_european(out, 4)) == 121
    out = tmp_path / "rc.csv"  # a comma file's rows come back with commas
    assert main(["reconstruct", str(ppca), "--data", str(files[1]), "--out", str(out)]) == 0
    assert read_csv(out).dialect.delimiter == "," and ";" not in out.read_text()


def test_score_writes_the_scored_files_separator_and_decimal_point(ppca, files, tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["score", str(ppca), "--data", str(files[0]), "--out", str(out)]) == 0
    rows = _european(out, 6)
    assert rows[0] == ["row", "line", "neg_log_p", "stderr", "observed", "rank"]


def test_encode_writes_semicolons_and_a_single_code_with_points(files, ppca, tmp_path):
    out = tmp_path / "z.csv"
    assert main(["encode", str(ppca), "--data", str(files[0]), "--out", str(out)]) == 0
    assert _european(out, 2)[0] == ["z1", "z2"]
    one = tmp_path / "one"  # K = 1: no semicolon on a line, so '3,14' would read as two cells
    argv = ["fit", "ppca", "--data", str(files[0]), "--drop-columns", "kind", "--latent-dim", "1"]
    assert main([*argv, "--out", str(one)]) == 0
    out = tmp_path / "z1.csv"
    assert main(["encode", str(one), "--data", str(files[0]), "--out", str(out)]) == 0
    assert "," not in out.read_text() and read_csv(out).values.shape == (120, 1)


def test_transfer_writes_a_table_cvaes_rows_as_its_file(files, tmp_path):
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(files[0]), "--label-column", "kind", "--epochs", "1"]
    assert main([*argv, "--latent-dim", "2", "--hidden", "8", "--quiet", "--out", str(run)]) == 0
    out = tmp_path / "t.csv"
    argv = ["transfer", str(run), "--from-condition", "low", "--to-condition", "high"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = _european(out, 5)
    assert rows[0] == [*NAMES, "kind"] and {row[-1] for row in rows[1:]} == {"high"}


@pytest.mark.parametrize(
    ("extra", "cell"),
    [("", lambda i: str(i)), ("note", lambda i: f"n{i % 7}"), ("extra", lambda i: f"{i / 3!r}")],
    ids=["pandas-index", "text-column", "numeric-column"],
)
def test_a_later_files_other_columns_are_not_read(files, ppca, tmp_path, capsys, extra, cell):
    """score, encode and impute take no --drop-columns, yet a later file with its pandas index,
    a text column or one more measure was refused with 'drop it (--drop-columns ...)'. The run
    reads its own columns; the file's others are left alone."""
    lines = files[1].read_text().splitlines()
    given = tmp_path / "more.csv"
    given.write_text(
        "\n".join([f"{extra},{lines[0]}"] + [f"{cell(i)},{r}" for i, r in enumerate(lines[1:])])
    )
    expected, out = tmp_path / "expected.csv", tmp_path / "s.csv"
    assert main(["score", str(ppca), "--data", str(files[1]), "--out", str(expected)]) == 0
    assert main(["score", str(ppca), "--data", str(given), "--out", str(out)]) == 0
    assert out.read_text() == expected.read_text()
    assert main(["encode", str(ppca), "--data", str(given), "--out", str(tmp_path / "z.csv")]) == 0
    capsys.readouterr()
    wrong = tmp_path / "wrong.csv"  # a column of the run's renamed is still named as missing
    wrong.write_text(given.read_text().replace(",a,", ",A,", 1))
    assert main(["score", str(ppca), "--data", str(wrong), "--out", str(tmp_path / "w.csv")]) == 2
    assert "lacks column 'a' that the run was trained on" in capsys.readouterr().err
