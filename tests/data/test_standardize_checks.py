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
