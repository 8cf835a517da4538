"""Refusals of unusual data name a fix that applies to that data (userT #8), and the fix named
works: each test runs the expression the refusal gives and fits the result. Four refusals named
one that did not: an all-NaN DataFrame column by a 0-based number with "drop or fill" (nothing
to fill it from), a Timedelta column with ``.dt.year`` (AttributeError), a DataFrame of sparse
columns with ``.toarray()`` (no such method), and X * 1e-200 as having "zero variance"."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from torchlvm import PPCA
from torchlvm.errors import DataError, DataTypeError

rng = np.random.default_rng(0)
FRAME = pd.DataFrame(rng.normal(size=(60, 4)), columns=["a", "b", "c", "d"])


def _fix(message: str, pattern: str, X):
    """The data the fix in ``message`` (``pattern``'s group 1, Python code over X) gives."""
    found = re.search(pattern, message)
    assert found, message
    return eval(found.group(1), {"np": np, "pd": pd, "X": X})  # noqa: S307 (the test's own)


@pytest.mark.parametrize("method", ["em", "closed_form"])
def test_an_all_nan_column_is_named_and_dropped(method):
    """The closed form offered method='em', which refused the column next."""
    X = FRAME.assign(z=np.nan)
    with pytest.raises(DataError) as refusal:
        PPCA(latent_dim=2, method=method).fit(X)
    message = str(refusal.value)
    assert message.startswith("column 'z' of X has no observed values (all NaN)"), message
    PPCA(latent_dim=2, method=method).fit(_fix(message, r"drop it \((.*)\)$", X))


def test_an_all_nan_array_column_is_counted_from_0_and_dropped():
    X = FRAME.assign(y=np.nan, z=np.nan).to_numpy()
    with pytest.raises(DataError) as refusal:
        PPCA(latent_dim=2, method="em").fit(X)
    message = str(refusal.value)
    assert message.startswith("features 4, 5 of X (counting from 0) have no observed values")
    assert _fix(message, r"drop them \((.*)\)$", X).shape == (60, 4)


def test_a_duration_column_is_turned_into_seconds_not_years():
    X = FRAME.assign(t=pd.to_timedelta(np.arange(60), unit="h"))
    with pytest.raises(DataTypeError) as refusal:
        PPCA(latent_dim=2).fit(X)
    message = str(refusal.value)
    assert message.startswith("X holds durations ('t'), and the models take numbers only")
    assert ".dt.year" not in message
    seconds = _fix(message, r"turn durations into numbers \(e\.g\. (.*)\)$", X)
    PPCA(latent_dim=2).fit(X.assign(t=seconds))


def test_a_frame_of_sparse_columns_is_made_dense_as_a_frame_is():
    X = FRAME.astype(pd.SparseDtype("float", 0.0))
    with pytest.raises(DataTypeError, match="^Sparse data was passed for X") as refusal:
        PPCA(latent_dim=2).fit(X)
    message = str(refusal.value)
    assert "toarray" not in message
    PPCA(latent_dim=2).fit(_fix(message, r"pass (X\.\S+)$", X))


@pytest.mark.parametrize(
    ("dtype", "scale"),
    [("float64", 1e-200), ("float32", 1e-30), ("float64", 1e-310), ("float64", 1e-322)],
    ids=["float64", "float32", "subnormal", "least-subnormal"],
)  # (readJ J2: 1e-310's advice raised OverflowError computing 10.0 ** 310)
def test_data_whose_variance_underflows_are_told_to_rescale_not_that_they_do_not_vary(dtype, scale):
    X = FRAME.to_numpy() * scale
    with pytest.raises(DataError) as refusal:
        PPCA(latent_dim=2, dtype=dtype).fit(X)
    message = str(refusal.value)
    assert f"whose square underflows {dtype}" in message and "zero variance" not in message
    fitted = PPCA(latent_dim=2, dtype=dtype).fit(_fix(message, r"rescale X \(e\.g\. (.*?)\)", X))
    assert fitted.noise_variance_ > 0
    if dtype == "float32":
        assert message.endswith("or pass dtype='float64'")
        PPCA(latent_dim=2, dtype="float64").fit(X)


def test_constant_data_are_still_told_they_do_not_vary():
    with pytest.raises(DataError, match="^X has zero variance in every feature"):
        PPCA(latent_dim=2).fit(np.ones((20, 4)))


@pytest.mark.parametrize("objective", ["miwae", "elbo"])
def test_a_vae_estimator_refuses_an_all_nan_column_too(objective):
    """review17 R8: VAEEstimator(objective='miwae') fitted a frame with an all-NaN column
    silently, and impute filled it from a decoder that never saw a value of it."""
    from torchlvm.estimators import VAEEstimator

    X = FRAME.assign(z=np.nan)
    with pytest.raises(DataError) as refusal:
        k = {"train_k": 2} if objective == "miwae" else {}
        VAEEstimator(latent_dim=2, epochs=1, objective=objective, **k).fit(X)
    message = str(refusal.value)
    assert message.startswith("column 'z' of X has no observed values (all NaN), so VAEEstimator")
    assert message.endswith("drop it (X.drop(columns=['z']))")
