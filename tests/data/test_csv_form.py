"""A value written as its column writes its numbers: decimals, thousands separator, decimal
mark; a column of whole numbers gets whole numbers; never more digits than the model holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_form import SHOWN, NumberForm, number_cells, number_form

POINTS, COMMAS = Dialect(), Dialect(";", ",")


@pytest.mark.parametrize(
    ("cells", "dialect", "value", "text"),
    [
        (["32", "43", "", "7"], POINTS, 29.748841881618116, "30"),
        (["32.0", "43.0", "NA", "7.0"], POINTS, 29.748841881618116, "30.0"),  # pandas' ints
        (["32", "43", "7"], POINTS, -0.3, "0"),  # no '-0'
        (["1,060.94", "998.10", "1,234.50"], POINTS, 1055.1198822569418, "1,055.12"),
        (["1,060.94", "998.10", "1,234.50"], POINTS, -1234567.891, "-1,234,567.89"),
        (["1,060.94", "998.10", "1,234.50"], POINTS, 999.999, "1,000.00"),
        (["0.480", "0.508", "0.512"], POINTS, 0.5264406495905989, "0.526"),
        (["0.481", "0.508", "0.512"], POINTS, 0.5, "0.5"),  # no fixed count shown
        (["2.0", "3.5", "1.25"], POINTS, 2.0, "2.0"),  # pandas' floats
        (["2.0", "3.5", "1.25"], POINTS, 1.23456, "1.23"),
        (["1e-05", "0.5", "0.25"], POINTS, 0.123456789, "0.123456789"),  # exponents: computed
        (["1.060,94", "998,10", "3,5"], COMMAS, 1055.1198, "1.055,12"),
        (["1 060,94", "998,10", "3,5"], COMMAS, 1055.1198, "1 055,12"),
        (["1'060.94", "998.10", "3.5"], POINTS, 1055.1198, "1'055.12"),
        (["1,234", "12", "5"], POINTS, 99999.7, "100,000"),
        (["1234", "12", "5"], POINTS, 99999.7, "100000"),
        (["12,5", "3,25", "1"], COMMAS, 0.125, "0,12"),  # half to even
        (["+1.5", "2.5", "3.5"], POINTS, 1e20, "100000000000000000000.0"),
    ],
)
def test_a_value_is_written_as_its_column_writes_numbers(cells, dialect, value, text):
    assert number_form(cells, dialect).text(value) == text


def test_a_column_of_few_numbers_shows_no_decimals_so_the_value_is_as_computed():
    """'40' alone may be 40.0 of a column of one decimal (1 in 10): below SHOWN numbers the
    value is not rounded."""
    cells = ["40", "", "7.1"][: SHOWN - 1]
    form = number_form(cells, POINTS)
    assert form.places is None and form.text(47.39883206097966) == "47.39883206097966"
    assert number_form([], COMMAS).text(0.1 + 0.2) == "0,30000000000000004"


def test_a_float32_value_gets_no_float64_noise_and_no_padding():
    """A column of float64 reprs (17 digits) filled by a float32 model: float32's shortest
    text, not 16 noise digits, not zeros to the column's length."""
    cells = ["3.2578350843846953", "0.8937608892937114", "2.7720411735118446"]
    form = number_form(cells, POINTS)
    assert form.text(0.5442559209877134, single=True) == "0.5442559"
    assert form.text(0.5442559209877134) == "0.5442559209877134"
    assert form.text(2.0, single=True) == "2.0"


def test_a_column_filled_so_reads_back_as_one_clean_numeric_column(tmp_path):
    """pandas' read_csv(thousands=',') of a column with a value written in its form reads one
    float column, and an integer column stays int64."""
    units, revenue = ["32", "43", "7"], ['"1,060.94"', "998.10", '"1,234.50"']
    forms = [number_form([c.strip('"') for c in col], POINTS) for col in (units, revenue)]
    new = [forms[0].text(29.7), '"' + forms[1].text(1055.1198) + '"']
    lines = ["units,revenue", *(f"{u},{r}" for u, r in zip(units, revenue, strict=True))]
    path = tmp_path / "t.csv"
    path.write_text("\n".join([*lines, ",".join(new)]) + "\n")
    frame = pd.read_csv(path, thousands=",")
    assert frame.dtypes.tolist() == [np.int64, np.float64]
    assert frame.iloc[-1].tolist() == [30, 1055.12]


def test_describe_says_the_form():
    assert NumberForm(0).describe() == "whole numbers"
    assert NumberForm(2, 2, ",").describe() == "2 decimals with ',' between thousands"
    assert NumberForm(4, 1).describe() == "up to 4 decimals"
    assert NumberForm(16, 1).describe() == "as computed"  # floats in full: nothing rounded
    assert NumberForm(2, 2, "\u202f").describe() == (
        "2 decimals with narrow no-break spaces between thousands"
    )
    assert NumberForm().describe() == "as computed"


def test_a_run_records_its_columns_forms_and_rows_written_for_it_follow_them(tmp_path):
    """sample/reconstruct wrote 21.764956371137593 in a column of integers: the run records
    each column's form (in its own order, the file's read by name), and number_cells writes
    rows in them, in the dialect written (a decimal comma; a separator that is the decimal
    mark left out); a run recorded before forms writes as computed."""
    from torchlvm.data.files import load_file
    from torchlvm.data.table_schema import TableSchema

    path = tmp_path / "t.csv"
    path.write_text('revenue,units\n"1,060.94",32\n998.10,43\n"1,234.50",7\n')
    data = load_file(path, "all", columns=("units", "revenue"))
    schema = TableSchema.of(data)
    again = TableSchema.from_dict(schema.to_dict())
    assert again.forms == schema.forms and [f.places for f in again.forms] == [0, 2]
    rows = [[29.748841881618116, 1055.1198822569418]]
    assert number_cells(rows, again.forms, POINTS) == [["30", "1,055.12"]]
    assert number_cells(rows, again.forms, COMMAS) == [["30", "1055,12"]]
    old = schema.to_dict()
    del old["number_forms"]
    assert number_cells(rows, TableSchema.from_dict(old).forms, POINTS) == [
        ["29.748841881618116", "1055.1198822569418"]
    ]


@pytest.mark.parametrize(
    ("cells", "dialect", "single", "text"),
    [
        (["1.054e-01", "-2.925e-02", "3.100e+00"], POINTS, False, "-7.957e-02"),
        (["1.054E-01", "-2.925E-02", "3.100E+00"], POINTS, False, "-7.957E-02"),
        (["1,054e-01", "-2,925e-02", "3,100e+00"], COMMAS, False, "-7,957e-02"),
        (["1e-05", "0.5", "0.25"], POINTS, False, "-0.07957314323692977"),  # mixed: computed
        (["1.0e-05", "2.50e-01", "3.125e+00"], POINTS, False, "-0.07957314323692977"),
        (  # numpy's savetxt('%.18e'): no float32 noise
            ["1.054000000000000048e-01", "2.925000000000000155e-02", "3.100000000000000089e+00"],
            POINTS,
            True,
            "-7.957314000000000000e-02",  # padded with zeros, not float32 noise
        ),
    ],
    ids=["e", "E", "decimal-comma", "mixed", "varying", "savetxt-float32"],
)
def test_a_column_in_exponents_gets_its_count_of_decimals_in_exponents(
    cells, dialect, single, text
):
    """A column written '1.054e-01' got '-0.07957314323692977' (userA)."""
    assert number_form(cells, dialect).text(-0.07957314323692977, single=single) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(-0.004, "-4.000e-03"), (2.5, "2.500e+00"), (1.0, "1.000e+00"), (9.99951, "1.000e+01")],
    ids=["one-digit", "two-digits", "whole", "carry"],
)
def test_a_column_in_exponents_keeps_its_fixed_count(value, text):
    """review7: '%.3e' cells got -4e-03 and 2.5e+00 beside 1.054e-01; a run recorded before
    the count was kept (least 0) writes it too."""
    form = number_form(["1.054e-01", "-2.925e-02", "3.100e+00"], POINTS)
    assert form.text(value) == text
    old = {**form.to_dict(), "least": 0}
    assert NumberForm.from_dict(old).text(value) == text
    assert number_form(["1,054e-01", "2,925e-02", "3,100e+00"], COMMAS).text(2.5) == "2,500e+00"


def test_finer_keeps_more_decimals_than_the_column_writes():
    """impute writes a mean 2 decimals finer: a 0/1 column's 0.15 stays 0.15 (rounded to the
    column's step it was 0, and the filled file's share of ones fell)."""
    flags = number_form(["0.0", "1.0", "0.0"], POINTS)
    assert flags.text(0.1523) == "0.0" and flags.finer(2).text(0.1523) == "0.15"
    assert flags.finer(2).text(1.0) == "1.0" and flags.finer(2).describe() == "up to 2 decimals"
    money = number_form(["1,060.94", "998.10", "1,234.50"], POINTS).finer(2)
    assert money.text(1055.1198822569418) == "1,055.1199" and money.text(3.5) == "3.50"
    assert NumberForm().finer(2) == NumberForm()


@pytest.mark.parametrize("keep_cells", [False, True], ids=["chunks", "all-rows"])
def test_a_rare_decimal_past_the_rows_looked_at_widens_its_column(tmp_path, keep_cells):
    """review7: a column of counts with one 0.5 (row 7,001 of 10,000), which the rows a form is
    learned from skip, was judged whole numbers, and rows written for the run were rounded."""
    from torchlvm.data.csv_table import read_csv

    counts = [str(i % 50) for i in range(10_000)]
    counts[7_000] = "0.5"
    rates = [f"{(i % 997) / 1000:.3f}" for i in range(10_000)]
    rates[7_001] = "0.12345"
    path = tmp_path / "t.csv"
    rows = (f"{c},{r}" for c, r in zip(counts, rates, strict=True))
    path.write_text("count,rate\n" + "\n".join(rows) + "\n")
    table = read_csv(path, keep_cells=keep_cells)
    assert [f.places for f in table.forms] == [1, 5]
    assert [f.text(v) for f, v in zip(table.forms, [0.5, 0.25], strict=True)] == ["0.5", "0.250"]
    assert table.forms[0].text(3.0) == "3"  # whole values are written as the column does


def test_widened_keeps_a_form_every_row_shows():
    from torchlvm.data.csv_form import widened

    money = number_form(["1,060.94", "998.10", "1,234.50"], POINTS)
    values = np.array([1060.94, 998.1, 1234.5, np.nan, 0.07, -3.0])
    assert widened(money, values) is money
    assert widened(money, np.array([0.12345678901234566])).places is None  # beyond FULL
    assert widened(money, np.array([0.1 + 0.2])) is money  # noise widens nothing
    exponents = number_form(["1.054e-01", "-2.925e-02", "3.100e+00"], POINTS)
    assert widened(exponents, np.array([0.123456])) is exponents


def test_float_noise_of_a_computed_column_is_not_its_form(tmp_path):
    """userC: a pandas-computed column (70.45, 60.400000000000006: a third of its cells with
    float-repr noise) was learned as 15 decimals, and every sampled value written so; the
    noise is told from the other cells' decimals (the 0.5 of a column of counts is no noise)."""
    from torchlvm.data.csv_form import noise
    from torchlvm.data.csv_table import read_csv

    values = np.array([0.1 + 0.2, 60.400000000000006, 0.5, 70.45, 1e-20, 3.2578350843846953, 0.0])
    assert noise(values).tolist() == [True, True, False, False, False, False, False]
    rng = np.random.default_rng(0)
    weights = [f"{w:.2f}" for w in rng.normal(70, 10, size=150)]
    weights = [repr(float(w) * 0.1 * 10) for w in weights]  # pandas' arithmetic
    path = tmp_path / "t.csv"
    path.write_text("kg\n" + "\n".join(weights) + "\n")
    assert sum(len(w.partition(".")[2]) > 12 for w in weights) > 10  # the noise is there
    for keep_cells in (False, True):
        form = read_csv(path, keep_cells=keep_cells).forms[0]
        assert (form.places, form.text(66.410865610681)) == (2, "66.41")


def test_one_export_artifact_sets_no_columns_decimals():
    """userP #2: sklearn's wine writes color_intensity with 1-2 decimals in 165 cells and one
    9.899999 (an export's artifact); its form took 6 decimals from that cell alone, and impute
    wrote every fill with 8. A rare cell with SLIP decimals more than every other is left out;
    a rare 0.5 among whole numbers still widens (one decimal more)."""
    from torchlvm.data.csv_dialect import Dialect
    from torchlvm.data.csv_form import number_form, widened

    cells = [
        f"{3 + i % 9}.{i % 10}{i % 3}" if i % 2 else f"{2 + i % 7}.{i % 10}" for i in range(165)
    ]
    form = number_form([*cells, "9.899999"], Dialect())
    assert form.places == 2
    values = np.array([float(c) for c in [*cells, "9.899999"]])
    assert widened(form, values).places == 2
    whole = number_form([str(i) for i in range(100)], Dialect())
    assert widened(whole, np.array([*range(99), 0.5])).places == 1


def test_whole_numbers_padded_with_leading_zeros_are_written_so():
    """userU #1: class codes 01, 02, 10 came back as 1, 2, 10 in every file written, where 1.0
    came back as 1.0. A column whose whole numbers all have the same count of digits, some
    with a leading zero, writes that count; the record keeps it, and one without it (an
    earlier run's) pads nothing."""
    dot = Dialect()
    form = number_form(["01", "02", "10", "02"], dot)
    assert form.pad == 2 and [form.text(v) for v in (1.0, 10.0, 123.0, -3.0)] == [
        "01", "10", "123", "-03"
    ]  # fmt: skip
    assert NumberForm.from_dict(form.to_dict()) == form and form.describe() == (
        "whole numbers of 2 digits"
    )
    assert "pad" not in NumberForm(places=0).to_dict()
    assert NumberForm.from_dict({"places": 0, "least": 0, "grouping": ""}).text(1.0) == "1"
    for cells in (["1", "2", "10"], ["0", "5", "9"], ["01", "2", "10"], ["10", "20", "30"]):
        assert number_form(cells, dot).pad == 0, cells
