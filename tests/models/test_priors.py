"""Learned priors by name: the mixture of Gaussians and the VampPrior against their definitions,
samples drawn from the learned prior, and the Monte Carlo KL they declare."""

import math

import pytest
import torch
from torch.distributions import Independent, Normal

from torchlvm.errors import ConfigError
from torchlvm.inference import elbo, fit_local_posterior, log_marginal_is
from torchlvm.io import load
from torchlvm.models.priors import PRIORS, draw
from torchlvm.models.vae import VAE, VAEConfig


def vae(prior: str, posterior: str = "diag", components: int = 4) -> VAE:
    torch.manual_seed(0)
    config = VAEConfig(
        12,
        latent_dim=3,
        hidden=(16,),
        prior=prior,
        posterior=posterior,
        prior_components=components,
    )
    return VAE(config)


def test_registry_holds_the_three_priors():
    assert set(PRIORS) >= {"standard", "vamp", "mog"}


def test_mixture_log_density_is_the_log_of_the_weighted_sum():
    model = vae("mog")
    family = model.prior_family
    with torch.no_grad():
        family.logits.copy_(torch.tensor([0.0, 1.0, -1.0, 0.5]))
    z = torch.randn(6, 3)
    weights = family.logits.log_softmax(0)  # (C,)
    scale = torch.nn.functional.softplus(family.pre_scale) + 1e-4
    per = Independent(Normal(family.loc, scale), 1).log_prob(z.unsqueeze(1))  # (6, C)
    expected = torch.logsumexp(per + weights, -1)
    assert torch.allclose(model.prior(batch_shape=(6,)).log_prob(z), expected, atol=1e-5)


@pytest.mark.parametrize("posterior", ["diag", "full", "flow"])
def test_vamp_prior_is_the_mean_of_the_encoder_at_the_pseudo_inputs(posterior):
    model = vae("vamp", posterior)
    u = model.prior_family.pseudo_inputs  # (C, D)
    z = torch.randn(6, 3)
    per = model.encode(u).log_prob(z.unsqueeze(1))  # (6, C)
    expected = torch.logsumexp(per, -1) - math.log(u.shape[0])
    assert torch.allclose(model.prior(batch_shape=(6,)).log_prob(z), expected, atol=1e-4)


@pytest.mark.parametrize("prior", ["standard", "mog", "vamp"])
def test_sampling_draws_from_the_prior_reproducibly(prior):
    model = vae(prior)
    first = model.sample(5, generator=torch.Generator().manual_seed(3))
    again = model.sample(5, generator=torch.Generator().manual_seed(3))
    assert first.shape == (5, 12) and torch.equal(first, again)


def test_samples_come_from_the_learned_mixture():
    model = vae("mog", components=2)
    family = model.prior_family
    with torch.no_grad():
        family.loc.copy_(torch.tensor([[8.0, 8.0, 8.0], [-8.0, -8.0, -8.0]]))
        family.logits.copy_(torch.tensor([math.log(3.0), 0.0]))  # weights 3/4, 1/4
        family.pre_scale.fill_(-5.0)  # σ ≈ 0.007
    z = family.sample(4000, model._posterior, family.loc, torch.Generator().manual_seed(0))
    assert z.shape == (4000, 3)
    share = (z[:, 0] > 0).float().mean()
    assert abs(share - 0.75) < 0.03
    assert torch.allclose(z[z[:, 0] > 0].mean(0), torch.full((3,), 8.0), atol=0.01)


@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_learned_priors_use_a_monte_carlo_kl_and_train(prior):
    model = vae(prior)
    assert model.kl_method == "mc"
    x = (torch.rand(64, 12, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    params = [p for name, p in model.named_parameters() if name.startswith("prior_family")]
    before = [p.detach().clone() for p in params]
    torch.manual_seed(0)
    (-elbo(model, x).elbo.mean()).backward()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert all(not torch.equal(a, p) for a, p in zip(before, params, strict=True))


def test_local_posterior_and_importance_sampling_work_under_a_learned_prior():
    model = vae("vamp")
    x = (torch.rand(4, 12, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    torch.manual_seed(0)
    q, history = fit_local_posterior(model, x, steps=5, num_samples=2)
    assert history.shape == (6, 4) and torch.isfinite(history).all()
    est = log_marginal_is(model, x, num_samples=200)
    assert torch.isfinite(est.mean).all()


@pytest.mark.parametrize("prior", ["mog", "vamp"])
def test_save_and_load_restore_the_learned_prior(prior, tmp_path):
    model = vae(prior).eval()
    model.save_pretrained(tmp_path / "m")
    loaded = load(tmp_path / "m")
    z = torch.randn(5, 3)
    assert torch.allclose(model.prior(batch_shape=(5,)).log_prob(z), loaded.prior().log_prob(z))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"prior": "gamma"}, "prior must be one of"),
        ({"prior": "mog", "prior_components": 0}, "prior_components must be a positive integer"),
    ],
    ids=["unknown", "no-components"],
)
def test_bad_prior_settings_are_named(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        VAEConfig(12, latent_dim=3, hidden=(16,), **kwargs)


def test_draw_is_reproducible_from_a_generator_and_leaves_the_global_state():
    prior = vae("mog").prior()
    state = torch.get_rng_state()
    first = draw(prior, 7, torch.Generator().manual_seed(5))
    assert torch.equal(torch.get_rng_state(), state)
    assert first.shape == (7, 3)
    assert torch.equal(first, draw(prior, 7, torch.Generator().manual_seed(5)))


def two_far_modes() -> VAE:
    """A mixture prior with modes at ±8 (weights 3/4, 1/4, σ ≈ 0.007): a draw from it is
    near ±8 in every coordinate, where N(0, I) or its moment-matched Gaussian rarely go."""
    model = vae("mog", components=2)
    family = model.prior_family
    with torch.no_grad():
        family.loc.copy_(torch.tensor([[8.0, 8.0, 8.0], [-8.0, -8.0, -8.0]]))
        family.logits.copy_(torch.tensor([math.log(3.0), 0.0]))
        family.pre_scale.fill_(-5.0)
    return model


def decoded_codes(model: VAE) -> list[torch.Tensor]:
    """Record every z the model decodes from now on (its ``decode`` wrapped)."""
    seen: list[torch.Tensor] = []
    decode = model.decode

    def recording(z, c=None):
        seen.append(z.detach().clone())
        return decode(z, c)

    model.decode = recording
    return seen


def test_every_prior_draw_comes_from_the_learned_prior():
    from torchlvm.evaluation.eval_data import EvalData
    from torchlvm.evaluation.sample_section import generate
    from torchlvm.inference.imputation import draw_rows
    from torchlvm.models.conditions import Condition

    model = two_far_modes()
    seen = decoded_codes(model)
    g = torch.Generator().manual_seed(0)
    model.sample(200, generator=g)  # torchlvm sample, report samples
    draw_rows(model, 200, g)  # torchlvm sample RUN --out rows.csv
    x = torch.zeros(200, 12)
    generate(model, EvalData(x, x, None, None, None), Condition.parse("none"), None)  # evaluate
    assert len(seen) == 3
    for z in seen:
        assert z.shape == (200, 3)
        assert torch.allclose(z.abs(), torch.full_like(z, 8.0), atol=0.1)
        assert 0.6 < (z[:, 0] > 0).float().mean() < 0.9  # the weights 3/4, 1/4


def test_traversals_and_the_manifold_walk_the_learned_prior():
    from torchlvm.evaluation.figure_data import TRAVERSAL_VALUES, figure_data

    model = two_far_modes()
    seen = decoded_codes(model)
    figure_data(model, torch.zeros(4, 12), None, None, shape=(12,))
    with torch.no_grad():
        prior = model.prior()  # mean 0.75·8 − 0.25·8 = 4, σ² ≈ 3/16 · 16² = 48 per coordinate
        mean, sd = prior.mean, prior.stddev
    traversal = next(z for z in seen if len(z) == 3 * len(TRAVERSAL_VALUES))
    mid = TRAVERSAL_VALUES.index(0.0)
    assert torch.allclose(traversal[mid], mean, atol=1e-4)
    assert torch.allclose(traversal[0, 0], mean[0] - 3 * sd[0], atol=1e-3)
    assert abs(float(sd[0]) - 48**0.5) < 0.01
