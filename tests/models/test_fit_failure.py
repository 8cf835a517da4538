"""A fit that raises leaves the estimator as it was (userT #2): ``validate_data`` records the new
X's ``n_features_in_`` and ``feature_names_in_`` before the fit can fail, and the earlier fit's
model then answered under them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import torchlvm.estimators.vae as vae_module
from torchlvm.errors import DataError
from torchlvm.estimators import CVAEEstimator, VAEEstimator
from torchlvm.models.ppca import PPCA


def _frame(rows: int = 200, columns: int = 6, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2)) @ rng.normal(size=(2, columns)) + 0.3 * rng.normal(
        size=(rows, columns)
    )
    return pd.DataFrame(x, columns=[f"c{i}" for i in range(columns)])


def test_a_refused_ppca_refit_keeps_the_fit_and_its_column_names():
    """A refit on reordered columns with a NaN (closed form) is refused; the reordered columns
    were then transformed with the old W without a word."""
    df = _frame()
    ppca = PPCA(latent_dim=2).fit(df)
    before = ppca.transform(df)
    bad = df[df.columns[::-1]].copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):
        ppca.fit(bad)
    assert list(ppca.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(ppca.transform(df), before)
    with pytest.raises(DataError, match="columns"):
        ppca.transform(df[df.columns[::-1]])
    with pytest.raises(Exception, match="latent_dim"):  # a refit of too few columns for K
        ppca.set_params(latent_dim=5).fit(df.iloc[:, :3])
    assert ppca.n_features_in_ == 6 and ppca.W_.shape == (6, 2)
    np.testing.assert_array_equal(ppca.transform(df), before)


def test_an_unfitted_ppca_whose_fit_fails_stays_unfitted():
    bad = _frame().to_numpy(copy=True)
    bad[0, 0] = np.nan
    ppca = PPCA(latent_dim=2)
    with pytest.raises(DataError):
        ppca.fit(bad)
    assert not hasattr(ppca, "n_features_in_") and ppca.W is None


def test_an_interrupted_vae_refit_keeps_the_earlier_fit(monkeypatch):
    """Ctrl-C during a refit on 5 columns: the estimator refused X (3 columns: 'expecting 5')
    and the new X too (the model expects 3)."""
    x = _frame(columns=3).to_numpy()
    est = VAEEstimator(latent_dim=2, epochs=1, random_state=0).fit(x)
    before = est.transform(x)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(vae_module, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.fit(_frame(columns=5).to_numpy())
    assert est.n_features_in_ == 3
    np.testing.assert_array_equal(est.transform(x), before)
    holes = x.copy()
    holes[0, 0] = np.nan
    with pytest.raises(DataError, match="NaN"):  # refused by the elbo objective after check_X
        est.fit(pd.DataFrame(holes, columns=["a", "b", "c"]))
    assert not hasattr(est, "feature_names_in_")
    np.testing.assert_array_equal(est.transform(x), before)


def test_a_refused_cvae_refit_keeps_its_classes():
    x = _frame(columns=3).to_numpy()
    y = np.repeat(["a", "b"], 100)
    est = CVAEEstimator(latent_dim=2, epochs=1, random_state=0).fit(x, y)
    with pytest.raises(DataError, match="only one class"):
        est.fit(_frame(columns=4).to_numpy(), np.repeat(["z"], 200))
    assert list(est.classes_) == ["a", "b"] and est.n_features_in_ == 3
    np.testing.assert_allclose(est.class_prior_, [0.5, 0.5])
    est.transform(x, y)
