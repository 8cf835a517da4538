"""Wrong arguments to the deep estimators, from a new user's first tries: each is a torchlvm error
that names the parameter and a value that works, raised where it is used (also after
``set_params`` on a fitted estimator), never a traceback from NumPy, Lightning or a division."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import is_classifier
from sklearn.model_selection import cross_val_score
from sklearn.utils import get_tags

from torchlvm.errors import ConfigError, DataError
from torchlvm.estimators import CVAEEstimator, VAEEstimator

FAST = {"epochs": 1, "hidden": (4,), "batch_size": 32, "k": 8, "random_state": 0}


def data(n: int = 60, d: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    return rng.normal(size=(n, d)) + y[:, None], y


@pytest.fixture(scope="module")
def fitted() -> VAEEstimator:
    return VAEEstimator(**FAST).fit(data()[0])


def test_k_set_to_zero_after_fit_is_named_by_score(fitted):
    X, _ = data()
    with pytest.raises(ConfigError, match="k must be a positive integer, got 0"):
        fitted.set_params(k=0).score(X)
    fitted.set_params(k=np.int64(4))  # GridSearchCV's NumPy integers work
    assert np.isfinite(fitted.score(X))
    fitted.set_params(k=8)


@pytest.mark.parametrize("state", ["a", -1, 2**32, True, 1.5])
def test_a_random_state_numpy_cannot_seed_is_named(state):
    with pytest.raises(ConfigError, match=r"random_state must be None, .* got "):
        VAEEstimator(**{**FAST, "random_state": state}).fit(data()[0])


@pytest.mark.parametrize(
    "change, named",
    [
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"epochs": 1.5}, "epochs must be a positive integer, got 1.5"),
        ({"train_k": 0}, "train_k must be a positive integer, got 0"),
        ({"objective": "iwae", "train_k": 0}, "train_k must be a positive integer, got 0"),
    ],
    ids=["epochs-0", "epochs-float", "train_k-0", "iwae-train_k-0"],
)
def test_training_settings_are_named_as_the_estimator_spells_them(change, named):
    """The messages named TrainConfig's fields: 'max_epochs' for epochs, and 'k' for train_k,
    which is the estimator's other parameter (the samples of score_samples)."""
    with pytest.raises(ConfigError, match=f"^{named}$"):
        VAEEstimator(**{**FAST, **change}).fit(data()[0])


@pytest.mark.parametrize(
    "estimator, change, named",
    [
        (
            VAEEstimator,
            {"train_k": 5},
            "train_k=5 importance samples apply to objective 'iwae' "
            "or 'miwae'; leave train_k=1 for objective 'elbo'",
        ),
        (
            CVAEEstimator,
            {"train_k": 5},
            "train_k=5 importance samples apply to objective 'iwae'; "
            "leave train_k=1 for objective 'elbo'",
        ),
        (
            VAEEstimator,
            {"objective": "iwae", "train_k": 5, "beta": 2.0},
            "beta weights the KL term "
            "of the ELBO, and objective 'iwae' has none; leave beta=1.0 or use objective 'elbo'",
        ),
        (
            VAEEstimator,
            {"objective": "reconstruction"},
            "objective must be one of 'elbo', 'iwae', 'miwae', got 'reconstruction'",
        ),
        (
            CVAEEstimator,
            {"objective": "miwae"},
            "objective must be one of 'elbo', 'iwae', got 'miwae'",
        ),
    ],
    ids=["vae-train_k", "cvae-train_k", "iwae-beta", "vae-objective", "cvae-objective"],
)
def test_an_objective_setting_is_refused_as_the_estimator_spells_it(estimator, change, named):
    """train_k=5 with objective 'elbo' was refused as 'k=5 importance samples only apply ...',
    and k is the estimator's other parameter; beta with 'iwae' named warmup_epochs and free_bits,
    which the estimators have not; each objective offered is one the estimator trains (userL
    #17)."""
    X, y = data()
    with pytest.raises(ConfigError, match=f"^{re.escape(named)}$"):
        estimator(**{**FAST, **change}).fit(X, y)


def test_a_random_state_instance_trains_reproducibly():
    X, _ = data()
    one = VAEEstimator(**{**FAST, "random_state": np.random.RandomState(3)}).fit(X)
    two = VAEEstimator(**{**FAST, "random_state": np.random.RandomState(3)}).fit(X)
    np.testing.assert_array_equal(one.transform(X), two.transform(X))


@pytest.mark.parametrize("accelerator", ["tpuu", "mps", "TPU"])  # mps: Lightning's error, off a Mac
def test_an_unknown_accelerator_is_refused_before_training(accelerator):
    """The estimators take what ``--accelerator`` takes."""
    with pytest.raises(
        ConfigError, match=f"accelerator must be one of 'auto', 'cpu', 'gpu', got '{accelerator}'"
    ):
        VAEEstimator(**{**FAST, "accelerator": accelerator}).fit(data()[0])


@pytest.mark.parametrize("accelerator", ["cuda", "GPU", "CPU"])
def test_torchs_name_and_capitals_read_as_the_command_line_reads_them(accelerator, monkeypatch):
    """'cuda' (torch's name, which users type) was refused, as the CLI refused it; both read it
    as 'gpu' now, and capitals as lower case."""
    from torchlvm.estimators import _training

    seen = []
    monkeypatch.setattr(
        _training, "fit", lambda *a, accelerator, **k: seen.append(accelerator) or 1 / 0
    )
    with pytest.raises(ZeroDivisionError):
        VAEEstimator(**{**FAST, "accelerator": accelerator}).fit(data()[0])
    assert seen == ["cpu" if accelerator == "CPU" else "gpu"]


@pytest.mark.parametrize("estimator", [VAEEstimator, CVAEEstimator])
def test_data_too_large_for_float32_names_its_scale_and_standardizing(estimator):
    """Values near 1e30 made the first step's loss inf, and the guard blamed the learning rate."""
    X, y = data()
    with pytest.raises(
        DataError, match=r"^X holds values up to \d.\d+e\+30 in magnitude, .*Scaler"
    ):
        estimator(**FAST).fit(X * 1e30, y)


def test_bernoulli_refuses_data_outside_its_support_in_every_method():
    X, _ = data()
    binary = (X > 1).astype(float)
    est = VAEEstimator(**FAST, likelihood="bernoulli")
    assert get_tags(est).input_tags.positive_only
    with pytest.raises(DataError, match="^Negative values in data passed to VAEEstimator"):
        est.fit(X)
    est.fit(binary)
    assert np.isfinite(est.score(binary))
    for method in (est.score_samples, est.transform):
        with pytest.raises(DataError, match="Values other than 0 and 1 .* binarize X"):
            method(np.abs(X))


def test_cvae_labels_must_be_one_kind_and_present():
    X, y = data()
    mixed = np.array([1, "a"] * 30, dtype=object)
    with pytest.raises(DataError, match="y mixes labels of types int, str.*astype"):
        CVAEEstimator(**FAST).fit(X, mixed)
    import pandas as pd

    text = pd.Series(y.astype(str), dtype="string").where(y != 0, pd.NA)  # (userL #20)
    for unlabeled in (np.where(y == 0, np.nan, y), np.where(y == 0, None, y), text):
        with pytest.raises(DataError, match=r"y has no label in row \d+ \(None, NA or NaN\)"):
            CVAEEstimator(**FAST).fit(X, unlabeled)


def test_cvae_refuses_a_continuous_target_as_classes():
    """A regression target (y of 0.37, 1.52, ...) trained a CVAE with one class per distinct
    value; scikit-learn's classifiers refuse such y (type_of_target 'continuous'), so does it."""
    X, y = data()
    continuous = y + np.random.default_rng(0).uniform(0.01, 0.99, size=len(y))
    with pytest.raises(DataError, match=r"y holds continuous values .* not class labels.*bin"):
        CVAEEstimator(**FAST).fit(X, continuous)
    assert CVAEEstimator(**FAST).fit(X, y.astype(float)).classes_.tolist() == [0.0, 1.0, 2.0]


def test_cvae_unseen_label_names_the_classes_and_stratified_folds():
    X, y = data()
    est = CVAEEstimator(**FAST).fit(X, np.array(["a", "b", "c"])[y])
    with pytest.raises(DataError, match=r"label 0, which fit did not see.*StratifiedKFold"):
        est.transform(X, np.zeros(len(X), dtype=int))  # ints against string classes
    with pytest.raises(DataError, match=r"label 'z', which fit did not see; the labels are \["):
        est.sample(2, "z")
    assert est.transform(X[:2], "b").shape == (2, 2)


def test_cross_validation_of_class_sorted_rows_stratifies_as_for_a_classifier():
    """Rows sorted by class (wine, iris as shipped) under cross_val_score's default 3-fold
    KFold left whole classes out of training folds, and each such fold scored NaN with a
    warning; scikit-learn gives a classifier StratifiedKFold by default, and CVAEEstimator is a
    generative classifier (predict_proba by Bayes' rule), so it gets the same."""
    X, y = data(n=90)
    order = np.argsort(y, kind="stable")
    X, y = X[order], y[order]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed fold warns
        scores = cross_val_score(CVAEEstimator(**FAST), X, y, cv=3)
    assert np.isfinite(scores).all()
    assert is_classifier(CVAEEstimator()) and not is_classifier(VAEEstimator())


def test_a_class_too_rare_for_every_training_fold_is_scored_by_the_mixture():
    """A class with fewer rows than folds is missing from some training fold even under
    StratifiedKFold (scikit-learn warns of it); its held-out row was refused ('label fit did
    not see') and the whole fold scored NaN, so a grid search compared no candidate on it.
    LinearDiscriminantAnalysis and GaussianNB give every held-out row a prediction among the
    classes they saw; CVAEEstimator gives such a row the score of a row without y, log p(x)
    over the classes fit saw, with a warning."""
    X, y = data(n=60)
    y[np.flatnonzero(y == 2)[1:]] = 1  # one row of class 2
    lone = int(np.flatnonzero(y == 2)[0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = cross_val_score(CVAEEstimator(**FAST), X, y, cv=3)
    assert np.isfinite(scores).all()
    messages = [str(w.message) for w in caught]
    assert any("y holds labels fit did not see (2) in 1 of 20 rows" in m for m in messages)
    rest = np.delete(np.arange(60), lone)
    est = CVAEEstimator(**FAST).fit(X[rest], y[rest])
    with pytest.warns(UserWarning, match=r"scored as rows without y, by log p\(x\) over the cl"):
        both = est.score_samples(X[[lone, rest[0]]], [2, y[rest[0]]])
    np.testing.assert_array_equal(
        both, [est.score_samples(X[[lone]])[0], est.score_samples(X[rest[:1]], y[rest[:1]])[0]]
    )
    with pytest.raises(DataError, match=r"label 2, which fit did not see"):
        est.transform(X[[lone]], [2])  # transform has no answer for the label: refused


def test_cvae_predicts_classes_by_bayes_rule():
    """predict_proba is softmax_c(log π_c + log p(x | c)) with score_samples' log p(x | c)."""
    X, y = data()
    est = CVAEEstimator(**FAST).fit(X, np.array(["a", "b", "c"])[y])
    proba = est.predict_proba(X[:5])
    log_joint = np.log(est.class_prior_) + np.stack(
        [est.score_samples(X[:5], label) for label in est.classes_], axis=1
    )
    expected = np.exp(log_joint - log_joint.max(1, keepdims=True))
    np.testing.assert_allclose(proba, expected / expected.sum(1, keepdims=True), rtol=1e-10)
    assert est.predict(X[:5]).tolist() == est.classes_[proba.argmax(1)].tolist()


def test_cvae_refuses_one_class_and_names_argmax_for_one_hot_labels():
    X, y = data()
    with pytest.raises(DataError, match=r"^y holds only one class \(7\).*VAEEstimator"):
        CVAEEstimator(**FAST).fit(X, np.full(len(X), 7))
    with pytest.raises(DataError, match=r"pass 60 labels, one per row, e\.g\. y\.argmax\(axis=1\)"):
        CVAEEstimator(**FAST).fit(X, np.eye(3)[y])
    est = CVAEEstimator(**FAST).fit(X, np.eye(3)[y].argmax(axis=1))  # the fix it names
    with pytest.raises(
        DataError,
        match=r"label 5, which fit did not see; the labels are "
        r"\[0, 1, 2\]: sample draws the classes fit saw: pass one of them",
    ):
        est.sample(2, 5)  # "give me a 5" of a model that saw no 5


def test_fit_under_inference_mode_trains():
    X, y = data()
    with torch.inference_mode():
        est = CVAEEstimator(**FAST).fit(X, y)
        assert np.isfinite(est.score(X, y))


@pytest.mark.parametrize(
    "change",
    [{"latent_dim": 3}, {"likelihood": "bernoulli"}],
    ids=["latent_dim", "likelihood"],
)
@pytest.mark.parametrize("estimator", [VAEEstimator, CVAEEstimator])
def test_model_settings_changed_after_fit_wait_for_the_next_fit(estimator, change):
    """scikit-learn's contract: ``set_params`` changes what the next ``fit`` builds, and the
    fitted model answers until then. latent_dim=3 on a model fitted with K=2 made ``score`` draw
    noise of width 3 (torch's size-mismatch error) and ``inverse_transform`` ask for Z of width
    3; likelihood='bernoulli' refused the real X the Gaussian model was fitted on."""
    X, y = data()
    est = estimator(**FAST).fit(X, y)
    Z = np.zeros((2, 2))
    before = (est.score_samples(X), est.transform(X), est.inverse_transform(Z))
    est.set_params(**change)
    after = (est.score_samples(X), est.transform(X), est.inverse_transform(Z))
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)
    if "latent_dim" in change:  # the next fit takes it
        assert est.fit(X, y).transform(X).shape[1] == 3


def test_cvae_fit_without_y_names_y():
    """``CVAEEstimator().fit(X)`` was Python's 'missing 1 required positional argument'."""
    with pytest.raises(DataError, match="^CVAEEstimator requires y to be passed, .*class label"):
        CVAEEstimator(**FAST).fit(data()[0])


def _threads_seen(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record torch's thread count where training and importance sampling run."""
    import torchlvm.estimators.base as base
    import torchlvm.estimators.vae as vae

    seen: list[tuple[str, int]] = []

    def spy(name, fn):
        def wrapped(*args, **kwargs):
            seen.append((name, torch.get_num_threads()))
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(vae, "train", spy("fit", vae.train))
    monkeypatch.setattr(base, "log_marginal_observed", spy("score", base.log_marginal_observed))
    return seen


@pytest.mark.parametrize("threads, inside", [(1, 1), (None, 3)], ids=["default-one", "None-own"])
def test_fit_and_score_run_on_threads_and_put_the_callers_count_back(threads, inside, monkeypatch):
    """VAEEstimator ran on torch's count (2 here): on a small table 4-10x slower than on one
    thread while other jobs shared the cores (userG #19). fit and every method take one thread
    (the ``threads`` parameter; None keeps the count the caller set) and put the caller's back."""
    seen = _threads_seen(monkeypatch)
    caller = torch.get_num_threads()
    torch.set_num_threads(3)  # the caller's own setting (torch takes it on any machine)
    try:
        kwargs = {} if threads == 1 else {"threads": threads}
        est = VAEEstimator(**FAST, **kwargs).fit(data()[0])
        assert torch.get_num_threads() == 3
        est.score(data()[0])
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(caller)
    assert seen == [("fit", inside), ("score", inside)]


@pytest.mark.parametrize(
    "threads, named",
    [
        (0, r"threads must be a positive integer, or None for the count torch has .* got 0"),
        (True, "threads must be a positive integer, .* got True"),
    ],  # (more than the cores: capped with a warning, tests/test_threads.py)
    ids=["zero", "bool"],
)
def test_a_thread_count_the_process_cannot_use_is_named(threads, named):
    with pytest.raises(ConfigError, match=named):
        VAEEstimator(**{**FAST, "threads": threads}).fit(data()[0])
