"""Files a command writes for a run trained on a table follow the separator and decimal point of
the file they were read from, else of the run's training file: a European Excel's semicolons
and decimal commas (pandas' ``to_csv(sep=";", decimal=",")``) come back as they went in, so the
spreadsheet that wrote the file opens the rows in columns; a run recorded before reads as
commas."""

from __future__ import annotations

import csv
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
    rows = _european(out, 7)  # row, line, the dropped 'kind', then the run's columns
    assert len(rows) == 121 and rows[0] == ["row", "line", "kind", *NAMES]
    out = tmp_path / "rc.csv"  # a comma file's rows come back with commas
    assert main(["reconstruct", str(ppca), "--data", str(files[1]), "--out", str(out)]) == 0
    read = read_csv(out, drop_columns=["row", "line", "kind"])
    assert read.dialect.delimiter == "," and ";" not in out.read_text()


def test_score_writes_the_scored_files_separator_and_decimal_point(ppca, files, tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["score", str(ppca), "--data", str(files[0]), "--out", str(out)]) == 0
    rows = _european(out, 7)
    assert rows[0] == ["row", "line", "kind", "neg_log_p", "stderr", "observed", "rank"]


def test_encode_writes_semicolons_and_a_single_code_with_points(files, ppca, tmp_path):
    out = tmp_path / "z.csv"
    assert main(["encode", str(ppca), "--data", str(files[0]), "--out", str(out)]) == 0
    assert _european(out, 5)[0] == ["row", "line", "kind", "z1", "z2"]
    one = tmp_path / "one"  # K = 1: no semicolon on a line, so '3,14' would read as two cells
    argv = ["fit", "ppca", "--data", str(files[0]), "--latent-dim", "1"]
    assert main([*argv, "--drop-columns", "kind", "--out", str(one)]) == 0
    out = tmp_path / "z1.csv"
    assert main(["encode", str(one), "--data", str(files[0]), "--out", str(out)]) == 0
    assert _european(out, 4)[0] == ["row", "line", "kind", "z1"]  # (the ID: semicolons again)
    codes = read_csv(out, drop_columns=["row", "line", "kind"])
    assert codes.values.shape == (120, 1)


def test_transfer_writes_a_table_cvaes_rows_as_its_file(files, tmp_path):
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(files[0]), "--label-column", "kind", "--epochs", "1"]
    assert main([*argv, "--latent-dim", "2", "--hidden", "8", "--quiet", "--out", str(run)]) == 0
    out = tmp_path / "t.csv"
    argv = ["transfer", str(run), "--from-condition", "low", "--to-condition", "high"]
    assert main([*argv, "--out", str(out)]) == 0
    rows = _european(out, 12)  # row, line; the transferred row; the row as read
    assert rows[0][:7] == ["row", "line", *NAMES, "kind"] and {row[6] for row in rows[1:]} == {
        "high"
    }
    assert rows[0][7:] == [f"original {name}" for name in [*NAMES, "kind"]]


@pytest.mark.parametrize(
    ("extra", "cell"),
    [("", lambda i: str(i)), ("note", lambda i: f"n{i % 7}"), ("extra", lambda i: f"{i / 3!r}")],
    ids=["pandas-index", "text-column", "numeric-column"],
)
def test_a_later_files_other_columns_are_not_read(files, ppca, tmp_path, capsys, extra, cell):
    """score, encode and impute take no --drop-columns, yet a later file with its pandas index,
    a text column or one more measure was refused with 'drop it (--drop-columns ...)'. The run
    reads its own columns; the file's others are not read, and are carried into the scores."""
    lines = files[1].read_text().splitlines()
    given = tmp_path / "more.csv"
    given.write_text(
        "\n".join([f"{extra},{lines[0]}"] + [f"{cell(i)},{r}" for i, r in enumerate(lines[1:])])
    )
    expected, out = tmp_path / "expected.csv", tmp_path / "s.csv"
    assert main(["score", str(ppca), "--data", str(files[1]), "--out", str(expected)]) == 0
    assert main(["score", str(ppca), "--data", str(given), "--out", str(out)]) == 0
    got = list(csv.reader(out.read_text().splitlines()))
    want = list(csv.reader(expected.read_text().splitlines()))
    # the file's own column is carried beside the scores (userG #5), the scores unchanged
    assert got[0][2] == extra and [row[:2] + row[3:] for row in got] == want
    assert main(["encode", str(ppca), "--data", str(given), "--out", str(tmp_path / "z.csv")]) == 0
    capsys.readouterr()
    wrong = tmp_path / "wrong.csv"  # a column of the run's renamed is still named as missing
    wrong.write_text(given.read_text().replace(",a,", ",A,", 1))
    assert main(["score", str(ppca), "--data", str(wrong), "--out", str(tmp_path / "w.csv")]) == 2
    assert "lacks column 'a' that the run was trained on" in capsys.readouterr().err


def _fitted(
    folder: Path,
    header,
    *,
    seed: int,
    n: int,
    classes,
    sep: str,
    encoding: str,
    decimal: str,
    hole,
    given: str | None = None,
    mark: bytes = b"",
) -> tuple[Path, Path, Path]:
    """``train.csv``: n rows of 4 correlated features (4 decimals) and a last column, the
    class, ``classes[0]`` where feature ``classes[2]`` is negative, else ``classes[1]``;
    ``gaps.csv``: the same with feature ``hole[1]`` empty in every ``hole[0]``-th row; both in
    ``encoding`` with Excel's CRLF line ends, after the byte-order ``mark``; and a PPCA run
    fitted on the first (with ``--encoding given`` where given)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(n, 4))
    labels = [classes[0] if v < 0 else classes[1] for v in x[:, classes[2]]]
    every, column = hole
    lines, holes = [sep.join(header)], [sep.join(header)]
    for i, (row, label) in enumerate(zip(x, labels, strict=True)):
        cells = [f"{v:.4f}".replace(".", decimal) for v in row]
        lines.append(sep.join([*cells, label]))
        gap = ["" if i % every == 0 and j == column else c for j, c in enumerate(cells)]
        holes.append(sep.join([*gap, label]))
    train, gaps = folder / "train.csv", folder / "gaps.csv"
    for path, rows in ((train, lines), (gaps, holes)):
        path.write_bytes(mark + ("\r\n".join(rows) + "\r\n").encode(encoding))
    run = folder / "ppca"
    argv = ["fit", "ppca", "--data", str(train), "--label-column", header[-1], "--latent-dim", "2"]
    stated = [] if given is None else ["--encoding", given]
    assert main([*argv, *stated, "--out", str(run)]) == 0
    return train, gaps, run


# Excel's plain "CSV" in France: Windows-1252 text, semicolons, decimal commas, units in names
HEADER_1252 = ["Température (°C)", "Masse (µg)", "Débit", "Pression", "Région"]


@pytest.fixture(scope="module")
def windows_1252(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A training file, the same rows with a hole in every fifth row, and a run fitted on the
    first: all three in Windows-1252."""
    return _fitted(
        tmp_path_factory.mktemp("cp1252"), HEADER_1252, seed=1, n=60, classes=("Île-de-France",
        "Rhône", 1), sep=";", encoding="cp1252", decimal=",", hole=(5, 1),
    )  # fmt: skip


def test_a_windows_1252_tables_files_come_back_in_windows_1252(windows_1252, tmp_path):
    """Excel's plain "CSV" (Windows-1252) was refused ('save the file as UTF-8 CSV'): it trains,
    and every file written from it is Windows-1252, which that Excel opens with its accents; an
    imputed file keeps every line without a hole byte for byte."""
    train, gaps, run = windows_1252
    record = json.loads((run / "config.json").read_text())["data"]["table"]
    assert record["encoding"] == "cp1252" and record["columns"] == HEADER_1252[:4]
    written = {}
    for command, name in [("reconstruct", "r.csv"), ("encode", "z.csv"), ("score", "s.csv")]:
        written[command] = tmp_path / name
        assert main([command, str(run), "--data", str(train), "--out", str(tmp_path / name)]) == 0
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(gaps), "--out", str(out)]) == 0
    reconstructed = written["reconstruct"].read_bytes()
    with pytest.raises(UnicodeDecodeError):
        reconstructed.decode("utf-8")
    header = reconstructed.decode("cp1252").splitlines()[0].split(";")
    assert header == ["row", "line", "Région", *HEADER_1252[:4]]
    codes = read_csv(written["encode"], label_column="Région", drop_columns=["row", "line"])
    assert codes.dialect.encoding == "cp1252" and codes.class_names == ("Rhône", "Île-de-France")
    given, filled = gaps.read_bytes().split(b"\r\n"), out.read_bytes().split(b"\r\n")
    assert len(given) == len(filled) == 62
    same = [g == f for g, f in zip(given[1:-1], filled[1:-1], strict=True)]
    assert given[0] == filled[0] and same == [i % 5 != 0 for i in range(60)]
    refilled = read_csv(out, label_column="Région")
    assert (
        refilled.dialect == read_csv(gaps, label_column="Région").dialect
        and not np.isnan(refilled.values).any()
    )


def test_a_tsv_of_decimal_commas_trains_and_is_written_back_so(tmp_path):
    """pandas' to_csv(sep="\\t", decimal=","): refused ('cannot read '0,5' as a number'); it
    trains, impute writes the .tsv back with decimal commas, and a .csv written from it has the
    semicolons and decimal commas of the spreadsheet that wrote it."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(40, 3))
    text = "a\tb\tc\n" + "".join(
        "\t".join(
            "" if (i, j) == (3, 1) else repr(float(v)).replace(".", ",") for j, v in enumerate(row)
        )
        + "\n"
        for i, row in enumerate(x)
    )
    data = tmp_path / "t.tsv"
    data.write_text(text)
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--method", "em"]
    assert main([*argv, "--allow-missing", "--out", str(run)]) == 0
    out = tmp_path / "filled.tsv"
    assert main(["impute", str(run), "--data", str(data), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[:4] == text.splitlines()[:4] and lines[5:] == text.splitlines()[5:]
    filled = lines[4].split("\t")[1]
    assert "," in filled and "." not in filled and read_csv(out).values.shape == (40, 3)
    out = tmp_path / "r.csv"
    assert main(["reconstruct", str(run), "--data", str(data), "--out", str(out)]) == 0
    assert len(_european(out, 5)) == 41  # row, line, a, b, c


MAC_HEADER = ["Größe (µm)", "Höhe", "Länge", "Breite", "Art"]


@pytest.fixture(scope="module")
def mac_roman(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A Mac Roman table (an old Mac Excel's CSV), its twin with holes, and a PPCA run on it
    trained with --encoding mac-roman."""
    return _fitted(
        tmp_path_factory.mktemp("mac"), MAC_HEADER, seed=2, n=50, classes=("Ölbaum", "Föhre", 0),
        sep=",", encoding="mac-roman", decimal=".", hole=(4, 2), given="MacRoman",
    )  # fmt: skip


def test_a_stated_encoding_is_recorded_and_every_file_comes_back_in_it(mac_roman, tmp_path):
    """A Mac Roman table read as Windows-1252 named its columns 'Gr√∂√üe (¬µm)'; stated, the
    run records it, reads its later files in it, and writes every file in it (an imputed file
    keeps its lines without a hole byte for byte)."""
    train, gaps, run = mac_roman
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["options"]["encoding"] == "mac-roman"
    assert record["table"]["columns"] == MAC_HEADER[:4]
    assert record["table"]["encoding"] == record["table"]["stated_encoding"] == "mac-roman"
    out, rows = tmp_path / "filled.csv", tmp_path / "r.csv"
    assert main(["impute", str(run), "--data", str(gaps), "--out", str(out)]) == 0
    given, filled = gaps.read_bytes().split(b"\r\n"), out.read_bytes().split(b"\r\n")
    assert given[0] == filled[0] and len(given) == len(filled) == 52
    same = [g == f for g, f in zip(given[1:-1], filled[1:-1], strict=True)]
    assert same == [i % 4 != 0 for i in range(50)]
    assert main(["reconstruct", str(run), "--data", str(train), "--out", str(rows)]) == 0
    header = rows.read_bytes().decode("mac-roman").splitlines()[0].split(",")
    assert header == ["row", "line", "Art", *MAC_HEADER[:4]]
    codes = tmp_path / "z.csv"
    assert main(["encode", str(run), "--data", str(train), "--out", str(codes)]) == 0
    read = read_csv(codes, encoding="mac-roman", label_column="Art", drop_columns=["row", "line"])
    assert read.class_names == ("Föhre", "Ölbaum")


@pytest.mark.parametrize(
    ("mark", "given"),
    [(b"\xfe\xff", None), (b"", "utf-16-be"), (b"\xff\xfe", "utf-16")],
    ids=["big-endian-marked", "big-endian-stated", "little-endian-stated"],
)
def test_a_utf16_table_is_filled_in_its_byte_order(tmp_path, mark, given):
    """A big-endian UTF-16 table (its mark FE FF) was filled and written back little-endian:
    the imputed file is the given one with the holes' bytes alone changed, in its byte order,
    with its mark or without; a new file written for the run starts with the mark of its byte
    order, so a reader tells it."""
    order = "utf-16-le" if mark == b"\xff\xfe" else "utf-16-be"
    train, gaps, run = _fitted(
        tmp_path, ["a", "b", "c", "d", "kind"], seed=3, n=40, classes=("x", "y", 0), sep=",",
        encoding=order, decimal=".", hole=(4, 1), given=given, mark=mark,
    )  # fmt: skip
    out = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(gaps), "--out", str(out)]) == 0
    filled = out.read_bytes()
    assert filled[:2] == (mark or gaps.read_bytes()[:2])  # its mark, or its first character
    given_lines = gaps.read_bytes()[len(mark) :].decode(order).split("\r\n")
    filled_lines = filled[len(mark) :].decode(order).split("\r\n")
    same = [g == f for g, f in zip(given_lines, filled_lines, strict=True)]
    assert same == [True] + [i % 4 != 0 for i in range(40)] + [True]
    rows = tmp_path / "r.csv"
    assert main(["reconstruct", str(run), "--data", str(train), "--out", str(rows)]) == 0
    written = rows.read_bytes()
    assert written.startswith(b"\xff\xfe" if order == "utf-16-le" else b"\xfe\xff")
    read = read_csv(rows, drop_columns=["row", "line"], label_column="kind")
    assert read.columns == ("a", "b", "c", "d")


@pytest.mark.parametrize(
    ("data", "encoding", "message"),
    [
        ("t.csv", "latin-2", "--encoding 'latin-2' is not a text encoding Python knows; pass"),
        ("digits", "cp1251", "--encoding does not apply to dataset 'digits'"),
        ("t.csv", "utf-16", "starts with the byte-order mark of utf-8, so it is not utf-16"),
    ],
    ids=["unknown", "dataset", "marked-otherwise"],
)
def test_a_wrong_encoding_is_one_line(tmp_path, capsys, data, encoding, message):
    (tmp_path / "t.csv").write_bytes(b"\xef\xbb\xbfa,b\n" + b"1,2\n3,5\n4,4\n" * 4)
    if data != "digits":
        data = str(tmp_path / data)
    argv = ["fit", "ppca", "--data", data, "--latent-dim", "1", "--encoding", encoding]
    assert main([*argv, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "run").exists()


def test_a_later_file_in_another_encoding_is_read_with_the_commands_encoding(
    mac_roman, tmp_path, capsys
):
    """A run trained with --encoding mac-roman reads its later files in Mac Roman; a later file
    saved as UTF-8 is read with the command's own --encoding, in every command that reads one."""
    train, gaps, run = mac_roman
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(train.read_bytes().decode("mac-roman"), encoding="utf-8", newline="")
    scores = {}
    for name, extra in (("mac", ["--data", str(train)]), ("utf8", ["--data", str(utf8)])):
        out = tmp_path / f"scores-{name}.csv"
        utf = ["--encoding", "utf-8"] if name == "utf8" else []
        assert main(["score", str(run), *extra, *utf, "--out", str(out)]) == 0
        text = out.read_bytes().decode("utf-8" if utf else "mac-roman")  # (its 'Art' names)
        scores[name] = [line.split(",")[3] for line in text.splitlines()]
    assert scores["mac"] == scores["utf8"]
    for command in ("reconstruct", "encode", "impute"):
        out = tmp_path / f"{command}.csv"
        argv = [command, str(run), "--data", str(utf8), "--encoding", "UTF8", "--out", str(out)]
        assert main(argv) == 0, command
    assert main(["score", str(run), "--data", str(utf8), "--out", str(tmp_path / "x.csv")]) == 2
    assert "lacks columns" in capsys.readouterr().err  # read as Mac Roman: names garbled
    assert main(["encode", str(run), "--encoding", "utf-8", "--out", str(tmp_path / "z.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "torchlvm: error: --encoding says how a --data table file is read, and the run's own "
        "file is read as it was at training; leave out --encoding"
    )


def test_train_takes_the_encoding_and_a_resume_keeps_it(tmp_path, capsys):
    """train refused --encoding ('does not apply to a VAE; train a  for it'): every model
    takes it, the run records it, and a resume that names another is refused."""
    path, run = tmp_path / "mac.csv", str(tmp_path / "vae")
    rows = "".join(f"{i * 0.37 % 5!r},{(i * 7) % 11},{(i * i) % 13 * 0.5}\n" for i in range(40))
    path.write_bytes(("Größe,Höhe,µm\n" + rows).encode("mac-roman"))
    train = ["train", "vae", "--data", str(path), "--latent-dim", "1", "--hidden", "4"]
    assert main([*train, "--encoding", "MacRoman", "--epochs", "1", "--quiet", "--out", run]) == 0
    table = json.loads((tmp_path / "vae" / "config.json").read_text())["data"]["table"]
    assert table["columns"] == ["Größe", "Höhe", "µm"] and table["stated_encoding"] == "mac-roman"
    resume = ["train", "vae", "--resume", "--out", run, "--epochs", "2", "--quiet"]
    assert main([*resume, "--encoding", "cp1252"]) == 2
    assert "--encoding cp1252 (the run has --encoding mac-roman)" in capsys.readouterr().err
    assert main(resume) == 0
