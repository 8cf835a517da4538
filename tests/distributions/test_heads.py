"""Likelihood heads return the right distributions with trainable variance where asked."""

import math

import pytest
import torch

from torchlvm.distributions import BernoulliLikelihood, GaussianLikelihood, make_likelihood
from torchlvm.errors import ConfigError


def test_bernoulli_head_is_stable_for_extreme_logits():
    head = BernoulliLikelihood(3)
    logits = torch.tensor([[-200.0, 0.0, 200.0]])
    x = torch.tensor([[0.0, 1.0, 1.0]])
    log_p = head(logits).log_prob(x)
    assert log_p.shape == (1,)
    assert log_p.item() == pytest.approx(math.log(0.5), abs=1e-6)


def test_bernoulli_head_scores_in_the_logits_dtype():
    """A float64 model's likelihood of float32 data is computed in float64 (BCE-with-logits
    alone would compute it in its target's float32)."""
    logits = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x = (torch.rand(4, 6, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    log_p = BernoulliLikelihood(6)(logits).log_prob(x)
    assert log_p.dtype == torch.float64
    expected = torch.distributions.Bernoulli(logits=logits).log_prob(x.double()).sum(-1)
    torch.testing.assert_close(log_p, expected, rtol=1e-12, atol=0)


def test_bernoulli_head_gives_torchs_log_prob_bit_for_bit_and_its_gradient():
    head = BernoulliLikelihood(7)
    logits = torch.randn(2, 5, 7, generator=torch.Generator().manual_seed(0), requires_grad=True)
    x = (torch.rand(5, 7, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    ours = head(logits).log_prob(x)  # (S, B) from (S, B, D) and x (B, D)
    torchs = torch.distributions.Independent(torch.distributions.Bernoulli(logits=logits), 1)
    reference = torchs.log_prob(x)
    assert ours.shape == (2, 5) and torch.equal(ours, reference)
    (grad,) = torch.autograd.grad(ours.sum(), logits)
    torch.testing.assert_close(grad, torch.autograd.grad(reference.sum(), logits)[0])
    assert head(logits).expand((3, 2, 5)).log_prob(x).shape == (3, 2, 5)


@pytest.mark.parametrize("variance", ["fixed", "scalar", "diagonal"])
def test_gaussian_head_density_and_parameters(variance):
    head = GaussianLikelihood(4, variance=variance, scale=0.5)
    loc = torch.zeros(2, 3, 4)  # (S, B, D)
    d = head(loc)
    assert d.batch_shape == (2, 3) and d.event_shape == (4,)
    expected = 4 * (-0.5 * math.log(2 * math.pi) - math.log(0.5))
    assert d.log_prob(torch.zeros(4)).flatten()[0].item() == pytest.approx(expected, rel=1e-6)
    n_params = sum(p.numel() for p in head.parameters())
    assert n_params == {"fixed": 0, "scalar": 1, "diagonal": 4}[variance]


def test_learned_scale_has_a_floor():
    head = GaussianLikelihood(2, variance="scalar", min_scale=1e-2)
    with torch.no_grad():
        head.log_scale.fill_(-50.0)
    assert head.scale().item() == pytest.approx(1e-2)


def test_make_likelihood_by_name():
    assert isinstance(make_likelihood("gaussian", 5, variance="diagonal"), GaussianLikelihood)
    with pytest.raises(ConfigError, match="likelihood must be one of"):
        make_likelihood("poisson", 5)
    with pytest.raises(ConfigError, match="scale must be a positive"):
        GaussianLikelihood(5, scale=0.0)
    with pytest.raises(ConfigError, match="dim must be a positive integer, got 0"):
        BernoulliLikelihood(0)


def test_the_bernoulli_head_builds_what_torchs_constructors_build() -> None:
    from torchlvm.distributions.heads import IndependentBernoulli

    logits = torch.randn(5, 7)
    ours = BernoulliLikelihood(7)(logits)
    base = torch.distributions.Bernoulli(logits=logits, validate_args=False)
    theirs = IndependentBernoulli(base, 1)
    assert type(ours) is type(theirs) and vars(ours).keys() == vars(theirs).keys()
    assert ours.batch_shape == theirs.batch_shape and ours.event_shape == theirs.event_shape
    assert vars(ours.base_dist).keys() == vars(theirs.base_dist).keys()
    for key, value in vars(theirs.base_dist).items():
        mine = vars(ours.base_dist)[key]
        assert mine is value if isinstance(value, torch.Tensor) else mine == value, key
