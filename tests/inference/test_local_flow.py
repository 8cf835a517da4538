"""A flow fitted per point, and the Cremer et al. decomposition with it and with AIS, on a model
with a known answer: x = z₁ + z₂ + ε, whose posterior is a correlated Gaussian, so the best
diagonal q has a known, large gap ½(2 log(1 + 1/σ²) − log(1 + 2/σ²)) while an affine coupling
flow can represent the posterior exactly."""

import json
import math

import pytest
import torch
from torch.distributions import Independent, Normal

from torchlvm.errors import ConfigError
from torchlvm.inference.gaps import inference_gaps
from torchlvm.inference.local_flow import LocalFlow, fit_local_flow
from torchlvm.models.posteriors import FlowQ

SIGMA = 0.1
MEAN_FIELD_GAP = 0.5 * (2 * math.log(1 + 1 / SIGMA**2) - math.log(1 + 2 / SIGMA**2))


class SumModel:
    """p(z) = N(0, I₂), p(x | z) = N(z₁ + z₂, σ²); the encoder is the prior (a poor one)."""

    latent_dim = 2

    def prior(self, c=None, batch_shape=()):
        loc = torch.zeros(*batch_shape, 2)
        return Independent(Normal(loc, torch.ones_like(loc)), 1)

    def encode(self, x, c=None):
        return self.prior(batch_shape=x.shape[:-1])

    def decode(self, z, c=None):
        return Independent(Normal(z.sum(-1, keepdim=True), SIGMA), 1)


class ExactSumModel(SumModel):
    def log_marginal(self, x):
        return Normal(0.0, math.sqrt(2 + SIGMA**2)).log_prob(x).sum(-1)


X = torch.tensor([[-1.0], [0.0], [0.5], [2.0]])


def test_local_flow_starts_as_its_gaussian():
    loc, scale = torch.randn(3, 4), torch.rand(3, 4) + 0.5
    q = LocalFlow(loc, scale, flow_steps=2).distribution()
    z = torch.randn(5, 3, 4)
    expected = Independent(Normal(loc, scale), 1).log_prob(z)
    assert isinstance(q, FlowQ)
    assert torch.allclose(q.log_prob(z), expected, atol=1e-5)


def test_decomposition_with_a_flow_closes_the_mean_field_gap():
    report = inference_gaps(
        ExactSumModel(), X, local_steps=200, lr=0.05, flow_steps=2, elbo_samples=2000, chunk=500
    )
    assert report.log_px_method == "exact" and report.flow_steps == 2
    # the best diagonal q cannot beat the analytic mean-field gap
    assert (report.approximation_gap > MEAN_FIELD_GAP - 4 * report.stderrs()["best_elbo"]).all()
    # the flow fitted per point removes most of it
    assert report.summary()["flow_approximation_gap"] < 0.25 * MEAN_FIELD_GAP
    assert report.summary()["amortization_gap"] > 10  # the prior as encoder is far off
    record = json.loads(json.dumps(report.to_dict()))
    assert len(record["per_example"]["flow_elbo_stderr"]) == 4
    assert record["mean"]["flow_approximation_gap_se"] > 0


def test_decomposition_estimates_log_px_by_ais():
    torch.manual_seed(0)
    report = inference_gaps(SumModel(), X, local_steps=50, lr=0.05, ais_steps=200, ais_chains=16)
    assert report.log_px_method.startswith("AIS") and report.k is None
    exact = ExactSumModel().log_marginal(X)
    assert ((report.log_px - exact).abs() < 4 * report.log_px_stderr + 0.05).all()


def test_fit_local_flow_records_its_history_and_refuses_bad_settings():
    q, history = fit_local_flow(SumModel(), X, steps=5, num_samples=2)
    assert history.shape == (6, 4) and q.batch_shape == (4,)
    with pytest.raises(ConfigError, match="flow_steps must be a positive integer, got 0"):
        fit_local_flow(SumModel(), X, flow_steps=0)
    with pytest.raises(ConfigError, match="lr must be a positive finite number"):
        fit_local_flow(SumModel(), X, lr=0.0)


def test_each_point_has_its_own_flow_weights():
    local = LocalFlow(torch.zeros(3, 2), torch.ones(3, 2), flow_steps=2, width=8)
    assert all(w.shape[0] == 3 for w in local.weights)
    z = torch.randn(4, 3, 2)
    value = local.distribution().log_prob(z)  # (4, 3)
    value[:, 0].sum().backward()  # point 0's objective alone
    grads = [w.grad for w in local.weights]
    assert any(g[0].abs().sum() > 0 for g in grads)
    assert all((g[1:] == 0).all() for g in grads)
    assert (local.loc.grad[1:] == 0).all() and (local.log_scale.grad[1:] == 0).all()


def test_fitting_one_point_leaves_another_points_q_as_it_was():
    """Point 0's q is the same whichever point is fitted beside it: the points share no
    parameter, and Adam's per-coordinate steps do not mix them."""
    fits = []
    for other in (-1.0, 3.0):
        torch.manual_seed(0)
        q, _ = fit_local_flow(SumModel(), torch.tensor([[0.5], [other]]), steps=30)
        torch.manual_seed(1)
        z = torch.randn(16, 2, 2)
        fits.append(q.log_prob(z))
    assert torch.equal(fits[0][:, 0], fits[1][:, 0])
    assert not torch.allclose(fits[0][:, 1], fits[1][:, 1])
