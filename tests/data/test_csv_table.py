"""CSV tables: header names kept, missing markers, label/dropped columns, every refusal."""

from __future__ import annotations

import ast
import gzip
import re
import shlex

import numpy as np
import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_table import read_csv
from torchlvm.errors import ConfigError, DataError, OptionError

TABLE = "id,name,height,weight,kind\n" + "".join(
    f"{i},p{i},{150 + (i * 7) % 40},{50 + (i * 13) % 30},{'ab'[i % 2]}\n" for i in range(1, 21)
)


def test_header_names_are_kept_and_markers_are_missing(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,NA,3\n4,,6\n?,8,9\n10,11,null\n")
    table = read_csv(path)
    assert table.columns == ("a", "b", "c")
    assert np.isnan(table.values).sum() == 4 and table.values[3, 1] == 11
    data = load_dataset(path, "all", allow_missing=True)
    assert data.columns == ("a", "b", "c") and data.shape == (3,)


def test_drop_and_text_label_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TABLE)
    data = load_dataset(path, "all", drop_columns=["id", "name"], label_column="kind")
    assert data.columns == ("height", "weight")
    assert data.class_names == ("a", "b") and data.y[:2].tolist() == [1, 0]
    assert data.x[0].tolist() == [157.0, 63.0]


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        (TABLE, {}, r"column 'id' counts the rows \(1, 2, 3, ...\).*drop_columns=\['id'\]"),
        (
            TABLE,
            {"drop_columns": ["id", "kind"]},
            r"column 'name' holds text, not numbers \('p1' on line 2\); .*"
            r"drop_columns=\['id', 'kind', 'name'\].*label_column='name'",  # (the whole list)
        ),
        ("a,b\n1,2\n3,abc\n5,6\n", {}, r"line 3, column 'b': cannot read 'abc'"),
        ("a,b\n1,\n3,\n5,\n", {"allow_missing": True}, r"column 'b' has no value in any row"),
        ("a,b\n1,2\n,\n5,7\n", {}, r"line 3 .* \(1 such row; delete it\)"),  # kept: see test_files
        ("a,b\n1,\n,4\n5,\n", {}, "every one of its 3 rows has a missing cell"),
        ("a,b\n1,2\n3,4\n", {"drop_columns": ["c"]}, "drop_columns entry 'c' is not a column"),
        ("a,b\n,2\n,4\n", {"label_column": "a"}, r"line 2: the label \(column 'a'\)"),
    ],
    ids=[
        "id-column",
        "text-column",
        "text-cell",
        "empty-column",
        "empty-row",
        "all-rows-incomplete",
        "unknown-drop",
        "empty-label",
    ],
)
def test_refusals(tmp_path, text, options, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises((DataError, ConfigError), match=message):
        load_dataset(path, "all", **options)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            b"a,b\n1,2\n3,4\n5,caf\x81\n",
            r"line 4 is neither UTF-8 nor Windows-1252 text \(byte 0x81\)",
        ),
        (
            b"\xef\xbb\xbfa,b\n1,2\n3,4\n5,caf\xe9\n",
            r"line 4 is not UTF-8 text, which its byte-order mark says it is \(byte 0xe9\)",
        ),
    ],
    ids=["no-code-page", "utf8-by-its-mark"],
)
def test_unreadable_text_names_the_line_and_byte(tmp_path, raw, message):
    """0x81 is no character in UTF-8 (alone) nor in Windows-1252; a file marked UTF-8 by its
    byte-order mark is not read in another code page."""
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    with pytest.raises(DataError, match=message + r".*save the file as UTF-8 CSV$"):
        load_dataset(path, "all")


# Excel's "CSV" in Western Europe: Windows-1252 text, a header of units (°, µ) and names (é)
EXCEL_1252 = "Température (°C);Masse (µg);Région\n21,5;3,25;Île\n19;4,5;Nîmes\n23,25;1;Île\n"


@pytest.mark.parametrize(
    ("encoding", "mark"),
    [("cp1252", b""), ("latin-1", b""), ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf")],
    ids=["windows-1252", "latin-1", "utf-8", "utf-8-bom"],
)
def test_a_spreadsheets_encodings_read_to_the_same_table(tmp_path, encoding, mark):
    """A Windows-1252 or Latin-1 file was refused ('save as UTF-8'): it reads as its UTF-8
    twin does, names and classes included, and records its encoding for the files written."""
    path = tmp_path / "t.csv"
    path.write_bytes(mark + EXCEL_1252.encode(encoding))
    table = read_csv(path, label_column="Région")
    assert table.columns == ("Température (°C)", "Masse (µg)")
    assert table.values.tolist() == [[21.5, 3.25], [19.0, 4.5], [23.25, 1.0]]
    assert table.class_names == ("Nîmes", "Île")
    expected = {"cp1252": "cp1252", "latin-1": "cp1252", "utf-8": "utf-8"}[encoding]
    assert table.dialect.encoding == (expected if not mark else "utf-8-sig")


@pytest.mark.parametrize("endian", ["utf-16-le", "utf-16-be"])
def test_excels_unicode_text_reads(tmp_path, endian):
    """Excel's "Unicode Text": UTF-16 after its byte-order mark, tabs between cells."""
    path = tmp_path / "t.tsv"
    mark = b"\xff\xfe" if endian.endswith("le") else b"\xfe\xff"
    text = EXCEL_1252.replace(";", "\t").replace("\n", "\r\n")
    path.write_bytes(mark + text.encode(endian))
    table = read_csv(path, label_column=2)
    assert table.values.tolist() == [[21.5, 3.25], [19.0, 4.5], [23.25, 1.0]]
    assert table.columns == ("Température (°C)", "Masse (µg)")
    assert table.dialect == Dialect("\t", ",", endian, newline="\r\n")


@pytest.mark.parametrize("gz", [False, True], ids=["tsv", "tsv.gz"])
def test_a_tsv_with_decimal_commas_reads_as_its_csv_twin(tmp_path, gz):
    """pandas' to_csv(sep="\t", decimal=","): a .tsv of decimal commas was refused
    ('cannot read '1,5' as a number')."""
    rows = [[1.5, -2.25, 1e-3], [0.125, 3.0, 1234.5], [-7.0, 0.5, 2.0]]
    path = tmp_path / ("t.tsv.gz" if gz else "t.tsv")
    text = "a\tb\tc\n" + "".join(
        "\t".join(repr(v).replace(".", ",") for v in r) + "\n" for r in rows
    )
    path.write_bytes(gzip.compress(text.encode()) if gz else text.encode())
    table = read_csv(path)
    assert table.values.tolist() == rows and table.dialect.decimal == ","


def test_columns_are_matched_to_a_run_by_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("b,a\n1,2\n3,4\n")
    data = load_dataset(path, "all", columns=("a", "b"))
    assert data.x.tolist() == [[2, 1], [4, 3]] and data.columns == ("a", "b")
    with pytest.raises(DataError, match="lacks column 'c' that the run was trained on"):
        load_dataset(path, "all", columns=("a", "b", "c"))
    with pytest.raises(DataError, match=r"has column 'b' that the run was not trained on.*drop_c"):
        load_dataset(path, "all", columns=("a",))
    with pytest.raises(DataError, match="has 2 feature columns but the run was trained on 3"):
        load_dataset(path, "all", columns=("column 1", "column 2", "column 3"))


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Age,monthly income", r"lacks column 'age' .*; rename 'Age' to 'age' \(the file"),
        ("age_,Monthly_Income", r"rename 'age_' to 'age', 'Monthly_Income' to 'monthly income'"),
        ("age,monthly incme", r"column 'monthly income' .*; rename 'monthly incme' to 'mon"),
        ("age,income_monthly", r"column 'monthly income' .*; rename 'income_monthly' to 'mont"),
        (
            "age,z",
            r"lacks column 'monthly income' that the run was trained on; the file has 'z', which "
            r"the run was not trained on: if it is there under another name, rename that back, or "
            r"add it \(empty",
        ),
        (
            "f0,f1",
            r"holds none of the columns the run was trained on \('age', 'monthly income'\), "
            r"and has 'f0', 'f1'; pass a file of the run's table",
        ),
    ],
    ids=["case", "spacing", "typo", "word-order", "renamed", "another-file"],
)
def test_a_file_lacking_a_runs_column_names_the_near_miss(tmp_path, header, message):
    """A later file (to score, fill, encode) whose column is the run's spelt otherwise was told
    only to add it; one with none of the run's columns was told 'no feature column is left
    after the label and dropped ones' (none was dropped). A column renamed past recognition
    ('texture_mean' for 'mean texture' was: userR #2) is among the file's others, named."""
    path = tmp_path / "t.csv"
    path.write_text(f"{header}\n1,2\n3,4\n")
    with pytest.raises(DataError, match=message):
        read_csv(path, if_present=True, features=("age", "monthly income"))


# what a refusal's "drop it (--drop-columns X)" names: X as a shell splits it ('a b' quoted)
FLAG = r"--drop-columns ((?:'[^']*'|[^\s,)']+)(?:,(?:'[^']*'|[^\s,)']+))*)"


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("id,a,b\n1,0.5,2\n2,1.5,3\n3,2.5,1\n", {}),
        ("who,a,b\nx,0.5,2\ny,1.5,3\nz,2.5,1\n", {}),
        ('"x,y",a,b\nx,0.5,2\ny,1.5,3\nz,2.5,1\n', {}),
        ("a,b,extra\n0.5,2,9\n1.5,3,8\n2.5,1,7\n", {"columns": ("a", "b")}),
        ("Temp (°C),a,b\n,0.5,2\n,1.5,3\n,2.5,1\n", {"allow_missing": True}),
    ],
    ids=["id", "text", "comma-in-name", "not-the-runs", "empty-with-spaces"],
)
def test_each_refusal_names_an_option_that_reads_the_file(tmp_path, text, options):
    """load_dataset's refusals named --drop-columns, a CLI flag, to a Python caller: the Python
    message names drop_columns=[...], the CLI's --drop-columns ..., and each, followed as
    written, reads the file (a name with a comma by its index; one with spaces quoted)."""
    from torchlvm.cli._tables import options_from

    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_dataset(path, "all", **options)
    python = ast.literal_eval(re.search(r"drop_columns=(\[.*?\])", str(caught.value)).group(1))
    data = load_dataset(path, "all", drop_columns=python, **options)
    assert data.columns == ("a", "b") and data.x.tolist() == [[0.5, 2], [1.5, 3], [2.5, 1]]
    typed = shlex.split(re.search(FLAG, caught.value.on_command_line).group(1))
    assert "drop_columns=" not in caught.value.on_command_line and len(typed) == 1
    assert options_from({"drop_columns": typed[0]})["drop_columns"] == python


def test_standardize_fits_on_train_split(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal([5.0, -3.0], [2.0, 0.1], size=(50, 2))
    path = tmp_path / "t.npy"
    np.save(path, rows)
    train = load_dataset(path, "train", standardize=True)
    test = load_dataset(path, "test", standardize=True)
    assert torch.allclose(train.x.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(train.x.std(0, correction=0), torch.ones(2), atol=1e-5)
    assert test.standardizer == train.standardizer
    raw = load_dataset(path, "test")
    assert torch.allclose(test.standardizer.inverse(test.x), raw.x, atol=1e-5)


# A European spreadsheet's export: semicolons between cells, commas as decimal points, as
# pandas writes it with to_csv(sep=";", decimal=",") and Excel in most of continental Europe.
COMMAS = "name,a,b,label\nr1,1.5,-2,x\nr2,,3.25,y\nr3,4,1e-3,x\nr4,0.5,NA,y\n"


def _european(text: str, *, header: bool = True, decimal: str = ",") -> str:
    """``text`` with semicolons between cells and ``decimal`` as the decimal point."""
    lines = text.splitlines(keepends=True)[0 if header else 1 :]
    return "".join(line.replace(",", ";").replace(".", decimal) for line in lines)


@pytest.mark.parametrize(
    ("header", "decimal", "gz"),
    [(True, ",", False), (True, ".", False), (False, ",", False), (True, ",", True)],
    ids=["decimal-commas", "decimal-points", "no-header", "gzipped"],
)
def test_semicolon_tables_read_as_the_comma_file(tmp_path, header, decimal, gz):
    import gzip

    (tmp_path / "t.csv").write_text(COMMAS if header else COMMAS.split("\n", 1)[1])
    raw = _european(COMMAS, header=header, decimal=decimal).encode()
    path = tmp_path / ("e.csv.gz" if gz else "e.csv")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    options = {"label_column": 3, "drop_columns": [0], "allow_empty": True}
    table = read_csv(tmp_path / "t.csv", **options)
    given = read_csv(path, **options, keep_cells=True)
    np.testing.assert_array_equal(given.values, table.values)  # bit for bit
    assert given.columns == table.columns and given.class_names == ("x", "y")
    assert given.dialect.delimiter == ";" and given.dialect.decimal == decimal
    assert given.cells[0][1] == f"1{decimal}5"  # the cells as written, for impute to copy


def test_a_semicolon_table_with_numeric_labels_and_missing_cells_trains_as_the_comma_file(
    tmp_path,
):
    body = (f"{i / 4},{'' if i % 5 == 0 else i * 0.3},{i % 2}\n" for i in range(30))
    text = "a,b,y\n" + "".join(body)
    (tmp_path / "t.csv").write_text(text)
    (tmp_path / "e.csv").write_text(_european(text))
    options = {"label_column": "y", "allow_missing": True, "standardize": True}
    rows = load_dataset(tmp_path / "t.csv", "train", **options)
    other = load_dataset(tmp_path / "e.csv", "train", **options)
    torch.testing.assert_close(other.x, rows.x, equal_nan=True, rtol=0, atol=0)
    assert other.y.tolist() == rows.y.tolist()


@pytest.mark.parametrize(
    ("text", "values", "columns"),
    [
        ('a,"b;c",d\n1,2,3\n4,5,6\n', [[1, 2, 3], [4, 5, 6]], ("a", "b;c", "d")),
        ("a;b,c\n1,2\n3,4\n", [[1, 2], [3, 4]], ("a;b", "c")),
        ("1,2,3\n4,5,6\n", [[1, 2, 3], [4, 5, 6]], None),
    ],
    ids=["quoted-semicolon-in-a-name", "semicolon-in-a-name", "plain"],
)
def test_a_comma_table_with_a_semicolon_in_a_name_stays_commas(tmp_path, text, values, columns):
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_csv(path)
    assert table.values.tolist() == values and table.columns == columns
    assert table.dialect.delimiter == ","


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a;b;c\n1;2;3\n4;5\n", r"line 3 has 2 cells but the file has 3 columns"),
        ("a;b\n1,5;2\n1,2,3;3\n", r"cannot read '1,2,3' as a number; correct the cell"),
        ("a\tb\n1\t2\n", r"separates its cells with tabs, not commas or semicolons.*\.tsv"),
        # a '# note' line among the rows was told 'line 3 has 1 cells but the file has 2 columns'
        (
            "a,b\n1,2\n# note\n3,4\n",
            r"line 3 is a comment \('# note'\), not a row of 2 cells; delete it$",
        ),
        (
            "a,b\n1,2\n# x\n3,4\n#y\n",
            "line 3 is a comment .*; delete it and the 1 other comment line$",
        ),
        ("a,b\n1,2\n3\n", "line 3 has 1 cell but the file has 2 columns"),
        # cat a.csv b.csv: "line 3, column 'a': cannot read 'a' as a number"
        (
            "a,b\n1,2\na, b\n3,4\n",
            "line 3 repeats the header, as files joined one after "
            "another do; delete it, keeping the first header$",
        ),
        ("a;b\n1;2\n\na;b\n3;4\na;b\n", "line 4 repeats the header \\(2 lines do\\).*delete them"),
    ],
    ids=["ragged", "not-a-number", "tabs", "comment", "comments", "one-cell", "joined", "joined-3"],
)
def test_a_tables_faults_are_named_on_its_lines_with_a_fix(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_csv(path)


@pytest.mark.parametrize(
    ("name", "text", "values"),
    [
        ("t.csv", 'a,b\n"49,898.84",2\n"1,234",3.5\n"1,234,567",-1\n', [49898.84, 1234, 1234567]),
        ("t.csv", "a;b\n49.898,84;2\n1.234;3,5\n1.234.567;-1\n", [49898.84, 1234, 1234567]),
        ("t.tsv", "a\tb\n49.898,84\t2\n1.234\t3,5\n1.234.567\t-1\n", [49898.84, 1234, 1234567]),
        ("t.tsv", "a\tb\n49,898.84\t2\n1,234\t3.5\n1,234,567\t-1\n", [49898.84, 1234, 1234567]),
        ("t.csv", "a;b\n1,234;2\n0,5;3,5\n2;-1\n", [1.234, 0.5, 2]),  # one group: a decimal
        ("t.tsv", "a\tb\n1.234\t2\n0.5\t3.5\n2\t-1\n", [1.234, 0.5, 2]),
        ("t.csv", "a;b\n1\u202f234,5;2\n1\u00a0234;3,5\n1 234 567;-1\n", [1234.5, 1234, 1234567]),
        ("t.csv", "a,b\n1'234.5,2\n1'234,3.5\n\"1 234 567\",-1\n", [1234.5, 1234, 1234567]),
        # the one decimal comma of the file after a no-break space: the file was read with
        # decimal points, and '1 234,5' refused ('correct the cell')
        ("t.csv", "a;b\n1\u00a0234,5;2\n1;3.5\n1\u202f234\u202f567;-1\n", [1234.5, 1, 1234567]),
    ],
    ids=[
        "commas",
        "semicolons",
        "tsv-decimal-commas",
        "tsv-points",
        "one-group",
        "tsv-one-group",
        "french-spaces",
        "swiss-apostrophes",
        "french-spaces-tell-the-decimal-comma",
    ],
)
def test_thousands_separators_are_read_as_a_spreadsheet_shows_them(tmp_path, name, text, values):
    """Excel writes a number formatted with thousands separators as it shows it ("49,898.84";
    49.898,84 in much of Europe): a column of them was refused as text, with the fix to drop
    it or to take it as labels."""
    path = tmp_path / name
    path.write_text(text)
    table = read_csv(path)
    assert table.values[:, 0].tolist() == values and table.values[:, 1].tolist() == [2, 3.5, -1]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("t.tsv", "a\tb\n1,234\t2\n5\t3\n", r"'1,234' .* may be 1234 \(with a thousands separ"),
        (
            "t.csv",
            "a;b\n1.234;2\n5;3\n",
            r"'1.234' .* may be 1234 .* or 1.234.* as 1234 or as 1,234",
        ),
        (
            "t.csv",
            "a,b\n12.5%,2\n3%,3\n",
            r"'12.5%' as a number \(all 2 numbers .*\); write its numbers without percent",
        ),
        ("t.csv", "d,b\n2024-01-31,2\n2024-02-01,3\n", r"column 'd' holds dates, not numbe"),
        (
            "t.csv",
            "d,b\n31.01.2024,2\n1.2.2024,3\n",
            r"holds dates.*drop it \(drop_columns=\['d'\]",
        ),
        ("t.csv", "m,b\nTrue,2\nFalse,3\n", r"holds booleans.* write them as 1 and 0 to keep"),
        ("t.csv", "m,b\nyes,2\nNo,3\n,4\n", r"holds booleans.*labels \(label_column='m'\)"),
        ("t.csv", "Bio;b\nja;2\nNein;3\n", r"column 'Bio' holds booleans.* write them as 1 and 0"),
        ("t.csv", "bio,b\noui,2\nnon,3\n", r"column 'bio' holds booleans"),
        (
            "t.csv",
            "m;b\n12,50 €;2\n3 €;3\n",
            r"'12,50 €' as a number \(all 2 numbers .*\); write its numbers without curr",
        ),
        (
            "t.csv",
            'm,b\n"$1,234.50",2\n$3,3\n',
            r"'\$1,234.50' as a number \(all 2 .*\); write .* without curr",
        ),
    ],
    ids=[
        "tsv-one-group",
        "semicolons-one-group",
        "percent",
        "iso-dates",
        "dates",
        "bool",
        "yes-no",
        "ja-nein",
        "oui-non",
        "euros",
        "dollars",
    ],
)
def test_almost_numbers_are_refused_naming_what_they_are(tmp_path, name, text, message):
    """Where the file does not tell 1234 from 1.234, both are named with a spelling that reads
    (a test below follows it); percent signs, dates and booleans are named with their fix, not
    'if it is a class, use it as labels'."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_dataset(path, "all", allow_missing=True)


@pytest.mark.parametrize(
    ("name", "text", "fixed", "value"),
    [
        ("t.tsv", "a\tb\n1,234\t2\n5\t3\n", ("1,234", "1234"), 1234.0),
        ("t.tsv", "a\tb\n1,234\t2\n5\t3\n", ("1,234", "1.234"), 1.234),
        ("t.csv", "a;b\n1.234;2\n5;3\n", ("1.234", "1234"), 1234.0),
        ("t.csv", "a;b\n1.234;2\n5;3\n", ("1.234", "1,234"), 1.234),
    ],
    ids=["tsv-whole", "tsv-decimal", "semicolons-whole", "semicolons-decimal"],
)
def test_either_spelling_the_ambiguous_refusal_names_reads(tmp_path, name, text, fixed, value):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError) as caught:
        read_csv(path)
    assert f"as {fixed[1]}" in str(caught.value)
    path.write_text(text.replace(*fixed))
    assert read_csv(path).values[0, 0] == value


@pytest.mark.parametrize(
    "text",
    [
        "a,b,\n1,2,\n3,4,\n5,6,\n",
        "a,b,,\n1,2,,\n3,4,,\n5,6,,\n",
        "a,b\n1,2,\n3,4,\n5,6\n",
        "a;b;\n1;2;\n3;4;\n5;6;\n",
    ],
    ids=["header-and-rows", "two", "rows-only", "semicolons"],
)
def test_a_separator_at_each_lines_end_adds_no_column(tmp_path, text):
    """A spreadsheet's 'a,b,' lines were refused: an unnamed column with no value ('drop it
    (--drop-columns 2)'), or a row one cell longer than the header ('every row needs the same
    number of cells')."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_csv(path)
    assert table.columns == ("a", "b") and table.values.tolist() == [[1, 2], [3, 4], [5, 6]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,\n1,2,3\n3,4,\n5,6,\n", r"holds 2 missing"),  # a value: a column, with holes
        ("a,b\n1,2,3\n3,4\n5,6\n", "line 2 has 3 cells but the file has 2 columns"),
        ("1,2,\n3,4,\n5,6,\n", r"column 3 \(index 2\) has no value in any row; drop"),  # no header
    ],
    ids=["a-value-in-it", "a-value-beyond-the-header", "no-header"],
)
def test_a_trailing_column_with_a_value_is_read_or_refused(tmp_path, text, message):
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        load_dataset(path, "all")


@pytest.mark.parametrize(
    "head",
    [b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"],
    ids=["xlsx", "xls"],
)
def test_a_workbook_renamed_csv_is_named_as_one(tmp_path, head):
    """An .xlsx renamed .csv was refused as 'neither UTF-8 nor Windows-1252 text' (or as text
    with NUL bytes): it is named as a workbook, with the export that reads."""
    path = tmp_path / "t.csv"
    path.write_bytes(head + bytes(range(256)))
    with pytest.raises(DataError, match=r"is a spreadsheet's workbook, not a table as text; save"):
        read_csv(path)


def _zipped(names: list[str]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "a,b\n1,2\n")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (gzip.compress(b"a,b\n1,2\n"), r"t.csv is gzip-compressed; name it t.csv.gz"),
        (b"\x93NUMPY\x01\x00" + bytes(100), r"t.csv is a NumPy array \(.npy\), .* name it t.npy"),
        (b"PAR1" + bytes(100), r"t.csv is a Parquet file, .* pd.read_parquet\('t.csv'\)"),
        (_zipped(["table.csv"]), r"t.csv is a zip archive, not a table as text; unzip it"),
        (_zipped(["xl/workbook.xml"]), r"t.csv is a spreadsheet's workbook"),
    ],
    ids=["gzip", "npy", "parquet", "zip", "xlsx"],
)
def test_a_binary_file_under_a_csv_name_is_named_by_its_first_bytes(tmp_path, content, named):
    """gzip or .npy bytes under a .csv name were told to pass --encoding, a Parquet file that it
    held no data rows, a zip of a CSV that it was a workbook (userJ #17): the first bytes say
    which format it is, and the fix for it."""
    path = tmp_path / "t.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=named):
        read_csv(path)


def test_a_gzip_file_cut_short_is_said_to_be(tmp_path):
    """A cut-off .csv.gz was told to "compress it with gzip" (userJ #17)."""
    path = tmp_path / "t.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n" + b"1,2\n" * 1000)[:-20])
    with pytest.raises(DataError, match=r"t.csv.gz is cut off: its gzip stream ends before"):
        read_csv(path)


YEARS = "2019,2020\n5.13,4.87\n6.25,5.5\n4.5,7.125\n"


@pytest.mark.parametrize(
    ("text", "fixed"),
    [
        (YEARS, ("2019,2020", "y2019,y2020")),
        (YEARS, ("2019,2020", "2019.0,2020")),
        ("region,2019,2020\nr,5.13,4.87\nr,6.25,5.5\n", ("2019,2020", "y2019,y2020")),
    ],
    ids=["names", "a-row", "with-text"],
)
def test_names_that_are_numbers_are_refused_with_fixes_that_read(tmp_path, text, fixed):
    """A header of years ('2019,2020' over decimals) was read as a row of data, silently; beside
    a text column's name, the name was refused as text in a numeric column."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=r"line 1 holds whole numbers \(2019, 2020\) over column"):
        read_csv(path)
    path.write_text(text.replace(*fixed, 1))
    table = read_csv(path, drop_columns=["region"] if "region" in text else ())
    if fixed[1].startswith("y"):
        assert table.columns == ("y2019", "y2020") and table.values[0].tolist() == [5.13, 4.87]
    else:
        assert table.columns is None and table.values[0].tolist() == [2019, 2020]


def test_whole_numbers_over_whole_numbers_are_a_row(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("3,4\n5.5,6\n7,8.25\n")  # a column of whole numbers below: no names
    assert read_csv(path).values.tolist() == [[3, 4], [5.5, 6], [7, 8.25]]


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_excels_separator_hint_line_is_skipped(tmp_path, separator):
    """Excel reads and some tools write a first line 'sep=;': it was read as the header, and
    every row refused as ragged."""
    path = tmp_path / ("t.tsv" if separator == "\t" else "t.csv")
    rows = ["a", "b"], ["1,5" if separator == ";" else "1.5", "2"], ["3", "4"], ["x", "6"]
    path.write_text(f"sep={separator}\n" + "".join(separator.join(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=r"line 5, column 'a': cannot read 'x'"):
        read_csv(path)  # lines keep their numbers
    path.write_text(path.read_text().replace("x", "5"))
    table = read_csv(path)
    assert table.columns == ("a", "b") and table.values.tolist() == [[1.5, 2], [3, 4], [5, 6]]


def test_a_stated_encoding_names_the_columns_and_bytes_not_in_it_are_refused(tmp_path):
    """A Windows-1251 header read as Windows-1252 was garbled ('Ðîñò'), silently; stated, it
    reads right, and a byte the stated encoding has no character for is refused by line."""
    path = tmp_path / "t.csv"
    rows = "".join(f"{i * 1.5},{i % 7}\n" for i in range(20))
    path.write_bytes(("Рост,Вес\n" + rows).encode("cp1251"))
    with pytest.warns(UserWarning, match="holds 'Ðîñò'; if that looks garbled"):
        assert load_dataset(path, "all").columns != ("Рост", "Вес")
    data = load_dataset(path, "all", encoding="windows-1251")
    assert data.columns == ("Рост", "Вес") and data.dialect.encoding == "cp1251"
    path.write_bytes(path.read_bytes() + b"3,\x98\n")  # 0x98: no character in Windows-1251
    with pytest.raises(DataError) as refused:
        load_dataset(path, "all", encoding="cp1251")
    message = "line 22 is not cp1251 text (byte 0x98); pass the encoding it is in ({}, such as"
    assert message.format("encoding='NAME'") in str(refused.value)
    assert message.format("--encoding NAME") in refused.value.on_command_line


@pytest.mark.parametrize(
    ("raw", "options", "message"),
    [
        (
            b"a,b\n1,2\n3,4\n5,caf\x81\n",
            {},
            r"byte 0x81\); pass the encoding it is in \(encoding='NAME', such as utf-8, cp1252",
        ),
        (
            b"\xef\xbb\xbfa,b\n1,2\n3,4\n",
            {"encoding": "cp1252"},
            r"starts with the byte-order mark of utf-8, so it is not cp1252 text; leave out "
            r"encoding$",
        ),
        (b"a,b\n1,2\n", {"encoding": "utf-9"}, r"encoding 'utf-9' is not a text encoding"),
    ],
    ids=["undetected", "marked-otherwise", "unknown-name"],
)
def test_an_encoding_refusal_names_the_option(tmp_path, raw, options, message):
    path = tmp_path / "t.csv"
    path.write_bytes(raw)
    with pytest.raises((DataError, ConfigError), match=message):
        load_dataset(path, "all", **options)


def test_an_array_file_takes_no_encoding(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones((8, 2)))
    with pytest.raises(ConfigError, match="encoding applies to .csv files, not x.npy; leave it"):
        load_dataset(path, "all", encoding="cp1251")


def _pandas_csv(index: np.ndarray) -> str:
    """A table as pandas' ``to_csv()`` writes it with its index: a first column of no name."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(len(index), 2))
    rows = (f"{i},{float(a)!r},{float(b)!r}\n" for i, (a, b) in zip(index, values, strict=True))
    return ",a,b\n" + "".join(rows)


@pytest.mark.parametrize(
    ("index", "held"),
    [
        (np.random.default_rng(0).permutation(40), r"numbers the rows in another order \(each of"),
        (np.arange(0, 120, 3), r"holds another whole number on every row \(0, 3, 6, ...\) under"),
    ],
    ids=["shuffled", "filtered"],
)
def test_a_pandas_index_that_does_not_count_the_rows_is_no_feature(tmp_path, index, held):
    """pandas writes its index as a first column of no name; a shuffled frame's (df.sample,
    train_test_split) or a filtered one's (df[df.a > 0]) does not count 0, 1, 2, ..., and was
    read as a feature, silently."""
    path = tmp_path / "t.csv"
    path.write_text(_pandas_csv(index))
    with pytest.raises(DataError, match=r"t.csv: column at index 0 \(no name\) " + held) as refused:
        load_dataset(path, "all")
    assert refused.value.on_command_line.endswith(
        "drop it (--drop-columns 0, its index counting from 0), or save the file without it "
        "(pandas: to_csv(index=False); R: write.csv(..., row.names=FALSE))"
    )
    assert load_dataset(path, "all", drop_columns=[0]).columns == ("a", "b")


def test_rs_row_names_are_told_rs_way_to_leave_them_out(tmp_path):
    """R's write.csv writes its row names as a quoted first column of no name, "1", "2", ...:
    the refusal named pandas' to_csv(index=False) alone."""
    path = tmp_path / "t.csv"
    rows = [f'"{i + 1}",{i % 3}.5,{(i * 7) % 5}.25\n' for i in range(12)]
    path.write_text('"","a","b"\n' + "".join(rows))
    with pytest.raises(
        DataError, match=r"counts the rows \(1, 2, 3, ...\).*R: write\.csv\(\.\.\., "
    ):
        load_dataset(path, "all")


def test_a_feature_of_distinct_whole_numbers_in_a_named_column_is_read(tmp_path):
    """A named column of distinct whole numbers that is no range (a price in cents) is data."""
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(4)
    cents = rng.choice(100_000, size=40, replace=False)
    path.write_text("price,a\n" + "".join(f"{c},{rng.normal()!r}\n" for c in cents))
    assert load_dataset(path, "all").columns == ("price", "a")


@pytest.mark.parametrize(
    ("mark", "fix"),
    [
        ("-", "write 0 where it is a spreadsheet's zero (an accounting format shows 0 as -)"),
        ("–", "write 0 where it is a spreadsheet's zero (an accounting format shows 0 as -)"),
        (".", "it is how SAS and Stata write a missing value: write NA"),
    ],
    ids=["hyphen", "en-dash", "dot"],
)
def test_a_mark_of_no_number_is_refused_with_its_count_and_fix(tmp_path, mark, fix):
    """'-' and '.' are no numbers: a missing value in some exports (SAS, Stata, printed
    tables), a zero in Excel's accounting format; torchlvm does not guess which, and says how
    many cells hold the mark, as each needs the fix."""
    path = tmp_path / "t.csv"
    cells = [mark if i % 7 == 0 else f"{i / 3!r}" for i in range(40)]
    path.write_text(
        "a,b\n" + "".join(f"{i},{c}\n" for i, c in zip(range(9, 49), cells, strict=True))
    )
    message = (
        f"t.csv line 2, column 'b': cannot read '{mark}' as a number (6 cells of the "
        f"column hold it); {fix}, or mark it missing: leave it empty, or name it with "
        f"na_values=[{mark!r}]"
    )
    with pytest.raises(DataError, match=re.escape(message) + "$"):
        load_dataset(path, "all", drop_columns=["a"])


@pytest.mark.parametrize(
    ("header", "encoding", "word"),
    [
        ("Größe,Höhe", "mac-roman", "Grš§e"),
        ("Рост,Вес", "cp1251", "Ðîñò"),
        ("Wysokość,Łódź", "iso8859-2", "Wysoko¶æ"),
    ],
    ids=["mac-roman", "windows-1251", "latin-2"],
)
def test_a_table_that_reads_garbled_as_windows_1252_warns_naming_the_encoding_option(
    tmp_path, header, encoding, word
):
    """Another code page read as Windows-1252 named its columns garbled, silently: it warns,
    naming the word and the option; stated, or in Windows-1252 text itself, nothing warns."""
    import warnings

    path = tmp_path / "t.csv"
    rows = "".join(f"{i * 0.5},{(i * 7) % 11}\n" for i in range(20))
    path.write_bytes((header + "\n" + rows).encode(encoding))
    with pytest.warns(UserWarning, match=f"holds '{word}'; if that looks garbled, give the file"):
        load_dataset(path, "all")
    western = tmp_path / "w.csv"
    western.write_bytes(("Île-de-France (°C),cœur informação\n" + rows).encode("cp1252"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_dataset(path, "all", encoding=encoding).columns == tuple(header.split(","))
        assert load_dataset(western, "all").columns[1] == "cœur informação"


@pytest.mark.parametrize(
    ("name", "values"),
    [("rank", np.arange(1, 41)), ("year", np.arange(1981, 2021)), ("rank", None)],
    ids=["sorted-rank", "consecutive-years", "shuffled-rank"],
)
def test_a_named_feature_that_numbers_the_rows_is_read_with_a_warning(tmp_path, name, values):
    """A league table sorted by rank, or a yearly series, has a feature that counts the rows:
    refused as an ID, it had no way through. A column whose name does not say ID or index is
    read, and a warning names the fix if it is one after all."""
    values = np.random.default_rng(1).permutation(40) + 1 if values is None else values
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(5)
    path.write_text(f"{name},a\n" + "".join(f"{v},{rng.normal()!r}\n" for v in values))
    with pytest.warns(
        UserWarning,
        match=rf"column '{name}' .*read as a feature.*"
        rf"--drop-columns {name}",
    ):
        data = load_dataset(path, "all")
    assert data.columns == (name, "a")
    np.testing.assert_array_equal(data.x[:, 0].numpy(), values)


@pytest.mark.parametrize(
    "name",
    ["id", "PatientID", "row_no", "Unnamed: 0", "index", "n", "Proben-Nr.", "Lfd. Nr.", "Nummer",
     "N° échantillon", "sample no"],
)  # fmt: skip
def test_a_column_named_as_an_id_that_numbers_the_rows_is_refused(tmp_path, name):
    path = tmp_path / "t.csv"
    rng = np.random.default_rng(5)
    path.write_text(f"{name},a\n" + "".join(f"{i},{rng.normal()!r}\n" for i in range(40)))
    with pytest.raises(DataError, match="looks like an ID or an index"):
        load_dataset(path, "all")


@pytest.mark.parametrize(
    ("cell", "fix"),
    [
        ("\u22121.5", r"write its minus sign as '-' \(it is U\+2212, a typographic minus\)"),
        ("(123)", r"write it as -123 \(an accounting format shows a negative number in brackets"),
        ("( 1,234.5 )", r"write it as -1,234.5 \("),
    ],
    ids=["typographic-minus", "accounting-brackets", "accounting-grouped"],
)
def test_a_negative_number_written_as_print_shows_it_is_told_the_minus(tmp_path, cell, fix):
    """'−1.5' (copied from a web page) and '(123)' (Excel's accounting format) were told only
    'correct the cell'."""
    path = tmp_path / "t.csv"
    path.write_text(f'a,b\n1,2\n"{cell}",3\n4,5\n')
    with pytest.raises(DataError, match=f"line 3, column 'a': cannot read .*; {fix}"):
        read_csv(path)


@pytest.mark.parametrize(
    ("cell", "fix"),
    [
        ("<0.01", "it is a value below a limit of detection, 0.01 (a missing cell's fill would "
         "not know that limit): write it as a number, such as the limit or half of it (0.005), "
         "or mark it missing"),
        ("> 1000", "it is a value above a limit of detection, 1000 (a missing cell's fill would "
         "not know that limit): write it as a number, such as the limit, or mark it missing"),
    ],
    ids=["below", "above"],
)  # fmt: skip
def test_a_censored_cell_is_named_with_its_limit(tmp_path, cell, fix):
    """userR #3: '<0.01', as lab exports write a value below the limit of detection, was
    offered only as a missing value, and the fills of 42 such cells ran from -0.042 to 0.060,
    17 of them at or above the limit the cells stated."""
    path = tmp_path / "t.csv"
    path.write_text(f"a,b\n1,2\n{cell},3\n4,5\n")
    with pytest.raises(DataError) as error:
        read_csv(path)
    assert f"line 3, column 'a': cannot read {cell!r} as a number; {fix}" in str(error.value)


ROWS_OF_NUMBERS = "".join(f"{i % 5}.5,{i % 3}.25,{i % 7}\n" for i in range(12))


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "Sales report 2024,,\na,b,c\n" + ROWS_OF_NUMBERS,
            "line 2 holds text alone ('a', 'b', 'c'), as the header line above it does "
            "('Sales report 2024'), and numbers follow; a table has one header line: delete",
        ),
        (
            "Sales report 2024\na,b,c\n" + ROWS_OF_NUMBERS,
            "line 2 holds text alone ('a', 'b', 'c'), as the header line above it does",
        ),
        ("a,b,c\nkg,m,s\n" + ROWS_OF_NUMBERS, "line 2 holds text alone ('kg', 'm', 's'), as"),
        (
            "a,b,c\n" + ROWS_OF_NUMBERS + "\nSource: internal,,\n",
            "line 15 (the last row) holds text alone ('Source: internal') among rows of "
            "numbers: it is no row of data (a note, a title or a units line); delete it",
        ),
        ("a,b,c\n" + ROWS_OF_NUMBERS + "Source: internal\n", "line 14 (the last row) holds"),
        (
            "a,b,c\n" + ROWS_OF_NUMBERS + "Total:,30.5,12\n",
            "line 14 starts with 'Total:' beside numbers: a totals row, which is no row of "
            "data; delete it",
        ),
        ("a,b,c\n1,2,3\nSubtotal,3,\n4,5,6\n", "line 3 starts with 'Subtotal' beside"),
        ("a,b,c\n" + ROWS_OF_NUMBERS + "x,30.5,12\n", "line 14, column 'a': cannot read 'x'"),
        (
            "a,b,c\n" + ROWS_OF_NUMBERS + "24,15,Total\n",
            "line 14 holds 'Total' beside numbers: a totals row, which is no row of data",
        ),
        (
            "a,b,c\n" + ROWS_OF_NUMBERS + "27,15,31\n",
            "line 14 (the last row) holds the sums of the rows above it, column by column (27, "
            "15, 31): a totals row, which is no row of data; delete it",
        ),
    ],
    ids=[
        "title-over-header",
        "title-of-one-cell",
        "units",
        "note",
        "note-of-one-cell",
        "total",
        "subtotal",
        "a-typo-is-no-total",
        "total-in-the-last-column",
        "sums-without-a-word",
    ],  # fmt: skip
)
def test_a_sheets_title_units_notes_and_totals_are_named_as_such(tmp_path, text, said):
    """A sheet saved as CSV with its title, units, notes or totals was refused by a check made
    for another cause: 'columns 2 and 3 are both named ''' (give each its own name), 'line 2
    has 3 cells but the file has 1 columns', 'cannot read 'kg' as a number; correct the cell'.
    The line is named as what it is, and the fix is to delete it."""
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    with pytest.raises(DataError) as error:
        read_csv(path)
    assert str(error.value) == f"{path} {said}" or str(error.value).startswith(f"{path} {said}")


def test_a_sums_row_whose_word_is_in_a_dropped_id_column_is_named(tmp_path):
    """userP #14: diabetes saved with its patient IDs and a 'Total' row of sums: with
    --drop-columns patient the row was read as data, and fit warned that 'bmi' is 'age' in
    other units and of a far cell in each column; with 'Total' under the label column it was
    offered as --na-values Total. A row of zeros under centred columns, or a last row that is
    no sum, is data."""
    rows = "".join(f"r{i},{i % 5}.5,{i % 3}.25,{i % 7}\n" for i in range(12))
    path = tmp_path / "t.csv"
    path.write_text("patient,a,b,c\n" + rows + "Total,27,15,31\n")
    with pytest.raises(DataError, match=r"line 14 \(the last row\) holds the sums of the rows"):
        read_csv(path, drop_columns=["patient"])
    centred = "".join(f"{v},{-v}\n" for v in (-2, -1, 1, 2))
    path.write_text("a,b\n" + centred + "0,0\n")
    assert read_csv(path).values.shape == (5, 2)
    path.write_text("a,b,c\n" + ROWS_OF_NUMBERS + "27,15,30\n")  # (no sum: c adds to 31)
    assert read_csv(path).values.shape == (13, 3)


def test_rows_of_text_in_text_columns_are_data(tmp_path):
    """A row whose features are all missing holds text alone in its ID and class columns:
    a row of data, not a note (those columns hold no numbers)."""
    path = tmp_path / "t.csv"
    path.write_text("id,kind,a,b\nr1,x,1.5,2\nr2,y,,\nr3,x,3,4.5\nr4,y,2,1\n")
    table = read_csv(path, drop_columns=["id"], label_column="kind", allow_empty=True)
    assert table.values.shape == (4, 2) and np.isnan(table.values[1]).all()


@pytest.mark.parametrize("line", ["   ", "\t", " \t "], ids=["spaces", "tab", "both"])
def test_a_line_of_spaces_is_blank_as_an_empty_one_is(tmp_path, line):
    """A last line of spaces (it looks empty) was told 'line 4 has 1 cell but the file has 2
    columns'; it is skipped as an empty line is, and a filled copy keeps it."""
    from torchlvm.data.csv_rewrite import rewritten

    text = f"a,b\n1,2\n3,\n{line}\n"
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_csv(path, keep_cells=True)
    assert table.values.shape == (2, 2) and table.lines.tolist() == [2, 3]
    filled = rewritten(table.text, table.dialect, table.header, table.cells, [{(1, 1): "9"}])
    assert filled == f"a,b\n1,2\n3,9\n{line}\n"


@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_mark_is_told_the_encoding_its_bytes_say(tmp_path, order):
    """UTF-16 without a byte-order mark decodes as UTF-8 (NUL is a character), and was told
    'line 4 has 1 cell but the file has 3 columns'; its NUL bytes name it, and the encoding
    its first bytes say, which reads it."""
    path = tmp_path / "t.csv"
    path.write_bytes("a,b,c\n1,2,3\n4,5,6.5\n".encode(order))
    with pytest.raises(DataError) as error:
        read_csv(path)
    assert "as UTF-16 text without its byte-order mark does; pass its encoding " in str(
        error.value
    ) and f"(encoding='{order}', as its first bytes say)" in str(error.value)
    assert read_csv(path, encoding=order).values.tolist() == [[1, 2, 3], [4, 5, 6.5]]


@pytest.mark.parametrize(
    ("labels", "warned"),
    [
        (["a"] * 6 + ["b"] * 6 + ["rare"], "('rare' 1 row)"),
        (["a"] * 6 + ["b"] * 6 + ["B", "c", "c"], "('B' 1 row, 'c' 2 rows)"),
        (["0"] * 6 + ["1"] * 6 + ["7"], "('7' 1 row)"),
        (["a"] * 6 + ["b"] * 7, None),
        ([f"{v:.3f}" for v in np.linspace(0, 1, 13)], None),  # a measurement, no class
    ],
    ids=["text", "two-rare", "numbers", "none-rare", "continuous"],
)
def test_a_class_of_few_training_rows_is_warned_of(tmp_path, recwarn, labels, warned):
    """A CVAE's label column with a class of 1 row (a typo, 'B' for 'b') trained silently."""
    path = tmp_path / "t.csv"
    rows = "".join(f"{i % 3 + 0.5},{i * 1.5 % 4},{c}\n" for i, c in enumerate(labels))
    path.write_text("x,y,segment\n" + rows)
    read_csv(path, label_column="segment")
    said = [str(w.message) for w in recwarn if "fewer than 5 rows" in str(w.message)]
    assert said == ([] if warned is None else [said[0]]) and (warned is None or warned in said[0])
    read_csv(path, label_column="segment", if_present=True)  # a file to score: not said again
    assert len([w for w in recwarn if "fewer than 5 rows" in str(w.message)]) == len(said)


def test_a_later_files_columns_that_are_none_of_the_runs_are_said_not_read(tmp_path, recwarn):
    """A file to score or fill with extra columns (pandas' index, notes) was read silently
    without them: one line names them; a file of just the run's columns says nothing."""
    path = tmp_path / "t.csv"
    path.write_text(",a,notes,b\n0,1.5,x,2\n1,2.5,y,3\n")
    table = read_csv(path, if_present=True, features=("a", "b"))
    assert table.columns == ("a", "b")
    said = [str(w.message) for w in recwarn if "none of the run's columns" in str(w.message)]
    assert said == [
        f"{path}: columns '' (no name), 'notes' are none of the run's columns, so "
        "the model does not read them"
    ]
    path.write_text("b,a\n2,1.5\n3,2.5\n")
    read_csv(path, if_present=True, features=("a", "b"))
    assert len([w for w in recwarn if "none of the run's" in str(w.message)]) == 1


@pytest.mark.parametrize(
    ("cells", "held"),
    [
        (["47.4%", "12%", "8%"], "(all 3 numbers of the column are written so)"),
        (["47.4%", "12%", "(274)", "9.5%"], "(3 cells of the column are written so)"),
    ],
    ids=["all", "some"],
)
def test_a_column_of_percentages_is_counted_by_its_form(tmp_path, cells, held):
    """'47.4%' was said held by '2 cells of the column' (those of that very text) where every
    cell of the column was a percentage."""
    path = tmp_path / "t.csv"
    path.write_text("a,score\n" + "".join(f"{i}.5,{c}\n" for i, c in enumerate(cells)))
    with pytest.raises(DataError, match=re.escape(f"'47.4%' as a number {held}; write its")):
        read_csv(path)


def test_a_label_or_dropped_name_spelt_otherwise_is_suggested(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,segment\n1.5,2,x\n2.5,3,y\n")
    with pytest.raises(OptionError, match="not a column name .*; did you mean 'segment'\\? pass"):
        read_csv(path, label_column="Segment")
    with pytest.raises(OptionError, match="entry 'segmnt' .*; did you mean 'segment'\\? pass"):
        read_csv(path, drop_columns=["segmnt"])


SURVEY = (
    "respondent,q1,age,q2,income\nR001,Agree,34,Strongly disagree,52000\n"
    "R002,Neutral,45,Agree,61000\nR003,Strongly agree,29,Disagree,48000\n"
)


def test_every_column_of_text_is_named_in_one_refusal(tmp_path):
    """userC: a survey export was refused one text column per try (respondent, then q1, then
    q2); one refusal names them all, what each holds, and the one option that drops them."""
    path = tmp_path / "survey.csv"
    path.write_text(SURVEY)
    with pytest.raises(DataError) as refused:
        read_csv(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: 3 columns hold no numbers (column 'respondent', text:")
    assert "column 'q1', answers on a scale: 'Agree' on line 2" in message
    assert "drop them (drop_columns=['respondent', 'q1', 'q2'])" in message
    assert "code a scale's answers as numbers (1, 2, ... in their order) in your file" in message
    assert "--drop-columns respondent q1 q2" in refused.value.on_command_line
    with pytest.raises(DataError, match=r"column 'respondent' holds text, not numbers"):
        read_csv(path, drop_columns=["q1", "q2"])  # one column: its own refusal


@pytest.mark.parametrize(
    ("text", "named", "drop"),
    [
        (
            'a,income,share,member\n1.5,"$54,996.93",48.6%,no\n2.5,"$37,007.28",38.9%,yes\n'
            '0.5,"$1,200.00",12.0%,no\n',
            ["(1) line 2, column 'income': cannot read '$54,996.93'", "(2) line 2, column "
             "'share': cannot read '48.6%'", "(3) column 'member' holds booleans"],
            "--drop-columns income share member",
        ),
        (
            "id;datum;x;name\n1001;2023-01-01;1,5;Anna\n1002;2023-01-02;2,5;Ben\n"
            "1003;2023-01-03;0,5;Cleo\n",
            ["(1) column 'id' counts the rows", "(2) column 'datum' holds dates",
             "(3) column 'name' holds text"],
            "--drop-columns id datum name",
        ),
    ],
    ids=["currency-percent-booleans", "id-date-text"],
)  # fmt: skip
def test_every_column_that_cannot_be_read_is_named_in_one_refusal(tmp_path, text, named, drop):
    """userK #3: a table of a currency, a percent and a yes/no column was refused one column a
    run (each after a full read), and one of an ID, a date and a text column likewise: one
    refusal names each column with its own fix, and one option that drops them all (run)."""
    import shlex

    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError) as refused:
        read_csv(path)
    line = refused.value.on_command_line
    assert line.startswith(f"{path}: 3 columns cannot be read as numbers: ") and "\n" not in line
    assert all(part in line for part in named), line
    assert f"Drop those you do not need ({drop})" in line
    dropped = shlex.split(drop)[1:]
    kept = ("a",) if text.startswith("a,") else ("x",)
    assert read_csv(path, drop_columns=dropped).columns == kept


def test_a_column_of_a_scales_answers_names_coding_them(tmp_path):
    path = tmp_path / "survey.csv"
    path.write_text(SURVEY)
    with pytest.raises(DataError) as refused:
        read_csv(path, drop_columns=["respondent", "q2"])
    assert str(refused.value) == (
        f"{path}: column 'q1' holds answers on a scale, not numbers ('Agree' on line 2; 3 "
        "answers); to keep it, code the answers as numbers (1..3, in their order) in your file; "
        "else use it as labels (label_column='q1') or drop it (drop_columns=['q1'])"
    )


def test_a_column_all_in_percentages_is_counted_whole(tmp_path):
    """userA: '47.4%' in every cell of a column said '2 cells of the column hold it', and the
    fix 'leave it empty' fits no column of which every cell is so."""
    path = tmp_path / "t.csv"
    path.write_text("score,b\n" + "".join(f"{i * 3.7:.1f}%,{i}.5\n" for i in range(300)))
    with pytest.raises(DataError) as refused:
        read_csv(path)
    assert str(refused.value).endswith(
        "cannot read '0.0%' as a number (all 300 numbers of the column are written so); write "
        "its numbers without percent signs (0.0; in a spreadsheet, format the cells as numbers)"
    )


def test_a_column_of_one_text_is_named_constant(tmp_path):
    """userC: a 'site' column of 'A' on every row was offered 'use it as labels', which trains a
    class-conditional model of one class."""
    path = tmp_path / "site.csv"
    path.write_text("site,a,b\nA,1.5,2\nA,2.5,3\n A ,3.5,1\n")
    with pytest.raises(DataError) as refused:
        read_csv(path)
    assert str(refused.value) == (
        f"{path}: column 'site' holds one text, 'A', on every row, so it is constant: drop "
        "it (drop_columns=['site'])"
    )


def test_rows_of_no_value_are_named_together(tmp_path):
    """userC: rows of no value were named one line a try."""
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1.5,2\n,\n3.5,1\n,\n,\n2.5,7\n")
    with pytest.raises(DataError, match=r"line 3 has no .* \(3 such rows, lines 3, 5, 6; delete"):
        read_csv(path, allow_empty="columns")


def test_a_part_of_a_name_with_a_comma_is_named_with_the_whole_name(tmp_path):
    """userA: `--drop-columns "Total, USD"` was split at its comma, and the refusal listed the
    names unquoted, showing 'Total, USD' as two columns; the names are quoted and the whole
    name and the index that drop it named."""
    path = tmp_path / "t.csv"
    path.write_text('age,"Total, USD",note\n34,12.5,1.5\n45,13.5,2.5\n')
    with pytest.raises(OptionError) as refused:
        read_csv(path, drop_columns=["Total", "USD"])
    assert str(refused.value) == (
        "drop_columns entry 'Total' is not a column name ('age', 'Total, USD', 'note'); did you "
        "mean 'Total, USD', a name with a comma? pass the whole name, 'Total, USD', or its "
        "0-based index, 1"
    )
    assert read_csv(path, drop_columns=[1]).columns == ("age", "note")
    assert read_csv(path, drop_columns=["Total, USD"]).columns == ("age", "note")


def test_numpy_scalar_reprs_are_named_with_their_fix(tmp_path):
    """A file written from a list of numpy 2 scalars with %r holds 'np.float64(0.125)': named
    as such, with the number it holds, not as a column of text."""
    path = tmp_path / "t.csv"
    path.write_text("a,b\nnp.float64(0.125),1.5\nnp.float64(0.25),2.5\nnp.float64(1.5),3.5\n")
    with pytest.raises(DataError) as refused:
        read_csv(path)
    assert str(refused.value).endswith(
        "cannot read 'np.float64(0.125)' as a number (all 3 numbers of the column are written "
        "so); write its numbers alone (0.125: the cell holds numpy 2's repr of a scalar; write "
        "float(x), or save with np.savetxt(..., fmt='%.17g'))"
    )


def test_a_form_of_numbers_of_either_sign_is_counted_whole(tmp_path):
    """review9: a column of 'np.float64(-0.388)' and 'np.float64(0.12)' cells was refused with
    '(2 cells of the column are written so)' of 4: the sign made two forms, and only the
    first cell's was counted."""
    path = tmp_path / "t.csv"
    cells = ["np.float64(-0.388)", "np.float64(0.12)", "np.float64(-1e-05)", "np.float64(2.5)"]
    path.write_text("a,b\n" + "".join(f"{c},{i}.5\n" for i, c in enumerate(cells)))
    with pytest.raises(DataError, match=r"\(all 4 numbers of the column are written so\)"):
        read_csv(path)


def test_dropping_every_column_names_the_options_to_change(tmp_path):
    """`--drop-columns x1 x2` of a 2-column file was told only 'no feature column is left'."""
    path = tmp_path / "t.csv"
    path.write_text("x1,x2,kind\n1,2,a\n3,4,b\n")
    with pytest.raises(ConfigError) as refused:
        read_csv(path, drop_columns=["x1", "kind"], label_column=1)
    assert str(refused.value).endswith(
        "no feature column is left once the label column and the dropped ones are taken out of "
        "its 3 columns; leave at least one out of drop_columns and label_column"
    )
    assert "out of --drop-columns and --label-column" in refused.value.on_command_line


@pytest.mark.parametrize(
    ("header", "j", "said"),
    [
        (["", "alcohol"], 1, "column 'alcohol'"),
        (["", "alcohol"], 0, "column at index 0 (no name)"),
        (["id", "2019", "2020"], 1, "column '2019' (index 1)"),
        (None, 13, "column 14 (index 13)"),
    ],
    ids=["named", "unnamed", "digits-taken-by-index", "headerless"],
)
def test_a_column_is_named_in_the_numbering_the_options_take(header, j, said):
    """userK #14: 'column 1 (no name)' (1-based) beside `--drop-columns 0` (0-based) led a user
    to drop the real feature at index 1. A message names a column by its name, and by its
    0-based index wherever an option takes the index rather than the name."""
    from torchlvm.data.csv_column import column_name

    assert column_name(header, j) == said


def test_the_refusal_of_an_index_column_numbers_it_as_the_fix_does(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(",a,b\n" + "".join(f"{i},{i * 7 % 5}.5,{i % 3}\n" for i in range(20)))
    with pytest.raises(DataError) as refused:
        read_csv(path)
    said = refused.value.on_command_line
    assert said.startswith(f"{path}: column at index 0 (no name) counts the rows")
    assert "(--drop-columns 0, its index counting from 0)" in said


def test_a_headerless_files_columns_are_taken_by_the_names_the_readme_gives(tmp_path):
    """userK #16: `--label-column "column 14"` on a file without a header was refused as 'not a
    column name ... from the header'. 'column N' names the Nth column; a name past the last is
    refused naming the names there are."""
    path = tmp_path / "t.csv"
    path.write_text("".join(f"{i % 3},{i * 7 % 5}.5,{i % 4}.25,k{i % 2}\n" for i in range(20)))
    table = read_csv(path, label_column="column 4", drop_columns=["column 1"])
    assert table.values.shape == (20, 2) and table.class_names == ("k0", "k1")
    with pytest.raises(OptionError) as refused:
        read_csv(path, label_column="column 5")
    said = refused.value.on_command_line
    assert said == (
        "--label-column 'column 5' is not a column name (the file has no header row); pass a "
        "name from 'column 1' to 'column 4' or a 0-based column index"
    )


def test_an_index_the_user_gave_is_not_offered_back_but_named(tmp_path):
    """userP #12, review14 R27 (userK #14): `--drop-columns 1` typed by a user counting from 1
    was offered back as `--drop-columns 1 0`, which drops the real feature 'alcohol'. The fix
    drops the index column alone and says what the user's 1 is."""
    path = tmp_path / "t.csv"
    path.write_text(
        ",alcohol,ash\n" + "".join(f"{i},{i * 7 % 5}.5,{i % 3}.25\n" for i in range(20))
    )
    with pytest.raises(DataError) as refused:
        load_dataset(path, "all", drop_columns=[1])
    said = refused.value.on_command_line
    assert (
        "drop it (--drop-columns 0, its index counting from 0; your --drop-columns 1 is column "
        "'alcohol', counting from 0: add it if you mean it)"
    ) in said


def test_a_title_line_is_named_before_a_label_column_it_hides(tmp_path):
    """userP #3: a title line above the header made `--label-column target` refused as 'not a
    column name (Weinanalyse 2024, , , )': the user sees 'target' in the header and is lost.
    The title line is named first, as without the option."""
    path = tmp_path / "t.csv"
    rows = "".join(f"{i * 7 % 5}.5;{i % 3}.25;{i % 2}\n" for i in range(20))
    path.write_text("Weinanalyse 2024;;\nalcohol;ash;target\n" + rows)
    with pytest.raises(DataError, match="line 2 holds text alone .* above it does"):
        read_csv(path, label_column="target")


def test_a_refused_name_lists_the_headers_names_and_counts_the_empty_ones(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,,b\n" + "".join(f"{i},{i * 7 % 5}.5,{i % 3}.25\n" for i in range(20)))
    with pytest.raises(OptionError, match=r"'z' is not a column name \(a, b, 1 without a name\)"):
        read_csv(path, label_column="z")


@pytest.mark.parametrize(
    ("drop", "fixed"),
    [
        (["patient", "id"], "--drop-columns 'patient id')"),
        (["patient id", "mean", "radius"], "--drop-columns 'patient id' 'mean radius')"),
    ],
    ids=["one-name", "after-a-quoted-one"],
)
def test_the_words_of_a_name_with_spaces_are_told_to_quote_it(tmp_path, drop, fixed):
    """userP #4: `--drop-columns patient id` (unquoted) was refused as "'patient' is not a
    column name", with no word about quoting."""
    path = tmp_path / "t.csv"
    rows = "".join(f"{i},{i * 7 % 5}.5,{i % 3}.25\n" for i in range(20))
    path.write_text("patient id,mean radius,b\n" + rows)
    with pytest.raises(OptionError) as refused:
        read_csv(path, drop_columns=drop)
    said = refused.value.on_command_line
    assert "are the words of one column's name" in said and said.endswith(fixed)


def test_a_last_row_of_tiny_values_is_no_sums_row(tmp_path):
    """A column of 1e-30s is data (tests/data/test_files' 'tiny'): its last row is within
    numpy's default absolute tolerance (1e-8) of any sum, and was refused as a totals row."""
    rows = np.random.default_rng(0).normal(size=(50, 3)) * 1e-30
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(",".join(map(repr, r.tolist())) + "\n" for r in rows))
    assert read_csv(path).values.shape == (50, 3)


def test_numbers_with_a_decimal_comma_in_a_comma_file_are_told_how_to_save_it(tmp_path):
    """table15 (item 5): pandas' to_csv(decimal=',') with its default separator quotes every
    number ('"14,23"'), and the file was told that its 13 columns "hold no numbers ... drop them".
    It is told to save it with ';' between cells, which reads the same numbers."""
    import pandas as pd

    frame = pd.DataFrame({"alcohol": [14.23, 13.2, 13.16], "ash": [2.43, 2.14, 2.67]})
    frame.to_csv(tmp_path / "w.csv", decimal=",", index=False)
    with pytest.raises(DataError, match=(
        r"2 columns hold numbers written with a decimal comma in a file whose cells are separated "
        r"by commas.*column 'alcohol': '14,23' on line 2.*; save the file with ';' between its "
        r"cells \(pandas: df.to_csv\(path, sep=';', decimal=',', index=False\)\)"
    )):  # fmt: skip
        read_csv(tmp_path / "w.csv")
    with pytest.raises(DataError, match=r"column 'alcohol' holds numbers written with a decimal"):
        read_csv(tmp_path / "w.csv", drop_columns=["ash"])
    frame.to_csv(tmp_path / "w.csv", sep=";", decimal=",", index=False)  # (the fix, as offered)
    np.testing.assert_allclose(read_csv(tmp_path / "w.csv").values, frame.to_numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("1.7,2.2,1,234", "its cells '1' and '234' look like one number, 1,234, split"),
        (
            "1.7,-2,234,567.5,3",
            "its cells '-2', '234' and '567.5' look like one number, -2,234,567.5, split",
        ),  # fmt: skip
    ],
    ids=["1,234", "-2,234,567.5"],
)
def test_a_number_split_at_its_thousands_separator_is_named(tmp_path, row, said):
    """userR #7: an unquoted '1,234' in a comma file was told only 'line 3 has 4 cells but the
    file has 3 columns'; the cells that read as one number split at a comma are named, with
    the fixes. A row with a cell more of another kind is told as before."""
    path = tmp_path / "t.csv"
    path.write_text(f"a,b,c\n1.7,2.2,3\n{row}\n")
    with pytest.raises(DataError) as caught:
        load_dataset(path, "all")
    assert str(caught.value).endswith(
        f"every row needs the same number of cells; {said} at its thousands separator: quote the "
        "numbers that hold a comma, or save the file without thousands separators"
    )
    path.write_text("a,b,c\n1.7,2.2,3\n1.7,2.2,3,4\n")
    with pytest.raises(DataError) as caught:
        load_dataset(path, "all")
    assert str(caught.value).endswith("every row needs the same number of cells")


def test_a_label_column_also_dropped_is_read_as_labels_and_said(tmp_path):
    """userU #10: `--label-column cultivar --drop-columns cultivar` trained with cultivar as the
    labels and the drop ignored without a word. One warning says which was taken and both
    fixes; a later file read with the run's options (if_present) is not warned of."""
    import warnings

    from torchlvm.data.csv_table import read_csv

    path = tmp_path / "t.csv"
    rows = "".join(f"{i * 0.37:.2f},{i % 7 * 1.1:.2f},{'ab'[i % 2]}\n" for i in range(30))
    path.write_text("x,y,kind\n" + rows)
    with pytest.warns(UserWarning) as caught:
        data = load_dataset(path, "all", label_column="kind", drop_columns=["kind"])
    said = [str(w.message) for w in caught if "dropped ones" in str(w.message)]
    assert said == [
        f"{path}: column 'kind' is the label column and among the dropped ones too; its classes "
        "are read as labels (a label column is never a feature): leave it out of "
        "drop_columns, or leave out label_column to read no labels"
    ]
    assert data.class_names == ("a", "b") and data.columns == ("x", "y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv(path, label_column="kind", drop_columns=["kind"], if_present=True)
