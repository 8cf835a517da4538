"""Standardizer.fit warns of a train split whose standardization misleads the model (userK #8,
#21): a column whose standard deviation a few far cells set, and a column observed in few rows;
never of sklearn's own tables as they are, a heavy tail, or a rare 0/1 column."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from torchlvm.data.standardize import Standardizer


def _fit(x, columns=None):
    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        Standardizer.fit(torch.as_tensor(x, dtype=torch.float64), columns)
    return [getattr(w.message, "on_command_line", str(w.message)) for w in told]


def _wine():
    from sklearn.datasets import load_wine

    wine = load_wine()
    return wine.data.copy(), list(wine.feature_names)


def test_one_cell_that_sets_a_columns_scale_is_named_with_its_value():
    """userK #8: proline typed 1e9 in one row made the column's sd ~8e7, every other row
    standardized to about -0.075, and a later row 12x the data's maximum was no outlier."""
    x, names = _wine()
    x[6, 12] = 1e9
    said = _fit(x, names)
    assert len(said) == 1
    assert said[0].startswith(
        "column 'proline': 1 cell, 1e+09, lies 3.4e+06 robust standard deviations from its "
        "median (672) and sets its standard deviation in the train split (7.47e+07; 312 "
        "without it)"
    )
    assert said[0].endswith("correct the cell or leave its row out of the file")


def test_a_column_observed_in_few_rows_is_named_with_its_drop():
    """userK #21: a column observed in 3 of 141 train rows took its scale from those 3; a
    complete later row then scored 115 nats against 27.3 from a clean run."""
    x, names = _wine()
    x[3:, 2] = np.nan
    said = _fit(x, names)
    assert said == [
        "column 'ash' is observed in 3 of the 178 train rows: its mean and scale rest on those "
        "3, and every later row's value there is judged by them; drop it (--drop-columns ash) "
        "or fill in more of it"
    ]


@pytest.mark.parametrize("table", ["wine", "breast_cancer", "diabetes"])
def test_sklearns_tables_as_they_are_are_not_warned_of(table):
    import sklearn.datasets

    data = getattr(sklearn.datasets, f"load_{table}")()
    assert _fit(data.data, list(data.feature_names)) == []


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: rng.lognormal(0, 2.5, size=(1000, 3)),
        lambda rng: rng.standard_cauchy(size=(1000, 3)),
        lambda rng: (rng.random((1000, 3)) < 0.005).astype(float),
        lambda rng: rng.normal(size=(6, 3)),  # a small file, every cell observed
        lambda rng: np.where(np.eye(10, 3, dtype=bool), np.nan, rng.normal(size=(10, 3))),
    ],
    ids=["heavy-tail", "cauchy", "rare-ones", "few-rows-all-observed", "small-file-one-hole"],
)
def test_a_tail_rare_ones_or_a_small_complete_file_are_not_warned_of(make):
    assert _fit(make(np.random.default_rng(0))) == []


def _read(path, **options):
    from torchlvm.data.files import load_file

    with warnings.catch_warnings(record=True) as told:
        warnings.simplefilter("always")
        load_file(path, standardize=True, allow_missing=True, **options)
    said = [getattr(w.message, "on_command_line", str(w.message)) for w in told]
    return [s for s in said if "train rows" in s or "robust" in s]


def test_a_headerless_files_sparse_column_is_named_by_its_place_with_its_file_index(tmp_path):
    """readC C1: a file without header's column was 'column 2 (counting from 0)', an index
    among the features (the label, the file's first column, taken out), with a bare
    '--drop-columns' offered and no file named; every other message says 'column 4 (index
    3)' of it, and the option its index takes."""
    x, _ = _wine()
    x[3:, 2] = np.nan
    rows = np.column_stack([np.arange(len(x)) % 3, x])  # the label first
    path = tmp_path / "bare.csv"
    np.savetxt(path, rows, delimiter=",", fmt="%g")
    said = _read(path, label_column=0)
    assert len(said) == 1
    assert said[0].startswith(f"{path}: column 4 (index 3) is observed in ")
    assert said[0].endswith(
        "drop it (--drop-columns 3, its index counting from 0) or fill in more of it"
    )
    with_drop = _read(path, label_column=0, drop_columns=[1])  # (the user's drop is kept)
    assert "drop it (--drop-columns 1 3, indices counting from 0)" in with_drop[0]


@pytest.mark.parametrize("header", [True, False], ids=["header", "headerless"])
def test_a_far_cell_is_named_with_its_line(tmp_path, header):
    """review14 R24: the warning of a cell that sets its column's scale named no line, so the
    cell to correct was to be searched for in 178 lines."""
    x, names = _wine()
    x[5, 12] = 1e9  # the 6th data row: line 7 below a header, else line 6
    path = tmp_path / "t.csv"
    np.savetxt(path, x, delimiter=",", fmt="%g", header=",".join(names) if header else "",
               comments="")  # fmt: skip
    if not header:
        path.write_text(path.read_text().lstrip("\n"))
    said = _read(path)
    name = "column 'proline'" if header else "column 13 (index 12)"
    assert said[0].startswith(f"{path}: {name}: 1 cell, 1e+09 on line {7 if header else 6}, ")


def test_a_headers_names_that_look_like_places_are_names(tmp_path):
    """readE E1: a header 'column 2,column 3,column 4,label' (reconstruct's CSV of a headerless
    run has such names, out of their places) was read as no header: 'column 3 (index 2) ...
    --drop-columns 2', which drops 'column 4'."""
    x, _ = _wine()
    x = x[:, [0, 2, 12]]
    x[3:, 1] = np.nan
    rows = np.column_stack([x, np.arange(len(x)) % 3])
    path = tmp_path / "named.csv"
    np.savetxt(path, rows, delimiter=",", fmt="%g", header="column 2,column 3,column 4,label",
               comments="")  # fmt: skip
    said = _read(path, label_column="label")
    assert len(said) == 1
    assert said[0].startswith(f"{path}: column 'column 3' is observed in ")
    assert "drop it (--drop-columns 'column 3')" in said[0]
