"""Annealed importance sampling against known answers: PPCA's exact log p(x), and importance
sampling with many samples on a small trained VAE (where AIS must agree and, being a stochastic
lower bound, must not lie above it in expectation)."""

import pytest
import torch

from torchlvm.data import load_dataset, make_linear_gaussian
from torchlvm.errors import ConfigError
from torchlvm.inference import elbo, log_marginal_ais, log_marginal_is
from torchlvm.inference.ais import (
    annealing_schedule,
    chain_state,
    estimate_from_log_weights,
    hmc_transition,
)
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def ppca():
    data = make_linear_gaussian(n=500, dim=8, latent_dim=3, noise_variance=0.2, seed=0)
    x = data.x.double()
    return PPCA(latent_dim=3).fit(x), x[:20]


@pytest.fixture(scope="module")
def small_vae():
    """A 64-32-2 VAE trained for 200 steps on thresholded digits (a few seconds)."""
    torch.manual_seed(0)
    x = load_dataset("digits", "train", binarize="threshold").x.float()
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(32,)))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(200):
        batch = x[torch.randint(0, len(x), (128,))]
        loss = -elbo(model, batch).elbo.mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model, x[:8]


def pooled_stderr(*stderrs: torch.Tensor) -> torch.Tensor:
    """Standard error of a mean over examples of a sum of independent per-example estimates."""
    n = stderrs[0].numel()
    return sum(s.square().sum() for s in stderrs).sqrt() / n


@pytest.mark.parametrize("kind", ["sigmoid", "linear"])
def test_schedule_runs_from_zero_to_one_increasing(kind):
    betas = annealing_schedule(50, kind)
    assert betas[0] == 0 and betas[-1] == 1 and betas.shape == (51,)
    assert (betas.diff() > 0).all()


def test_hmc_leaves_the_exact_posterior_invariant(ppca):
    model, x = ppca
    posterior = model.encode(x[:4])
    torch.manual_seed(0)
    state = chain_state(model, x[:4], None, posterior.sample((400,)))  # (M, B, K)
    step = torch.full((4,), 0.1, dtype=torch.float64)
    draws = []
    for _ in range(30):
        state, accepted = hmc_transition(model, x[:4], None, state, 1.0, step, 5)
        draws.append(state.z)
    z = torch.cat(draws)  # (30 M, B, K)
    assert accepted.double().mean() > 0.5
    assert torch.allclose(z.mean(0), posterior.mean, atol=0.02)
    assert torch.allclose(z.std(0), posterior.stddev, rtol=0.05)


def test_ais_matches_exact_ppca_log_marginal_within_its_error(ppca):
    model, x = ppca
    torch.manual_seed(0)
    est = log_marginal_ais(model, x, num_steps=200, num_chains=16, leapfrog_steps=10)
    exact = model.log_marginal(x)
    assert est.mean.shape == est.stderr.shape == est.ess.shape == (20,)
    assert est.num_samples == 16
    assert abs((est.mean - exact).mean()) < 2 * pooled_stderr(est.stderr)
    assert (est.mean - exact).abs().max() < 1.0


def test_ais_beats_prior_importance_sampling_at_the_same_number_of_chains(ppca):
    model, x = ppca
    exact = model.log_marginal(x)
    torch.manual_seed(0)
    ais = log_marginal_ais(model, x, num_steps=100, num_chains=16)
    prior_is = log_marginal_is(model, x, num_samples=16, proposal="prior")
    assert (ais.mean - exact).abs().mean() < 0.2 * (prior_is.mean - exact).abs().mean()


def test_ais_agrees_with_importance_sampling_on_a_vae(small_vae):
    model, x = small_vae
    torch.manual_seed(0)
    reference = log_marginal_is(model, x, num_samples=20000, chunk=5000)
    runs = []
    for seed in range(3):
        torch.manual_seed(seed)
        runs.append(log_marginal_ais(model, x, num_steps=100, num_chains=16, leapfrog_steps=5))
    diffs = torch.stack([run.mean - reference.mean for run in runs])  # (seeds, B)
    stderrs = torch.stack([run.stderr.square() + reference.stderr.square() for run in runs]).sqrt()
    # per example and seed: within 4 standard errors of the large-k value
    assert (diffs.abs() < 4 * stderrs).all()
    # in expectation a lower bound: the mean over seeds and examples is not above the reference
    # by more than its standard error
    assert diffs.mean() < stderrs.square().sum().sqrt() / diffs.numel()


def test_estimate_from_equal_weights_is_exact_with_full_ess():
    log_w = torch.full((10, 3), -2.0)
    est = estimate_from_log_weights(log_w)
    assert torch.allclose(est.mean, torch.full((3,), -2.0))
    assert torch.allclose(est.ess, torch.full((3,), 10.0))
    assert torch.allclose(est.stderr, torch.zeros(3), atol=1e-6)


def test_model_parameters_keep_their_gradient_flags(small_vae):
    model, x = small_vae
    log_marginal_ais(model, x[:2], num_steps=2, num_chains=2, leapfrog_steps=1)
    assert all(p.requires_grad for p in model.parameters())
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_steps": 0, "num_chains": 2}, "num_steps must be a positive integer, got 0"),
        ({"num_steps": 2, "num_chains": 0}, "num_chains must be a positive integer, got 0"),
        ({"num_steps": 2, "num_chains": 2, "step_size": 0.0}, "step_size must be a positive"),
        ({"num_steps": 2, "num_chains": 2, "target_acceptance": 1.0}, r"in \(0, 1\)"),
        ({"num_steps": 2, "num_chains": 2, "schedule": "cubic"}, "schedule must be one of"),
    ],
    ids=["steps", "chains", "step-size", "acceptance", "schedule"],
)
def test_bad_arguments_are_named(ppca, kwargs, match):
    model, x = ppca
    with pytest.raises(ConfigError, match=match):
        log_marginal_ais(model, x, **kwargs)


def test_advance_counts_each_transition_and_leaves_the_estimate_bit_identical(ppca):
    """gaps' AIS bar jumped from 0 to done: log_marginal_ais had no hook. With ``advance`` it is
    told each of the T transitions; the estimate is the same to the bit."""
    model, x = ppca
    settings = dict(num_steps=7, num_chains=3, leapfrog_steps=2)
    torch.manual_seed(0)
    reference = log_marginal_ais(model, x, **settings)
    done = []
    torch.manual_seed(0)
    estimate = log_marginal_ais(model, x, **settings, advance=done.append)
    assert done == [1] * 7
    for name in ("mean", "stderr", "ess"):
        assert torch.equal(getattr(estimate, name), getattr(reference, name)), name
