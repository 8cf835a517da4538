"""PPCA by EM: reaches the closed-form maximum, recovers the true subspace, handles NaN."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits

from torchlvm.errors import DataError
from torchlvm.models import ppca_em
from torchlvm.models.ppca import PPCA


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These problems are tiny: with several threads on a busy machine, per-op thread
    synchronisation dominates (seconds instead of tenths). Restore the setting afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def linear_gaussian(n: int, d: int = 10, k: int = 3, sigma2: float = 0.1, seed: int = 0):
    """Data from a known PPCA model: returns X (n, d), W (d, k), mu (d,), sigma2."""
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k)) * np.array([3.0, 2.0, 1.5])[:k]
    mu = rng.normal(size=d)
    X = rng.normal(size=(n, k)) @ W.T + mu + np.sqrt(sigma2) * rng.normal(size=(n, d))
    return X, W, mu, sigma2


def with_nan(X: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[rng.random(X.shape) < fraction] = np.nan
    return X


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data / 16


@pytest.fixture(scope="module")
def truth():
    return linear_gaussian(2000)


@pytest.fixture(scope="module")
def synthetic(truth) -> np.ndarray:
    return truth[0]


@pytest.mark.parametrize(
    ("dataset", "k"),
    [("digits", 5), ("digits", 20), ("synthetic", 3)],
    ids=["digits-K5", "digits-K20", "synthetic-K3"],
)
def test_em_reaches_the_closed_form_maximum(dataset, k, request):
    X = request.getfixturevalue(dataset)
    closed = PPCA(latent_dim=k).fit(X)
    em = PPCA(latent_dim=k, method="em").fit(X)
    assert em.score(X) == pytest.approx(closed.score(X), rel=1e-6)
    assert em.log_likelihood_history_[-1] == pytest.approx(em.score(X), rel=1e-12)
    assert em.n_iter_ == len(em.log_likelihood_history_) - 1 < 1000
    assert em.noise_variance_ == pytest.approx(closed.noise_variance_, rel=1e-4)
    angles = subspace_angles(em.components_.T, closed.components_.T)
    assert angles.max() < 1e-2


def test_em_log_likelihood_never_decreases(digits):
    history = PPCA(latent_dim=5, method="em", max_iter=100).fit(digits).log_likelihood_history_
    assert np.all(np.diff(history) > -1e-10)


@pytest.mark.parametrize("method", ["closed_form", "em"])
def test_fit_recovers_the_true_subspace(truth, method):
    X, W, mu, sigma2 = truth
    model = PPCA(latent_dim=3, method=method).fit(X)
    assert subspace_angles(model.components_.T, W).max() < 0.02  # radians
    assert model.noise_variance_ == pytest.approx(sigma2, rel=0.05)
    np.testing.assert_allclose(model.mean_, mu, atol=0.15)


def test_em_is_deterministic_given_the_seed(synthetic):
    a = PPCA(latent_dim=3, method="em", seed=4).fit(synthetic)
    b = PPCA(latent_dim=3, method="em", seed=4).fit(synthetic)
    c = PPCA(latent_dim=3, method="em", seed=5).fit(synthetic)
    np.testing.assert_array_equal(a.W_, b.W_)
    assert a.log_likelihood_history_ == b.log_likelihood_history_
    assert a.log_likelihood_history_[0] != c.log_likelihood_history_[0]
    assert c.score(synthetic) == pytest.approx(a.score(synthetic), rel=1e-8)


def test_em_warns_when_it_runs_out_of_iterations(digits):
    with pytest.warns(RuntimeWarning, match="did not converge in 3 iterations") as caught:
        model = PPCA(latent_dim=5, method="em", max_iter=3).fit(digits)
    assert model.n_iter_ == 3
    (warning,) = [w.message for w in caught if "did not converge" in str(w.message)]
    assert "(max_iter=3;" in str(warning) and str(warning).endswith("raise max_iter or tol")


def test_em_s_warning_is_scikit_learn_s_convergence_warning(digits):
    """userT #11: a grid search that silences scikit-learn's ConvergenceWarning (as for
    FactorAnalysis) still printed PPCA's, a RuntimeWarning alone, importable only from
    models.ppca_fit; it is a ConvergenceWarning, exported by torchlvm.models."""
    from sklearn.exceptions import ConvergenceWarning

    from torchlvm.models import EMConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        PPCA(latent_dim=5, method="em", max_iter=3).fit(digits)
    assert not [w for w in caught if "did not converge" in str(w.message)]
    with pytest.warns(EMConvergenceWarning, match="did not converge"):
        PPCA(latent_dim=5, method="em", max_iter=3).fit(digits)


def test_the_em_warning_points_at_the_callers_line(digits):
    """userL #9: the warning pointed at torchlvm's own line in ppca.py, not the user's."""
    with pytest.warns(RuntimeWarning) as caught:
        PPCA(latent_dim=5, method="em", max_iter=3).fit(digits)
    (warning,) = [w for w in caught if "did not converge" in str(w.message)]
    assert warning.filename == __file__


def test_tol_0_stops_once_an_update_changes_nothing(synthetic):
    """userL #9: with tol=0 EM ran to max_iter and warned "last change 0 nats, above the
    tolerance 0" on a fit settled to the last bit: the rule is now change <= tol."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        model = PPCA(latent_dim=3, method="em", tol=0.0, max_iter=2000).fit(synthetic[:300])
    history = model.log_likelihood_history_
    assert model.n_iter_ < 2000 and history[-1] == history[-2]


def test_a_report_whose_last_update_changed_nothing_says_converged():
    x = torch.zeros(4, 3).double()
    report = ppca_em.em_report(x, [-1.5, -1.25, -1.25], max_iter=2, tol=0.0)
    assert report.converged and report.last_change == 0.0
    assert not ppca_em.em_report(x, [-1.5, -1.25], max_iter=1, tol=0.0).converged


def test_the_em_warning_names_what_the_command_line_takes(digits):
    """userE: 'fit ppca --max-iter 3' warned 'raise max_iter or tol': the command line has
    --max-iter and no tolerance. The warning carries its command-line words, as errors do."""
    with pytest.warns(RuntimeWarning) as caught:
        PPCA(latent_dim=5, method="em", max_iter=3).fit(digits)
    (warning,) = [w.message for w in caught if "did not converge" in str(w.message)]
    said = warning.on_command_line
    assert "(--max-iter 3;" in said and said.endswith("raise --max-iter")
    assert "tol" not in said.replace("tolerance", "")


# --------------------------------------------------------------------- missing values


@pytest.fixture(scope="module")
def missing_fit(synthetic):
    X_nan = with_nan(synthetic, 0.2)
    return X_nan, PPCA(latent_dim=3, method="em").fit(X_nan)


def test_em_with_20_percent_missing_nearly_matches_the_full_data_fit(synthetic, missing_fit):
    X_nan, model = missing_fit
    full = PPCA(latent_dim=3).fit(synthetic)
    # Judged on the complete data, which the missing-value fit never saw in full.
    assert model.score(synthetic) == pytest.approx(full.score(synthetic), rel=2e-3)
    assert subspace_angles(model.components_.T, full.components_.T).max() < 0.02
    history = model.log_likelihood_history_
    assert np.all(np.diff(history) > -1e-10)
    assert history[-1] == pytest.approx(model.score(X_nan), rel=1e-12)


def test_imputation_beats_mean_imputation(synthetic, missing_fit):
    X_nan, model = missing_fit
    holes = np.isnan(X_nan)
    filled = model.impute(X_nan)
    assert not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], synthetic[~holes])
    mse = np.mean((filled[holes] - synthetic[holes]) ** 2)
    column_means = np.nanmean(X_nan, axis=0)
    mse_mean = np.mean((np.broadcast_to(column_means, X_nan.shape)[holes] - synthetic[holes]) ** 2)
    assert mse < 0.2 * mse_mean


def test_missing_value_em_on_complete_data_reaches_the_closed_form(synthetic):
    # The Ilin & Raiko M-step, which re-estimates μ jointly with W, run on data without holes.
    X = torch.from_numpy(synthetic)
    W0, s0 = ppca_em.initial_loadings(10, 3, float(X.var(0).mean()), seed=0, dtype=X.dtype)
    W, mu, sigma2, history = ppca_em.em_missing(X, W0, s0, max_iter=1000, tol=1e-10)
    closed = PPCA(latent_dim=3).fit(synthetic)
    assert history[-1] == pytest.approx(closed.score(synthetic), rel=1e-8)
    torch.testing.assert_close(mu, torch.from_numpy(closed.mean_), rtol=0, atol=1e-5)
    assert sigma2.item() == pytest.approx(closed.noise_variance_, rel=1e-5)


def test_a_feature_with_no_observed_value_is_refused(synthetic):
    X = synthetic.copy()
    X[:, 4] = np.nan
    with pytest.raises(
        DataError, match=r"feature 4 of X \(counting from 0\) has no observed values \(all NaN\)"
    ):
        PPCA(latent_dim=3, method="em").fit(X)


def test_a_float32_em_fit_runs_until_its_likelihood_settles_not_until_float32_rounds_it():
    """EM's log-likelihood was summed in float32, whose steps at −20 nats a row are ~2e-6: a fit
    of breast_cancer with 20% of its cells missing stopped after 30 updates on a change rounded
    to exactly 0 while it still rose ~1e-5 an update, 0.086 nats a row from float64's fit."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.preprocessing import StandardScaler

    X = StandardScaler().fit_transform(load_breast_cancer().data)
    X[np.random.default_rng(0).random(X.shape) < 0.2] = np.nan
    wide = PPCA(latent_dim=5, method="em").fit(X[:450])
    narrow = PPCA(latent_dim=5, method="em", dtype="float32").fit(X[:450])
    assert narrow.n_iter_ > 0.8 * wide.n_iter_  # (149 and 118 measured; 30 before)
    gap = np.abs(narrow.score_samples(X[450:]) - wide.score_samples(X[450:])).max()
    assert gap < 0.01  # (0.0004 measured; 0.086 from the converged fit before)
