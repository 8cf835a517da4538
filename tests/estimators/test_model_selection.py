"""scikit-learn's example "Model selection with Probabilistic PCA and Factor Analysis", on digits.

K is chosen by ``GridSearchCV(PPCA(), {"latent_dim": GRID})``, i.e. by 5-fold cross-validated
log-likelihood, and printed beside scikit-learn's ``PCA`` and ``FactorAnalysis`` scored the same
way (``pytest -s`` shows the table; the README quotes it). PCA is the same model as PPCA, but
scikit-learn estimates its covariance with 1/(N − 1) instead of the maximum-likelihood 1/N, so
its raw scores differ by O(D/N) nats; fitted on equal covariances (the rescaling of
``tests/models/test_ppca.py``), its ``score_samples`` equals PPCA's to float rounding.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from threadpoolctl import threadpool_limits

from torchlvm import PPCA

GRID = (5, 10, 20, 30, 40, 45, 50, 55)  # digits has 64 pixels, 3 of them constant


def pca_ml_cv_score(X: np.ndarray, k: int) -> float:
    """Mean 5-fold test log-likelihood of scikit-learn's PCA fitted with the 1/N covariance."""
    scores = []
    for train, test in KFold(5).split(X):
        Xt = X[train]
        mean, n = Xt.mean(0), len(Xt)
        equal_cov = mean + np.sqrt((n - 1) / n) * (Xt - mean)  # its 1/(N-1) cov = our 1/N cov
        scores.append(PCA(n_components=k).fit(equal_cov).score_samples(X[test]).mean())
    return float(np.mean(scores))


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data / 16


def test_grid_search_chooses_k_by_cross_validated_log_likelihood(digits):
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # FA's convergence on constant pixels
        search = GridSearchCV(PPCA(), {"latent_dim": list(GRID)}).fit(digits)
        ppca = search.cv_results_["mean_test_score"]
        pca_ml = np.array([pca_ml_cv_score(digits, k) for k in GRID])
        pca = np.array([cross_val_score(PCA(n_components=k), digits).mean() for k in GRID])
        fa = np.array(
            [cross_val_score(FactorAnalysis(n_components=k, random_state=0), digits).mean()
             for k in GRID]
        )  # fmt: skip
    print("\nK  PPCA (GridSearchCV)  PCA (1/N cov)  PCA (sklearn, 1/(N-1))  FactorAnalysis")
    for row in zip(GRID, ppca, pca_ml, pca, fa, strict=True):
        print("{:<3d}{:>20.4f}{:>15.4f}{:>24.4f}{:>16.4f}".format(*row))
    best = search.best_params_["latent_dim"]
    print(f"chosen K: PPCA {best}, PCA {GRID[np.argmax(pca)]}, FA {GRID[np.argmax(fa)]}")

    np.testing.assert_allclose(ppca, pca_ml, rtol=1e-9)  # the same model, the same numbers
    assert best == GRID[int(np.argmax(pca_ml))] == GRID[int(np.argmax(pca))] == 50
    assert np.abs(ppca - pca).max() < 0.1  # the 1/(N-1) convention: O(D/N) nats
