"""A table of plain rows of numbers is read a chunk of rows at a time (its cells' texts let go),
to the same table as the reader of all rows reads; anything else goes to that reader, which
names it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from torchlvm.data import csv_chunks
from torchlvm.data.csv_table import read_csv
from torchlvm.errors import DataError

ROWS = 3 * csv_chunks.CHUNK + 17  # chunks, and a part of one


def _write(path: Path, extra: str = "", at: int = -1) -> Path:
    rng = np.random.default_rng(0)
    lines = ["id,units,revenue,rate,segment"]  # and a separator at the end of each row
    for i in range(ROWS):
        units = "NA" if i % 11 == 0 else str(int(rng.integers(0, 60)))
        money = "" if i % 13 == 0 else f'"{rng.normal(1000, 300):,.2f}"'
        rate = f"{rng.random():.3f}"
        lines.append(f"r{i},{units},{money},{rate},{'ab'[i % 2]},")
        if i == at:
            lines.append(extra)
    path.write_text("\n".join(lines) + "\n")
    return path


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.lines, b.lines)
    assert (a.columns, a.class_names, a.features, a.dialect) == (
        b.columns,
        b.class_names,
        b.features,
        b.dialect,
    )
    assert [f.places for f in a.forms] == [f.places for f in b.forms] == [0, 2, 3]


def test_chunks_read_the_table_the_reader_of_all_rows_reads(tmp_path, monkeypatch):
    path = _write(tmp_path / "t.csv")
    used = []
    monkeypatch.setattr(
        "torchlvm.data.csv_table.chunked", lambda *a: used.append(1) or csv_chunks.chunked(*a)
    )
    options = {"label_column": "segment", "drop_columns": ["id"], "allow_empty": True}
    chunked = read_csv(path, **options)
    whole = read_csv(path, **options, keep_cells=True)  # the reader of all rows
    assert used == [1] and chunked.cells is None and whole.cells is not None
    _same(chunked, whole)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("r,1,2,x,a,", r"line 9003, column 'rate': cannot read 'x' as a number"),
        ("r,1,2", r"line 9003 has 3 cells but the file has 5 columns"),
        ("id,units,revenue,rate,segment", r"line 9003 repeats the header"),
    ],
    ids=["text", "ragged", "header-again"],
)
def test_a_row_past_the_first_chunks_is_named_as_the_reader_of_all_rows_names_it(
    tmp_path, extra, message
):
    """The chunks give up on a row that is not plain numbers (here in the third chunk), and
    the reader of all rows, from the text already read, names it."""
    path = _write(tmp_path / "t.csv", extra, at=9000)
    with pytest.raises(DataError, match=message):
        read_csv(path, label_column="segment", drop_columns=["id"], allow_empty=True)


def _undecided(path: Path, doubt_at: int | None) -> Path:
    """A ';' file whose 'code' column is one-group numbers ('1.234': 1234 or 1.234, which the
    file does not tell) and whose 'x' column holds one such cell at row ``doubt_at``."""
    lines = ["x;y;code"]
    for i in range(ROWS):
        x = "2.500" if i == doubt_at else f"{i % 7}"
        lines.append(f"{x};{3 * (i % 5)};{1 + i % 9}.{100 + i % 900:03d}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_an_undecided_file_is_read_a_chunk_at_a_time_where_its_columns_tell(tmp_path, monkeypatch):
    """review7: the chunks relied on a guard in another module to never read an undecided file,
    whose '1.234' the cells as they are would read as 1.234; the rule is in numbers() now, so
    such a file is read in chunks where its kept columns hold no such number."""
    path = _undecided(tmp_path / "t.csv", None)
    used = []
    monkeypatch.setattr(
        "torchlvm.data.csv_table.chunked", lambda *a: used.append(1) or csv_chunks.chunked(*a)
    )
    chunked = read_csv(path, drop_columns=["code"])
    whole = read_csv(path, drop_columns=["code"], keep_cells=True)
    assert chunked.dialect.undecided == "." and used == [1] and chunked.cells is None
    np.testing.assert_array_equal(chunked.values, whole.values)
    with pytest.raises(DataError, match=r"line 2, column 'code': cannot read '1.100'"):
        read_csv(path)


def test_an_undecided_number_past_the_first_chunks_is_named(tmp_path):
    path = _undecided(tmp_path / "t.csv", 9000)
    with pytest.raises(DataError, match=r"line 9002, column 'x': cannot read '2.500'"):
        read_csv(path, drop_columns=["code"])


@pytest.mark.parametrize("header", [True, False], ids=["chunks", "all-rows"])
def test_the_other_columns_cells_alone_are_kept_for_every_row(tmp_path, monkeypatch, header):
    """score and encode carry a file's ID beside their results: they read it keeping the text
    of every cell of every column (951 against 704 MB on 200,000 rows of 12 numbers and an ID)
    and, for a file with its own column, parsed it twice. ``keep_cells="others"`` keeps the
    cells of the columns that are not features only, in one parse (a chunk at a time where
    the file allows), and every row as the reader that keeps every cell keeps them (a row of
    no label too)."""
    path = _write(tmp_path / "t.csv")
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(",a,", ",,").replace(",b,", ",,")  # a row of no label
    path.write_text("\n".join(lines[0 if header else 1 :]) + "\n")
    used = []
    monkeypatch.setattr(
        "torchlvm.data.csv_table.chunked", lambda *a: used.append(1) or csv_chunks.chunked(*a)
    )
    label, drop = ("segment", ["id"]) if header else (4, [0, 5])
    options = {"label_column": label, "drop_columns": drop, "allow_empty": True}
    others = read_csv(path, **options, keep_cells="others")
    whole = read_csv(path, **options, keep_cells=True)
    assert used == ([1] if header else []) and others.cells is None and others.text is None
    np.testing.assert_array_equal(others.values, whole.values)
    np.testing.assert_array_equal(others.lines, whole.lines)
    assert len(others.lines) == ROWS  # the row of no label kept, as the whole reader keeps it
    not_features = [j for j in range(len(whole.cells[0])) if j not in whole.features]
    assert sorted(others.carried) == not_features
    for j in not_features:
        assert others.carried[j] == [row[j] for row in whole.cells]
    assert others.carried[4][4] == ""
    with pytest.warns(UserWarning, match="1 row has no label"):
        assert read_csv(path, **options).carried is None
