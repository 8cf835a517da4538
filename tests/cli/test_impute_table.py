"""`torchlvm impute RUN --data FILE.csv --out FILLED.csv`: every missing cell filled (PPCA's exact
conditional mean in the file's units; a VAE's importance-weighted mean), every other cell copied
as written, the same header and columns; --draws N stacks N imputations."""

from __future__ import annotations

import csv
import json
import re
import shlex
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import torchlvm
from torchlvm.cli import main
from torchlvm.data.table_schema import TableSchema
from torchlvm.models.vae import VAE, VAEConfig

NAMES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 0.1] + [0, 5, 50, 7]
    x = x + 0.05 * rng.normal(size=x.shape)
    holes = rng.random(x.shape) < 0.2
    path = folder / "t.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", *NAMES])
        for i, row in enumerate(x):
            cells = ["NA" if h else f"{v:.4f}" for v, h in zip(row, holes[i], strict=True)]
            writer.writerow([f"r{i}", *cells])
    return path


@pytest.fixture(scope="module")
def ppca_run(table: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "ppca"
    argv = ["fit", "ppca", "--data", str(table), "--latent-dim", "2", "--method", "em"]
    assert main([*argv, "--allow-missing", "--drop-columns", "name", "--out", str(out)]) == 0
    return out


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_ppca_fills_every_missing_cell_and_copies_the_rest(table, ppca_run, tmp_path):
    out = tmp_path / "filled.csv"
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(out)]) == 0
    given, filled = _read(table), _read(out)
    assert filled[0] == given[0] and len(filled) == len(given)
    missing = np.array([[c == "NA" for c in row[1:]] for row in given[1:]])
    for old, new, holes in zip(given[1:], filled[1:], missing, strict=True):
        assert all(o == n for o, n, h in zip(old[1:], new[1:], holes, strict=True) if not h)
        assert new[0] == old[0]
    values = np.array([[float(c) for c in row[1:]] for row in filled[1:]])
    schema = TableSchema.from_dict(
        json.loads((ppca_run / "config.json").read_text())["data"]["table"]
    )
    x = np.array([[np.nan if c == "NA" else float(c) for c in row[1:]] for row in given[1:]])
    z = schema.standardizer.transform(torch.tensor(x))
    expected = schema.standardizer.inverse(torch.tensor(torchlvm.load(ppca_run).impute(z))).numpy()
    np.testing.assert_allclose(values[missing], expected[missing], rtol=1e-5, atol=1e-4)


def test_a_semicolon_table_with_decimal_commas_is_filled_and_written_as_it_came(
    table, ppca_run, tmp_path
):
    european = tmp_path / "e.csv"  # pandas' to_csv(sep=";", decimal=","), a European Excel's
    european.write_text(table.read_text().replace(",", ";").replace(".", ","))
    out, expected = tmp_path / "filled.csv", tmp_path / "expected.csv"
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(expected)]) == 0
    assert main(["impute", str(ppca_run), "--data", str(european), "--out", str(out)]) == 0
    given = european.read_text().splitlines()
    filled = out.read_text().splitlines()
    assert filled == expected.read_text().replace(",", ";").replace(".", ",").splitlines()
    assert filled[0] == given[0] and filled[1].split(";")[0] == given[1].split(";")[0]


def test_a_tab_separated_table_is_filled_as_a_tsv(table, ppca_run, tmp_path, capsys):
    tabs = tmp_path / "t.tsv"  # was taken for images: 'trained on a table, not on images'
    tabs.write_text(table.read_text().replace(",", "\t"))
    out, expected = tmp_path / "filled.tsv", tmp_path / "expected.csv"
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(expected)]) == 0
    assert main(["impute", str(ppca_run), "--data", str(tabs), "--out", str(out)]) == 0
    assert out.read_text() == expected.read_text().replace(",", "\t")
    capsys.readouterr()
    argv = ["impute", str(ppca_run), "--data", str(tabs), "--out", str(tmp_path / "f.csv")]
    assert main(argv) == 2
    assert "--out must name a .tsv file" in capsys.readouterr().err


def test_a_unix_table_comes_back_byte_for_byte_but_its_filled_cells(table, ppca_run, tmp_path):
    """impute wrote a pandas file's LF line ends as CRLF and dropped its quotes (csv.writer's
    defaults): every byte but the filled cells' is the file's, its line ends, quoting and
    blank lines; and the files written from it end their lines as it does."""
    lines = table.read_bytes().decode().splitlines()
    lines[2] = ",".join(f'"{c}"' for c in lines[2].split(","))  # to_csv(quoting=QUOTE_ALL)
    given = tmp_path / "unix.csv"
    given.write_bytes(("\n".join(lines[:50]) + "\n\n" + "\n".join(lines[50:]) + "\n").encode())
    out = tmp_path / "filled.csv"
    assert main(["impute", str(ppca_run), "--data", str(given), "--out", str(out)]) == 0
    before, after = given.read_bytes().split(b"\n"), out.read_bytes().split(b"\n")
    assert b"\r" not in out.read_bytes() and len(before) == len(after) == 123
    for old, new in zip(before, after, strict=True):
        holes = [c == b"NA" or c == b'"NA"' for c in old.split(b",")]
        cells = zip(old.split(b","), new.split(b","), holes, strict=True)
        assert all(o == n for o, n, hole in cells if not hole) and (any(holes) or old == new)
    assert after[2].startswith(b'"r1",') and after[50] == b""
    codes = tmp_path / "z.csv"
    assert main(["encode", str(ppca_run), "--data", str(given), "--out", str(codes)]) == 0
    assert codes.read_bytes().count(b"\n") == 121 and b"\r" not in codes.read_bytes()


def test_impute_reads_and_decodes_the_table_once(table, ppca_run, tmp_path, monkeypatch):
    from torchlvm.data import csv_table

    reads: list[Path] = []
    read_text = csv_table.read_text

    def counted(path: Path, encoding: str | None = None) -> tuple[str, str]:
        reads.append(path)
        return read_text(path, encoding)

    monkeypatch.setattr(csv_table, "read_text", counted)
    out = tmp_path / "filled.csv"
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(out)]) == 0
    assert reads == [table]


def test_the_filled_file_is_the_text_read_not_the_file_read_again(tmp_path):
    """impute read and decoded the file twice (its cells, then its text to splice); the text
    is kept with the cells: a file changed meanwhile does not change what is written, and
    where the scan cannot find the rows read in a text, the cells read are written anew in
    the file's dialect and line end, not a splice."""
    from dataclasses import replace

    from torchlvm.cli._impute_table import _write
    from torchlvm.data.csv_table import read_csv

    data = tmp_path / "t.csv"
    data.write_bytes(b'a;b\r\n"1,5";\r\n\r\n3;4')
    table = read_csv(data, allow_empty=True, keep_cells=True)
    data.write_bytes(b"a;b\n9;9\n")
    out = tmp_path / "filled.csv"
    _write(out, table, [{(0, 1): "2,25"}])
    assert out.read_bytes() == b'a;b\r\n"1,5";2,25\r\n\r\n3;4'
    _write(out, replace(table, text="a;b\n9;9\n"), [{(0, 1): "2,25"}])
    assert out.read_bytes() == b"a;b\r\n1,5;2,25\r\n3;4\r\n"


def test_draws_stack_multiple_imputations(table, ppca_run, tmp_path):
    out = tmp_path / "draws.csv"
    argv = ["impute", str(ppca_run), "--data", str(table), "--out", str(out), "--draws", "3"]
    assert main(argv) == 0
    rows = _read(out)
    assert rows[0] == ["draw", "name", *NAMES] and len(rows) == 1 + 3 * 120
    assert [r[0] for r in rows[1::120]] == ["1", "2", "3"]
    first = [r for r in rows[1:] if r[1] == "r0"]
    assert len(first) == 3


def test_a_vae_run_fills_the_table(table, ppca_run, tmp_path, capsys):
    record = json.loads((ppca_run / "config.json").read_text())["data"]
    torch.manual_seed(0)
    vae = VAE(VAEConfig(4, latent_dim=2, hidden=(8,), likelihood="gaussian", variance="diagonal"))
    vae.save_pretrained(tmp_path / "vae", data=record)
    out = tmp_path / "filled.csv"
    argv = ["impute", str(tmp_path / "vae"), "--data", str(table), "--out", str(out)]
    assert main([*argv, "--samples", "50"]) == 0
    # (the draws' proposal, since b7f44f4: it said "50 samples from q(z | x̃)"; readF F4)
    drawn = "50 samples from the defensive mixture ½ q(z | x̃) + ½ q widened 5× (Mattei"
    assert drawn in capsys.readouterr().out
    values = np.array([[float(c) for c in row[1:]] for row in _read(out)[1:]])
    assert np.isfinite(values).all()
    # written as the file writes its numbers, 2 decimals finer: 4 to 6 (6.9270, not 6.927)
    filled = [
        new
        for old_row, new_row in zip(_read(table)[1:], _read(out)[1:], strict=True)
        for old, new in zip(old_row[1:], new_row[1:], strict=True)
        if old == "NA"
    ]
    assert filled and all(re.fullmatch(r"-?\d+\.\d{4,6}", c) for c in filled), filled[:3]


@pytest.fixture(scope="module")
def empty_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A table to fill whose rows 2 and 4 have no observed cell (row 4 keeps its name)."""
    path = tmp_path_factory.mktemp("empty") / "e.csv"
    path.write_text("name,a,b,c,d\nr0,0.1,5.2,40,7.1\n,,,,\nr2,,3,,\nr3,,,,\n")
    return path


def _schema(run: Path) -> TableSchema:
    return TableSchema.from_dict(json.loads((run / "config.json").read_text())["data"]["table"])


def test_a_row_with_no_observed_cell_gets_ppcas_mean(empty_rows, ppca_run, tmp_path, capsys):
    """The conditional given nothing is the marginal: PPCA's mean μ, in the file's units."""
    out = tmp_path / "filled.csv"
    assert main(["impute", str(ppca_run), "--data", str(empty_rows), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "filled 11 missing cells in 3 of 4 rows" in printed
    assert "  2 rows had no observed cell: filled from the model's marginal (its mean μ)" in printed
    rows = _read(out)
    assert rows[2][0] == "" and rows[4][0] == "r3" and rows[1] == _read(empty_rows)[1]
    mean = _schema(ppca_run).standardizer.inverse(torchlvm.load(ppca_run).mu[None])[0].numpy()
    for i in (2, 4):
        np.testing.assert_allclose([float(c) for c in rows[i][1:]], mean, rtol=1e-9)


def test_a_row_with_no_observed_cell_gets_a_vaes_prior_mean(empty_rows, ppca_run, tmp_path, capsys):
    """A VAE fills it with E[x] under its prior: the importance-weighted mean with weights
    p(z)/q(z | 0), against a plain Monte Carlo mean of E[x | z] over z ~ p(z)."""
    torch.manual_seed(0)
    vae = VAE(VAEConfig(4, latent_dim=2, hidden=(8,), likelihood="gaussian", variance="diagonal"))
    vae.save_pretrained(
        tmp_path / "vae", data=json.loads((ppca_run / "config.json").read_text())["data"]
    )
    out = tmp_path / "filled.csv"
    argv = ["impute", str(tmp_path / "vae"), "--data", str(empty_rows), "--out", str(out)]
    assert main([*argv, "--samples", "20000"]) == 0
    assert (
        "2 rows had no observed cell: filled from the model's marginal (E[x] under its prior"
        in (capsys.readouterr().out)
    )
    with torch.no_grad():
        z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(1))
        prior_mean = vae.decode(z).mean.double().mean(0)
    expected = _schema(ppca_run).standardizer.inverse(prior_mean).numpy()
    scale = np.array(_schema(ppca_run).standardizer.scale)
    for i in (2, 4):  # within 0.02 standard deviations of each column
        got = np.array([float(c) for c in _read(out)[i][1:]])
        np.testing.assert_allclose((got - expected) / scale, 0, atol=0.02)


def test_a_column_missing_from_every_row_is_filled(ppca_run, tmp_path, capsys):
    """Filled from the other columns (before, refused with a fix, --drop-columns, that impute
    does not take)."""
    path = tmp_path / "no-b.csv"
    path.write_text("name,a,b,c,d\nr0,0.1,,40,7.1\nr1,0.3,,,7\n")
    out = tmp_path / "filled.csv"
    assert main(["impute", str(ppca_run), "--data", str(path), "--out", str(out)]) == 0
    assert "filled 3 missing cells in 2 of 2 rows" in capsys.readouterr().out
    x = torch.tensor([[0.1, np.nan, 40, 7.1], [0.3, np.nan, np.nan, 7]], dtype=torch.float64)
    schema = _schema(ppca_run)
    expected = schema.standardizer.inverse(
        torch.tensor(torchlvm.load(ppca_run).impute(schema.standardizer.transform(x)))
    )
    got = torch.tensor([[float(c) for c in row[1:]] for row in _read(out)[1:]], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)


def test_empty_cells_name_the_fix_that_exists_and_ppca_compares_the_observed(
    table, ppca_run, tmp_path, capsys
):
    """reconstruct and encode on a VAE run with a file of empty cells said 'pass
    --allow-missing', a flag they do not take: they name impute, which fills them (and then
    reconstruct reads the filled file). PPCA reconstructs such rows from their observed cells;
    its RMSE per feature printed nan: it is over the observed cells. (The VAE is one of
    complete rows: one trained --allow-missing reads such rows, as tests/cli/test_encode.py
    checks.)"""
    record = json.loads((ppca_run / "config.json").read_text())["data"]
    record["options"].pop("allow_missing")  # (the PPCA's: the VAE reads complete rows)
    torch.manual_seed(0)
    vae = VAE(VAEConfig(4, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    vae.save_pretrained(tmp_path / "vae", data=record)
    for command in ("reconstruct", "encode"):
        argv = [command, str(tmp_path / "vae"), "--data", str(table)]
        assert main([*argv, "--out", str(tmp_path / f"{command}.csv")]) == 2
        err = capsys.readouterr().err
        assert "empty cells (the first on line" in err and "--allow-missing" not in err
        assert f"'torchlvm impute {tmp_path / 'vae'} --data {table} --out FILLED.csv'" in err
    filled = tmp_path / "filled.csv"
    argv = ["impute", str(tmp_path / "vae"), "--data", str(table), "--out", str(filled)]
    assert main([*argv, "--samples", "20"]) == 0
    argv = ["reconstruct", str(tmp_path / "vae"), "--data", str(filled)]
    assert main([*argv, "--out", str(tmp_path / "r.csv")]) == 0
    capsys.readouterr()
    argv = ["reconstruct", str(ppca_run), "--data", str(table), "--out", str(tmp_path / "p.csv")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "RMSE per feature on the observed cells" in out and "nan" not in out


def test_a_cvae_is_told_the_fit_command_that_makes_a_run_impute_takes(tmp_path, capsys):
    """impute on a table CVAE said only that it fills tables with PPCA or a VAE (score: 'fit
    ppca or train a vae on the data', without the run's options): both name the fit command
    for PPCA on the run's table, with its options, which then fills and scores the file."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 1)) @ rng.normal(size=(1, 3)) + 0.2 * rng.normal(size=(60, 3))
    table = tmp_path / "t t.csv"
    lines = [f"{i},{a!r},{b!r},{c!r},{'xy'[i % 2]}" for i, (a, b, c) in enumerate(x.tolist())]
    table.write_text(",a,b,c,kind\n" + "\n".join(lines) + "\n")
    holes = tmp_path / "holes.csv"
    holes.write_text("a,b,c\n" + "".join(f"{a!r},,{c!r}\n" for a, _, c in x[:5].tolist()))
    run, filled = tmp_path / "cvae", tmp_path / "filled.csv"
    train = ["train", "cvae", "--data", str(table), "--drop-columns", "0", "--label-column"]
    train += ["kind", "--latent-dim", "1", "--epochs", "1", "--quiet", "--out", str(run)]
    assert main(train) == 0
    impute = ["impute", str(run), "--data", str(holes), "--out", str(filled)]
    assert main(impute) == 2
    err = capsys.readouterr().err
    fix = re.search(r"fit PPCA on its table with '(torchlvm fit ppca [^']+)'", err)
    assert err.count("\n") == 1 and fix is not None, err
    command = shlex.split(fix.group(1).replace("RUN", str(tmp_path / "ppca")))
    assert main(command[1:]) == 0
    assert main(["impute", str(tmp_path / "ppca"), *impute[2:]]) == 0
    assert filled.exists()
    vae = re.search(r"or train a VAE on it: '(torchlvm train vae [^']+)'", err)  # (rows9's note)
    assert vae is not None, err
    command = shlex.split(vae.group(1).replace("RUN", str(tmp_path / "vae")))
    assert main([*command[1:], "--epochs", "1", "--quiet"]) == 0
    filled.unlink()
    assert main(["impute", str(tmp_path / "vae"), *impute[2:]]) == 0 and filled.exists()
    scores = str(tmp_path / "scores.csv")
    assert main(["score", str(run), "--data", str(holes), "--out", scores]) == 0  # (8884b4b)
    scores = str(tmp_path / "ppca-scores.csv")
    assert main(["score", str(tmp_path / "ppca"), "--data", str(holes), "--out", scores]) == 0


@pytest.fixture(scope="module")
def formatted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A table as a spreadsheet writes it (an integer column, money with thousands separators,
    quoted where they hold one, a rate of 3 decimals, 10% of cells empty) and a PPCA run of it."""
    folder = tmp_path_factory.mktemp("formatted")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(200, 2))
    units = np.round(30 + 8 * z[:, 0] + rng.normal(size=200)).astype(int)
    revenue = 1000 + 60 * z[:, 0] + 30 * z[:, 1] + 5 * rng.normal(size=200)
    rate = 0.5 + 0.05 * z[:, 1] + 0.01 * rng.normal(size=200)
    holes = rng.random((200, 3)) < 0.1
    path = folder / "fmt.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "units", "revenue", "rate"])
        for i in range(200):
            cells = [str(units[i]), f"{revenue[i]:,.2f}", f"{rate[i]:.3f}"]
            writer.writerow(
                [f"r{i}", *("" if h else c for c, h in zip(cells, holes[i], strict=True))]
            )
    run = folder / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--method", "em"]
    assert main([*argv, "--allow-missing", "--drop-columns", "id", "--out", str(run)]) == 0
    return path, run


def test_a_filled_value_is_written_as_its_column_writes_numbers(formatted, tmp_path, capsys):
    """impute wrote 29.748841881618116 in a column of integers and 1055.1198822569418 among
    "1,060.94": each filled value follows its column, 2 decimals finer (at most 2 in the column
    of integers; 4 after a thousands separator, with the quotes it needs; 5), so pandas reads
    one clean column back, within 1/200 of each column's step of the exact conditional mean;
    every other byte is the file's."""
    import pandas as pd

    path, run = formatted
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert (
        "written in each column's form, 2 decimals finer (a mean rounded to the column's own "
        "step would bias means and shares): units up to 2 decimals; revenue up to 4 decimals "
        "with ',' between thousands; rate up to 5 decimals" in printed
    )
    before, after = _read(path), _read(out)
    forms = [r"\d+(\.\d\d?)?", r"(\d,)?\d{3}\.\d{2,4}", r"0\.\d{3,5}"]
    for old, new in zip(before[1:], after[1:], strict=True):
        for o, n, form in zip(old[1:], new[1:], forms, strict=True):
            assert n == o if o else re.fullmatch(form, n), (o, n)
    lines = path.read_bytes().split(b"\n")
    for old, new in zip(lines, out.read_bytes().split(b"\n"), strict=True):
        assert old == new or b",," in old or old.endswith(b",")
    frame = pd.read_csv(out, thousands=",")
    assert frame.dtypes.tolist()[1:] == [np.float64, np.float64, np.float64]
    assert not frame.isna().any().any()
    given = pd.read_csv(path, thousands=",")
    schema = _schema(run)
    x = torch.tensor(given[["units", "revenue", "rate"]].to_numpy(dtype=float))
    exact = schema.standardizer.inverse(
        torch.tensor(torchlvm.load(run).impute(schema.standardizer.transform(x)))
    ).numpy()
    holes = np.isnan(x.numpy())
    got = frame[["units", "revenue", "rate"]].to_numpy(dtype=float)
    half_step = np.broadcast_to([0.005, 5e-5, 5e-6], got.shape)  # of the last digit written
    np.testing.assert_array_less(np.abs(got - exact)[holes], half_step[holes] + 1e-9)


def test_a_decimal_comma_table_gets_its_marks_and_draws_theirs_too(formatted, tmp_path):
    """The same table as a German Excel writes it (semicolons, '1.060,94', '0,480'): filled
    cells in its marks; each of --draws' copies so too."""
    path, run = formatted
    german = tmp_path / "de.csv"
    swap = str.maketrans(",.", ".,")
    rows = [[cell.translate(swap) for cell in row] for row in _read(path)]
    german.write_text("".join(";".join(row) + "\n" for row in rows))
    out = tmp_path / "filled.csv"
    argv = ["impute", str(run), "--data", str(german), "--out", str(out), "--draws", "2"]
    assert main(argv) == 0
    rows = [line.split(";") for line in out.read_text().splitlines()]
    assert rows[0] == ["draw", "id", "units", "revenue", "rate"] and len(rows) == 401
    for row in rows[1:]:
        assert re.fullmatch(r"\d+(,\d\d?)?", row[2]), row
        assert re.fullmatch(r"(\d\.)?\d{3},\d{2,4}", row[3]), row
        assert re.fullmatch(r"0,\d{3,5}", row[4]), row


def test_a_mean_filled_in_a_0_1_column_is_not_rounded_to_0_or_1(tmp_path):
    """Rounding E[flag | x_o] ~ 0.15 to the column's whole numbers wrote 0.0 in every filled
    cell, and the filled file's share of ones fell from 15% to 11% (userA): the mean keeps
    2 decimals, so the share computed from the file is the model's."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=300)
    flag = (z + 0.5 * rng.normal(size=300) > 1.0).astype(float)
    x = np.stack([flag, z + 0.3 * rng.normal(size=300), -z + 0.3 * rng.normal(size=300)], 1)
    holes = np.zeros_like(x, dtype=bool)
    holes[rng.random(300) < 0.3, 0] = True
    path = tmp_path / "flag.csv"
    cells = [
        ["" if h else f"{v:.1f}" for v, h in zip(r, m, strict=True)]
        for r, m in zip(x, holes, strict=True)
    ]
    path.write_text("flag,a,b\n" + "".join(",".join(r) + "\n" for r in cells))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--method", "em"]
    assert main([*argv, "--allow-missing", "--out", str(run)]) == 0
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(path), "--out", str(out)]) == 0
    filled = np.array([float(r[0]) for r in _read(out)[1:]])[holes[:, 0]]
    assert len(set(filled.round(2))) > 5 and 0 < filled.mean() < 1
    exact = (
        _schema(run)
        .standardizer.inverse(
            torch.tensor(
                torchlvm.load(run).impute(
                    _schema(run).standardizer.transform(
                        torch.tensor(np.where(holes, np.nan, x.round(1)))
                    )
                )
            )
        )
        .numpy()[holes[:, 0], 0]
    )
    np.testing.assert_allclose(filled, exact, atol=0.005 + 1e-9)


def test_out_ending_in_gz_is_written_gzipped(table, ppca_run, tmp_path, capsys):
    """'--out filled.csv.gz' was refused ('must name a .csv file') though .csv.gz is read
    everywhere: it is the filled file, gzipped; another name ending in .gz is refused."""
    import gzip

    plain, packed = tmp_path / "filled.csv", tmp_path / "filled.csv.gz"
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(plain)]) == 0
    assert main(["impute", str(ppca_run), "--data", str(table), "--out", str(packed)]) == 0
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    capsys.readouterr()
    argv = ["impute", str(ppca_run), "--data", str(table), "--out", str(tmp_path / "f.tsv.gz")]
    assert main(argv) == 2
    assert "--out must name a .csv or .csv.gz file, got" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("given", "named"),
    [
        (["--mask", "top"], "--mask is an option for images"),
        (["--iterations", "5", "--n", "3"], "--iterations and --n are options for images"),
        (["--eval-n", "10"], "--eval-n is an option for images"),
    ],
    ids=["mask", "iterations-and-n", "eval-n"],
)
def test_an_image_option_is_refused_for_a_table(table, ppca_run, tmp_path, capsys, given, named):
    """userC: `impute RUN --data t.csv --out f.csv --mask top` ran with --mask silently ignored."""
    out = tmp_path / "f.csv"
    argv = ["impute", str(ppca_run), "--data", str(table), "--out", str(out), *given]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err and "leave out" in err and not out.exists()


def test_a_missing_out_or_data_is_named_alone(table, ppca_run, capsys):
    """userC: `impute RUN --data t.csv` (no --out) was told to pass --data."""
    assert main(["impute", str(ppca_run), "--data", str(table)]) == 2
    err = capsys.readouterr().err
    assert "pass --out FILLED.csv" in err and "--data" not in err.replace(str(table), "")
    assert main(["impute", str(ppca_run), "--out", "f.csv"]) == 2
    assert "pass --data FILE.csv, the table to fill into f.csv" in capsys.readouterr().err


def test_a_column_empty_in_the_file_is_filled_in_the_training_files_form(tmp_path, capsys):
    """userJ #7: a later file whose bmi column is empty in every row was filled with 17 digits
    (26.706936341264363) and no precision line, the column's form told from its own cells,
    which it had none of. It takes the run's training file's form for it (1 decimal: up to 3),
    and the line says so."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 3)) + 0.3 * rng.normal(size=(150, 3))
    cells = [[f"{v + 20:.1f}" for v in row] for row in x.tolist()]
    for i in range(0, 150, 9):
        cells[i][i % 3] = ""
    train = tmp_path / "t.csv"
    train.write_text("a,bmi,c\n" + "".join(",".join(r) + "\n" for r in cells))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(train), "--allow-missing", "--method", "em"]
    assert main([*argv, "--latent-dim", "1", "--out", str(run)]) == 0
    later = tmp_path / "later.csv"
    later.write_text("a,bmi,c\n" + "".join(f"{r[0]},,{r[2]}\n" for r in cells[1:9]))
    out = tmp_path / "filled.csv"
    capsys.readouterr()
    assert main(["impute", str(run), "--data", str(later), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bmi up to 3 decimals (no value in the file: as the run's training file writes it)" in (
        printed
    )
    filled = [line.split(",")[1] for line in out.read_text().splitlines()[1:]]
    assert all(0 < len(cell.split(".")[1]) <= 3 for cell in filled), filled


@pytest.mark.parametrize(
    ("option", "said"),
    [(["--draws", "1000000"], "--draws 1000000 imputations of"),
     (["--samples", "1000000"], "--samples 1000000 importance samples of")],
    ids=["draws", "samples"],
)  # fmt: skip
def test_draws_or_samples_beyond_memory_are_refused_before_drawing(
    tmp_path, capsys, monkeypatch, option, said
):
    """userJ #13: --draws 10000000 (PPCA) and --samples 100000000 (VAE) ended in torch's
    allocator's traceback (82 GB, 512 GB asked). Refused first, in one line naming the size,
    the memory here and the option to lower; nothing written."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(f"{a!r},,{c!r}\n" for a, _, c in x.tolist()))
    record = {"name": str(path), "binarize": "none", "seed": 0, "shape": [3],
              "table": {"columns": ["a", "b", "c"]}}  # fmt: skip
    torch.manual_seed(0)
    run = tmp_path / "vae"
    VAE(VAEConfig(3, latent_dim=1, hidden=(4,), likelihood="gaussian")).save_pretrained(
        run, data=record
    )
    from torchlvm._memory import Available

    room = Available(50_000_000, "available here")
    monkeypatch.setattr("torchlvm._memory.available", lambda: room)
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(path), "--out", str(out), *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: {said}") and err.count("\n") == 1
    assert "more than the 50.0 MB available here; pass a smaller " + option[0] in err
    assert not out.exists()


def test_fills_that_rest_on_a_few_importance_draws_are_warned_of(
    table, ppca_run, tmp_path, monkeypatch
):
    """readD D11: VAEEstimator.impute warned where the rows' median effective sample size
    rests on a few draws, and the command said nothing of the same fills. The command warns
    by the same rule, counting the rows it fills, naming --samples and --allow-missing."""
    from torchlvm.inference import imputation

    record = json.loads((ppca_run / "config.json").read_text())["data"]
    record["options"].pop("allow_missing")  # (a VAE of complete rows)
    torch.manual_seed(0)
    VAE(VAEConfig(4, latent_dim=2, hidden=(8,), likelihood="gaussian")).save_pretrained(
        tmp_path / "vae", data=record
    )
    real = imputation.impute_rows
    for median, warned in ((3.0, True), (40.0, False)):

        def weighed(*args, on_ess=None, median=median, **kwargs):
            filled = real(*args, **kwargs)
            on_ess(torch.full((len(args[1]),), median))  # (each row's ESS, as the VAE's path)
            return filled

        monkeypatch.setattr(imputation, "impute_rows", weighed)
        argv = ["impute", str(tmp_path / "vae"), "--data", str(table), "--samples", "50"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert main([*argv, "--out", str(tmp_path / f"f{median:.0f}.csv")]) == 0
        said = [str(w.message) for w in caught if w.category is imputation.ImputationWarning]
        assert bool(said) is warned
        if warned:
            assert said[0].startswith("the imputed means rest on a few importance draws")
            assert said[0].endswith(
                "; raise --samples, or train the VAE with --allow-missing to learn from such rows"
            )


def test_fills_outside_a_columns_trained_range_are_counted_and_named(tmp_path, capsys):
    """userP #5: impute wrote proline fills of up to 2,671 (wine's train split: 278 to 1,680)
    without a word; an image run already said so. The run records each column's range; a run
    made before that record writes the same file and says the same line, its train split's
    range read again (review15 R9: as sample says it)."""
    import pandas as pd
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame.drop(columns="target")
    wine.to_csv(tmp_path / "wine.csv", index=False)
    run = tmp_path / "run"
    assert main(["fit", "ppca", "--data", str(tmp_path / "wine.csv"), "--out", str(run)]) == 0
    far = wine.iloc[:5].copy()
    far["proline"] = np.nan
    far["alcohol"] = [20.0, 21.0, 22.0, 11.0, 10.0]  # (wine's: 11.03 to 14.83)
    far.to_csv(tmp_path / "far.csv", index=False)
    capsys.readouterr()
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(tmp_path / "far.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    low, high = (
        r[-1] for r in json.loads((run / "config.json").read_text())["data"]["column_range"]
    )
    proline = pd.read_csv(out)["proline"]
    beyond = int(((proline < low) | (proline > high)).sum())
    assert beyond > 0
    assert (
        f"  {beyond} of 5 filled values lie outside the range their column took in the training "
        f"data (the model's p(x | z) is not bounded): 'proline' {beyond} ({proline.min():.4g} to "
        f"{proline.max():.4g}; trained {low:.4g} to {high:.4g})"
    ) in printed
    config = json.loads((run / "config.json").read_text())
    del config["data"]["column_range"]  # (a run made before the record)
    (run / "config.json").write_text(json.dumps(config))
    again = tmp_path / "again.csv"
    assert main(["impute", str(run), "--data", str(tmp_path / "far.csv"), "--out", str(again)]) == 0
    assert capsys.readouterr().out == printed.replace(str(out), str(again))
    assert again.read_text() == out.read_text()
