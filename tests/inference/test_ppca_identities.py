"""Exact identities of variational inference, checked on PPCA where every quantity is exact.

log p(x) = ELBO(q) + KL(q(z|x) ‖ p(z|x)) for any q (float64, to 1e-8); ELBO(posterior) = log p(x);
ELBO ≤ log p(x); the IWAE bound grows with k towards log p(x); importance sampling agrees with the
exact log p(x) within its standard error.
"""

import math

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from torchlvm.data import make_linear_gaussian
from torchlvm.distributions import kl
from torchlvm.inference import elbo, iwae_bound, log_marginal_is
from torchlvm.models.ppca import PPCA

K = 3


@pytest.fixture(scope="module")
def fitted():
    data = make_linear_gaussian(n=500, dim=8, latent_dim=K, noise_variance=0.2, seed=0)
    x = data.x.double()
    return PPCA(latent_dim=K).fit(x), x[:16]


def random_full_q(batch, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(batch, K, K, generator=g, dtype=torch.float64)
    cov = a @ a.mT + 0.1 * torch.eye(K, dtype=torch.float64)
    loc = 2 * torch.randn(batch, K, generator=g, dtype=torch.float64)
    return MultivariateNormal(loc, covariance_matrix=cov)


def random_diagonal_q(batch, seed):
    g = torch.Generator().manual_seed(seed)
    loc = 2 * torch.randn(batch, K, generator=g, dtype=torch.float64)
    scale = torch.rand(batch, K, generator=g, dtype=torch.float64) * 2 + 0.05
    return Independent(Normal(loc, scale), 1)


FAMILIES = {"full-covariance": random_full_q, "diagonal": random_diagonal_q}


@pytest.mark.parametrize("make_q", FAMILIES.values(), ids=FAMILIES.keys())
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_elbo_plus_kl_to_posterior_is_log_marginal(fitted, make_q, seed):
    model, x = fitted
    q = make_q(len(x), seed)
    terms = elbo(model, x, q=q, log_lik_method="analytic")
    gap = kl(q, model.encode(x))
    torch.testing.assert_close(terms.elbo + gap, model.log_marginal(x), rtol=0, atol=1e-8)
    assert torch.all(terms.elbo <= model.log_marginal(x))


def test_elbo_of_exact_posterior_is_log_marginal(fitted):
    model, x = fitted
    terms = elbo(model, x, log_lik_method="analytic")  # q = model.encode(x), the posterior
    torch.testing.assert_close(terms.elbo, model.log_marginal(x), rtol=0, atol=1e-9)


def test_monte_carlo_log_likelihood_matches_analytic(fitted):
    model, x = fitted
    q = random_diagonal_q(len(x), 3)
    torch.manual_seed(0)
    n = 50_000
    mc = elbo(model, x, q=q, num_samples=n).log_lik
    exact = elbo(model, x, q=q, log_lik_method="analytic").log_lik
    draws = model.decode(q.sample((n,))).log_prob(x)  # (S, B): the spread sets the tolerance
    stderr = draws.std(0) / n**0.5
    assert torch.all((mc - exact).abs() < 5 * stderr)


def test_beta_enters_the_objective_not_the_bound(fitted):
    model, x = fitted
    one = elbo(model, x, log_lik_method="analytic")
    four = elbo(model, x, log_lik_method="analytic", beta=4.0)
    torch.testing.assert_close(four.elbo, one.elbo)
    torch.testing.assert_close(four.objective, one.log_lik - 4 * one.kl)


def test_iwae_bound_increases_with_k_towards_log_marginal(fitted):
    model, x = fitted
    x = x[:4].repeat(200, 1)  # 200 independent repeats of 4 points: averages out the noise
    q = model.prior(batch_shape=(len(x),))  # a poor proposal makes the effect of k large
    torch.manual_seed(0)
    bounds = [
        iwae_bound(model, x, num_samples=k, chunk=64, proposal=q).mean() for k in (1, 10, 100, 1000)
    ]
    exact = model.log_marginal(x).mean()
    assert bounds[0] < bounds[1] < bounds[2] < bounds[3] <= exact + 0.01
    assert exact - bounds[3] < 0.25 * (exact - bounds[0])


def test_iwae_with_one_sample_is_the_single_sample_elbo(fitted):
    model, x = fitted
    torch.manual_seed(5)
    iwae = iwae_bound(model, x, num_samples=1)
    torch.manual_seed(5)
    single = elbo(model, x, num_samples=1, kl_method="mc").elbo
    torch.testing.assert_close(iwae, single)


def test_importance_sampling_with_prior_proposal_within_stderr(fitted):
    model, x = fitted
    torch.manual_seed(0)
    est = log_marginal_is(model, x, num_samples=20_000, chunk=2_000, proposal="prior")
    exact = model.log_marginal(x)
    z_scores = (est.mean - exact) / est.stderr
    assert torch.all(est.ess > 1) and torch.all(est.ess <= 20_000)
    assert (z_scores.abs() < 3).float().mean() >= 0.9
    assert z_scores.abs().max() < 5


def test_importance_sampling_with_exact_posterior_is_exact(fitted):
    model, x = fitted
    est = log_marginal_is(model, x, num_samples=100, chunk=30)  # weights are all p(x)
    torch.testing.assert_close(est.mean, model.log_marginal(x), rtol=0, atol=1e-9)
    torch.testing.assert_close(est.ess, torch.full_like(est.ess, 100.0))
    assert torch.all(est.stderr < 1e-6)


def test_importance_sampling_single_sample_has_infinite_stderr(fitted):
    model, x = fitted
    est = log_marginal_is(model, x, num_samples=1)
    assert torch.all(torch.isinf(est.stderr)) and est.num_samples == 1
    assert math.isfinite(est.mean.sum().item())


@pytest.mark.parametrize("log_lik_method", ["mc", "analytic"])
def test_gradients_reach_q_through_ppca(fitted, log_lik_method):
    model, x = fitted
    loc = torch.zeros(len(x), K, dtype=torch.float64, requires_grad=True)
    q = Independent(Normal(loc, torch.ones_like(loc)), 1)
    elbo(model, x, q=q, log_lik_method=log_lik_method).elbo.sum().backward()
    assert loc.grad is not None and loc.grad.abs().sum() > 0


@pytest.mark.parametrize("k", [1, 10, 100])
def test_iwae_bound_with_the_exact_posterior_is_log_marginal_for_every_k(fitted, k):
    """With q = p(z | x) every importance weight p(x, z) / q(z) is p(x): L_k = log p(x) exactly,
    whatever k (the limit L_k rises toward, reached at once)."""
    model, x = fitted
    torch.testing.assert_close(
        iwae_bound(model, x, num_samples=k), model.log_marginal(x), rtol=0, atol=1e-9
    )


def test_a_fully_monte_carlo_elbo_of_the_exact_posterior_has_no_noise(fitted):
    """log p(x | z) + log p(z) − log q(z) = log p(x) at every z ~ p(z | x): one draw of the
    Monte Carlo ELBO (KL by Monte Carlo too) is log p(x) exactly."""
    model, x = fitted
    torch.manual_seed(0)
    terms = elbo(model, x, num_samples=1, kl_method="mc")
    torch.testing.assert_close(terms.elbo, model.log_marginal(x), rtol=0, atol=1e-9)
