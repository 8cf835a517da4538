"""evaluate's log p(x) of a label CVAE over its classes, log Σ_c π_c p(x | c), which its OOD
score negates: π the train split's class frequencies the run records (as CVAEEstimator's),
uniform for a run that records none, said."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from torchlvm.evaluation import over_classes
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.outlier_section import _class_mixture_score
from torchlvm.models.cvae import CVAE, CVAEConfig

LOG_PX_C = torch.tensor([[-3.0, -10.0], [-5.0, -1.0], [-4.0, -2.0]], dtype=torch.float64)
STDERR_C = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], dtype=torch.float64)


@pytest.fixture(autouse=True)
def _stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """importance sampling stood in for by ``LOG_PX_C``'s row of c's class (its ``STDERR_C``,
    an ESS of 10 + the class)."""

    def log_marginal_is(model, x, c, *, num_samples, chunk=None):
        j = int(c.argmax(-1)[0])
        rows = slice(0, len(x))
        ess = torch.full((len(x),), 10.0 + j, dtype=torch.float64)
        return SimpleNamespace(mean=LOG_PX_C[j, rows], stderr=STDERR_C[j, rows], ess=ess)

    monkeypatch.setattr(over_classes, "log_marginal_is", log_marginal_is)


def _config(counts):
    return EvalConfig(condition="label", ood=(), class_counts=counts)


def _model():
    return CVAE(CVAEConfig(input_dim=2, condition_dim=3, num_classes=3, hidden=(4,)))


def _score(counts):
    return _class_mixture_score(_model(), _config(counts))


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


def test_log_px_over_the_classes_has_its_delta_method_stderr_and_the_top_class_ess() -> None:
    x = torch.zeros(2, 2, dtype=torch.float64)
    o = _config((70, 20, 10))
    values = over_classes.per_example_over_classes(_model(), x, o)
    log_joint = torch.log(torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64))[:, None] + LOG_PX_C
    p_c = torch.softmax(log_joint, 0)  # p(c | x): d log Σ / d log p(x | c)
    torch.testing.assert_close(values["over_classes"], torch.logsumexp(log_joint, 0))
    torch.testing.assert_close(
        values["over_classes_stderr"], (p_c.square() * STDERR_C.square()).sum(0).sqrt()
    )
    torch.testing.assert_close(values["over_classes_ess"], torch.tensor([10.0, 11.0]).double())
    record = over_classes.over_classes_record(values, dim=2, classes=3, o=o, table=False)
    nats = record["nats"]
    mean = float(torch.logsumexp(log_joint, 0).mean())
    assert nats["value"] == pytest.approx(mean)
    assert nats["stderr"] == pytest.approx(
        float(values["over_classes_stderr"].pow(2).sum().sqrt() / 2)
    )
    assert (nats["k"], nats["n"], nats["classes"], nats["kind"]) == (o.ood_k, 2, 3, "estimate")
    assert nats["unit"] == "nats/example" and "the marginal over the 3 classes" in nats["note"]
    assert record["bits_per_dim"]["value"] == pytest.approx(-mean / (2 * math.log(2)))
