"""Inference code that used to assume a diagonal Gaussian q, run with every posterior family and
learned prior: semi-amortized refinement, per-point fitting, importance sampling and AIS."""

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError
from torchlvm.inference import elbo, log_marginal_ais, log_marginal_is, refine
from torchlvm.inference.gaps import evaluate_elbo
from torchlvm.models.posteriors import FlowQ
from torchlvm.models.vae import VAE, VAEConfig


def train(posterior: str, prior: str = "standard", steps: int = 100) -> tuple[VAE, torch.Tensor]:
    """A 64-32-3 VAE on thresholded digits, trained for a second or two."""
    torch.manual_seed(0)
    x = load_dataset("digits", "train", binarize="threshold").x.float()
    config = VAEConfig(
        64, latent_dim=3, hidden=(32,), posterior=posterior, prior=prior, prior_components=8
    )
    model = VAE(config)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(steps):
        batch = x[torch.randint(0, len(x), (128,))]
        loss = -elbo(model, batch).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), x[:12]


@pytest.fixture(scope="module")
def flow_vae():
    return train("flow")


def test_refining_a_flow_q_keeps_it_a_flow_and_raises_its_elbo(flow_vae):
    model, x = flow_vae
    torch.manual_seed(0)
    q0 = model.encode(x)
    q = refine(model, x, steps=60, lr=0.02, num_samples=8)
    assert isinstance(q, FlowQ) and q.batch_shape == (12,)
    torch.manual_seed(1)
    before = evaluate_elbo(model, x, None, q0, num_samples=2000, chunk=500)
    torch.manual_seed(1)
    after = evaluate_elbo(model, x, None, q, num_samples=2000, chunk=500)
    assert after.mean() > before.mean()


def test_differentiable_refinement_of_a_flow_is_refused(flow_vae):
    model, x = flow_vae
    with pytest.raises(ConfigError, match="differentiable refinement needs a Gaussian q"):
        refine(model, x, steps=2, differentiable=True)


@pytest.mark.parametrize(
    ("posterior", "prior"),
    [("full", "standard"), ("diag", "mog"), ("flow", "vamp")],
    ids=["full", "mog", "flow-vamp"],
)
def test_is_and_ais_agree_for_each_family(posterior, prior):
    model, x = train(posterior, prior, steps=100)
    x = x[:6]
    torch.manual_seed(0)
    reference = log_marginal_is(model, x, num_samples=3000, chunk=1000)
    ais = log_marginal_ais(model, x, num_steps=100, num_chains=16, leapfrog_steps=5)
    error = (ais.stderr.square() + reference.stderr.square()).sqrt()
    assert ((ais.mean - reference.mean).abs() < 4 * error + 0.05).all()


def test_pseudo_gibbs_imputation_runs_with_a_flow_q(flow_vae):
    from torchlvm.inference.imputation import impute_missing

    model, x = flow_vae
    observed = torch.arange(64) < 32
    g = torch.Generator().manual_seed(0)
    out = impute_missing(
        "vae", model, x[:4], observed, torch.full((64,), 0.5), samples=2, iterations=3, generator=g
    )
    torch.testing.assert_close(out[:, observed], x[:4, observed])
    assert ((out[:, ~observed] >= 0) & (out[:, ~observed] <= 1)).all()
