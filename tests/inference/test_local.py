"""Non-amortized inference checked against exact answers on PPCA (float64, analytic ELBO).

A full-covariance q reaches log p(x); a diagonal q stops at the exact mean-field gap with the
reverse-KL variances 1/(Σ⁻¹)_ii; each point's optimization is independent of the batch.
"""

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from torchlvm.data import make_linear_gaussian
from torchlvm.errors import ConfigError
from torchlvm.inference import elbo
from torchlvm.inference.gaps import ppca_mean_field_gap, ppca_variance_shrinkage, rotate_latents
from torchlvm.inference.local import (
    MAX_FULL_COVARIANCE_DIM,
    LocalGaussian,
    fit_local_posterior,
)
from torchlvm.models.ppca import PPCA

K = 3


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny problems: extra threads only add overhead
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ppca():
    data = make_linear_gaussian(n=500, dim=8, latent_dim=K, noise_variance=0.2, seed=0)
    x = data.x.double()
    model = rotate_latents(PPCA(latent_dim=K).fit(x), seed=0)  # a correlated posterior
    return model, x[:12]


def test_full_covariance_q_reaches_log_marginal(ppca):
    model, x = ppca
    q, history = fit_local_posterior(
        model, x, family="full", steps=400, lr=0.1, log_lik_method="analytic"
    )
    gap = model.log_marginal(x) - elbo(model, x, q=q, log_lik_method="analytic").elbo
    assert gap.abs().max() < 1e-4
    torch.testing.assert_close(gap, model.log_marginal(x) - history.max(0).values)
    assert isinstance(q, MultivariateNormal) and q.batch_shape == (len(x),)
    posterior = model.encode(x)
    torch.testing.assert_close(q.loc, posterior.loc, atol=1e-4, rtol=0)
    torch.testing.assert_close(
        q.covariance_matrix,
        posterior.covariance_matrix.expand_as(q.covariance_matrix),
        atol=1e-4,
        rtol=0,
    )


def test_diagonal_q_leaves_the_exact_mean_field_gap(ppca):
    model, x = ppca
    expected = ppca_mean_field_gap(model)
    assert expected > 1e-3  # the rotated model has a correlated posterior
    q, history = fit_local_posterior(
        model, x, family="diagonal", steps=400, lr=0.1, log_lik_method="analytic"
    )
    gap = model.log_marginal(x) - elbo(model, x, q=q, log_lik_method="analytic").elbo
    torch.testing.assert_close(gap, torch.full_like(gap, expected), atol=1e-4, rtol=0)
    mean_field, exact = ppca_variance_shrinkage(model)
    torch.testing.assert_close(q.variance, mean_field.expand_as(q.variance), atol=1e-5, rtol=0)
    assert torch.all(mean_field <= exact)  # reverse KL shrinks the variances


def test_each_point_is_optimized_independently_of_the_batch(ppca):
    model, x = ppca
    kw = dict(family="full", steps=30, lr=0.05, log_lik_method="analytic")
    q_batch, h_batch = fit_local_posterior(model, x, **kw)
    q_one, h_one = fit_local_posterior(model, x[3:4], **kw)
    torch.testing.assert_close(q_batch.loc[3:4], q_one.loc, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_batch[:, 3:4], h_one, atol=1e-10, rtol=0)


def test_an_optimal_start_is_kept(ppca):
    model, x = ppca
    posterior = model.encode(x)
    q, history = fit_local_posterior(
        model, x, family="full", steps=20, lr=0.05, init=posterior, log_lik_method="analytic"
    )
    torch.testing.assert_close(q.loc, posterior.loc, atol=1e-6, rtol=0)  # rounding-level ties
    gap = model.log_marginal(x) - elbo(model, x, q=q, log_lik_method="analytic").elbo
    assert gap.abs().max() < 1e-10


def test_model_parameters_are_frozen_during_the_fit_and_restored_after():
    torch.manual_seed(0)
    net = torch.nn.Linear(2, 4).double()
    net.bias.requires_grad_(False)
    seen = []

    class Linear(torch.nn.Module):
        latent_dim = 2

        def __init__(self):
            super().__init__()
            self.net = net

        def prior(self, c=None, batch_shape=()):
            loc = torch.zeros(*batch_shape, 2, dtype=torch.float64)
            return Independent(Normal(loc, torch.ones_like(loc)), 1)

        def decode(self, z, c=None):
            seen.append(net.weight.requires_grad)
            return Independent(Normal(self.net(z), 1.0), 1)

    model = Linear()
    x = torch.randn(5, 4, dtype=torch.float64)
    weight = net.weight.detach().clone()
    q, history = fit_local_posterior(model, x, steps=5, lr=0.1, num_samples=2)
    assert not any(seen)
    assert net.weight.requires_grad and not net.bias.requires_grad
    assert net.weight.grad is None and torch.equal(net.weight, weight)
    assert history.shape == (6, 5) and q.batch_shape == (5,)


def test_iwae_objective_and_callback(ppca):
    model, x = ppca
    calls = []
    q, history = fit_local_posterior(
        model, x, objective="iwae", k=4, steps=3, lr=0.05, callback=lambda t, q: calls.append(t)
    )
    assert calls == [0, 1, 2, 3]
    assert history.shape == (4, len(x)) and torch.isfinite(history).all()


@pytest.mark.parametrize("family", ["diagonal", "full"])
def test_local_gaussian_round_trips_a_distribution(family):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, K, K, generator=g, dtype=torch.float64)
    cov = a @ a.mT + 0.5 * torch.eye(K, dtype=torch.float64)
    q0 = MultivariateNormal(torch.randn(4, K, generator=g, dtype=torch.float64), cov)
    q = LocalGaussian.from_distribution(q0, family).distribution()
    torch.testing.assert_close(q.mean, q0.mean)
    torch.testing.assert_close(q.variance, q0.variance)  # marginal variances kept
    assert q.batch_shape == (4,) and q.event_shape == (K,)
    expected = Independent if family == "diagonal" else MultivariateNormal
    assert isinstance(q, expected)


def test_full_covariance_is_refused_above_the_limit():
    class Big:
        latent_dim = MAX_FULL_COVARIANCE_DIM + 1

    with pytest.raises(ConfigError, match=r"latent_dim <= 64, got latent_dim=65"):
        fit_local_posterior(Big(), torch.zeros(2, 3), family="full", steps=1)


def test_the_size_limit_reads_the_fitted_k_not_a_later_setting():
    """set_params(latent_dim=65) on a fitted PPCA changes the next fit only: its K is still 3,
    so a full-covariance q is allowed, and started at the exact posterior it stays there."""
    data = make_linear_gaussian(n=200, dim=8, latent_dim=K, noise_variance=0.2, seed=1)
    model = PPCA(latent_dim=K).fit(data.x.double())
    model.set_params(latent_dim=MAX_FULL_COVARIANCE_DIM + 1)
    x = data.x[:4].double()
    q, _ = fit_local_posterior(
        model, x, family="full", steps=2, init=model.encode(x), log_lik_method="analytic"
    )
    assert q.event_shape == (K,)
    gap = model.log_marginal(x) - elbo(model, x, q=q, log_lik_method="analytic").elbo
    assert gap.abs().max() < 1e-10


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps must be a positive integer"),
        ({"family": "lowrank"}, "family must be one of"),
        ({"objective": "cubo"}, "objective must be one of"),
        ({"lr": 0.0}, "lr must be a positive finite number"),
    ],
    ids=["steps=0", "unknown-family", "unknown-objective", "lr=0"],
)
def test_bad_arguments(ppca, kwargs, message):
    model, x = ppca
    with pytest.raises(ConfigError, match=message):
        fit_local_posterior(model, x, **{"steps": 2, **kwargs})
