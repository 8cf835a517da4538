"""A feature column repeating another in every row is warned of in a file to train on."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from torchlvm.data import load_dataset
from torchlvm.data.csv_copies import copies, rescaled
from torchlvm.data.csv_table import read_csv


def _write(path, header: bool = True):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3)).round(3)
    x[4, 1] = np.nan
    cells = np.column_stack([x, x[:, 1], x[:, 0] * 2.54, x[:, 0]])  # b's copy, a in cm, a again
    names = "a,b,c,b_copy,a_cm,a_again\n" if header else ""
    rows = "".join(",".join("" if v != v else repr(v) for v in r) + "\n" for r in cells.tolist())
    path.write_text(names + rows)
    return path


def test_copies_are_told_cell_for_cell_with_empty_cells_in_the_same_rows():
    x = np.array([[1.0, 1.0, 2.0, np.nan], [np.nan, np.nan, 4.0, np.nan], [3.0, 3.0, 6.0, np.nan]])
    assert copies(x) == [(0, 1)]  # column 2 is 2 x column 0: other units, not named
    y = x.copy()
    y[1, 1] = 0.0  # one cell apart
    assert copies(y) == []


def test_a_column_in_other_units_is_told_and_a_close_measure_is_not():
    """userK #4: income = 1713.3 x bmi (in cents) and share = 10 x s5 (rounded to 0.1) are the
    columns again once standardized, and were not warned of; two measures of one thing that
    correlate 0.998 (a radius and a perimeter) are no copy."""
    rng = np.random.default_rng(1)
    bmi, s5 = rng.normal(26, 4, 400), rng.normal(4.6, 0.5, 400)
    perimeter = 6.3 * bmi + rng.normal(0, 1.6, 400)
    x = np.column_stack([bmi, s5, perimeter, (bmi * 1713.3).round(2), (s5 * 10).round(1)])
    x[7, 3] = np.nan  # (an empty cell: compared on the rows that hold both)
    found = rescaled(x, set())
    assert [(i, k) for i, k, _, _ in found] == [(0, 3), (1, 4)]
    assert found[0][2] == pytest.approx(1713.3, rel=1e-6) and found[1][3] > 0.9999
    assert 0.99 < np.corrcoef(bmi, perimeter)[0, 1] < 0.9999  # (not named)
    assert rescaled(x, {3, 4}) == []


def test_a_copied_column_in_a_file_to_train_on_is_named_with_the_option_that_drops_it(tmp_path):
    """userJ #4: diabetes with bmi_copy (bmi cell for cell) trained silently, counting bmi
    twice in log p(x), in score's ranking and in the VAE's σ. One warning names each copy and
    the column it repeats, and the drop option with the columns already dropped."""
    path = _write(tmp_path / "t.csv")
    with pytest.warns(UserWarning) as caught:
        load_dataset(path, "train", drop_columns=["c"], allow_missing=True)
    said = [str(w.message) for w in caught if "in every row" in str(w.message)]
    assert said == [
        f"{path}: in every row, column 'b_copy' equals column 'b'; column 'a_again' "
        "equals column 'a'; column 'a_cm' is column 'a' in other units (about 2.54 "
        "times it: correlation 1.00000), so a model counts those measures twice (in log p(x), "
        "each row's score and its fit); drop the copies (--drop-columns c b_copy a_cm a_again; "
        "in Python drop_columns=['c', 'b_copy', 'a_cm', 'a_again'])"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dropped = ["b_copy", "a_cm", "a_again"]
        load_dataset(path, "train", drop_columns=dropped, allow_missing=True)


def test_a_headerless_copy_is_named_by_the_index_the_option_takes(tmp_path):
    path = _write(tmp_path / "t.csv", header=False)
    with pytest.warns(UserWarning, match=r"copies \(--drop-columns 3 4 5, indices counting"):
        read_csv(path)


def test_a_later_file_of_a_run_is_not_warned_of(tmp_path):
    """A file to score or fill (read with the run's columns, ``if_present``) was trained on
    as it is: its copies were warned of then."""
    path = _write(tmp_path / "t.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv(path, if_present=True, features=["a", "b", "c", "b_copy", "a_cm", "a_again"])


def test_rescaled_columns_are_found_across_blocks(monkeypatch):
    """The correlations are taken a block of columns at a time (a (K, K) matrix of 100 rows x
    10,000 columns took 2.2 GB for this warning: readA #9, 0.61 GB peak after): a pair whose
    columns fall in different blocks, or in one, is found as with the whole matrix."""
    import numpy as np

    from torchlvm.data import csv_copies

    values = np.random.default_rng(0).normal(size=(60, 9))
    values[:, 7] = 2.54 * values[:, 1] + 3  # (blocks of 2: columns 1 and 7 apart)
    values[:, 5] = -0.5 * values[:, 4]  # (one block)
    whole = csv_copies.rescaled(values, set())
    monkeypatch.setattr(csv_copies, "BLOCK", 2)
    assert csv_copies.rescaled(values, set()) == whole
    assert [(i, k) for i, k, _, _ in whole] == [(4, 5), (1, 7)]


def test_rows_repeating_earlier_ones_are_counted_in_a_file_to_train_on(tmp_path):
    """userR #5: a file holding every row 5 times (one export appended again) trained without a
    word, and the copies of a row fall in the train and test splits alike. One line counts the
    rows that repeat an earlier one; rows of whole numbers (0/1 cells repeat by nature) and rows
    of other labels are no repeats, nor is a row repeated among many (under 5%: iris holds one
    measurement twice, readG G2), and a later file to score is not warned of."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3)).round(3)
    path = tmp_path / "dup5.csv"
    rows = [",".join(map(repr, r)) + f",{'ab'[i % 2]}\n" for i, r in enumerate(x.tolist())]
    path.write_text("a,b,c,kind\n" + "".join(rows * 5))
    with pytest.warns(UserWarning) as caught:
        load_dataset(path, "train", label_column="kind")
    said = [str(w.message) for w in caught if "repeat" in str(w.message)]
    assert said == [
        f"{path}: 120 of 150 rows repeat an earlier row, every cell the same, so copies of a row "
        "can fall in the train and the test split alike and the test score read rows the model "
        "trained on; if the file holds an export more than once, drop the repeats (pandas: "
        "df.drop_duplicates())"
    ]
    once = tmp_path / "once.csv"  # (a measurement taken twice: 1 of 30 rows, no export twice)
    once.write_text("a,b,c,kind\n" + "".join(rows) + rows[7])
    labels = tmp_path / "labels.csv"  # the same measurements under another label: no repeat
    labels.write_text("a,b,c,kind\n" + "".join(rows) + "".join(r[:-2] + "c\n" for r in rows))
    binary = tmp_path / "binary.csv"  # 0/1 rows: repeats by nature
    binary.write_text("a,b\n" + "".join(f"{i % 2},{i % 3 % 2}\n" for i in range(40)))
    for quiet in (labels, binary, once):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            load_dataset(quiet, "train", label_column=None if quiet == binary else "kind")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv(path, label_column="kind", if_present=True)
