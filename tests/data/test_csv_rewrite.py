"""A table written back with some cells replaced keeps every other byte: line ends, quoting,
padding, blank lines, Excel's sep= line, a last line without a line end."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlvm.data.csv_dialect import Dialect, blank
from torchlvm.data.csv_rewrite import rewritten
from torchlvm.data.csv_table import read_csv

# Excel's sep= line, a quoted header, a text column quoted with its delimiter, a doubled quote
# and a line end inside, padded and quoted numbers, a blank line, LF and CRLF mixed, a
# separator at the end of a line, a last line without a line end
TEXT = (
    'sep=,\r\n"name",a, b ,c\r\n"x, ""one""\nand two",1.5,,3\n\ny, 2 ,"",NA,\r\n"z",7,"8.25",\r\n'
)


def _read(tmp_path: Path, text: str, **options):
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    return read_csv(path, drop_columns=["name"], allow_empty=True, **options, keep_cells=True)


def test_only_the_replaced_cells_change(tmp_path):
    table = _read(tmp_path, TEXT)
    assert table.header == ["name", "a", "b", "c"] and table.cells[1] == ["y", " 2 ", "", "NA"]
    copy = {(0, 2): "2.0", (1, 2): "4.5", (1, 3): "5", (2, 3): "9"}
    expected = (  # b's number is quoted ("8.25"), so are its new ones; c's is not
        'sep=,\r\n"name",a, b ,c\r\n'
        '"x, ""one""\nand two",1.5,"2.0",3\n'
        "\n"
        'y, 2 ,"4.5",5,\r\n'
        '"z",7,"8.25",9\r\n'
    )
    assert rewritten(TEXT, table.dialect, table.header, table.cells, [copy]) == expected
    assert rewritten(TEXT, table.dialect, table.header, table.cells, [{}]) == TEXT


def test_a_last_line_without_a_line_end_stays_so_and_a_header_need_not_be(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"1;2,5\r3;\r\r")  # old Mac Excel's CR line ends
    table = read_csv(path, allow_empty=True, keep_cells=True)
    assert table.header is None and table.dialect.newline == "\r"
    copy = [{(1, 1): "4,75"}]
    semicolons = table.dialect
    assert rewritten("1;2,5\r3;\r\r", semicolons, None, table.cells, copy) == "1;2,5\r3;4,75\r\r"
    assert rewritten("1;2,5\n3;", semicolons, None, table.cells, copy) == "1;2,5\n3;4,75"


def test_copies_stack_the_data_rows_under_a_draw_column(tmp_path):
    text = "sep=;\na;b\n\n1;\n;2"  # no line end on the last line
    rows = [["1", ""], ["", "2"]]
    copies = [{(0, 1): "5", (1, 0): "6"}, {(0, 1): "7", (1, 0): "8"}]
    expected = "sep=;\ndraw;a;b\n\n1;1;5\n1;6;2\n2;1;7\n2;8;2\n"
    assert rewritten(text, Dialect(";", newline="\n"), ["a", "b"], rows, copies) == expected


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("a,b\n1,2\n", [["1", "3"]]),  # another cell
        ("a,b\n1,2\n3,4\n", [["1", "2"]]),  # more rows
        ("a,b\n1,2\n", [["1", "2"], ["3", "4"]]),  # fewer rows
    ],
    ids=["changed-cell", "more-rows", "fewer-rows"],
)
def test_a_text_that_does_not_hold_the_rows_read_is_not_rewritten(text, rows):
    assert rewritten(text, Dialect(), ["a", "b"], rows, [{}]) is None


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='ab1 ,;"\r\n', max_size=40), st.sampled_from([",", ";"]))
def test_the_scan_finds_the_cells_pythons_reader_reads(text, delimiter):
    """On any text Python's csv reader reads, the scan finds its rows (a blank one skipped, as
    the table reader skips it), so no text is rewritten by another reading of it; and with no
    replacement the text comes back as it was."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        return
    rows = [row for row in rows if not blank(row)]
    dialect = Dialect(delimiter)
    assert rewritten(text, dialect, None, rows, [{}]) == text
    if rows:
        last = len(rows[-1]) - 1
        filled = rewritten(text, dialect, None, rows, [{(len(rows) - 1, last): "9"}])
        again = list(csv.reader(io.StringIO(filled, newline=""), delimiter=delimiter))
        cell = [row for row in again if not blank(row)][-1][last]
        assert cell.strip(" ") == "9"  # (padded as its column's cells are)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('a,b\n1,"1,060.94"\n2,\n', 'a,b\n1,"1,060.94"\n2,"1,055.12"\n'),  # needs quotes
        ("a,b\n1,998.10\n2,\n", 'a,b\n1,998.10\n2,"1,055.12"\n'),  # needs them, bare column
        ('"a","b"\n"1","5.5"\n"2",""\n', '"a","b"\n"1","5.5"\n"2","1,055.12"\n'),  # QUOTE_ALL
        ('"a","b"\n1,5.5\n2,""\n', '"a","b"\n1,5.5\n2,7.25\n'),  # QUOTE_NONNUMERIC
        ('a,b\n1,""\n2,\n', 'a,b\n1,""\n2,7.25\n'),  # no number: as the cell replaced
    ],
    ids=["grouped", "grouped-bare-column", "quote-all", "quote-nonnumeric", "no-number"],
)
def test_a_new_cell_is_quoted_as_its_column_and_where_it_must_be(tmp_path, text, expected):
    """A thousands separator in a file of commas must be quoted (else two cells); a column
    whose numbers are all quoted gets its new numbers quoted, one whose numbers are bare (its
    missing cells quoted, as pandas' QUOTE_NONNUMERIC writes them) bare."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_csv(path, allow_empty=True, keep_cells=True)
    value = "1,055.12" if "1," in expected.split("\n")[-2] else "7.25"
    done = rewritten(text, table.dialect, table.header, table.cells, [{(1, 1): value}])
    assert done == expected
    again = list(csv.reader(io.StringIO(done, newline="")))
    assert again[2][1] == value


PADDED = [
    (
        " 0.105 ,  , -0.029 \n 1.250 , 2.5 ,  \n 3.000 , 1.0 , 7.5 \n",
        "-0.080",
        " 0.105 , -0.080 , ",
    ),
    ("   0.105,        ,  -0.029\n  12.500,   2.500,   1.000\n", "-0.080", "   0.105,  -0.080,  "),
    (
        "0.105   ;        ;-0.029\n12,500  ;2,5     ;1\n1,0     ;3       ;2\n",
        "-0,08",
        "0.105   ;-0,08   ;",
    ),
    (
        '"0.105",""    ,"-0.029"\n"1.25","2.5"   ,"1"\n"2","1.0"   ,"3"\n',
        "-0.08",
        '"0.105","-0.08" ,',
    ),
    ("0.105, ,-0.029\n12.5, 2.5 ,1\n3,1.0,2\n", "-0.08", "0.105,-0.08,"),
]


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    PADDED,
    ids=["spaces-around", "right-aligned", "left-aligned", "quoted", "unalike"],
)
def test_a_new_cell_is_padded_as_its_columns_cells_are(tmp_path, text, value, expected):
    """userA: in a space-padded file (' 0.105 ,  , -0.029 ') the filled cell lost the padding
    its column's cells have; a right- or left-aligned column (numpy's savetxt('%8.3f'))
    keeps its width; a column padded unalike gets none."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    table = read_csv(path, allow_empty=True, keep_cells=True)
    done = rewritten(text, table.dialect, table.header, table.cells, [{(0, 1): value}])
    assert done is not None and done.startswith(expected)
    assert done.splitlines()[1:] == text.splitlines()[1:]
