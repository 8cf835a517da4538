"""The class mixture p(x) = Σ_c π_c p(x | c): π from training counts, against logsumexp by hand,
and the one mixture CVAEEstimator and evaluate's outlier score share."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

from torchlvm.errors import ConfigError
from torchlvm.inference.class_mixture import (
    class_counts,
    class_log_prior,
    log_mixture,
    recorded_counts,
)

# log p(x | c) of 2 examples under 3 classes, (C, N)
LOG_PX_C = torch.tensor([[-3.0, -10.0], [-5.0, -1.0], [-4.0, -2.0]], dtype=torch.float64)


def test_unbalanced_counts_weigh_each_class_by_its_share() -> None:
    counts = (70, 20, 10)
    by_hand = [
        math.log(0.7 * math.exp(-3.0) + 0.2 * math.exp(-5.0) + 0.1 * math.exp(-4.0)),
        math.log(0.7 * math.exp(-10.0) + 0.2 * math.exp(-1.0) + 0.1 * math.exp(-2.0)),
    ]
    weighted = log_mixture(LOG_PX_C, class_log_prior(counts, 3))
    torch.testing.assert_close(weighted, torch.tensor(by_hand, dtype=torch.float64))
    uniform = log_mixture(LOG_PX_C, class_log_prior(None, 3))
    by_hand_uniform = torch.logsumexp(LOG_PX_C, 0) - math.log(3)
    torch.testing.assert_close(uniform, by_hand_uniform)
    assert (weighted - uniform).abs().min() > 0.3  # the prior moves both rows' scores


def test_a_class_without_training_rows_has_no_weight() -> None:
    weighted = log_mixture(LOG_PX_C, class_log_prior((1, 0, 1), 3))
    torch.testing.assert_close(weighted, torch.logsumexp(LOG_PX_C[[0, 2]], 0) - math.log(2))


def test_counts_are_keyed_by_class_name_and_read_back_in_label_order() -> None:
    y = torch.tensor([0, 2, 2, 2, 0])
    assert class_counts(y, 4, ("a", "b", "c", "d")) == {"a": 2, "b": 0, "c": 3, "d": 0}
    assert class_counts(y, 3, None) == {"0": 2, "1": 0, "2": 3}
    data = {"class_counts": {"c": 3, "a": 2, "b": 0}}  # a record's keys in any order
    assert recorded_counts(data, ["a", "b", "c"]) == (2, 0, 3)
    assert recorded_counts({"class_counts": {"0": 2, "1": 5}}, None) == (2, 5)


@pytest.mark.parametrize(
    "data",
    [{}, {"class_counts": None}, {"class_counts": {"a": 1, "z": 2}}],
    ids=["written-before", "unlabelled", "other-classes"],
)
def test_a_record_without_the_models_counts_gives_none(data) -> None:
    assert recorded_counts(data, ["a", "b"]) is None


def test_cvae_estimator_scores_a_row_without_y_by_its_class_frequencies() -> None:
    """log p(x) = log Σ_c π_c p(x | c) with π the training frequencies (unbalanced: 50, 40, 10
    rows), by hand from the per-class scores (the draws are shared, so the same estimates)."""
    from sklearn.datasets import load_wine

    from torchlvm.estimators import CVAEEstimator

    x, y = load_wine(return_X_y=True)
    keep = np.concatenate([np.flatnonzero(y == k)[:n] for k, n in enumerate((50, 40, 10))])
    x, y = x[keep], np.array(["a", "b", "c"])[y[keep]]
    x = (x - x.mean(0)) / x.std(0)
    model = CVAEEstimator(epochs=1, hidden=(4,), k=8, random_state=0).fit(x, y)
    np.testing.assert_allclose(model.class_prior_, [0.5, 0.4, 0.1])
    per_class = np.stack([model.score_samples(x[:5], [c] * 5) for c in "abc"])
    by_hand = logsumexp(per_class, axis=0, b=model.class_prior_[:, None])
    np.testing.assert_allclose(model.score_samples(x[:5]), by_hand, rtol=1e-9)
    uniform = logsumexp(per_class, axis=0) - math.log(3)
    assert np.abs(by_hand - uniform).max() > 1e-3


@pytest.mark.parametrize(
    "counts", [(1, 2), (1, -1, 2), (0, 0, 0)], ids=["two", "negative", "zeros"]
)
def test_counts_that_are_not_one_per_class_are_refused(counts) -> None:
    with pytest.raises(ConfigError, match=r"class_counts must hold 3 non-negative counts"):
        class_log_prior(counts, 3)


def test_the_mixtures_standard_error_is_each_class_error_weighted_by_p_c_given_x() -> None:
    """d log Σ_c π_c p_c / d log p_c = p(c | x): one class holding all the posterior passes its
    error on whole, C equal classes of equal error s give s / √C, and the first-order error
    agrees with the spread of the mixture over many noisy draws of the per-class estimates."""
    from torchlvm.inference.class_mixture import mixture_stderr

    log_prior = class_log_prior([1, 1, 1, 1], 4)
    one = torch.tensor([[0.0], [-50.0], [-50.0], [-50.0]], dtype=torch.float64)  # (C, N): class 0
    err = torch.full((4, 1), 0.2, dtype=torch.float64)
    assert mixture_stderr(one, err, log_prior).item() == pytest.approx(0.2, rel=1e-9)
    equal = torch.zeros(4, 1, dtype=torch.float64)
    assert mixture_stderr(equal, err, log_prior).item() == pytest.approx(0.1, rel=1e-12)
    log_px_c = torch.tensor([[-3.0], [-2.5], [-4.0], [-2.0]], dtype=torch.float64)
    err = torch.tensor([[0.02], [0.05], [0.01], [0.03]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    noise = torch.randn(200_000, 4, 1, generator=gen, dtype=torch.float64)  # (S, C, N)
    spread = torch.logsumexp(log_px_c + err * noise + log_prior[:, None], 1).std().item()
    assert mixture_stderr(log_px_c, err, log_prior).item() == pytest.approx(spread, rel=0.02)
