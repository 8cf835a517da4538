"""Standardization: NaN-aware statistics, the inverse, the Jacobian, constant columns refused."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from torchlvm.data.standardize import Standardizer
from torchlvm.errors import DataError

NAN = float("nan")


def test_fit_leaves_missing_cells_out_and_inverts():
    x = torch.tensor([[1.0, 10.0], [3.0, NAN], [5.0, 30.0]], dtype=torch.float64)
    s = Standardizer.fit(x)
    assert s.mean == (3.0, 20.0)
    assert s.scale == pytest.approx((math.sqrt(8 / 3), 10.0))
    z = s.transform(x)
    assert torch.isnan(z[1, 1]) and z[2, 1] == 1.0
    assert torch.allclose(s.inverse(z), x, equal_nan=True)
    assert Standardizer.from_dict(s.to_dict()) == s


def test_log_jacobian_changes_units_of_a_density():
    x = torch.randn(100, 2, dtype=torch.float64) * torch.tensor([3.0, 0.5]) + 2
    s = Standardizer.fit(x)
    d = torch.distributions.Normal(0.0, 1.0)
    raw = torch.distributions.Normal(torch.tensor(s.mean), torch.tensor(s.scale))
    expected = raw.log_prob(x).sum(-1)
    assert torch.allclose(d.log_prob(s.transform(x)).sum(-1) + s.log_jacobian(), expected)
    observed = torch.tensor([[True, False]]).expand(100, 2)
    expected = torch.full((100,), -math.log(s.scale[0]), dtype=torch.float64)
    assert torch.allclose(s.log_jacobian(observed), expected)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        ([[1.0, 2.0], [1.0, 3.0]], r"column 'a' is constant \(1 in every row.*divides by zero"),
        ([[NAN, 2.0], [NAN, 3.0]], "column 'a' has no observed value"),
        # the option as Python takes it ('drop it (--drop-columns a)', a CLI flag, before)
        ([[1.0, 2.0], [1.0, 3.0]], r"drop it \(drop_columns=\['a'\]\)$"),
        ([[1.0, 2.0], [1.0, 2.0]], r"\(2 such columns\).*drop them \(drop_columns=\['a', 'b'\]\)"),
        ([[NAN, 2.0], [NAN, 3.0]], r"drop it \(drop_columns=\['a'\]\)"),
    ],
    ids=["constant", "all-missing", "constant-flag", "constant-columns", "all-missing-flag"],
)
def test_refusals(x, message):
    with pytest.raises(DataError, match=message):
        Standardizer.fit(torch.tensor(x), columns=("a", "b"))


@pytest.mark.parametrize(
    ("x", "flags"),
    [
        ([[1.0, 2.0], [1.0, 3.0]], "drop it (--drop-columns a)"),
        ([[NAN, 2.0], [NAN, 3.0]], "drop it (--drop-columns a)"),
    ],
    ids=["constant", "all-missing"],
)
def test_refusals_name_the_flags_on_the_command_line(x, flags):
    """userA: a constant column's refusal offered --no-standardize, which then trained on raw
    columns (ELBO -1.4e9, no word): only the drop is offered; the file is named first."""
    with pytest.raises(DataError) as caught:
        Standardizer.fit(torch.tensor(x), columns=("a", "b"), source="t/c.csv")
    assert caught.value.on_command_line.startswith("t/c.csv: column 'a' ")
    assert caught.value.on_command_line.endswith(flags)


def test_damaged_record():
    with pytest.raises(DataError, match="standardization is damaged"):
        Standardizer.from_dict({"mean": [0.0]})


@pytest.mark.parametrize(
    ("x", "said"),
    [
        ([[50_000.0, 1.0], [61_000.0, 2.0]], "column 'a' has root mean square 5.58e+04, far"),
        ([[0.01, 0.02], [0.03, 0.01]], "every column varies by less than 0.1 of the likelihood's"),
        ([[0.5, 1.0], [-1.5, 2.0]], None),
    ],
    ids=["large", "small", "unit"],
)
def test_a_table_far_from_unit_scale_is_warned_of(x, said):
    from torchlvm.data.standardize import scale_warning

    found = scale_warning(torch.tensor(x), 1.0, ("a", "b"), "t.csv")
    assert (found is None) if said is None else (f"t.csv: {said}" in found)
    assert found is None or found.endswith(
        "leave out --no-standardize (a table file is standardized by default)"
    )


def test_train_vae_no_standardize_on_a_large_scale_table_warns(tmp_path):
    """userA: `train vae --no-standardize` on columns of ~5e4 printed an ELBO of -1.4e9 with no
    word, where the estimators warn (DataScaleWarning); the command line warns the same."""
    from torchlvm.cli import main

    path = tmp_path / "money.csv"
    rows = (f"{50_000 + 900 * ((i * 7) % 11)},{20 + (i * 13) % 50}" for i in range(60))
    path.write_text("income,age\n" + "\n".join(rows) + "\n")
    argv = ["train", "vae", "--data", str(path), "--epochs", "1", "--out"]
    with pytest.warns(UserWarning, match=rf"{path}: column 'income' has root mean square"):
        assert main([*argv, str(tmp_path / "raw"), "--no-standardize"]) == 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main([*argv, str(tmp_path / "std")]) == 0  # standardized, the default
    assert not [w for w in caught if "root mean square" in str(w.message)]


def test_the_scale_warning_names_a_headerless_column_by_its_place_and_index(tmp_path):
    """table15: `--no-standardize` on a file without a header named its column "column
    'column 3'" (the repr of its place name), where the other standardize warnings say "column
    3 (index 2)"; a header that names a column 'column 2' keeps its name."""
    from torchlvm.cli import main

    rows = [f"{i % 2},{20 + (i * 13) % 50},{50_000 + 900 * ((i * 7) % 11)}" for i in range(60)]
    path = tmp_path / "money.csv"
    path.write_text("\n".join(rows) + "\n")
    argv = ["train", "vae", "--data", str(path), "--label-column", "0", "--epochs", "1"]
    with pytest.warns(UserWarning, match=rf"{path}: column 3 \(index 2\) has root mean square"):
        assert main([*argv, "--out", str(tmp_path / "raw"), "--no-standardize"]) == 0
    named = tmp_path / "named.csv"
    named.write_text("kind,column 1,column 2\n" + "\n".join(rows) + "\n")
    argv[3] = str(named)
    with pytest.warns(UserWarning, match=rf"{named}: column 'column 2' has root mean square"):
        assert main([*argv, "--out", str(tmp_path / "named"), "--no-standardize"]) == 0


def test_data_scale_streams_in_chunks_leaves_out_nan_and_reads_file_rows(tmp_path, monkeypatch):
    """The σ a Gaussian p(x | z) starts at: the root mean square of the columns' population
    standard deviations, NaN cells left out, the same read whole, in chunks of rows, or from a
    memory-mapped file's rows."""
    import numpy as np

    from torchlvm.data import standardize
    from torchlvm.data.memmap import MemmapRows
    from torchlvm.data.npy_layout import read_layout

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(301, 3)) * [0.1, 2.0, 30.0] + 5).astype(np.float32)
    by_hand = float(np.sqrt(x.astype(np.float64).var(0).mean()))
    assert standardize.data_scale(torch.from_numpy(x)) == pytest.approx(by_hand, rel=1e-12)
    monkeypatch.setattr(standardize, "_CHUNK", 7)  # chunks of 2 rows, the last of 1
    assert standardize.data_scale(torch.from_numpy(x)) == pytest.approx(by_hand, rel=1e-12)
    np.save(tmp_path / "x.npy", x)
    rows = MemmapRows(tmp_path / "x.npy", read_layout(tmp_path / "x.npy"))
    assert standardize.data_scale(rows) == pytest.approx(by_hand, rel=1e-12)
    holed = x.copy()
    holed[::2, 1] = np.nan
    want = np.sqrt(np.mean([x[:, 0].var(), holed[1::2, 1].var(), x[:, 2].var()]))
    assert standardize.data_scale(torch.from_numpy(holed)) == pytest.approx(want, rel=1e-6)
    assert standardize.data_scale(torch.ones(4, 2)) == 1.0  # (nothing varies: σ = 1)
