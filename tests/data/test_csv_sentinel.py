"""A number coding a missing value (-999, 9999) is warned of, naming column, code and count;
a value that may be real (-99 among percentages) is not."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from torchlvm.data.csv_table import read_csv


def _write(tmp_path, column: list[str]):
    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    rows = [f"{rng.normal():.3f},{cell}" for cell in column]
    path.write_text("a,b\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.parametrize(
    ("cells", "said"),
    [
        (["-999"] * 3 + [f"{v:.2f}" for v in np.linspace(-2, 2, 30)], "holds -999 in 3 rows"),
        (["9999"] + [f"{v:.2f}" for v in np.linspace(0, 1, 30)], "holds 9999 in 1 row"),
        (["-99", "-99"] + [f"{v:.1f}" for v in np.linspace(10, 20, 30)], "holds -99 in 2 rows"),
    ],
    ids=["-999", "9999", "-99-far"],
)
def test_a_missing_value_code_is_warned_of(tmp_path, cells, said):
    path = _write(tmp_path, cells)
    with pytest.warns(UserWarning, match="a code for a missing value") as caught:
        table = read_csv(path)
    message = str(caught[0].message)
    assert "column 'b'" in message and said in message and "--allow-missing" in message
    assert table.values.shape == (len(cells), 2)  # read as it is: not guessed away


@pytest.mark.parametrize(
    "cells",
    [
        ["-99"] + [str(v) for v in range(0, 101, 4)],  # a percentage's range is as wide
        ["999"] + [str(v) for v in range(0, 2000, 50)],  # inside the others' range
        ["-999"] * 5 + ["1"] * 20,  # one other value: nothing to be far from
        [f"{v:.2f}" for v in np.linspace(-2, 2, 30)],
    ],
    ids=["percent", "inside", "one-other-value", "no-code"],
)
def test_a_value_that_may_be_real_is_not_warned_of(tmp_path, cells):
    path = _write(tmp_path, cells)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_csv(path)


def test_the_offered_na_values_reads_the_code_as_missing(tmp_path):
    """The warning said to empty the cells by hand; it names --na-values CODE, which reads
    them missing as written (-999.0 too) and warns no more."""
    cells = ["-999", "-999.0"] + [f"{v:.2f}" for v in np.linspace(-2, 2, 30)]
    path = _write(tmp_path, cells)
    with pytest.warns(
        UserWarning,
        match=r"--na-values -999 \(with --allow-missing to fit or train on it; na_values=",
    ):
        read_csv(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_csv(path, na_values=["-999"], allow_empty=True)
    assert np.isnan(table.values[:, 1]).tolist() == [True, True] + [False] * 30
