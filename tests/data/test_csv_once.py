"""A table file is parsed once within a command (:mod:`torchlvm.data.csv_once`), and every read
still gets arrays of its own."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.data import load_file
from torchlvm.data.csv_once import parsed_once
from torchlvm.data.csv_table import read_csv

TABLE = "a,b,c\n" + "".join(f"{i * 0.5},{(i * 7) % 11},{i % 3 - 1.25}\n" for i in range(40))


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TABLE)
    return path


def test_the_splits_of_a_command_come_from_one_parse(table, table_parses):
    with parsed_once():
        parts = [load_file(table, split, standardize=True) for split in ("train", "val", "test")]
    assert table_parses == ["t.csv"]
    assert sum(len(p) for p in parts) == 40
    whole = load_file(table, "all", standardize=True)  # outside: read again, the same numbers
    assert table_parses == ["t.csv", "t.csv"]
    rows = {tuple(r) for p in parts for r in p.x.tolist()}
    assert rows == {tuple(r) for r in whole.x.tolist()}


def test_a_read_that_changes_its_rows_in_place_changes_no_other_read(table, table_parses):
    with parsed_once():
        first = load_file(table, "all")
        first.x.mul_(0)
        raw = read_csv(table)
        raw.values[:] = -1
        raw.lines[:] = 0
        second, again = load_file(table, "all"), read_csv(table)
    assert table_parses == ["t.csv"]
    np.testing.assert_array_equal(second.x[:, 0].numpy(), np.arange(40, dtype=np.float32) / 2)
    assert again.values[1, 0] == 0.5 and again.lines[0] == 2


def test_a_file_changed_within_a_command_is_read_again(table, table_parses):
    with parsed_once():
        before = load_file(table, "all")
        table.write_text(TABLE.replace("0.5,", "9.5,", 1) + "1,2,3\n")
        after = load_file(table, "all")
    assert table_parses == ["t.csv", "t.csv"]
    assert len(before) == 40 and len(after) == 41 and after.x[1, 0] == 9.5


def test_other_options_parse_again_and_the_cells_come_when_asked(table, table_parses):
    with parsed_once():
        assert read_csv(table).cells is None  # not kept unless asked: they are most memory
        assert read_csv(table, keep_cells=True).cells[0] == ["0.0", "0", "-1.25"]
        assert read_csv(table).cells is not None  # the parse that kept them serves both
        assert read_csv(table, drop_columns=["b"]).columns == ("a", "c")
    assert table_parses == ["t.csv", "t.csv", "t.csv"]


def test_nested_commands_keep_the_parse_until_the_outer_one_ends(table, table_parses):
    with parsed_once():
        with parsed_once():
            load_file(table, "train")
        load_file(table, "test")
    load_file(table, "test")
    assert table_parses == ["t.csv", "t.csv"]
