"""``na_values``: a file's own marks of a missing cell ('-', 'ERR', -999), past the common ones."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.data import csv_chunks, load_dataset
from torchlvm.data.csv_once import parsed_once
from torchlvm.data.csv_table import read_csv
from torchlvm.errors import DataError, OptionError

ROWS = csv_chunks.CHUNK + 10  # past the first chunk: the chunked reader's cells too


def _write(path, header: bool = True):
    lines = ["a,b,c"] if header else []
    for i in range(ROWS):
        a = "-" if i % 50 == 3 else f"{i % 17}.5"
        b = " Err " if i % 40 == 7 else ("-999" if i % 40 == 8 else f"{i % 13}")
        c = "-999.0" if i == ROWS - 1 else f"{(i * 7) % 11}.25"
        lines.append(f"{a},{b},{c}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("header", [True, False], ids=["chunks", "all-rows"])
def test_tokens_mark_missing_cells_as_written_case_and_spaces_aside(tmp_path, header):
    path = _write(tmp_path / "t.csv", header)
    table = read_csv(path, na_values=["-", "ERR", "-999"], allow_empty=True)
    rows = np.arange(ROWS)
    np.testing.assert_array_equal(np.isnan(table.values[:, 0]), rows % 50 == 3)
    np.testing.assert_array_equal(np.isnan(table.values[:, 1]), np.isin(rows % 40, [7, 8]))
    assert np.isnan(table.values[:, 2]).tolist() == [False] * (ROWS - 1) + [True]  # (-999.0)
    assert table.values[0, 0] == 0.5 and table.values[0, 1] == 0.0


def test_without_the_tokens_the_refusal_names_the_option(tmp_path):
    path = _write(tmp_path / "t.csv")
    with pytest.raises(DataError, match=r"cannot read '-' as a number .* name it with na_values"):
        load_dataset(path, "all", allow_missing=True)


def test_a_read_with_other_tokens_is_not_served_from_the_kept_parse(tmp_path):
    """Within one command a file is parsed once per options: the tokens are among them."""
    path = _write(tmp_path / "t.csv")
    with parsed_once():
        marked = read_csv(path, na_values=["-", "err", "-999"], allow_empty=True)
        fewer = read_csv(path, na_values=["-", "err"], allow_empty=True)
    assert np.isnan(marked.values[8, 1]) and fewer.values[8, 1] == -999.0


def test_a_run_records_its_tokens_and_reads_later_files_with_them(tmp_path):
    from torchlvm.data.table_schema import TableSchema

    path = _write(tmp_path / "t.csv")
    train = load_dataset(path, "train", allow_missing=True, na_values=["ERR", "-", "-999"])
    schema = TableSchema.read_with(train, {"na_values": ["ERR", "-", "-999"]})
    assert schema.to_dict()["na_values"] == ["-", "-999", "err"]
    again = TableSchema.from_dict(schema.to_dict())
    later = again.load(path)
    assert (
        int(np.isnan(later.x.numpy()).sum())
        == int((np.arange(ROWS) % 50 == 3).sum())
        + int(np.isin(np.arange(ROWS) % 40, [7, 8]).sum())
        + 1
    )  # (and the last row's -999.0)


def test_an_array_file_refuses_the_option(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((4, 2)))
    with pytest.raises(OptionError, match=r"na_values applies to \.csv files, not x\.npy"):
        load_dataset(tmp_path / "x.npy", "all", na_values=["-"])
