"""A command on a table run given the table in a format torchlvm does not read (a .parquet or
.json of it) is told the pandas line that saves it as CSV, whichever command reads it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from torchlvm.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(40, 3))
    data = folder / "t.csv"
    data.write_text("a,b,c\n" + "".join(",".join(map(repr, row)) + "\n" for row in x.tolist()))
    assert (
        main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(folder / "r")])
        == 0
    )
    return folder / "r"


@pytest.mark.parametrize(
    "command",
    [
        ["impute", "--out", "{o}/f.csv"],  # read the JSON as a CSV: 'holds no data rows'
        ["score", "--out", "{o}/s.csv"],
        ["encode", "--out", "{o}/z.csv"],  # 'not on the dataset 't.json''
        ["evaluate"],  # '--data t.json is not a file'
    ],
    ids=lambda command: command[0],
)
def test_a_table_in_another_format_is_told_the_pandas_line(run, tmp_path, capsys, command):
    data = tmp_path / "t.json"
    data.write_text('{"a": {"0": 1.0}, "b": {"0": 2.0}, "c": {"0": 3.0}}')
    argv = [command[0], str(run), "--data", str(data)]
    argv += [c.format(o=tmp_path) for c in command[1:]]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and f"pandas.read_json('{data}').to_csv(" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def _table(path: Path, names: list[str]) -> Path:
    """A table of 40 rows under header ``names`` (quoted as CSV quotes them), of rank-1 data."""
    import csv

    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 1)) @ rng.normal(size=(1, len(names)))
    x += 0.1 * rng.normal(size=x.shape)
    with open(path, "w", newline="") as file:
        csv.writer(file).writerows([names, *x.tolist()])
    return path


def _columns(run: Path) -> list[str]:
    import json

    return json.loads((run / "config.json").read_text())["data"]["table"]["columns"]


@pytest.mark.parametrize(
    ("drop", "kept"),
    [
        (["Total, USD"], ["a", "my col", 'say "hi"', "b"]),
        (["my col"], ["Total, USD", "a", 'say "hi"', "b"]),
        (['say "hi"', "Total, USD"], ["a", "my col", "b"]),
        (["a,b"], ["Total, USD", "my col", 'say "hi"']),  # one word listing two columns
        (["a,b", "Total, USD"], ["my col", 'say "hi"']),
        (["0,4", "2"], ["a", 'say "hi"']),
    ],
    ids=["comma", "space", "quote-and-comma", "a-list", "list-and-name", "indexes"],
)
def test_each_drop_columns_word_is_kept_whole(tmp_path, drop, kept):
    """review9: `--drop-columns "Total, USD"` was split at its comma by the command line: each
    word is a column's name where the header has it, commas and all, else a list of them."""
    data = _table(tmp_path / "t.csv", ["Total, USD", "a", "my col", 'say "hi"', "b"])
    out = tmp_path / "r"
    options = ["--data", str(data), "--latent-dim", "1", "--out", str(out)]
    assert main(["fit", "ppca", *options, "--drop-columns", *drop]) == 0
    assert _columns(out) == kept


def test_a_list_of_columns_is_offered_back_as_words():
    from torchlvm.errors import on_command_line

    assert on_command_line("drop_columns", ["Total, USD", "id"]) == "--drop-columns 'Total, USD' id"


def test_the_offered_drop_of_a_name_with_a_comma_works(tmp_path, capsys):
    """A refusal offers ``--drop-columns 'Total, USD'`` by name (it offered the index, the one
    spelling the command line did not split): the offered words, run, drop that column."""
    import shlex

    data = _table(tmp_path / "t.csv", ["x", "Total, USD", "b"])
    rows = data.read_text().splitlines()
    data.write_text(
        "\n".join([rows[0], *(r.split(",")[0] + ",5," + r.split(",")[2] for r in rows[1:])])
    )
    out = tmp_path / "r"
    command = ["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(out)]
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(--drop-columns 'Total, USD')" in err
    offered = shlex.split(err[err.rindex("(") + 1 : err.rindex(")")])
    assert main([*command, *offered]) == 0
    assert _columns(out) == ["x", "b"]


def test_na_values_marks_a_files_own_tokens_missing_for_the_run_and_its_later_files(
    tmp_path, capsys
):
    """A table whose missing cells are '-' and 'ERR' was refused ('cannot read '-' as a
    number'), and the only fix was editing the file. --na-values reads them as missing; the run
    records the tokens, so impute fills those cells of a later file (written in their column's
    form, every other cell as written) and score reads it alike."""
    import json

    rng = np.random.default_rng(5)
    x = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(120, 4))
    cells = [[f"{v:.2f}" for v in row] for row in x.tolist()]
    cells[3][1], cells[10][2], cells[50][0] = "-", "ERR", "-999"
    path = tmp_path / "t.csv"
    path.write_text("a,b,c,d\n" + "".join(",".join(r) + "\n" for r in cells))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--out", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot read '-' as a number" in err and "name it with --na-values -" in err
    argv += ["--na-values", "-", "err", "-999"]
    assert main(argv) == 2  # missing cells: the fill command carries the tokens
    assert f"torchlvm fit ppca --data {path} --na-values - -999 err --allow-missing" in (
        capsys.readouterr().err
    )
    assert main([*argv, "--allow-missing", "--method", "em"]) == 0
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["options"]["na_values"] == record["table"]["na_values"] == ["-", "-999", "err"]
    filled = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(path), "--out", str(filled)]) == 0
    lines = filled.read_text().splitlines()
    original = path.read_text().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(lines, original, strict=True)) if a != b]
    assert changed == [4, 11, 51]  # (file lines, header first)
    assert all(len(c.split(".")[1]) == 4 for i in changed for c in lines[i].split(",")
               if c not in original[i].split(","))  # fmt: skip
    scores = tmp_path / "s.csv"
    assert main(["score", str(run), "--data", str(path), "--out", str(scores)]) == 0
    header, *rows = [row.split(",") for row in scores.read_text().splitlines()]
    observed = [row[header.index("observed")] for row in rows]
    assert [i for i, n in enumerate(observed) if n != "4"] == [3, 10, 50]


def test_a_later_files_own_codes_are_read_missing_with_the_commands_na_values(tmp_path, capsys):
    """userP #11: a run fit on a clean file, given a later export whose missing cells are
    written -999, was warned 'read the file with --na-values -999 --allow-missing', which no
    command reading a later file took; score ranked the -999 rows at 1e8 nats. score, impute,
    encode and reconstruct take --na-values for the --data file: read exactly as the same file
    with those cells empty."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 4)) + 0.2 * rng.normal(size=(150, 4))

    def write(path, rows):
        path.write_text("a,b,c,d\n" + "".join(",".join(r) + "\n" for r in rows))

    clean = tmp_path / "clean.csv"
    write(clean, [[f"{v:.3f}" for v in row] for row in x])
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(clean), "--latent-dim", "2", "--out", str(run)]) == 0
    holes = rng.random(x.shape) < 0.1
    coded, empty = tmp_path / "coded.csv", tmp_path / "empty.csv"
    for path, mark in ((coded, "-999"), (empty, "")):
        write(path, [[mark if h else f"{v:.3f}" for v, h in zip(row, hole, strict=True)]
                     for row, hole in zip(x, holes, strict=True)])  # fmt: skip
    capsys.readouterr()
    read = {}
    for command in ("score", "impute", "encode", "reconstruct"):
        for path, extra in ((coded, ["--na-values", "-999"]), (empty, [])):
            out = tmp_path / f"{command}-{path.stem}.csv"
            assert main([command, str(run), "--data", str(path), *extra, "--out", str(out)]) == 0
            read[command, path] = out.read_text().splitlines()[1:]
    assert "holds -999" not in capsys.readouterr().err  # (named missing: no code warning)
    for command in ("score", "encode", "reconstruct"):
        assert read[command, coded] == read[command, empty], command
    filled = [line.split(",") for line in read["impute", coded]]
    expected = [line.split(",") for line in read["impute", empty]]
    for row, hole, got, want in zip(x, holes, filled, expected, strict=True):
        assert [g for g, h in zip(got, hole, strict=True) if h] == [
            w for w, h in zip(want, hole, strict=True) if h
        ]  # the same fills; every other cell as written
        assert [g for g, h in zip(got, hole, strict=True) if not h] == [
            f"{v:.3f}" for v in row[~hole]
        ]
    argv = ["encode", str(run), "--na-values", "-999", "--out", str(tmp_path / "own.csv")]
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "torchlvm: error: --na-values says how a --data table file is read, and the run's own "
        "file is read as it was at training; leave out --na-values\n"
    )


def test_a_cell_of_two_dashes_is_named_by_the_offered_na_values(tmp_path, capsys):
    """A cell '--' (a common mark of a missing value) was offered '--na-values=--', which
    argparse read as no value at all (it takes '--' out as the end of options): the same
    refusal came back. The offered flag, run, reads it as missing."""
    import shlex

    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(60, 3))
    cells = [[f"{v:.2f}" for v in row] for row in x.tolist()]
    cells[4][1] = "--"
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(",".join(r) + "\n" for r in cells))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--method", "em"]
    argv += ["--allow-missing", "--out", str(run)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    offered = shlex.split(err.split("name it with ")[1].strip())
    assert offered == ["--na-values=--"]
    assert main([*argv, *offered, "--na-values", "ERR"]) == 0
    filled = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(path), "--out", str(filled)]) == 0
    assert "filled 1 missing cell in 1 of 60 rows" in capsys.readouterr().out
    assert filled.read_text().splitlines()[5].split(",")[1] not in ("--", "")


def test_the_offered_fill_runs_from_folders_with_spaces(tmp_path, capsys):
    """review13 #12b: the impute command offered for a later file's empty cells printed the run
    folder and the file unquoted, so a path with a space split into two words."""
    import shlex

    x = np.random.default_rng(1).normal(size=(120, 3))
    folder = tmp_path / "my tables"
    folder.mkdir()
    path = folder / "t.csv"
    path.write_text("a,b,c\n" + "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in x))
    run = tmp_path / "my runs" / "vae"
    argv = ["train", "vae", "--data", str(path), "--epochs", "1", "--latent-dim", "1"]
    assert main([*argv, "--hidden", "4", "--quiet", "--out", str(run)]) == 0
    holes = folder / "later data.csv"
    lines = path.read_text().splitlines()
    lines[1] = "," + lines[1].split(",", 1)[1]  # an empty cell
    holes.write_text("\n".join(lines) + "\n")
    assert main(["encode", str(run), "--data", str(holes), "--out", str(tmp_path / "z.csv")]) == 2
    err = capsys.readouterr().err
    assert "fill them first with '" in err, err
    offered = err.split("fill them first with '")[1].split("'")[0]
    filled = tmp_path / "FILLED.csv"
    words = shlex.split(offered.replace("FILLED.csv", shlex.quote(str(filled))))
    assert words[2:5] == [str(run), "--data", str(holes)]
    assert main(words[1:]) == 0 and filled.is_file()


def test_a_run_on_a_file_without_a_header_reads_a_later_file_with_one_by_position(tmp_path, capsys):
    """userK #15 / userL #7: a run fit on a file without a header (or on an array in Python),
    given a later file with a header, ended in KeyError: 0 (score) or KeyError: 'column 1'
    (encode, reconstruct, impute). Its columns have no names, so the file's are read in order,
    as a file without a header is."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 2)) @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(80, 4))
    body = "".join(",".join(f"{v:.3f}" for v in row) + "\n" for row in x)
    bare, named = tmp_path / "bare.csv", tmp_path / "named.csv"
    bare.write_text(body)
    named.write_text("a,b,c,d\n" + body)
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(bare), "--latent-dim", "2", "--out", str(run)]) == 0
    for data, out in [(bare, "z0.csv"), (named, "z1.csv")]:
        assert main(["encode", str(run), "--data", str(data), "--out", str(tmp_path / out)]) == 0
    codes = [[r.split(",")[2:] for r in (tmp_path / f).read_text().splitlines()[1:]]
             for f in ("z0.csv", "z1.csv")]  # fmt: skip
    assert codes[0] == codes[1] and len(codes[0]) == 80  # (their lines differ by the header)
    for command in ("score", "reconstruct"):
        out = tmp_path / f"{command}.csv"
        assert main([command, str(run), "--data", str(named), "--out", str(out)]) == 0
    assert (tmp_path / "reconstruct.csv").read_text().startswith("row,line,a,b,c,d\n")
    holes = tmp_path / "holes.csv"
    lines = named.read_text().splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1]
    holes.write_text("\n".join(lines) + "\n")
    filled = tmp_path / "filled.csv"
    assert main(["impute", str(run), "--data", str(holes), "--out", str(filled)]) == 0
    assert filled.read_text().splitlines()[2].split(",")[0] != ""


@pytest.mark.parametrize("flag", [["--na-values", "-999"], ["--encoding", "latin1"]])
def test_reading_flags_without_a_table_file_are_refused_by_every_command(tmp_path, capsys, flag):
    """readC C4: reconstruct and impute of an image or array run took --na-values and
    --encoding and read their file as if the flags were not given (the -999 cells of an .npy
    stayed -999, exit 0), while encode refused them. Every command refuses them alike."""
    images = np.random.default_rng(0).random((60, 4, 4))
    images[0, 0, 0] = np.nan
    path = tmp_path / "im.npy"
    np.save(path, images)
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--allow-missing", "--method", "em"]
    assert main([*argv, "--latent-dim", "2", "--out", str(run)]) == 0
    capsys.readouterr()
    for command in (
        ["reconstruct", str(run), "--out", str(tmp_path / "r.png")],
        ["encode", str(run), "--out", str(tmp_path / "e.npy")],
        ["impute", str(run), "--data", str(path), "--out", str(tmp_path / "f.npy")],
    ):
        assert main([*command, *flag]) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"{flag[0]} says how a --data table file is read" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["im.npy", "ppca"]


def test_a_table_runs_moved_file_given_once_is_recorded(tmp_path, capsys):
    """readC C5: a table run whose file moved read it once from --data NEW, and every later
    command without --data was told again that the file no longer exists: the new place is
    recorded, with a warning, as it is for an array run (82d37db)."""
    import json

    x = np.random.default_rng(2).normal(size=(80, 3))
    old, new = tmp_path / "w3.csv", tmp_path / "w4.csv"
    old.write_text("a,b,c\n" + "".join(f"{a:.3f},{b:.3f},{c:.3f}\n" for a, b, c in x))
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(old), "--latent-dim", "1", "--out", str(run)]) == 0
    old.rename(new)
    out = str(tmp_path / "e.csv")
    assert main(["encode", str(run), "--out", out]) == 2
    assert "no longer exists" in capsys.readouterr().err
    with pytest.warns(UserWarning, match=f"reads its data from {new} now"):
        assert main(["encode", str(run), "--data", str(new), "--out", out, "--overwrite"]) == 0
    record = json.loads((run / "config.json").read_text())["data"]
    assert record["name"] == str(new)
    assert main(["reconstruct", str(run), "--out", str(tmp_path / "r.csv")]) == 0
