"""CVAEEstimator: its fit on one torch thread as the other estimators (userG #19), π from the one
class-mixture formula, and its warnings pointing at the user's line."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import torchlvm.estimators.cvae as cvae_module
from torchlvm.estimators import CVAEEstimator
from torchlvm.inference.class_mixture import class_log_prior

FAST = {"epochs": 1, "hidden": (4,), "batch_size": 32, "k": 8, "random_state": 0}


def _data(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.array(["a", "b", "b", "c", "c", "c"] * (n // 6))  # π = (1/6, 2/6, 3/6)
    return rng.normal(size=(n, 3)), y


@pytest.mark.parametrize("threads, inside", [(1, 1), (None, 3)], ids=["default-one", "None-own"])
def test_fit_runs_on_its_threads_and_puts_the_callers_count_back(threads, inside, monkeypatch):
    seen = []

    def train(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return original(*args, **kwargs)

    original = cvae_module.train
    monkeypatch.setattr(cvae_module, "train", train)
    caller = torch.get_num_threads()
    torch.set_num_threads(3)  # the caller's own setting
    try:
        kwargs = {} if threads == 1 else {"threads": threads}
        CVAEEstimator(**FAST, **kwargs).fit(*_data())
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(caller)
    assert seen == [inside]


def test_class_prior_is_the_shared_class_log_prior() -> None:
    est = CVAEEstimator(**FAST).fit(*_data())
    expected = class_log_prior([10, 20, 30], 3).exp().numpy()
    np.testing.assert_array_equal(est.class_prior_, expected)
    np.testing.assert_allclose(est.class_prior_, [1 / 6, 2 / 6, 3 / 6], rtol=1e-15)


def test_the_unseen_label_warning_points_at_the_callers_line() -> None:
    """It gave a hand-counted stacklevel, which pointed inside torchlvm once score() came
    between (or a decorator): the warning names the user's file."""
    X, y = _data()
    est = CVAEEstimator(**FAST).fit(X, y)
    for call in (
        lambda: est.score_samples(X[:2], ["a", "z"]),
        lambda: est.score(X[:2], ["a", "z"]),
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        unseen = [w for w in caught if "labels fit did not see" in str(w.message)]
        assert len(unseen) == 1 and unseen[0].filename == __file__


def test_its_model_takes_y_s_labels_not_their_sorted_positions() -> None:
    """readB #12: the saved CVAE of an estimator fitted on words read condition_from_labels(1)
    as the second sorted class; y's labels are the classes, as the estimator's own methods read."""
    from torchlvm.errors import ConfigError

    model = CVAEEstimator(**FAST).fit(*_data()).model_
    assert model.config.class_positions is False
    torch.testing.assert_close(
        model.condition_from_labels("b"), torch.eye(3, dtype=torch.float64)[1]
    )
    with pytest.raises(ConfigError, match="pass one of the names, or torch.tensor"):
        model.condition_from_labels(1)
