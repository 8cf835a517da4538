"""A column with no observed value in the train split of a file to train on around missing cells
is refused, as PPCA and a standardized table refuse it: review17 R8, `train vae --data
nancol.npy --objective miwae --allow-missing` trained, and impute filled every cell of the column
from a decoder never trained on it, without a word. A later file may lack a column whole."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.data.files import FRACTIONS, read_rows
from torchlvm.data.splits import split_indices
from torchlvm.errors import DataError


def _rows(unobserved: np.ndarray) -> np.ndarray:
    """100 rows of 4 columns, column 2 missing on the ``unobserved`` rows (and row 5's column
    0)."""
    x = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    x[unobserved, 2] = np.nan
    x[5, 0] = np.nan
    return x


def test_an_arrays_column_of_no_value_is_refused_with_the_numpy_line(tmp_path, capsys):
    path = tmp_path / "nancol.npy"
    np.save(path, _rows(np.arange(100)))
    with pytest.raises(DataError) as caught:
        load_dataset(str(path), "train", allow_missing=True)
    assert str(caught.value) == (
        f"{path}: column 2 (counting from 0) has no observed value in the train split (all NaN), "
        "so a model learns nothing of it; remove it from the array (numpy: np.delete(x, 2, "
        "axis=1))"
    )
    argv = ["train", "vae", "--data", str(path), "--objective", "miwae", "--allow-missing"]
    assert cli.main([*argv, "--epochs", "1", "--quiet", "--out", str(tmp_path / "r")]) == 2
    assert "column 2 (counting from 0) has no observed value" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    later = read_rows(path, allow_missing=True, allow_empty=True).data  # (a file to score)
    assert np.isnan(later.x[:, 2].numpy()).all()


def test_a_tables_column_seen_only_outside_the_train_split_is_refused_unstandardized(tmp_path):
    """Read as stored (--no-standardize), a column whose values lie in validation and test rows
    only was taken; its name and the option that drops it are given."""
    train = split_indices(100, FRACTIONS, 0)[0]
    x = _rows(train)
    path = tmp_path / "t.csv"
    cells = [",".join("" if v != v else repr(float(v)) for v in row) for row in x]
    path.write_text("a,b,c,d\n" + "\n".join(cells) + "\n")
    with pytest.raises(DataError, match=r"column 'c' has no observed value in the train split; "
                       r"drop it \(drop_columns=\['c'\]\)"):  # fmt: skip
        load_dataset(str(path), "train", allow_missing=True, standardize=False)
    later = read_rows(path, allow_missing=True, allow_empty=True).data  # (a file to score)
    assert int(np.isfinite(later.x[:, 2].numpy()).sum()) == 100 - len(train)
