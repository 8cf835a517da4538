"""PPCA closed form against known answers: scikit-learn's PCA, dense Gaussians, Bayes' rule.

EM and missing-value fitting are in ``test_ppca_em.py``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler
from torch.distributions import MultivariateNormal

from torchlvm.errors import ConfigError, DataError, NotFittedError
from torchlvm.models.ppca import PPCA, PPCAConfig


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


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data / 16


@pytest.fixture(scope="module")
def synthetic() -> np.ndarray:
    return linear_gaussian(2000)[0]


@pytest.fixture(scope="module")
def fitted(synthetic) -> PPCA:
    return PPCA(latent_dim=3).fit(synthetic)


def dense_marginal(model: PPCA) -> MultivariateNormal:
    """p(x) with the D×D covariance C = W Wᵀ + σ² I formed explicitly."""
    W, D = torch.from_numpy(model.W_), model.n_features_in_
    C = W @ W.T + model.noise_variance_ * torch.eye(D, dtype=torch.float64)
    return MultivariateNormal(torch.from_numpy(model.mean_), covariance_matrix=C)


# ------------------------------------------------------------------- vs scikit-learn
#
# scikit-learn's PCA estimates the covariance with the unbiased 1/(N − 1) factor, so its
# ``explained_variance_`` and ``noise_variance_`` are N/(N − 1) times our maximum-likelihood
# (1/N) ones, and its ``score_samples`` on the same X differs from ours by O(D/N) nats. Two
# honest comparisons make the 1e-6 claim exact rather than approximate:
#   1. fit both end to end on equal covariances: sklearn on x̄ + sqrt((N−1)/N)·(X − x̄), whose
#      1/(N−1) covariance equals the 1/N covariance of X (same mean), then score the same X;
#   2. evaluate sklearn's own fitted parameters with our score_samples.
# The convention itself is checked in test_parameters_match_sklearn_up_to_the_n_minus_1_factor.

DATASETS = [("digits", 5), ("digits", 20), ("synthetic", 3)]
DATASET_IDS = [f"{name}-K{k}" for name, k in DATASETS]


@pytest.mark.parametrize(("dataset", "k"), DATASETS, ids=DATASET_IDS)
def test_score_samples_matches_sklearn_fitted_on_equal_covariance(dataset, k, request):
    X = request.getfixturevalue(dataset)
    n = len(X)
    ours = PPCA(latent_dim=k).fit(X).score_samples(X)
    X_ml = X.mean(0) + np.sqrt((n - 1) / n) * (X - X.mean(0))
    theirs = PCA(n_components=k, svd_solver="full").fit(X_ml).score_samples(X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize(("dataset", "k"), DATASETS, ids=DATASET_IDS)
def test_score_samples_matches_sklearn_with_its_parameters(dataset, k, request):
    X = request.getfixturevalue(dataset)
    sk = PCA(n_components=k, svd_solver="full").fit(X)
    scale = np.sqrt(sk.explained_variance_ - sk.noise_variance_)
    model = PPCA(latent_dim=k)
    model.load_state_dict(
        {
            "W": torch.from_numpy(sk.components_.T * scale),
            "mu": torch.from_numpy(sk.mean_),
            "sigma2": torch.tensor(sk.noise_variance_),
        }
    )
    np.testing.assert_allclose(model.score_samples(X), sk.score_samples(X), rtol=1e-6)
    assert model.score(X) == pytest.approx(sk.score(X), rel=1e-6)


@pytest.mark.parametrize(("dataset", "k"), DATASETS, ids=DATASET_IDS)
def test_parameters_match_sklearn_up_to_the_n_minus_1_factor(dataset, k, request):
    X = request.getfixturevalue(dataset)
    n = len(X)
    model = PPCA(latent_dim=k).fit(X)
    sk = PCA(n_components=k, svd_solver="full").fit(X)
    np.testing.assert_allclose(model.mean_, sk.mean_, rtol=1e-12, atol=1e-12)
    ratio = (n - 1) / n
    np.testing.assert_allclose(model.explained_variance_, sk.explained_variance_ * ratio, 1e-9)
    assert model.noise_variance_ == pytest.approx(sk.noise_variance_ * ratio, rel=1e-9)
    np.testing.assert_allclose(np.abs(model.components_ @ sk.components_.T), np.eye(k), atol=1e-6)


@pytest.mark.parametrize(("dataset", "k"), DATASETS, ids=DATASET_IDS)
def test_every_probabilistic_pca_quantity_equals_sklearns_on_equal_covariance(dataset, k, request):
    """scikit-learn's PCA is Tipping & Bishop's PPCA (its score is the PPCA likelihood) with the
    1/(N − 1) covariance: fitted on the rescaled X whose 1/(N − 1) covariance is X's 1/N one,
    every quantity equals ours to 1e-8, the axes' signs included (both follow svd_flip)."""
    X = request.getfixturevalue(dataset)
    n = len(X)
    ours = PPCA(latent_dim=k).fit(X)
    X_ml = X.mean(0) + np.sqrt((n - 1) / n) * (X - X.mean(0))
    sk = PCA(n_components=k, svd_solver="full").fit(X_ml)
    for name in ("get_covariance", "get_precision"):
        np.testing.assert_allclose(getattr(ours, name)(), getattr(sk, name)(), rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.score_samples(X), sk.score_samples(X), rtol=1e-8)
    assert ours.score(X) == pytest.approx(sk.score(X), rel=1e-8)
    assert ours.noise_variance_ == pytest.approx(sk.noise_variance_, rel=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, sk.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.components_, sk.components_, rtol=0, atol=1e-8)
    np.testing.assert_allclose(ours.mean_, sk.mean_, rtol=0, atol=1e-12)
    C = ours.get_covariance()
    np.testing.assert_allclose(ours.get_precision() @ C, np.eye(X.shape[1]), atol=1e-8)
    plain = PCA(n_components=k, svd_solver="full").fit(X)  # its 1/(N − 1) convention
    np.testing.assert_allclose(C, plain.get_covariance() * (n - 1) / n, rtol=0, atol=1e-8)


def test_fewer_rows_than_features_is_where_sklearns_noise_variance_differs():
    """With N <= D scikit-learn's noise_variance_ averages the min(N, D) − K smallest of its
    explained variances, not the D − K eigenvalues of the covariance that the ML σ² of Tipping
    & Bishop (eq. 8) averages (D − N of them 0): there its score is not the PPCA likelihood's
    maximum, and ours is higher on the data it was fitted to."""
    X = linear_gaussian(30, d=200, k=3)[0]
    n = len(X)
    ours = PPCA(latent_dim=3).fit(X)
    X_ml = X.mean(0) + np.sqrt((n - 1) / n) * (X - X.mean(0))
    sk = PCA(n_components=3, svd_solver="full").fit(X_ml)
    evals = np.clip(np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1], 0, None)
    assert ours.noise_variance_ == pytest.approx(evals[3:].mean(), rel=1e-8)
    assert sk.noise_variance_ == pytest.approx(evals[3:n].mean(), rel=1e-8)
    assert ours.score(X) > sk.score(X)


@pytest.mark.parametrize(("dataset", "k"), DATASETS, ids=DATASET_IDS)
def test_the_projection_inverse_transform_documents_is_pcas(dataset, k, request):
    """inverse_transform(transform(X)) decodes the shrunk posterior mean; undoing the shrinkage
    as its docstring says gives PCA's projection onto the same subspace."""
    X = request.getfixturevalue(dataset)
    model = PPCA(latent_dim=k).fit(X)
    pca = PCA(n_components=k, svd_solver="full").fit(X)
    W = model.W_
    M = W.T @ W + model.noise_variance_ * np.eye(k)
    projected = model.inverse_transform(model.transform(X) @ M @ np.linalg.inv(W.T @ W))
    np.testing.assert_allclose(projected, pca.inverse_transform(pca.transform(X)), atol=1e-8)
    shrunk = model.inverse_transform(model.transform(X))
    assert ((shrunk - X) ** 2).sum() > ((projected - X) ** 2).sum()


# ----------------------------------------------------------- fitted attributes


def test_attributes_follow_the_closed_form(fitted, synthetic):
    K, D = 3, synthetic.shape[1]
    assert fitted.W_.shape == (D, K) and fitted.components_.shape == (K, D)
    np.testing.assert_allclose(fitted.components_ @ fitted.components_.T, np.eye(K), atol=1e-12)
    assert np.all(np.diff(fitted.explained_variance_) < 0)
    S = np.cov(synthetic.T, bias=True)  # the ML covariance
    evals = np.linalg.eigvalsh(S)[::-1]
    np.testing.assert_allclose(fitted.explained_variance_, evals[:K], rtol=1e-10)
    assert fitted.noise_variance_ == pytest.approx(evals[K:].mean(), rel=1e-10)
    scale = np.sqrt(fitted.explained_variance_ - fitted.noise_variance_)
    np.testing.assert_allclose(fitted.W_, fitted.components_.T * scale, atol=1e-12)
    assert fitted.n_features_in_ == D and fitted.n_iter_ == 0
    assert fitted.log_likelihood_history_ == []


@pytest.mark.parametrize("k", [1, 10, 28])
def test_fewer_rows_than_features_follow_the_same_closed_form(k):
    """N < D takes the thin SVD of the data instead of the (D, D) eigendecomposition (a
    40 × 3000 table took 46 s): the same ML covariance, whose other D − N eigenvalues are 0."""
    X = linear_gaussian(30, d=200, k=3)[0]
    fitted = PPCA(latent_dim=k).fit(X)
    evals = np.clip(np.linalg.eigvalsh(np.cov(X.T, bias=True))[::-1], 0, None)
    np.testing.assert_allclose(fitted.explained_variance_, evals[:k], rtol=1e-8)
    assert fitted.noise_variance_ == pytest.approx(evals[k:].mean(), rel=1e-8)
    np.testing.assert_allclose(
        fitted.score_samples(X), dense_marginal(fitted).log_prob(torch.from_numpy(X)), rtol=1e-8
    )


@pytest.mark.parametrize("method", ["closed_form", "em"])
@pytest.mark.parametrize("rows, k", [(3, 5), (3, 2), (2, 1)], ids=["K>N", "K=N-1", "two-rows"])
def test_too_few_rows_for_latent_dim_are_refused_naming_both_fixes(method, rows, k):
    """N rows span at most N − 1 directions around their mean, so K >= N − 1 leaves σ² = 0:
    the closed form raised torch's size mismatch for K >= N (the thin SVD has N axes, not K)
    and EM torch.linalg's Cholesky failure (σ² → 0)."""
    X = np.random.default_rng(0).normal(size=(rows, 10))
    fewer = "a smaller latent_dim" if rows > 2 else f"at least {k + 2} rows"
    with pytest.raises(
        DataError, match=rf"X has {rows} rows, which span at most {rows - 1} .*{fewer}"
    ):
        PPCA(latent_dim=k, method=method).fit(X)


def test_too_few_rows_or_features_are_refused_in_python_s_words():
    """userT #5: a notebook's PPCA was told "choose a smaller latent_dim (--latent-dim)", a flag
    it has no use for; Python is told latent_dim, the command line --latent-dim."""
    X = np.random.default_rng(0).normal(size=(3, 5))
    with pytest.raises(DataError) as rows:
        PPCA(latent_dim=2).fit(X)
    with pytest.raises(ConfigError) as features:
        PPCA(latent_dim=5).fit(X)
    assert str(rows.value).endswith(
        "choose a smaller latent_dim, at most 1, or fit at least 4 rows"
    )
    assert str(features.value).endswith("choose latent_dim from 1 to 4")
    assert rows.value.on_command_line.endswith("choose a smaller --latent-dim, at most 1, or fit "
                                               "at least 4 rows")  # fmt: skip
    assert features.value.on_command_line.endswith("choose --latent-dim from 1 to 4")


@pytest.mark.parametrize("method", ["closed_form", "em"])
@pytest.mark.parametrize("k", [2, 3])
def test_data_with_no_variance_outside_k_directions_are_refused(method, k):
    """Rank-2 data (50 rows): the closed form refused them, EM raised torch.linalg's Cholesky
    failure as σ² went to 0."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 6))
    with pytest.raises(DataError) as refused:
        PPCA(latent_dim=k, method=method).fit(X)
    # the data's rank and the largest latent size that fits, not only "smaller" (userE bisected
    # digits from 63 down to 60), each spelled as its interface takes it
    assert str(refused.value) == (
        f"X varies in only 2 directions (its covariance has rank 2), so latent_dim={k} leaves "
        "no variance for the noise (σ² = 0) and the density is degenerate; choose "
        "latent_dim=1 or fewer"
    )
    assert refused.value.on_command_line.endswith("choose --latent-dim 1 or fewer")
    PPCA(latent_dim=1, method=method).fit(X)  # (the offered one fits)


@pytest.mark.parametrize("method", ["closed_form", "em"])
@pytest.mark.parametrize("k", [1, 3])
def test_variation_the_float32_cast_rounds_away_is_named_with_working_fixes(method, k):
    """userL #11: wine-like data shifted by 1e8 step by 8 in float32, most columns turn constant,
    and the refusal said 'no variance outside K directions; choose a smaller latent_dim'."""
    X = np.random.default_rng(0).normal(size=(150, 6)) + 1e8
    with pytest.raises(DataError, match=r"\(up to 1e\+08 in size\) lose their variation in float32"
                       r", whose steps there are 8: .* 6 of its 6 features \(feature 0, 1, 2, "
                       r"3, 4, \.\.\.\); pass dtype='float64', or subtract X's mean"):  # fmt: skip
        PPCA(latent_dim=k, method=method, dtype="float32").fit(X)
    PPCA(latent_dim=k, method=method, dtype="float64").fit(X)  # the fixes it names work
    PPCA(latent_dim=k, method=method, dtype="float32").fit(X - X.mean(0))


@pytest.mark.parametrize("kind", ["tensor", "numpy", "frame"])
def test_data_that_came_in_as_float32_are_told_to_subtract_the_mean_before_the_cast(kind):
    """The same rounding done by the caller (float32 given): no cast of ours to blame, but 2
    columns vary by a few steps of 8 and 4 turned constant; 'pass dtype=float64' would not fit
    (review14 R11: a NumPy float32 X was offered it), the fixes named do."""
    X = np.random.default_rng(0).normal(size=(150, 6)) * [1, 1, 1, 1, 30, 30] + 1e8
    narrow = {
        "tensor": lambda a: torch.tensor(a, dtype=torch.float32),
        "numpy": lambda a: a.astype(np.float32),
        "frame": lambda a: pd.DataFrame(a.astype(np.float32)),
    }[kind]
    with pytest.raises(DataError) as refused:
        PPCA(latent_dim=3, dtype="float32").fit(narrow(X))
    assert str(refused.value).endswith(
        "too little of it is left in 2 of its 6 features (feature 4, 5), and 4 more are "
        "constant, maybe from the same rounding; X came in rounded (as float32): subtract its "
        "mean in float64 before casting it to float32, or keep it float64 and pass "
        "dtype='float64'"
    )
    PPCA(latent_dim=3, dtype="float32").fit(narrow(X - X.mean(0)))  # the fixes it names fit
    PPCA(latent_dim=3, dtype="float64").fit(X)


@pytest.mark.parametrize("given", ["array", "list"])
def test_a_refusal_the_cast_did_not_cause_is_given_as_it_is(given):
    """readD D1: PPCA(dtype='float32') told every refusal of data with a large column that its
    variation was lost in the cast, and a float64 X that it 'came in rounded': a NaN with the
    closed form, or 4 rows at latent_dim=3, refuse the same in float64 and are said so."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X[:, 0] = 1.7e9 + rng.uniform(0, 3600, 200)  # (seconds: float32 steps by 128 there)
    X[3, 2] = np.nan
    wrap = (lambda a: a.tolist()) if given == "list" else (lambda a: a)
    with pytest.raises(DataError, match=r"^X contains NaN; the closed form needs complete"):
        PPCA(latent_dim=2, dtype="float32").fit(wrap(X))
    few = rng.normal(size=(4, 5)) + [1.7e9, 0, 0, 0, 0]
    with pytest.raises(DataError, match=r"^X has 4 rows, which span at most 3 directions"):
        PPCA(latent_dim=3, dtype="float32").fit(wrap(few))


@pytest.mark.parametrize("kind", ["numpy", "frame", "tensor"])
def test_a_fit_of_values_the_float32_cast_rounded_is_warned_of(kind):
    """userL #11's milder case: shifted by 1e7, std-1 columns step by 1 in float32 and the fit
    ran on the rounded values without a word; a cast that keeps the variance says nothing."""
    from torchlvm.models.ppca_float32 import PrecisionWarning

    X = np.random.default_rng(0).normal(size=(150, 6))
    given = {"numpy": np.asarray, "frame": pd.DataFrame, "tensor": torch.tensor}[kind]
    said = (
        r"^X's values \(up to 1e\+07 in size\) lose part of their variation in float32, whose "
        r"steps there are 1: the cast changes the variance of [1-6] of its 6 features .*pass "
        r"dtype='float64'"
    )
    with pytest.warns(PrecisionWarning, match=said) as caught:
        PPCA(latent_dim=2, dtype="float32").fit(given(X + 1e7))
    assert [w.filename for w in caught if w.category is PrecisionWarning] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        PPCA(latent_dim=2, dtype="float32").fit(given(X + 1e3))  # (rounding far below 1%)
        PPCA(latent_dim=2, dtype="float32").fit(torch.tensor(X + 1e7, dtype=torch.float32))


def test_integers_the_float32_cast_rounds_are_warned_of_as_floats_are():
    """readD D3: int64 values offset by 1e8 (cents, IDs) fit in float32 without a word, while
    the same values as float64 warned; small integers (digits' 0..16) still fit quietly."""
    from torchlvm.models.ppca_float32 import PrecisionWarning

    rng = np.random.default_rng(0)
    cents = (rng.normal(size=(150, 6)) * 30).astype(np.int64) + 10**8  # (float32 steps by 8)
    with pytest.warns(PrecisionWarning, match=r"lose part of their variation in float32"):
        PPCA(latent_dim=2, dtype="float32").fit(cents)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        PPCA(latent_dim=2, dtype="float32").fit(rng.integers(0, 17, size=(150, 6)))


def test_a_noise_variance_of_float32_rounding_is_warned_of():
    """review14 R18: rank-2 data at 1e8 'fit' in float32 at latent_dim=3, σ² being the cast's
    rounding noise (steps of 8: 64/12), where float64 refuses them; data with noise of their
    own fit in float32 without a word."""
    from torchlvm.models.ppca_float32 import PrecisionWarning

    rng = np.random.default_rng(0)
    low = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 6)) * 50
    with pytest.warns(PrecisionWarning, match=r"σ² = .* is under 10 times the variance float32's "
                      r"rounding adds to X's values \(5.33, at sizes up to 1e\+08\)"):  # fmt: skip
        PPCA(latent_dim=3, dtype="float32").fit(low + 1e8)
    with pytest.raises(DataError, match="varies in only 2 directions"):
        PPCA(latent_dim=3).fit(low + 1e8)
    with warnings.catch_warnings(record=True) as caught:  # (its own noise: σ² is no rounding;
        warnings.simplefilter("always")  # its spread of scales is warned of, next test)
        PPCA(latent_dim=3, dtype="float32").fit(low + 0.1 * rng.normal(size=low.shape))
    assert not [w for w in caught if "σ²" in str(w.message)]


@pytest.mark.parametrize("dataset", ["wine", "breast_cancer"])
def test_a_float32_fit_whose_covariance_float32_cannot_hold_is_warned_of(dataset):
    """userQ #5: raw wine (proline's variance ~1e5 beside columns of ~1e-2) fitted in float32
    scored rows up to 0.11 nats off float64's at latent_dim=3 (breast_cancer 0.33), without a
    word: its values are exact in float32, the arithmetic is not. Standardized, and digits,
    they score within 3e-4 nats and fit quietly."""
    import sklearn.datasets

    from torchlvm.models.ppca_float32 import PrecisionWarning

    X = getattr(sklearn.datasets, f"load_{dataset}")().data
    said = r"^the fitted covariance's scales span a factor of 1\.\d+e\+05 \(its condition number\)"
    with pytest.warns(PrecisionWarning, match=said + ", more than float32 keeps apart"):
        f32 = PPCA(latent_dim=3, dtype="float32").fit(X)
    off = np.abs(f32.score_samples(X) - PPCA(latent_dim=3).fit(X).score_samples(X)).max()
    # (what the warning is for; a threshold that does not hang on one order of sums: permuting
    # the rows, as another BLAS sums, moves wine's 0.11 from 0.055 to 0.22 over 60 orders)
    assert off > 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("error", PrecisionWarning)
        PPCA(latent_dim=3, dtype="float32").fit(StandardScaler().fit_transform(X))
        PPCA(latent_dim=3, dtype="float32").fit(load_digits().data)


@pytest.mark.parametrize(
    "data, fix",
    [
        ("wine", r"standardize X first \(e\.g\. StandardScaler: its columns' variances span a "),
        ("low-noise", r"pass dtype='float64' \(its columns' variances are alike"),
    ],
    ids=["columns-in-other-units", "standardized-low-noise"],
)
def test_the_ill_conditioning_warning_offers_standardizing_only_where_it_helps(data, fix):
    """review15 R11: standardized rank-3 data with noise 0.01 (condition number 1.7e5, 0.27 nats
    off float64) were told 'standardize X first (e.g. StandardScaler)', which they were: their
    spread of scales is signal over noise, not columns of other units. Raw wine's is."""
    from sklearn.datasets import load_wine

    from torchlvm.models.ppca_float32 import PrecisionWarning

    if data == "wine":
        X = load_wine().data
    else:
        rng = np.random.default_rng(0)
        X = rng.normal(size=(2000, 3)) @ rng.normal(size=(3, 20))
        X = StandardScaler().fit_transform(X + 0.01 * rng.normal(size=X.shape))
    with pytest.warns(PrecisionWarning, match="more than float32 keeps apart") as caught:
        PPCA(latent_dim=3, dtype="float32").fit(X)
    (said,) = [str(w.message) for w in caught if "condition number" in str(w.message)]
    assert re.search(fix, said), said
    assert ("StandardScaler" in said) == (data == "wine")


def test_low_rank_float32_data_keep_the_rank_diagnosis():
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(50, 2)) @ rng.normal(size=(2, 6))).astype(np.float32)
    with pytest.raises(DataError, match=r"varies in only 2 directions"):
        PPCA(latent_dim=2, dtype="float32").fit(X)


def test_rows_on_one_line_at_latent_dim_1_are_not_told_to_lower_it():
    """At latent_dim=1 'choose a smaller latent_dim' named a value that does not exist."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 1)) @ rng.normal(size=(1, 4))
    with pytest.raises(DataError, match=r"degenerate; the rows lie on one line, .*PCA\(n_comp"):
        PPCA(latent_dim=1).fit(X)


@pytest.mark.parametrize("method", ["closed_form", "em"])
def test_columns_of_scales_float64_cannot_hold_together_name_standardizing(method):
    """A column ~1e30 beside columns ~1 (tables4's repro: `fit ppca --no-standardize
    --latent-dim 1`) left the others' variance below the eigensolver's rounding, and the refusal
    said 'choose a smaller latent_dim' at latent_dim=1, a fix that does not exist: it names the
    columns' scales and standardizing, each interface its own way."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)) * [1.0, 1e30, 1.0]
    X[:, 2] = -rng.exponential(1e5, size=100)
    with pytest.raises(
        DataError, match=r"column variances from .* to .*: standardize X first"
    ) as err:
        PPCA(latent_dim=1, method=method).fit(X)
    assert "smaller latent_dim" not in str(err.value)
    assert "StandardScaler" in str(err.value) and "pass --standardize" in err.value.on_command_line
    PPCA(latent_dim=1, method=method).fit((X - X.mean(0)) / X.std(0))  # the fix it names


def test_parameters_are_buffers_in_the_state_dict(fitted):
    state = fitted.state_dict()
    assert sorted(state) == ["W", "mu", "sigma2"]
    assert state["W"].dtype == torch.float64 and state["sigma2"].shape == ()
    assert list(fitted.parameters()) == []


def test_state_dict_round_trip(fitted, synthetic):
    loaded = PPCA(latent_dim=3)
    loaded.load_state_dict(fitted.state_dict())
    np.testing.assert_allclose(
        loaded.score_samples(synthetic), fitted.score_samples(synthetic), 1e-12
    )
    np.testing.assert_array_equal(loaded.components_, fitted.components_)


def test_save_pretrained_writes_safetensors_that_load_back(fitted, synthetic, tmp_path):
    fitted.save_pretrained(tmp_path)
    loaded = PPCA.from_config(fitted.config)
    loaded.load_state_dict(load_file(tmp_path / "model.safetensors"))
    np.testing.assert_allclose(
        loaded.score_samples(synthetic), fitted.score_samples(synthetic), 1e-12
    )
    assert '"model_type": "ppca"' in (tmp_path / "config.json").read_text()


def test_state_dict_with_other_latent_dim_is_refused(fitted):
    with pytest.raises(ConfigError, match=r"latent_dim=2; build it with latent_dim=3"):
        PPCA(latent_dim=2).load_state_dict(fitted.state_dict())


def test_config_round_trip():
    model = PPCA(latent_dim=4, method="em", max_iter=50, tol=1e-6, dtype=torch.float32, seed=3)
    assert model.config == PPCAConfig(
        latent_dim=4, method="em", max_iter=50, tol=1e-6, dtype="float32", seed=3
    )
    again = PPCA.from_config(model.config)
    assert again.config == model.config and again.torch_dtype == torch.float32
    with pytest.raises(AttributeError):
        model.config.latent_dim = 5  # frozen


def test_float32_model_gives_float32_results(synthetic):
    model = PPCA(latent_dim=3, dtype=torch.float32).fit(synthetic)
    scores = model.score_samples(synthetic)
    assert scores.dtype == np.float32 and model.encode(torch.zeros(2, 10)).mean.dtype is (
        torch.float32
    )
    reference = PPCA(latent_dim=3).fit(synthetic).score_samples(synthetic)
    np.testing.assert_allclose(scores, reference, rtol=1e-3)


# ------------------------------------------------------------ distributions face


def test_log_marginal_equals_dense_gaussian(fitted, synthetic):
    x = torch.from_numpy(synthetic[:50])
    expected = dense_marginal(fitted).log_prob(x)
    torch.testing.assert_close(fitted.log_marginal(x), expected, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(fitted.score_samples(synthetic[:50]), expected.numpy(), 1e-10)


def test_encode_is_the_exact_posterior_from_bayes_rule(fitted, synthetic):
    # Joint Gaussian of (z, x): cov(z, x) = Wᵀ, cov(x) = C, so by Gaussian conditioning
    # p(z | x) = N(Wᵀ C⁻¹ (x − μ), I − Wᵀ C⁻¹ W), computed densely here.
    x = torch.from_numpy(synthetic[:20])
    W, mu = torch.from_numpy(fitted.W_), torch.from_numpy(fitted.mean_)
    C = dense_marginal(fitted).covariance_matrix
    gain = torch.linalg.solve(C, W).T  # (K, D): Wᵀ C⁻¹
    q = fitted.encode(x)
    assert q.batch_shape == (20,) and q.event_shape == (3,)
    torch.testing.assert_close(q.mean, (x - mu) @ gain.T, rtol=1e-10, atol=1e-10)
    cov = torch.eye(3, dtype=torch.float64) - gain @ W
    torch.testing.assert_close(q.covariance_matrix, cov.expand(20, 3, 3), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fitted.posterior_covariance(), cov, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(fitted.transform(synthetic[:20]), q.mean.numpy(), rtol=1e-12)


def test_decode_is_the_linear_gaussian_likelihood(fitted):
    z = torch.randn(4, 7, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    p = fitted.decode(z)
    assert p.batch_shape == (4, 7) and p.event_shape == (10,)
    W, mu = torch.from_numpy(fitted.W_), torch.from_numpy(fitted.mean_)
    torch.testing.assert_close(p.mean, z @ W.T + mu)
    torch.testing.assert_close(
        p.stddev, torch.full((4, 7, 10), fitted.noise_variance_**0.5, dtype=torch.float64)
    )
    np.testing.assert_allclose(fitted.inverse_transform(z[0].numpy()), p.mean[0].numpy())


def test_prior_is_standard_normal_with_batch_shape(fitted):
    p = fitted.prior(batch_shape=(5, 2))
    assert p.batch_shape == (5, 2) and p.event_shape == (3,)
    assert p.mean.dtype == torch.float64
    assert torch.equal(p.mean, torch.zeros(5, 2, 3)) and torch.equal(p.stddev, torch.ones(5, 2, 3))


def test_prior_and_posterior_reproduce_the_marginal(fitted, synthetic):
    # log p(x) = log p(z) + log p(x | z) − log p(z | x) for any z.
    x = torch.from_numpy(synthetic[:30])
    z = fitted.encode(x).sample()
    joint = fitted.prior(batch_shape=(30,)).log_prob(z) + fitted.decode(z).log_prob(x)
    torch.testing.assert_close(joint - fitted.encode(x).log_prob(z), fitted.log_marginal(x))


def test_sample_matches_model_moments_and_is_repeatable(fitted):
    draws = fitted.sample(100_000, random_state=1)
    assert draws.shape == (100_000, 10)
    C = dense_marginal(fitted).covariance_matrix.numpy()
    scale = np.sqrt(np.diag(C))
    np.testing.assert_allclose(draws.mean(0), fitted.mean_, atol=0.02 * scale.max())
    np.testing.assert_allclose(
        np.cov(draws.T) / np.outer(scale, scale), C / np.outer(scale, scale), atol=0.02
    )
    state = torch.random.get_rng_state()
    np.testing.assert_array_equal(
        fitted.sample(5, random_state=7), fitted.sample(5, random_state=7)
    )
    assert torch.equal(torch.random.get_rng_state(), state)


# --------------------------------------------------------------------- missing values


def with_nan(X: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = X.copy()
    X[rng.random(X.shape) < fraction] = np.nan
    return X


def test_score_samples_with_nan_is_the_observed_marginal(fitted, synthetic):
    X = with_nan(synthetic[:40], 0.3)
    X[0] = np.nan  # nothing observed: log-density of nothing is 0
    X[1] = synthetic[1]  # complete row
    C = dense_marginal(fitted).covariance_matrix
    expected = [0.0]
    for row in X[1:]:
        o = torch.from_numpy(~np.isnan(row))
        dist = MultivariateNormal(torch.from_numpy(fitted.mean_)[o], C[o][:, o])
        expected.append(dist.log_prob(torch.from_numpy(row)[o]).item())
    np.testing.assert_allclose(fitted.score_samples(X), expected, rtol=1e-10, atol=1e-10)


def test_impute_is_the_conditional_gaussian_mean(fitted, synthetic):
    X = with_nan(synthetic[:40], 0.3, seed=1)
    C = dense_marginal(fitted).covariance_matrix.numpy()
    mu = fitted.mean_
    filled = fitted.impute(X)
    for row, out in zip(X, filled, strict=True):
        m = np.isnan(row)
        o = ~m
        expected = mu[m] + C[np.ix_(m, o)] @ np.linalg.solve(C[np.ix_(o, o)], row[o] - mu[o])
        np.testing.assert_allclose(out[m], expected, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(out[o], row[o])


def test_encode_with_nan_conditions_on_observed_entries(fitted, synthetic):
    row = synthetic[:1].copy()
    row[0, [2, 5]] = np.nan
    keep = [i for i in range(10) if i not in (2, 5)]
    C = dense_marginal(fitted).covariance_matrix.numpy()
    W = fitted.W_[keep]
    gain = np.linalg.solve(C[np.ix_(keep, keep)], W).T
    q = fitted.encode(torch.from_numpy(row))
    np.testing.assert_allclose(q.mean[0], gain @ (row[0, keep] - fitted.mean_[keep]), rtol=1e-9)
    np.testing.assert_allclose(q.covariance_matrix[0], np.eye(3) - gain @ W, atol=1e-12)


# ----------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0, "0"), (-1, "-1"), (2.5, "2.5"), (True, "True")],
    ids=["zero", "negative", "float", "bool"],
)
def test_latent_dim_must_be_a_positive_integer(value, shown, synthetic):
    model = PPCA(latent_dim=value)  # scikit-learn's contract: __init__ only stores
    with pytest.raises(ConfigError, match=f"latent_dim must be a positive integer, got {shown}"):
        model.fit(synthetic)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "svd"}, "method must be one of 'closed_form', 'em', got 'svd'"),
        ({"max_iter": 0}, "max_iter must be a positive integer, got 0"),
        ({"tol": -1.0}, "tol must be a non-negative number, got -1.0"),
        ({"dtype": torch.int32}, "dtype must be one of 'float64', 'float32', got 'torch.int32'"),
        ({"seed": -3}, "seed must be a non-negative integer, got -3"),
    ],
    ids=["method", "max_iter", "tol", "dtype", "seed"],
)
def test_other_settings_are_checked(kwargs, message, synthetic):
    with pytest.raises(ConfigError, match=message):
        PPCA(latent_dim=2, **kwargs).fit(synthetic)
    with pytest.raises(ConfigError, match=message):
        PPCA(latent_dim=2).set_params(**kwargs).fit(synthetic)


@pytest.mark.parametrize("k", [10, 11], ids=["equal-to-D", "above-D"])
def test_latent_dim_not_below_n_features_is_refused_at_fit(synthetic, k):
    with pytest.raises(ConfigError, match=f"got latent_dim={k} for X with n_features=10"):
        PPCA(latent_dim=k).fit(synthetic)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (with_nan(linear_gaussian(50)[0], 0.1), 'use method="em" for missing values'),
        (np.where(np.eye(50, 10) > 0, np.inf, 1.0), "X contains inf.*; drop those rows or"),
        (np.zeros((0, 10)), r"0 sample\(s\) \(shape=\(0, 10\)\) while a minimum of 2 is required"),
        (np.ones((1, 10)), r"1 sample\(s\) \(shape=\(1, 10\)\) while a minimum of 2"),
        (np.ones(10), r"X must be 2-D \(n_samples, n_features\), got shape \(10,\)"),
        (np.ones((4, 3, 2)), r"got shape \(4, 3, 2\)"),
        (
            np.array([["a", "b"], ["c", "d"]]),
            "X: could not convert string to float: .*; X must hold numbers only: drop its text "
            r"columns, or make a category the classes of a CVAEEstimator \(its y\)",
        ),
        (np.ones((20, 10)), "zero variance in every feature"),
        (
            linear_gaussian(50, d=10, k=3, sigma2=0.0)[0],
            r"varies in only 3 directions .*latent_dim=3 leaves.*choose latent_dim=2 or fewer$",
        ),
    ],
    ids=[
        "nan-closed-form",
        "inf",
        "empty",
        "one-sample",
        "1-d",
        "3-d",
        "strings",
        "constant",
        "rank-3",
    ],
)
def test_bad_training_data_is_refused(X, message):
    with pytest.raises(DataError, match=message):
        PPCA(latent_dim=3).fit(X)


def test_inf_is_refused_after_fit(fitted, synthetic):
    X = synthetic[:5].copy()
    X[2, 3] = -np.inf
    with pytest.raises(DataError, match="X contains inf"):
        fitted.score_samples(X)


USES = {
    "transform": lambda m, X: m.transform(X),
    "inverse_transform": lambda m, X: m.inverse_transform(X[:, :3]),
    "score_samples": lambda m, X: m.score_samples(X),
    "score": lambda m, X: m.score(X),
    "sample": lambda m, X: m.sample(3),
    "impute": lambda m, X: m.impute(X),
    "encode": lambda m, X: m.encode(torch.from_numpy(X)),
    "decode": lambda m, X: m.decode(torch.zeros(2, 3)),
    "log_marginal": lambda m, X: m.log_marginal(torch.from_numpy(X)),
    "posterior_covariance": lambda m, X: m.posterior_covariance(),
}


@pytest.mark.parametrize("use", USES.values(), ids=USES.keys())
def test_use_before_fit_is_refused(use, synthetic):
    with pytest.raises(NotFittedError, match=r"PPCA is not fitted yet; call fit\(X\) first"):
        use(PPCA(latent_dim=3), synthetic)


FEATURE_USES = ["transform", "score_samples", "score", "impute", "encode", "log_marginal"]


@pytest.mark.parametrize("name", FEATURE_USES)
def test_wrong_feature_count_is_refused(fitted, synthetic, name):
    with pytest.raises(DataError, match="has 7 features, but PPCA is expecting 10 features"):
        USES[name](fitted, synthetic[:, :7])


def test_wrong_feature_count_names_the_fix(fitted, synthetic):
    """scikit-learn's 'X has 7 features, but PPCA is expecting 10 features as input.' named no
    fix (the tensor face's message does)."""
    with pytest.raises(DataError, match=r"as input; pass X with the columns fit saw"):
        fitted.transform(synthetic[:, :7])


def test_latents_of_wrong_width_are_refused(fitted):
    with pytest.raises(DataError, match=r"Z must have shape \(n_samples, 3\), got \(2, 4\)"):
        fitted.inverse_transform(np.zeros((2, 4)))
    with pytest.raises(DataError, match=r"z must end in latent_dim=3, got shape \(2, 4\)"):
        fitted.decode(torch.zeros(2, 4))


def test_a_condition_is_refused(fitted):
    c = torch.zeros(2, 1)
    for call in (
        lambda: fitted.prior(c),
        lambda: fitted.encode(torch.zeros(2, 10), c),
        lambda: fitted.decode(torch.zeros(2, 3), c),
    ):
        with pytest.raises(ConfigError, match="PPCA is unconditional; c must be None"):
            call()


def test_sample_size_is_checked(fitted):
    with pytest.raises(ConfigError, match="n_samples must be a positive integer, got 0"):
        fitted.sample(0)


@pytest.mark.parametrize("sigma2", [0.0, -1.0], ids=["zero", "negative"])
def test_loading_a_non_positive_noise_variance_is_refused(tmp_path, sigma2):
    from safetensors.torch import load_file, save_file

    import torchlvm
    from torchlvm.errors import DataError

    x = torch.randn(50, 4, dtype=torch.float64)
    PPCA(latent_dim=2).fit(x).save_pretrained(tmp_path)
    tensors = load_file(tmp_path / "model.safetensors")
    tensors["sigma2"] = torch.full_like(tensors["sigma2"], sigma2)
    save_file(tensors, tmp_path / "model.safetensors")
    with pytest.raises(DataError, match="must be positive"):
        torchlvm.load(tmp_path)


def test_a_covariance_that_overflows_is_one_clear_error():
    """Values near 1e200 square to inf: named, not LAPACK's 'failed to converge'."""
    X = linear_gaussian(40)[0] * 1e200
    with pytest.raises(DataError, match="covariance overflows torch.float64 .*rescale X"):
        PPCA(latent_dim=2).fit(X)


def test_module_casts_change_the_dtype_every_method_computes_in():
    X = np.random.default_rng(0).normal(size=(30, 4))
    ppca = PPCA(latent_dim=1).fit(X)
    exact = ppca.score_samples(X)
    assert ppca.float().transform(X).dtype == np.float32  # was torch's dtype mismatch error
    assert ppca.get_params()["dtype"] == "float32" and ppca.W.dtype == torch.float32
    np.testing.assert_allclose(ppca.score_samples(X), exact, rtol=1e-5)
    assert ppca.to(torch.float64).log_marginal(torch.tensor(X)).dtype == torch.float64
    with pytest.raises(ConfigError, match="PPCA computes in float64 or float32, not torch.float16"):
        ppca.half()
    assert ppca.W.dtype == torch.float64  # refused before any cast


def test_a_fit_under_inference_mode_leaves_a_model_autograd_can_use() -> None:
    """Fitted inside ``torch.inference_mode()`` (a notebook's evaluation cell), W, μ and σ² were
    inference tensors, and every later use that takes gradients (a gradient of log p(x), AIS,
    per-point q, the gaps) failed with torch's 'Inference tensors cannot be saved for
    backward'. The fit runs with autograd's mode on, as the deep estimators' does."""
    from torchlvm.inference import fit_local_posterior

    X = torch.from_numpy(linear_gaussian(200, d=6, k=2)[0])
    with torch.inference_mode():
        model = PPCA(latent_dim=2).fit(X)
    reference = PPCA(latent_dim=2).fit(X)
    assert not model.W.is_inference()
    np.testing.assert_array_equal(model.W_, reference.W_)
    x = X[:3].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model.log_marginal(x).sum(), x)
    assert torch.isfinite(grad).all()
    fit_local_posterior(model, X[:3], steps=2)
