"""``evaluate`` with ``EvalConfig(ais_steps=...)``: log p(x) also by annealed importance sampling,
labelled as such, next to the importance-sampled value; and the table row of ``evaluate --ais``.
Runs with a flow posterior and a learned prior, which evaluate must take like any model."""

import pytest
import torch

from torchlvm.cli._evaluate_table import format_table
from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError
from torchlvm.evaluation import EvalConfig, evaluate
from torchlvm.models import VAE, VAEConfig

FAST = dict(k=200, ks=(1,), n=12, ood=(), sample_quality=False, separability=False)


@pytest.mark.parametrize(
    ("posterior", "prior"), [("diag", "standard"), ("flow", "vamp")], ids=["diag", "flow-vamp"]
)
def test_ais_estimate_is_reported_beside_importance_sampling(posterior, prior):
    torch.manual_seed(0)
    data = load_dataset("digits", "test", binarize="threshold")
    config = VAEConfig(64, latent_dim=2, hidden=(16,), posterior=posterior, prior=prior)
    model = VAE(config).eval()
    result = evaluate(model, data, EvalConfig(ais_steps=30, ais_chains=4, **FAST))
    ais, is_ = result.likelihood.ais.nats, result.likelihood.log_marginal.nats
    assert ais.kind == "estimate" and ais.k == 4 and ais.stderr > 0
    # an untrained model's posterior is near its prior: both estimators agree closely
    assert abs(ais.number - is_.number) < 3 * (ais.stderr + is_.stderr) + 0.5
    assert "AIS (k = chains)" in format_table(result)
    assert "annealed importance sampling" in result.to_json()["likelihood"]["ais"]["nats"]["note"]


def test_ais_settings_are_checked():
    with pytest.raises(ConfigError, match="ais_steps must be a positive integer, got 0"):
        EvalConfig(ais_steps=0)
    with pytest.raises(ConfigError, match="ais_chains must be a positive integer, got 0"):
        EvalConfig(ais_chains=0)


def test_the_ais_bar_counts_transitions_not_batches(monkeypatch):
    """evaluate --ais on 50 images of a large model read 'ais: 0/1 batch' for 90 s: the bar
    counts the HMC transitions of every batch."""
    from torchlvm.evaluation import likelihood

    bars = []

    class Bar:
        def __init__(self, total, **_):
            self.total, self.n = total, 0
            bars.append(self)

        def update(self, n=1):
            self.n += n

        def __enter__(self):
            return self

        def __exit__(self, *_):
            return False

    monkeypatch.setattr(likelihood, "tqdm", Bar)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    x = torch.rand(5, 64).bernoulli()
    out = likelihood.per_example_ais(model, x, num_steps=3, num_chains=2, batch_size=2)
    assert out["ais_mean"].shape == (5,)
    assert [(bar.total, bar.n) for bar in bars] == [(3 * 3, 3 * 3)]  # 3 batches × 3 steps
