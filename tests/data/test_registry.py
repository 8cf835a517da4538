"""The dataset registry's refusal of a name it does not hold: the fix a new user can type."""

from __future__ import annotations

import re

import pytest

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError, DataNotFoundError


@pytest.mark.parametrize(
    ("name", "guess"),
    [("MNIST", "mnist"), ("fashion_mnist", "fashion-mnist"), ("Digits", "digits")],
)
def test_a_near_miss_names_the_dataset_it_is_close_to(name, guess):
    """'fashion_mnist' and 'MNIST' got the whole list and no hint of the one meant."""
    with pytest.raises(ConfigError, match=f"unknown dataset '{name}'; did you mean '{guess}'?"):
        load_dataset(name)


def test_a_name_close_to_nothing_gets_the_list_alone():
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar")
    assert "did you mean" not in str(error.value) and "known datasets: digits" in str(error.value)


@pytest.mark.parametrize("given", ["my-idx/", "./my-idx/", "{tmp}/my-idx/"])
def test_a_folder_named_with_a_trailing_slash_is_a_folder_not_a_file(tmp_path, monkeypatch, given):
    """`--data mn_raw/` said "unsupported extension ''" (a path with a separator was taken for a
    file): a folder is a folder, with or without its slash."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-idx").mkdir()
    (tmp_path / "my-idx" / "train-images-idx3-ubyte.gz").touch()
    name = given.format(tmp=tmp_path)
    with pytest.raises(ConfigError, match=rf"--data mnist --data-dir {re.escape(name)}\)$"):
        load_dataset(name)


def test_a_folder_without_idx_files_and_a_missing_folder_are_named_as_such(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for name in ("runs", "runs/"):
        with pytest.raises(ConfigError, match=f"^{name} is a folder without IDX files, not a "):
            load_dataset(name)
    with pytest.raises(DataNotFoundError, match=r"^nosuch/ is not a folder here \(nothing by"):
        load_dataset("nosuch/")


def test_a_folder_of_idx_files_is_read_by_name_with_it_as_data_dir(tmp_path, monkeypatch):
    """`--data my-mnist` (the folder holding the four IDX files) said "unknown dataset
    'my-mnist'"; the folder is read as `--data mnist --data-dir my-mnist`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-idx").mkdir()
    (tmp_path / "my-idx" / "train-images-idx3-ubyte.gz").touch()
    with pytest.raises(ConfigError, match=r"my-idx is a folder, not a dataset name or a file; .*"):
        load_dataset("my-idx")
    with pytest.raises(ConfigError, match=r"\(e.g. --data mnist --data-dir my-idx\)"):
        load_dataset("my-idx")
    (tmp_path / "fashion-mnist-files").mkdir()
    (tmp_path / "fashion-mnist-files" / "t10k-labels-idx1-ubyte").touch()
    with pytest.raises(ConfigError, match="--data fashion-mnist --data-dir fashion-mnist-files"):
        load_dataset("fashion-mnist-files")
    (tmp_path / "my idx").mkdir()  # quoted for a shell (review13 #12b)
    (tmp_path / "my idx" / "train-images-idx3-ubyte.gz").touch()
    with pytest.raises(ConfigError, match=r'\(e.g. --data mnist --data-dir "my idx"\)'):
        load_dataset("my idx")


@pytest.mark.parametrize(
    ("name", "fix", "renamed"),
    [
        ("t.txt", r"tabs separate its cells: rename it to \.tsv", "t.tsv"),
        ("t.xlsx", r"save the sheet as CSV \(in Excel, File > Save As > 'CSV UTF-8';", None),
    ],
    ids=["excel-text", "workbook"],
)
def test_a_spreadsheets_own_files_name_the_export_that_reads(tmp_path, name, fix, renamed):
    """Excel's 'Text (Tab delimited)' and 'Unicode Text' are .txt files, read once renamed."""
    path = tmp_path / name
    path.write_bytes("a\tb\n1\t2\n3\t4\n".encode("utf-16"))
    with pytest.raises(ConfigError, match=fix):
        load_dataset(path, "all")
    if renamed:
        path.rename(tmp_path / renamed)
        assert load_dataset(tmp_path / renamed, "all").x.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("t.csv.bz2", "(bunzip2 -k t.csv.bz2; in Python, pandas.read_csv('t.csv.bz2').to_csv("),
        ("t.csv.xz", "(unxz -k t.csv.xz; in Python, pandas.read_csv('t.csv.xz').to_csv('t.csv'"),
        ("my t.tsv.xz", "(unxz -k 'my t.tsv.xz'; in Python, pandas.read_csv('my t.tsv.xz', sep="),
        ("t.zip", "unzip it and pass the .csv or .tsv it holds (in Python, pandas.read_csv('t.z"),
    ],
    ids=["bz2", "xz", "tsv-xz-spaced", "zip"],
)
def test_a_table_compressed_otherwise_than_gzip_is_told_how_to_decompress_it(
    tmp_path, monkeypatch, name, fix
):
    """pandas' to_csv('t.csv.bz2') / ('t.zip') were told only 'torchlvm reads .npy, .npz,
    .csv, ...'; a .tsv's pandas line keeps its tabs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"BZh9")
    with pytest.raises(ConfigError, match=f"unsupported extension .*{re.escape(fix)}") as error:
        load_dataset(name)
    assert ("sep='\\t'" in str(error.value)) == name.endswith("tsv.xz")


@pytest.mark.parametrize(
    ("name", "text", "fix"),
    [
        ("t.txt", "1.5\n2.5\n", "; if tabs separate its cells (Excel's 'Text (Tab delimited)'"),
        ("t.data", "1.5\n2.5\n", "; torchlvm reads .npy, .npz"),
    ],
    ids=["txt", "data"],
)
def test_a_text_file_whose_first_line_does_not_tell_its_separator(tmp_path, name, text, fix):
    """A .txt of one column is told both renames, once (the fix was kept twice: a copy for
    .txt files beside the one told by separator); a .data file, whose name does not say it
    came from a spreadsheet, is told what torchlvm reads."""
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError) as error:
        load_dataset(tmp_path / name)
    assert fix in str(error.value) and str(error.value).count("rename") <= 1


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("t.parquet", "pandas.read_parquet('t.parquet').to_csv('t-table.csv', "
         "index=False, mode='x') (pandas reads it with pyarrow: pip install pyarrow)"),
        ("t.json", "pandas.read_json('t.json').to_csv('t-table.csv', index=False, mode='x'),"),
        ("t.jsonl", "pandas.read_json('t.jsonl', lines=True).to_csv('t-table.csv', index"),
        ("t.feather", "pandas.read_feather('t.feather').to_csv('t-table.csv', index=False"),
        ("t.dta", "pandas.read_stata('t.dta').to_csv('t-table.csv', index=False, mode='x')"),
        ("t.xlsx", "in Python, pandas.read_excel('t.xlsx').to_csv('t-table.csv', index=False, "
         "mode='x') (pandas reads it with openpyxl: pip install openpyxl))"),
    ],
)  # fmt: skip
def test_a_table_in_a_format_pandas_reads_is_told_the_line_that_saves_it_as_csv(
    tmp_path, monkeypatch, name, line
):
    """A .parquet or .json table was told only 'torchlvm reads .npy, .npz, .csv, ...': the
    refusal gives the pandas line that writes the CSV torchlvm reads."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_bytes(b"PAR1")
    with pytest.raises(ConfigError, match=f"unsupported extension .*{re.escape(line)}"):
        load_dataset(name)


def test_the_pandas_line_writes_a_new_file_and_never_replaces_one(tmp_path, monkeypatch):
    """The .xlsx line wrote STEM.csv, replacing a user's wine.csv beside wine.xlsx (userK #18):
    it writes STEM-table.csv, and stops where that exists."""
    pandas = pytest.importorskip("pandas")
    monkeypatch.chdir(tmp_path)
    pandas.DataFrame({"a": [1.5, 2.5], "b": [3, 4]}).to_json("wine.json")
    (tmp_path / "wine.csv").write_text("mine\n")
    with pytest.raises(ConfigError) as refused:
        load_dataset("wine.json")
    line = str(refused.value).split("save it as one with pandas, ")[1].split(", and pass it")[0]
    exec(line, {"pandas": pandas})
    assert (tmp_path / "wine.csv").read_text() == "mine\n"
    assert load_dataset("wine-table.csv", "all").x.shape == (2, 2)
    with pytest.raises(FileExistsError):
        exec(line, {"pandas": pandas})


@pytest.mark.parametrize(
    ("name", "text", "fix"),
    [
        (
            "iris.data",
            "5.1,3.5,1.4\n4.9,3.0,1.4\n",
            r"commas or semicolons separate its cells: rename it to \.csv$",
        ),
        ("t.dat", "\n1\t2\n", r"tabs separate its cells: rename it to \.tsv$"),
        (
            "housing.data",
            " 0.00632  18.00   2.310\n 0.02731   0.00   7.070\n",
            r"spaces separate its cells: save it as CSV with pandas, pandas\.read_csv\("
            r"'housing\.data', sep=r'\\s\+', header=None\)\.to_csv\('housing-table\.csv', "
            r"index=False, mode='x'\)",
        ),
    ],
    ids=["uci-commas", "tabs", "uci-spaces"],
)
def test_a_table_as_text_under_another_name_is_told_by_its_separator(
    tmp_path, monkeypatch, name, text, fix
):
    """UCI's iris.data and housing.data were told only 'unsupported extension '.data'; torchlvm
    reads .npy, ...': the refusal says what its first line's separator needs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=f"unsupported extension '\\.da[a-z]+'; {fix}"):
        load_dataset(name)
