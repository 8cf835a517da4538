"""TableSchema reads a later file as the run's table: its label and dropped columns left out
where the file has them, by name or by the index the user gave in training."""

import numpy as np
import pytest

from torchlvm.data.table_schema import TableSchema


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
    file in impute and score: 'column 1 (no name) counts the rows ..., drop it (--drop-columns
    0)', a flag those commands do not take. The index is applied where the file's column there
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
