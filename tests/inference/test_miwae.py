"""MIWAE on incomplete rows, against known answers: the IWAE bound on complete rows, and PPCA's
exact observed-cell density and conditional mean through a VAE that holds PPCA's parameters."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from torchlvm.inference import iwae_bound
from torchlvm.inference.imputation import impute_rows
from torchlvm.inference.miwae import (
    encode_observed,
    log_marginal_observed,
    miwae_bound,
    zero_filled,
)
from torchlvm.models import ppca_em
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

D, K = 5, 2


@pytest.fixture(scope="module")
def pair() -> tuple[PPCA, VAE, torch.Tensor]:
    """A PPCA fitted on a 5-D table and a linear-Gaussian VAE with the same p(x, z)."""
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(D, K, generator=gen, dtype=torch.float64)
    x = torch.randn(400, K, generator=gen, dtype=torch.float64) @ W.T
    x = x + 0.3 * torch.randn(400, D, generator=gen, dtype=torch.float64)
    ppca = PPCA(latent_dim=K).fit(x)
    vae = VAE(
        VAEConfig(D, latent_dim=K, hidden=(8,), likelihood="gaussian", linear_decoder=True)
    ).double()
    with torch.no_grad():
        vae.decoder.weight.copy_(ppca.W)
        vae.decoder.bias.copy_(ppca.mu)
        vae.likelihood.log_scale.fill_(0.5 * math.log(ppca.sigma2.item()))
    holes = torch.rand(x.shape, generator=gen) < 0.3
    holes[0] = False  # one complete row
    holes[1, :4] = True  # one row with a single observed cell
    x = torch.where(holes, torch.nan, x)
    _train_encoder(vae, x)
    return ppca, vae, x[:40]


def _train_encoder(vae: VAE, x: torch.Tensor) -> None:
    """Fit q(z | x̃) by the MIWAE bound with p(x | z) frozen at PPCA's: the bound's gradient
    reaches the encoder through zero-filled rows."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(vae.encoder.parameters(), lr=1e-2)
    for _ in range(300):
        optimizer.zero_grad()
        (-miwae_bound(vae, x, num_samples=5).mean()).backward()
        optimizer.step()


def test_miwae_is_iwae_on_complete_rows(pair):
    _, vae, x = pair
    complete = x[~torch.isnan(x).any(1)]
    torch.manual_seed(1)
    ours = miwae_bound(vae, complete, num_samples=5)
    torch.manual_seed(1)
    assert torch.allclose(ours, iwae_bound(vae, complete, num_samples=5))


def test_observed_density_matches_ppca_exact(pair):
    ppca, vae, x = pair
    torch.manual_seed(2)
    exact = ppca_em.observed_log_prob(x, ppca.W, ppca.mu, ppca.sigma2)
    # with the exact posterior p(z | x_o) as proposal every weight equals p(x_o)
    mean, cov = ppca_em.observed_posterior(x, ppca.W, ppca.mu, ppca.sigma2)
    posterior = MultivariateNormal(mean, cov)
    estimate = log_marginal_observed(vae, x, num_samples=10, proposal=posterior)
    assert torch.allclose(estimate.mean, exact, atol=1e-10)
    assert torch.allclose(estimate.ess, torch.full_like(exact, 10.0))
    amortized = log_marginal_observed(vae, x, num_samples=2000, chunk=1000)
    assert (amortized.mean - exact).abs().median() < 0.05
    bound = miwae_bound(vae, x, num_samples=50)
    assert bound.mean() < exact.mean()


def test_importance_weighted_mean_matches_ppca_conditional_mean(pair):
    ppca, vae, x = pair
    gen = torch.Generator().manual_seed(3)
    ours = impute_rows(vae, x, num_samples=20000, generator=gen)
    exact = impute_rows(ppca, x)
    observed = ~torch.isnan(x)
    assert torch.equal(ours[observed], x[observed]) and torch.equal(exact[observed], x[observed])
    # a proposal from zero-filled rows is poorer the more cells a row misses: most cells agree
    assert (ours - exact)[~observed].abs().median() < 0.05


@pytest.mark.parametrize("which", ["ppca", "vae"])
def test_multiple_imputations_centre_on_the_conditional_mean(pair, which):
    ppca, vae, x = pair
    model = ppca if which == "ppca" else vae
    gen = torch.Generator().manual_seed(4)
    draws = impute_rows(model, x, draws=2000, num_samples=5000, generator=gen)
    assert draws.shape == (2000, *x.shape)
    observed = ~torch.isnan(x)
    assert torch.equal(draws[:, observed], x[observed].expand(2000, -1))
    exact = impute_rows(ppca, x)
    assert (draws.mean(0) - exact)[~observed].abs().median() < 0.1
    spread = draws.std(0)[~observed]
    assert (spread > 0.5 * ppca.sigma2.sqrt()).all()


@pytest.fixture(scope="module")
def narrow(pair) -> VAE:
    """The VAE of ``pair`` with q(z | x̃) made 7 times narrower: the posterior of a row with
    missing cells is wider than the zero-filled row's q, and more so here."""
    _, vae, _ = pair
    narrow = copy.deepcopy(vae)
    with torch.no_grad():
        narrow.encoder[-1].bias[K : 2 * K] -= 2.0  # (the pre-softplus scales)
    return narrow


def test_a_narrow_q_imputes_the_conditional_mean_through_the_defensive_proposal(pair, narrow):
    """impute's importance weights drew from q(z | x̃) alone (score's proposal had a wide
    share): with q narrower than p(z | x_o) the weighted mean sat far from E[x_m | x_o]."""
    ppca, _, x = pair
    gen = torch.Generator().manual_seed(3)
    ours = impute_rows(narrow, x, num_samples=2000, generator=gen)
    missing = torch.isnan(x)
    off = (ours - impute_rows(ppca, x))[missing].abs()
    assert off.median() < 0.08  # (0.035 with the defensive proposal; q alone 0.19)


def test_encode_observed_reads_a_vae_through_x_tilde_and_ppca_exactly(pair):
    """The one reading of a row with missing cells (the estimators' transform and the table
    commands' encode / reconstruct): a VAE encodes x̃, PPCA gives p(z | x_o)."""
    ppca, vae, x = pair
    observed = ~torch.isnan(x)
    ours = encode_observed(vae, x).mean
    assert torch.equal(ours, vae.encode(zero_filled(x, observed)).mean)
    mean, _ = ppca_em.observed_posterior(x, ppca.W, ppca.mu, ppca.sigma2)
    torch.testing.assert_close(encode_observed(ppca, x).mean, mean)
    complete = x[observed.all(1)]
    assert torch.equal(encode_observed(vae, complete).mean, vae.encode(complete).mean)


@pytest.mark.parametrize("proposal", ["encoder", "defensive"])
def test_ppca_proposals_are_its_exact_posterior_of_the_observed_cells(pair, proposal):
    """readF F5: the "encoder" proposal (and miwae_bound) read PPCA through the zero-filled
    row, not p(z | x_o), and the default "defensive" one widened an exact q: both read
    log p(x_o) off by Monte Carlo error (up to 8.5 nats at 1,000 samples on breast_cancer).
    With PPCA's exact posterior every weight is p(x_o): exact at any S, ESS = S."""
    ppca, _, x = pair
    exact = ppca.log_marginal(x)
    torch.manual_seed(5)
    estimate = log_marginal_observed(ppca, x, num_samples=10, proposal=proposal)
    torch.testing.assert_close(estimate.mean, exact, atol=1e-10, rtol=0)
    torch.testing.assert_close(estimate.ess, torch.full_like(exact, 10.0))
    torch.testing.assert_close(miwae_bound(ppca, x, num_samples=3), exact, atol=1e-10, rtol=0)
