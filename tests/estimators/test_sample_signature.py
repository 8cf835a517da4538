"""One ``sample`` for the three scikit-learn faces (userT #6): ``PPCA``, ``VAEEstimator`` and
``CVAEEstimator`` are called as scikit-learn's ``GaussianMixture.sample`` and
``KernelDensity.sample`` are, ``sample(n_samples=1, *, random_state=None)``; they had three
signatures (PPCA's ``n`` required with ``seed=``, the VAEs' ``n=1`` with no seed at all)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from torchlvm import PPCA
from torchlvm.errors import ConfigError
from torchlvm.estimators import CVAEEstimator, VAEEstimator

X = np.random.default_rng(0).normal(size=(60, 4))
Y = np.arange(60) % 2
FAST = {"latent_dim": 2, "epochs": 1, "hidden": (4,), "k": 4}


@pytest.fixture(scope="module")
def fitted() -> dict:
    return {
        "ppca": PPCA(latent_dim=2).fit(X),
        "vae": VAEEstimator(**FAST, random_state=1).fit(X),
        "cvae": CVAEEstimator(**FAST, random_state=1).fit(X, Y),
    }


def _x(drawn):
    return drawn[0] if isinstance(drawn, tuple) else drawn


@pytest.mark.parametrize("name", ["ppca", "vae", "cvae"])
def test_sample_is_called_as_scikit_learn_calls_it(fitted, name):
    estimator = fitted[name]
    params = inspect.signature(estimator.sample).parameters
    assert params["n_samples"].default == 1
    assert params["random_state"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["random_state"].default is None
    assert _x(estimator.sample()).shape == (1, 4)
    assert _x(estimator.sample(n_samples=3)).shape == (3, 4)
    once, again = _x(estimator.sample(5, random_state=0)), _x(estimator.sample(5, random_state=0))
    np.testing.assert_array_equal(once, again)
    assert not np.array_equal(once, _x(estimator.sample(5, random_state=1)))
    state = np.random.RandomState(0)  # scikit-learn's rule: a RandomState moves on
    assert not np.array_equal(
        _x(estimator.sample(5, random_state=state)), _x(estimator.sample(5, random_state=state))
    )
    with pytest.raises(ConfigError, match=r"random_state must be None, .* got 'a'"):
        estimator.sample(2, random_state="a")
    with pytest.raises(ConfigError, match="n_samples must be a positive integer, got 0"):
        estimator.sample(0)


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_the_deep_estimators_read_their_own_random_state_for_none(fitted, name):
    """As ``GaussianMixture.sample``: None reads the estimator's ``random_state`` (an int there
    gives the same draws on each call); another set is one argument away, where it took
    ``set_params(random_state=...)``."""
    estimator = fitted[name]
    np.testing.assert_array_equal(_x(estimator.sample(4)), _x(estimator.sample(4)))
    np.testing.assert_array_equal(_x(estimator.sample(4)), _x(estimator.sample(4, random_state=1)))
    assert not np.array_equal(_x(estimator.sample(4)), _x(estimator.sample(4, random_state=2)))


def test_ppca_draws_anew_for_none(fitted):
    """As ``KernelDensity.sample``: None draws from the global RNG (PPCA's ``seed`` is EM's
    start, not its draws')."""
    assert not np.array_equal(fitted["ppca"].sample(4), fitted["ppca"].sample(4))


@pytest.mark.parametrize("name", ["ppca", "vae", "cvae"])
def test_the_spellings_before_still_work_and_name_the_new_one(fitted, name):
    estimator = fitted[name]
    with pytest.warns(FutureWarning, match=r"sample\(seed=...\) is spelt random_state= now"):
        old = _x(estimator.sample(3, seed=7))
    np.testing.assert_array_equal(old, _x(estimator.sample(3, random_state=7)))
    with pytest.warns(FutureWarning, match=r"sample\(n=...\) is spelt n_samples= now") as seen:
        assert _x(estimator.sample(n=2)).shape == (2, 4)
    assert seen[0].filename == __file__  # the user's line
    with pytest.raises(TypeError, match="got both random_state= and seed=; pass random_state="):
        estimator.sample(3, random_state=1, seed=2)
    with pytest.raises(TypeError, match="got an unexpected keyword argument 'size'"):
        estimator.sample(size=3)


def test_cvae_keeps_its_labels_and_draws_classes_under_random_state(fitted):
    drawn, labels = fitted["cvae"].sample(6, random_state=3)
    again, same = fitted["cvae"].sample(6, random_state=3)
    np.testing.assert_array_equal(labels, same)
    np.testing.assert_array_equal(drawn, again)
    _, ones = fitted["cvae"].sample(6, 1, random_state=3)
    assert (ones == 1).all()


@pytest.mark.parametrize("name", ["vae", "cvae"])
def test_sample_draws_on_the_estimators_threads(fitted, name, monkeypatch):
    """review17 R4: 5755931 moved ``@on_threads`` off the draws, so ``sample`` of a
    ``threads=1`` estimator decoded on the caller's count."""
    estimator, seen = fitted[name], []
    decode = estimator.model_.decode

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return decode(*args, **kwargs)

    monkeypatch.setattr(estimator.model_, "decode", spy)
    caller = torch.get_num_threads()
    torch.set_num_threads(3)  # the caller's own setting
    try:
        estimator.sample(2, random_state=0)
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(caller)
    assert seen == [1]


def test_ppca_impute_names_its_seed_as_sample_does(fitted):
    """review17 R5: PPCA had sample(random_state=) beside impute(draws=, seed=)."""
    ppca, holes = fitted["ppca"], X[:5].copy()
    holes[:, 1] = np.nan
    drawn = ppca.impute(holes, draws=3, random_state=4)
    np.testing.assert_array_equal(drawn, ppca.impute(holes, draws=3, random_state=4))
    with pytest.warns(FutureWarning, match=r"PPCA.impute\(seed=...\) is spelt random_state= now"):
        np.testing.assert_array_equal(drawn, ppca.impute(holes, draws=3, seed=4))
    with pytest.raises(TypeError, match=r"PPCA.impute\(\) got an unexpected keyword argument 'n'"):
        ppca.impute(holes, n=3)


def test_impute_takes_random_state_as_ppcas_does(fitted):
    """readJ J6: PPCA.impute(X, draws=M, random_state=s) (d190252) beside VAEEstimator.impute,
    which took no random_state: the same call raised TypeError on the VAE."""
    holes = X.copy()
    holes[::3, 1] = np.nan
    for name in ("ppca", "vae"):
        estimator = fitted[name]
        once = estimator.impute(holes, draws=3, random_state=5)
        np.testing.assert_array_equal(once, estimator.impute(holes, draws=3, random_state=5))
        assert not np.array_equal(once, estimator.impute(holes, draws=3, random_state=6))
