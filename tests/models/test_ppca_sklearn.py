"""PPCA as a scikit-learn estimator: scikit-learn's own checks, and its tools (clone, Pipeline,
cross-validation, grid search, pickle) on a model that is also an ``nn.Module``.

Model selection on digits against scikit-learn's PCA and FactorAnalysis is in
``tests/estimators/test_model_selection.py``.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import torchlvm
from torchlvm.errors import ConfigError, DataError, DataTypeError, NotFittedError
from torchlvm.estimators import expected_failed_checks
from torchlvm.inference import elbo
from torchlvm.models.ppca import PPCA

ESTIMATORS = [
    PPCA(latent_dim=2),  # the instance
    PPCA(latent_dim=1),  # fits the 2-feature data of some checks
    PPCA(latent_dim=1, method="em", dtype="float32"),  # NaN-tolerant fit, float32 throughout
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_declared_check_exceptions_say_why():
    assert expected_failed_checks(PPCA(latent_dim=1, method="em")) == {}
    declared = expected_failed_checks(PPCA(latent_dim=2))
    assert set(declared) == {
        "check_estimators_nan_inf",
        "check_transformer_n_iter",
        "check_estimators_overwrite_params",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_fit_idempotent",
        "check_fit_check_is_fitted",
        "check_n_features_in",
    }
    assert "latent_dim < n_features" in declared["check_n_features_in"]


def low_rank(n: int = 300, d: int = 8, k: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k)) * np.array([3.0, 2.0, 1.5])
    return rng.normal(size=(n, k)) @ W.T + 0.3 * rng.normal(size=(n, d))


def test_grid_search_over_latent_dim_picks_the_true_dimension():
    X = low_rank()
    search = GridSearchCV(PPCA(), {"latent_dim": [1, 2, 3, 4, 5, 6]}).fit(X)
    assert search.best_params_ == {"latent_dim": 3}
    assert search.best_estimator_.latent_dim == 3
    np.testing.assert_allclose(
        search.cv_results_["mean_test_score"],
        [cross_val_score(PPCA(latent_dim=k), X).mean() for k in range(1, 7)],
        rtol=1e-12,
    )


def test_pipeline_transforms_scores_and_names_its_outputs():
    X = low_rank()
    pipe = make_pipeline(StandardScaler(), PPCA(latent_dim=3))
    assert pipe.fit_transform(X).shape == (300, 3)
    assert list(pipe.get_feature_names_out()) == ["ppca0", "ppca1", "ppca2"]
    scaled = StandardScaler().fit_transform(X)
    np.testing.assert_allclose(pipe.score(X), PPCA(latent_dim=3).fit(scaled).score(scaled))


def test_clone_is_unfitted_with_equal_parameters():
    model = PPCA(latent_dim=3, method="em", tol=1e-6, seed=4).fit(low_rank())
    twin = clone(model)
    assert twin.get_params() == model.get_params() and twin.W is None
    assert not hasattr(twin, "components_")


def test_set_params_reaches_the_saved_config(tmp_path):
    model = PPCA().set_params(latent_dim=3, method="em").fit(low_rank())
    model.save_pretrained(tmp_path)
    loaded = torchlvm.load(tmp_path)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.transform(low_rank()), model.transform(low_rank()))


@pytest.mark.parametrize(
    "change", [{"latent_dim": 3}, {"dtype": "float32"}], ids=["latent_dim", "dtype"]
)
def test_settings_changed_after_fit_wait_for_the_next_fit(change):
    """scikit-learn's contract (PCA reads its fitted n_components_): every method answered with
    torch's size-mismatch error after set_params(latent_dim=3) on a PPCA fitted with K = 2, and
    decode, inverse_transform, sample and elbo with its dtype mismatch after
    set_params(dtype="float32") on a float64 fit."""
    X = low_rank()
    model = PPCA(latent_dim=2).fit(X)
    x, z = torch.from_numpy(X[:4]), torch.zeros(4, 2, dtype=torch.float64)

    def answers():
        return (
            model.transform(X), model.score_samples(X), model.inverse_transform(z.numpy()),
            model.encode(x).mean, model.decode(z).mean, model.prior(batch_shape=(4,)).mean,
            model.sample(3, random_state=0), elbo(model, x, log_lik_method="analytic").elbo,
        )  # fmt: skip

    before = answers()
    model.set_params(**change)
    for old, new in zip(before, answers(), strict=True):
        assert np.asarray(old).dtype == np.asarray(new).dtype
        np.testing.assert_array_equal(np.asarray(old), np.asarray(new))
    assert model.get_feature_names_out().tolist() == ["ppca0", "ppca1"]
    refit = model.fit(X).transform(X)  # the next fit takes the change
    assert refit.shape[1] == change.get("latent_dim", 2)
    assert refit.dtype == np.dtype(change.get("dtype", "float64"))


@pytest.mark.parametrize(
    "change",
    [{"latent_dim": 3}, {"dtype": "float32"}, {"method": "em", "seed": 5}, {"latent_dim": 0}],
    ids=["latent_dim", "dtype", "method-seed", "invalid-latent_dim"],
)
def test_save_pretrained_after_set_params_saves_what_was_fitted(tmp_path, change):
    """set_params changes the next fit, not the fitted model (scikit-learn's contract), so
    save_pretrained without a refit saves the fitted model: config.json recorded the new K (or
    dtype, method) beside the old weights, and torchlvm.load refused the folder (or rebuilt it
    with settings it was not fitted with)."""
    X = low_rank()
    model = PPCA(latent_dim=2).fit(X)
    fitted = model.get_params()
    model.set_params(**change)
    model.save_pretrained(tmp_path)
    loaded = torchlvm.load(tmp_path)
    assert loaded.get_params() == fitted
    torch.testing.assert_close(loaded.W, model.W, rtol=0, atol=0)
    np.testing.assert_allclose(loaded.transform(X), model.transform(X), rtol=1e-12, atol=1e-12)
    assert model.get_params() == {**fitted, **change}  # the next fit still takes the change


def test_pickle_keeps_the_module_and_the_estimator():
    model = PPCA(latent_dim=3).fit(low_rank())
    again = pickle.loads(pickle.dumps(model))
    x = torch.from_numpy(low_rank()[:5])
    torch.testing.assert_close(again.log_marginal(x), model.log_marginal(x))
    assert again.get_params() == model.get_params() and again.state_dict().keys() == {
        "W",
        "mu",
        "sigma2",
    }


def test_init_stores_parameters_only_and_module_modes_still_switch():
    model = PPCA(latent_dim=3)
    assert {k for k in vars(model) if not k.startswith("_")} == set(model.get_params())
    assert model.eval().training is False and model.train().training is True


def test_not_fitted_error_is_also_scikit_learns():
    with pytest.raises(SklearnNotFittedError, match="PPCA is not fitted yet"):
        PPCA().transform(low_rank())
    assert issubclass(NotFittedError, SklearnNotFittedError)


def test_nan_is_missing_data_but_inf_is_refused_by_every_method():
    """check_estimators_nan_inf is declared for the closed form (NaN is data there); inf must
    still be refused everywhere, as that check would want."""
    X = low_rank()
    model = PPCA(latent_dim=3).fit(X)
    row = X[:2].copy()
    row[0, 1] = np.nan
    assert np.isfinite(model.transform(row)).all() and np.isfinite(model.score_samples(row)).all()
    row[1, 2] = np.inf
    for method in (model.transform, model.score_samples, model.score, model.impute):
        with pytest.raises(DataError, match="X contains infinity"):
            method(row)
    with pytest.raises(DataError, match="X contains infinity"):
        PPCA(latent_dim=3, method="em").fit(np.vstack([X, row]))


def test_sparse_and_object_data_are_type_errors_with_torchlvm_classes():
    from scipy import sparse

    with pytest.raises(DataTypeError, match="Sparse data was passed for X"):
        PPCA().fit(sparse.csr_array(low_rank()))
    with pytest.raises(DataError, match=r"X must be 2-D .* Reshape your data"):
        PPCA().fit(low_rank()[:, 0])


def test_images_are_told_to_flatten_each_sample():
    """A (600, 28, 28) array of images met scikit-learn's 1-D advice, X.reshape(1, -1) (one
    sample of 470,400 values): an array of more than 2 axes is told to flatten each sample."""
    with pytest.raises(DataError, match=r"got shape \(6, 2, 4\); .*X\.reshape\(len\(X\), -1\)"):
        PPCA().fit(low_rank()[:6].reshape(6, 2, 4))


def test_tensor_input_fits_where_it_lives():
    X = low_rank()
    from_tensor = PPCA(latent_dim=3).fit(torch.from_numpy(X))
    np.testing.assert_allclose(from_tensor.W_, PPCA(latent_dim=3).fit(X).W_)
    assert from_tensor.W.device.type == "cpu"


def test_a_grid_of_numpy_integers_fits_and_saves(tmp_path):
    """GridSearchCV over np.arange(...) hands latent_dim as np.int64, which was refused."""
    import torchlvm

    X = np.random.default_rng(0).normal(size=(60, 6))
    search = GridSearchCV(PPCA(), {"latent_dim": np.arange(1, 4)}, cv=3).fit(X)
    assert search.best_estimator_.config.latent_dim == search.best_params_["latent_dim"]
    search.best_estimator_.save_pretrained(tmp_path / "m")
    assert torchlvm.load(tmp_path / "m").latent_dim == search.best_params_["latent_dim"]


def test_one_feature_and_numpy_dtypes():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(DataError, match="X has n_features=1, and PPCA needs at least 2") as err:
        PPCA(latent_dim=1).fit(X[:, :1])
    assert "data with 2 or more features" in str(err.value) and "X.mean()" not in str(err.value)
    assert PPCA(latent_dim=1, dtype=np.float32).fit(X).transform(X).dtype == np.float32
    assert PPCA(latent_dim=1, dtype=np.dtype("float64")).fit(X).W.dtype == torch.float64
    with pytest.raises(ConfigError, match="dtype must be one of .* got 'float16'"):
        PPCA(dtype=np.float16).fit(X)


def test_the_notebook_repr_lists_fitted_attributes_not_module_methods():
    """userT #4: scikit-learn's "Fitted attributes" table listed nn.Module's requires_grad_."""
    X = np.random.default_rng(0).normal(size=(30, 4))
    ppca = PPCA(latent_dim=2).fit(X)
    listed = list(ppca._get_fitted_attr_html())
    assert "requires_grad_" not in listed and {"W_", "components_", "n_features_in_"} <= set(listed)
    assert "requires_grad_" not in ppca._repr_html_()


@pytest.mark.parametrize("bad", [{"method": "svd"}, {"latent_dim": 0}, {"dtype": "float16"}])
def test_a_fitted_ppca_with_a_bad_parameter_still_displays(bad):
    """userT #12: a fitted PPCA given a bad parameter by set_params could not be displayed in a
    notebook: the repr read every property, and ``config`` checks the parameters (ConfigError).
    fit checks them, as scikit-learn's contract has it; the repr shows the fitted W_."""
    X = np.random.default_rng(0).normal(size=(30, 4))
    ppca = PPCA(latent_dim=2).fit(X).set_params(**bad)
    shown = ppca._repr_html_()
    assert "W_" in shown and "noise_variance_" in shown
    with pytest.raises(ConfigError):
        ppca.fit(X)


def test_impute_draws_multiple_imputations_from_the_exact_conditional():
    """userT #10: PPCA.impute had no draws=, where VAEEstimator.impute(X, draws=M) and the
    command line's impute --draws M give multiple imputations. Its draws follow the exact
    Gaussian conditional of the missing cell given the observed ones (mean and variance by
    conditioning C = W Wᵀ + σ²I), keep observed cells, and repeat with a seed."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    ppca = PPCA(latent_dim=2).fit(X)
    holes = X[:3].copy()
    holes[:, 0] = np.nan
    draws = ppca.impute(holes, draws=4000, random_state=0)
    assert draws.shape == (4000, 3, 5) and (draws[:, :, 1:] == holes[None, :, 1:]).all()
    C = ppca.get_covariance()
    variance = C[0, 0] - C[0, 1:] @ np.linalg.solve(C[1:, 1:], C[1:, 0])
    mean = ppca.impute(holes)[:, 0]
    np.testing.assert_allclose(draws[:, :, 0].mean(0), mean, atol=4 * np.sqrt(variance / 4000))
    np.testing.assert_allclose(draws[:, :, 0].var(0), variance, rtol=0.1)
    np.testing.assert_array_equal(draws, ppca.impute(holes, draws=4000, random_state=0))
    with pytest.raises(ConfigError, match="draws"):
        ppca.impute(holes, draws=-1)
