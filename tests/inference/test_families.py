"""Inference code that used to assume a diagonal Gaussian q, run with every posterior family and
learned prior: semi-amortized refinement, per-point fitting, importance sampling and AIS."""

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.inference import elbo, log_marginal_ais, log_marginal_is, refine
from torchlvm.inference.gaps import elbo_with_stderr, evaluate_elbo
from torchlvm.inference.local_flow import LocalFlow
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


def test_refining_a_flow_q_moves_each_points_context_under_the_encoders_networks(flow_vae):
    model, x = flow_vae
    torch.manual_seed(0)
    q0 = model.encode(x)
    q = refine(model, x, steps=20, lr=0.02, num_samples=4)
    assert q.lazy is model.posterior_family.flow.transform
    assert q.context.shape == q0.context.shape == (12, 6)
    moved = (q.context - q0.context).abs().amax(-1)
    assert (moved > 1e-3).all()


def test_a_per_point_flow_started_from_a_flow_q_starts_as_that_q(flow_vae):
    model, x = flow_vae
    q0 = model.encode(x)
    base = q0.base.base_dist
    local = LocalFlow(base.loc, base.scale, flow_steps=1, width=8, inner=q0.transform)
    z = q0.sample((5,))
    torch.testing.assert_close(local.distribution().log_prob(z), q0.log_prob(z))


def test_differentiable_refinement_of_a_flow_passes_gradients_to_encoder_and_decoder(flow_vae):
    model, x = flow_vae
    torch.manual_seed(0)
    q = refine(model, x, steps=2, lr=0.01, differentiable=True)
    assert isinstance(q, FlowQ)
    model.zero_grad()
    elbo(model, x, q=q, num_samples=4).elbo.sum().backward()
    encoder = [p.grad for p in model.encoder.parameters()]
    decoder = [p.grad for p in model.decoder.parameters()]
    assert all(g is not None for g in encoder + decoder)
    assert any(g.abs().sum() > 0 for g in encoder)
    model.zero_grad()


def test_unrolled_refinement_keeps_the_transform_of_a_flow_q_without_a_context(
    flow_vae, monkeypatch
):
    model, x = flow_vae
    q_enc = model.encode(x)
    bare = FlowQ(q_enc.transform, q_enc.base)  # no context to move: the transform stays
    monkeypatch.setattr(model, "encode", lambda x, c=None: bare)
    torch.manual_seed(0)
    q = refine(model, x, steps=2, lr=0.01, differentiable=True)
    assert isinstance(q, FlowQ) and q.transform is bare.transform
    assert not torch.equal(q.base.base_dist.loc, bare.base.base_dist.loc)


def linear_flow_vae(seed: int = 0) -> tuple[VAE, torch.Tensor, torch.Tensor]:
    """A flow-q VAE whose decoder is linear with Gaussian noise (PPCA's generative model), so
    log p(x) = log N(x; b, W Wᵀ + σ² I) exactly; trained briefly on data from such a model."""
    torch.manual_seed(seed)
    W_true = torch.randn(6, 2)
    data = torch.randn(512, 2) @ W_true.T + 0.5 * torch.randn(512, 6)
    config = VAEConfig(
        6, latent_dim=2, hidden=(16,), likelihood="gaussian", scale=0.5, linear_decoder=True,
        posterior="flow", flow_steps=1,
    )  # fmt: skip
    model = VAE(config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = -elbo(model, data[torch.randint(0, 512, (64,))]).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    W, b = model.decoder.weight.detach(), model.decoder.bias.detach()
    marginal = torch.distributions.MultivariateNormal(b, W @ W.T + 0.25 * torch.eye(6))
    x = data[:40]
    return model.eval(), x, marginal.log_prob(x)


def test_a_refined_flow_q_gains_on_average_and_stays_a_bound_on_the_exact_log_px():
    model, x, log_px = linear_flow_vae()
    torch.manual_seed(0)
    q0 = model.encode(x)
    q = refine(model, x, steps=100, lr=0.02, num_samples=8)
    torch.manual_seed(1)
    before, se0 = elbo_with_stderr(model, x, None, q0, num_samples=4000, chunk=500)
    torch.manual_seed(1)
    after, se = elbo_with_stderr(model, x, None, q, num_samples=4000, chunk=500)
    gain = after - before
    assert gain.mean() > 4 * (se0.square() + se.square()).mean().sqrt() / 40**0.5
    assert (after <= log_px + 4 * se).all()  # every point: a bound, up to its own MC error


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
