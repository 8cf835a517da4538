"""A table's label column: rows of no label are left out, said once."""

from __future__ import annotations

import pytest
import torch

from torchlvm.data.csv_table import read_csv
from torchlvm.errors import DataError


def test_rows_of_no_label_are_left_out_with_one_warning(tmp_path):
    """userC: 3 empty label cells were refused naming line 5 only, one line a try."""
    path = tmp_path / "t.csv"
    cells = ["a", "b", "", "a", "", "b", "", "a", "b", "a"]
    path.write_text("x,y,k\n" + "".join(f"{i}.5,{i % 3},{k}\n" for i, k in enumerate(cells)))
    said = r"3 rows have no label in column 'k' \(lines 4, 6, 8\), so they are left out"
    with pytest.warns(UserWarning, match=said):
        table = read_csv(path, label_column="k")
    assert table.lines.tolist() == [2, 3, 5, 7, 9, 10, 11]
    assert table.values[:, 0].tolist() == [0.5, 1.5, 3.5, 5.5, 7.5, 8.5, 9.5]
    assert table.class_names == ("a", "b") and len(table.labels) == 7
    # a file written back (score's) keeps every row and its label cells as written, no labels
    kept = read_csv(path, label_column="k", keep_cells=True)
    assert len(kept.values) == 10 and kept.labels is None and kept.cells[2][2] == ""


@pytest.mark.parametrize(
    ("codes", "names", "labels"),
    [
        ([3, 1, 2, 1, 3, 2], ("1", "2", "3"), [2, 0, 1, 0, 2, 1]),  # wine's 1, 2, 3
        ([5.0, 10.0, 5.0, 10.0], ("5", "10"), [0, 1, 0, 1]),  # pandas writes 5.0; numeric order
        ([-1, 1, -1, 1], ("-1", "1"), [0, 1, 0, 1]),
        ([0, 2, 0, 2], ("0", "2"), [0, 1, 0, 1]),  # 0..C-1 with a gap is no 0..C-1
    ],
    ids=["1-2-3", "5-10-floats", "minus-one", "0-2"],
)
def test_whole_number_codes_are_classes_named_by_their_values(tmp_path, codes, names, labels):
    path = tmp_path / "t.csv"
    path.write_text("x,k\n" + "".join(f"{i}.5,{c}\n" for i, c in enumerate(codes)))
    table = read_csv(path, label_column="k")
    assert table.class_names == names and table.labels.tolist() == labels


@pytest.mark.parametrize("codes", [[0, 1, 2, 1], [0.5, 1.5, 0.5, 1.5]], ids=["0..C-1", "fractions"])
def test_codes_0_to_C_minus_1_and_fractions_stay_numbers(tmp_path, codes):
    path = tmp_path / "t.csv"
    path.write_text("x,k\n" + "".join(f"{i}.5,{c}\n" for i, c in enumerate(codes)))
    table = read_csv(path, label_column="k")
    assert table.class_names is None and table.labels.tolist() == codes


def _later(y, class_names=None):
    from torchlvm.data.dataset import Dataset

    x = torch.zeros(len(y), 1)
    return Dataset(x, torch.tensor(y), "later.csv", "all", (1,), None, class_names, "none")


def test_a_later_files_codes_are_read_as_the_runs_classes_they_name():
    """A run trained on codes 1, 2, 3 names its classes "1", "2", "3": a later file of codes 3
    and 1 is classes "3" and "1" (indices 2 and 0), not indices 3 and 1; a code it was not
    trained on is refused, not read as another class (0 read as "1" silently)."""
    run = ("1", "2", "3")
    assert _later([3, 1, 3]).with_classes(run).y.tolist() == [2, 0, 2]
    assert _later([0, 1], ("2", "3")).with_classes(run).y.tolist() == [1, 2]  # text names
    with pytest.raises(DataError, match="holds class '0', which the run was not trained on"):
        _later([0, 1]).with_classes(run)


def test_classes_the_run_lacks_are_numbered_after_its_own_when_asked():
    """unseen="append" (encode, transfer): a row of a class the run lacks is kept, its class
    numbered after the run's (y >= C marks it), named as the file names it."""
    run = ("1", "2", "3")
    later = _later([3, 0, 1, 7]).with_classes(run, unseen="append")
    assert later.y.tolist() == [2, 3, 0, 4] and later.class_names == ("1", "2", "3", "0", "7")
    named = _later([0, 1, 2], ("a", "mid", "z")).with_classes(("a", "z"), unseen="append")
    assert named.y.tolist() == [0, 2, 1] and named.class_names == ("a", "z", "mid")
    assert named.num_classes == 3


def test_a_later_file_keeps_its_codes_as_numbers(tmp_path):
    """Codes 1, 2 of a later file (a run trained on 0..2 reads them as its classes 1 and 2)
    stay numbers: named "1", "2" they would be indices 0 and 1."""
    path = tmp_path / "t.csv"
    path.write_text("x,k\n0.5,1\n1.5,2\n")
    later = read_csv(path, label_column="k", if_present=True)
    assert later.class_names is None and later.labels.tolist() == [1, 2]


def test_labels_that_write_one_number_otherwise_are_warned_of_as_one_class(tmp_path):
    """userK #6: codes '01' (71 rows) and '1' (59) trained one class without a word."""
    import warnings

    path = tmp_path / "t.csv"
    rows = [f"{0.5 * i},{('01', '1', '2')[i % 3]}" for i in range(30)]
    path.write_text("a,k\n" + "\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match=r"\('01', '1' as 1\); if they are different classes"):
        table = read_csv(path, label_column="k")
    assert table.class_names == ("1", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a later file's codes: matched to the run's, no word
        read_csv(path, label_column="k", if_present=True, features=("a",))
        path.write_text("a,k\n" + "\n".join(r.replace(",01", ",1") for r in rows) + "\n")
        read_csv(path, label_column="k")


def test_a_label_column_of_few_fractional_values_is_told_to_write_them_as_classes(tmp_path):
    """userU #6: diabetes' standardized 'sex' (two values, 0.0507 and -0.0446) as a CVAE's label
    column was told it was a measured value, to keep as a feature, and that labels must be
    "whole numbers 0, 1, 2, ...", where a file's labels may be any whole numbers or text. A
    column of few values is told to write its classes so; one of many values keeps the advice
    for a measured value."""
    from torchlvm.data.file_labels import class_labels

    lines = torch.arange(2, 42).numpy()
    two = torch.tensor([0.0507, -0.0446] * 20, dtype=torch.float64).numpy()
    with pytest.raises(DataError) as few:
        class_labels(two, 40, tmp_path / "d.csv", lines)
    assert str(few.value).endswith(
        "class labels must be whole numbers or text (the column holds 2 distinct values, "
        "-0.0446, 0.0507: if they are classes, write them as whole numbers or names)"
    )
    many = torch.linspace(0.5, 40.5, 40, dtype=torch.float64).numpy()
    with pytest.raises(DataError, match=r"\(a measured value, such as a regression target, is"):
        class_labels(many, 40, tmp_path / "d.csv", lines)
    with pytest.raises(
        DataError,
        match=r"must be whole numbers 0, 1, 2, \.\.\. \(the column .* "
        r"write them as class codes 0, 1, 2, \.\.\.\)",
    ):
        class_labels(two, 40, tmp_path / "d.npz", None)  # fmt: skip
