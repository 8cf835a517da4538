"""evaluate's OOD score of a label CVAE, −log Σ_c π_c p(x | c): π the train split's class
frequencies the run records (as CVAEEstimator's), uniform for a run that records none, said."""

from __future__ import annotations

import math

import torch

from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.outlier_section import _class_mixture_score
from torchlvm.models.cvae import CVAE, CVAEConfig

LOG_PX_C = torch.tensor([[-3.0, -10.0], [-5.0, -1.0], [-4.0, -2.0]], dtype=torch.float64)


def _is_score(x, c_of):
    """−log p(x | c) of a stand-in for importance sampling: ``LOG_PX_C``'s row of c's class."""
    return -LOG_PX_C[c_of(x).argmax(-1)[0]]


def _score(counts):
    model = CVAE(CVAEConfig(input_dim=2, condition_dim=3, num_classes=3, hidden=(4,)))
    o = EvalConfig(condition="label", ood=(), class_counts=counts)
    return _class_mixture_score(model, _is_score, o)


def test_the_ood_score_weighs_classes_by_the_recorded_train_counts() -> None:
    score, name = _score((70, 20, 10))
    by_hand = [
        -math.log(0.7 * math.exp(-3.0) + 0.2 * math.exp(-5.0) + 0.1 * math.exp(-4.0)),
        -math.log(0.7 * math.exp(-10.0) + 0.2 * math.exp(-1.0) + 0.1 * math.exp(-2.0)),
    ]
    x = torch.zeros(2, 2, dtype=torch.float64)
    torch.testing.assert_close(score(x), torch.tensor(by_hand, dtype=torch.float64))
    assert "train split's class frequencies" in name
    uniform, old = _score(None)
    torch.testing.assert_close(uniform(x), -(torch.logsumexp(LOG_PX_C, 0) - math.log(3)))
    assert (score(x) - uniform(x)).abs().min() > 0.3
    assert "π_c = 1/C: the run records no class counts" in old and "train it again" in old
