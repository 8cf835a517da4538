"""TableSchema reads a later file as the run's table: its label and dropped columns left out
where the file has them, by name or by the index the user gave in training."""

import numpy as np
import pytest

from torchlvm.data.table_schema import TableSchema
from torchlvm.errors import DataError


@pytest.mark.parametrize(
    "text",
    [
        ",a,b\n0,1.5,2\n1,3,4.5\n2,5,7\n",
        "a,b\n1.5,2\n3,4.5\n5,7\n",
        "id,b,a\n0,2,1.5\n1,4.5,3\n2,7,5\n",
    ],
    ids=["pandas-index", "without-it", "named-and-reordered"],
)
def test_a_column_dropped_by_index_is_dropped_where_a_later_file_has_it(tmp_path, text):
    """A run trained with --drop-columns 0 (a pandas index column, named '') refused its own
    file in impute and score: 'column 1 (no name) counts the rows ..., drop it (--drop-columns 0)',
    a flag those commands do not take. The index is applied where the file's column there
    is not one of the run's features."""
    path = tmp_path / "t.csv"
    path.write_text(text)
    data = TableSchema(("a", "b"), drop_columns=(0,)).rows(path).data
    np.testing.assert_array_equal(data.x.numpy(), [[1.5, 2], [3, 4.5], [5, 7]])


def test_a_label_column_given_by_index_is_read_where_a_later_file_has_it(tmp_path):
    schema = TableSchema(("a", "b"), label_column=2)
    labelled, bare = tmp_path / "l.csv", tmp_path / "b.csv"
    labelled.write_text("a,b,kind\n1,2,x\n3,4,y\n")
    bare.write_text("a,b\n1,2\n3,4\n")
    assert schema.rows(labelled).data.class_names == ("x", "y")
    assert schema.rows(bare).data.y is None


@pytest.mark.parametrize(
    ("suffix", "text", "recorded", "written"),
    [
        (".csv", "a;b\n1,5;2\n3;4,5\n5;7\n", (";", ","), (";", ",")),
        (".csv", "a;b\n1.5;2\n3;4.5\n5;7\n", (";", "."), (";", ".")),
        (".tsv", "a\tb\n1.5\t2\n3\t4.5\n5\t7\n", ("\t", "."), (",", ".")),
        (".csv", "a,b\n1.5,2\n3,4.5\n5,7\n", (",", "."), (",", ".")),
    ],
    ids=["decimal-commas", "semicolons", "tabs-written-as-a-csv", "commas"],
)
def test_the_schema_records_its_files_dialect_and_a_csv_is_written_in_it(
    tmp_path, suffix, text, recorded, written
):
    path = tmp_path / f"t{suffix}"
    path.write_text(text)
    schema = TableSchema.of(TableSchema(("a", "b")).rows(path).data)
    again = TableSchema.from_dict(schema.to_dict())
    assert (again.dialect.delimiter, again.dialect.decimal) == recorded
    to_csv = again.dialect.for_csv(2)
    assert (to_csv.delimiter, to_csv.decimal) == written
    one = again.dialect.for_csv(1)  # one column: no semicolon for a reader to find
    assert one.decimal == "."
    damaged = {**schema.to_dict(), "decimal": "'"}
    with pytest.raises(DataError, match="recorded table is damaged"):
        TableSchema.from_dict(damaged)


def test_indexes_given_in_training_are_recorded_as_the_files_names(tmp_path):
    """userC: `--drop-columns 0 3 --label-column 2` was recorded as indexes, so next month's
    export with q1 and q2 swapped was read by position: q2 silently became the condition. An
    index is recorded as its header's name (not an empty one: a pandas index stays an index),
    and the swapped file is read by name; a file without a header keeps the indexes."""
    from torchlvm.data import load_dataset

    rows = "".join(
        f"r{i},{20 + i * 7 % 31}.5,{'ab'[i % 2]},{'xyz'[i % 3]},{i * 13 % 17}.25\n"
        for i in range(30)
    )
    path, swapped, bare = tmp_path / "t.csv", tmp_path / "swapped.csv", tmp_path / "bare.csv"
    path.write_text("id,age,q1,q2,income\n" + rows)
    options = {"drop_columns": (0, 3), "label_column": 2}
    schema = TableSchema.of(load_dataset(path, "all", **options), **options)
    assert (schema.drop_columns, schema.label_column) == (("id", "q2"), "q1")
    cells = [line.split(",") for line in rows.splitlines()]
    swapped.write_text(
        "id,age,q2,q1,income\n" + "".join(f"{a},{b},{d},{c},{e}\n" for a, b, c, d, e in cells)
    )
    assert schema.rows(swapped).data.class_names == ("a", "b")  # q1's, by name
    bare.write_text(rows.replace("r", ""))
    kept = TableSchema.of(load_dataset(bare, "all", drop_columns=(0, 3), label_column=2), **options)
    assert (kept.drop_columns, kept.label_column) == ((0, 3), 2)


@pytest.mark.parametrize(
    ("text", "drop", "label", "at", "two"),
    [
        ("id,a,grade,b\nu,1.5,1.0,2\nv,3,2.0,4.5\nw,5,1.0,7\n", ("id",), "grade", 1, "2.0"),
        ("0,1.5,2,1,7\n1,3,4.5,2,3\n2,5,7,1,9\n", (0,), 3, 2, "2"),
        ("a;b;k\n1,5;2;1,0\n3;4,5;2,0\n5;7;1,0\n", (), "k", 2, "2,0"),
        ("k,a,b\nx,1.5,2\ny,3,4.5\nx,5,7\n", (), "k", 0, None),
    ],
    ids=["named", "headerless-by-index", "decimal-commas", "text-labels-first"],
)
def test_the_schema_records_where_the_label_column_sits_and_how_it_writes_numbers(
    tmp_path, text, drop, label, at, two
):
    """sample wrote a table CVAE's label column last and a class written 2.0 as '2' (userG
    #9): the schema records its place among the features and its numbers' form."""
    from torchlvm.data.files import read_rows

    path = tmp_path / "t.csv"
    path.write_text(text)
    data = read_rows(path, drop_columns=drop, label_column=label).data
    schema = TableSchema.from_dict(
        TableSchema.of(data, drop_columns=drop, label_column=label).to_dict()
    )
    assert schema.label_at == at
    form = schema.label_form
    assert (None if form is None else form.in_dialect(schema.dialect).text(2.0)) == two


@pytest.mark.parametrize(
    ("text", "options", "said"),
    [
        (
            ",alcohol,ash,target\n0,13.2,2.4,1\n1,12.4,2.1,2\n2,13.9,2.6,1\n",
            {"drop_columns": (1, 0), "label_column": "target"},
            "drop_columns=[1] drops column 'alcohol' (an index counts from 0)",
        ),
        (
            "13.2,2.4,1\n12.4,2.1,2\n13.9,2.6,1\n",
            {"label_column": 2},
            "label_column=2 takes the labels from column 3 (index 2)",
        ),
    ],
    ids=["named-column-by-index", "headerless"],
)
def test_a_column_given_by_index_is_named_in_a_warning(tmp_path, text, options, said):
    """userK #14: a message's 1-based 'column 1 (no name)' beside the 0-based --drop-columns 0
    led a user to `--drop-columns 1 0`, which dropped the real feature 'alcohol' without a word.
    An index that names a named column (or a headerless file's 'column N') is said; an unnamed
    column, which only an index takes, is not."""
    from torchlvm.data import load_dataset

    path = tmp_path / "t.csv"
    path.write_text(text)
    data = load_dataset(path, "all", **options)
    with pytest.warns(UserWarning) as told:
        TableSchema.read_with(data, options)
    assert [str(w.message) for w in told] == [f"{path}: {said}"]


def test_an_unnamed_column_dropped_by_index_or_a_name_is_not_warned_of(tmp_path):
    import warnings

    from torchlvm.data import load_dataset

    path = tmp_path / "t.csv"
    path.write_text(",a,b,k\n0,1.5,2,x\n1,3,4.5,y\n2,5,7,x\n")
    options = {"drop_columns": (0,), "label_column": "k"}
    data = load_dataset(path, "all", **options)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TableSchema.read_with(data, options)


def test_a_headerless_files_features_are_recorded_by_their_place(tmp_path):
    """A file without a header recorded its features as 'column 1'.. counted after the dropped
    ones: dropping the first made file column 2 'column 1', the name the dropped one had. They
    are named by their place in the file, and a later file is read by position all the same."""
    from torchlvm.data import load_dataset
    from torchlvm.data.columns import is_default

    path, later = tmp_path / "t.csv", tmp_path / "later.csv"
    path.write_text("".join(f"id{i},{i * 7 % 5}.5,{i % 4}.25,{i % 2}\n" for i in range(30)))
    options = {"drop_columns": (0,), "label_column": "column 4"}
    data = load_dataset(path, "all", **options)
    with pytest.warns(UserWarning) as told:  # (for the index alone: userP #16)
        schema = TableSchema.of(data, **options)
    assert [str(w.message) for w in told] == [f"{path}: drop_columns=[0] drops column 1 (index 0)"]
    assert schema.columns == ("column 2", "column 3") and is_default(schema.columns)
    assert (schema.drop_columns, schema.label_column) == ((0,), 3)
    later.write_text("x9,1.5,2.25,0\nx8,3.5,4.25,1\n")
    np.testing.assert_array_equal(schema.rows(later).data.x.numpy(), [[1.5, 2.25], [3.5, 4.25]])


def test_an_array_file_for_a_table_run_gets_the_line_that_makes_the_table(tmp_path, monkeypatch):
    """review13 #14: a table run given a later .npy of rows: score and impute said 'not a table
    as text; name it wine13.npy' (its own name), encode and reconstruct blamed a --label-column
    the user never passed. One refusal, whose Python line, run, makes a file the run reads."""
    import re

    monkeypatch.chdir(tmp_path)
    schema = TableSchema(("a", "b c", "d"))
    rows = np.arange(12.0).reshape(4, 3)
    np.save("rows.npy", rows)
    (tmp_path / "rows.csv").write_text("mine\n")  # (a file of the user's: the line writes another)
    with pytest.raises(DataError) as refused:
        schema.rows("rows.npy")
    said = str(refused.value)
    assert said.startswith("rows.npy is a NumPy array, and the run reads a table file")
    line = re.search(r"\(Python: (.*)\), then pass --data rows-2.csv$", said)
    assert line is not None
    exec(line[1], {})
    assert (tmp_path / "rows.csv").read_text() == "mine\n"
    np.testing.assert_array_equal(schema.rows("rows-2.csv").data.x.numpy(), rows)
    np.save("wide.npy", np.zeros((4, 5)))
    with pytest.raises(DataError, match=r"its rows hold 5 values, not rows of 3: pass a table"):
        schema.rows("wide.npy")
