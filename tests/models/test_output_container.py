"""impute under set_output(transform="pandas"): a DataFrame with X's columns and index, as
scikit-learn's imputers give (userT #3: a bare array came back, names and index gone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sklearn

from torchlvm.estimators import VAEEstimator
from torchlvm.models.ppca import PPCA


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2)) @ rng.normal(size=(2, 4)) + 0.2 * rng.normal(size=(60, 4))
    df = pd.DataFrame(x, columns=["a", "b", "c", "d"], index=[f"r{i}" for i in range(60)])
    df.iloc[0, 0] = df.iloc[5, 2] = np.nan
    return df


def test_ppca_impute_follows_set_output():
    df = _frame()
    ppca = PPCA(latent_dim=2, method="em").set_output(transform="pandas").fit(df)
    filled = ppca.impute(df)
    assert isinstance(filled, pd.DataFrame) and list(filled.columns) == ["a", "b", "c", "d"]
    assert list(filled.index) == list(df.index) and not filled.isna().any().any()
    plain = PPCA(latent_dim=2, method="em").fit(df).impute(df)
    np.testing.assert_array_equal(filled.to_numpy(), plain)
    assert isinstance(plain, np.ndarray)
    with sklearn.config_context(transform_output="pandas"):  # the global setting too
        on_array = PPCA(latent_dim=2, method="em").fit(df.to_numpy()).impute(df.to_numpy())
    assert list(on_array.columns) == ["x0", "x1", "x2", "x3"]


def test_vae_impute_follows_set_output_and_draws_stay_an_array():
    df = _frame()
    vae = VAEEstimator(latent_dim=2, epochs=1, k=8, objective="miwae", random_state=0)
    vae.set_output(transform="pandas").fit(df)
    filled = vae.impute(df)
    assert isinstance(filled, pd.DataFrame) and list(filled.columns) == ["a", "b", "c", "d"]
    assert list(filled.index) == list(df.index)
    assert isinstance(vae.impute(df, draws=2), np.ndarray)
