"""Latent-space metrics: active units count 0 for a model whose encoder ignores x and the full
latent size for PPCA; per-dimension KLs sum to the total for a factorized q; the ELBO splits into
rate and distortion."""

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.errors import DataError
from torchlvm.evaluation.latent import (
    active_units,
    kl_per_dimension,
    per_example_kl_per_dimension,
    posterior_means,
    summarize_latent,
)
from torchlvm.evaluation.likelihood import per_example_likelihood
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", "train").x, load_dataset("digits", "test").x


def collapsed_vae() -> VAE:
    """A VAE whose encoder ignores x on purpose: its last layer's weights are zero, so
    q(z | x) = N(b_μ, diag σ(b_σ)²) is the same for every x (posterior collapse)."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=6, hidden=(32,)))
    last = [m for m in model.encoder.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.normal_()
    return model.eval()


def test_active_units_is_zero_for_an_encoder_that_ignores_x(digits):
    _, test = digits
    model = collapsed_vae()
    count, activity = active_units(posterior_means(model, test))
    assert count == 0
    assert activity.max() < 1e-12


def test_active_units_is_the_latent_size_for_ppca(digits):
    train, test = digits
    model = PPCA(latent_dim=10).fit(train)
    count, activity = active_units(posterior_means(model, test))
    assert count == 10 and activity.min() > 0.01


def test_active_units_counts_only_varying_dimensions():
    means = torch.cat([torch.randn(500, 3), torch.full((500, 2), 0.7)], dim=1)
    assert active_units(means)[0] == 3


def test_kl_per_dimension_sums_to_the_total_for_a_factorized_q(digits):
    _, test = digits
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=5, hidden=(32,))).eval()
    with torch.no_grad():
        q = model.encode(test[:50])
        per_dim, factorized = kl_per_dimension(q, model.prior(batch_shape=(50,)))
        total = torch.distributions.kl_divergence(q, model.prior(batch_shape=(50,)))
    assert factorized and per_dim.shape == (50, 5)
    torch.testing.assert_close(per_dim.sum(-1), total)


def test_ppca_kl_per_dimension_is_marked_as_marginal(digits):
    train, test = digits
    model = PPCA(latent_dim=4).fit(train)
    kl_dims, factorized, matched = per_example_kl_per_dimension(model, test[:20])
    assert not factorized and kl_dims.shape == (20, 4)
    assert not matched  # a full Gaussian's 1-D marginals are Gaussian: their KL is exact


def test_rate_and_distortion_add_up_to_the_negative_elbo(digits):
    _, test = digits
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=5, hidden=(32,), likelihood="gaussian")).eval()
    terms = per_example_likelihood(model, test[:40], k=2, ks=(1,))
    means = posterior_means(model, test[:40])
    summary = summarize_latent(means, None, False, terms)
    elbo = float(terms["elbo"].double().mean())
    rate, distortion = summary["rate"]["value"], summary["distortion"]["value"]
    assert elbo == pytest.approx(-(rate + distortion))
    assert summary["rate"]["unit"] == "nats/example"


def test_one_example_has_no_active_units_to_count():
    """Over one example the variance of the posterior means is 0 by construction: evaluate on a
    one-row test split printed 'active units 0 of 4' as if measured. It is refused by the
    function and undefined, with the reason, in the summary."""
    with pytest.raises(DataError, match=r"at least 2 rows, got 1"):
        active_units(torch.zeros(1, 4))
    summary = summarize_latent(torch.zeros(1, 4), None, False, None)
    assert summary["active_units"]["kind"] == "undefined" and "activity" not in summary
    assert "needs at least 2 examples, and 1 was evaluated" in summary["active_units"]["note"]
    two = torch.tensor([[0.0] * 4, [1.0] * 4])  # a variance of 0.5 in each unit
    assert summarize_latent(two, None, False, None)["active_units"]["value"] == 4


def test_a_conditional_models_rate_and_distortion_name_c():
    """A CVAE's latent section said "KL(q(z|x) ‖ p(z))" and "−E_q[log p(x|z)]" where its ELBO
    line said log p(x | c) and training KL(q(z|x,c) ‖ p(z|c)) (userE)."""
    terms = {"kl": torch.tensor([1.0, 2.0]), "log_lik": torch.tensor([-3.0, -4.0])}
    means = torch.randn(2, 3)
    given = summarize_latent(means, None, True, terms, conditional=True)
    assert given["kl_total"]["note"] == "KL(q(z|x,c) ‖ p(z|c)), analytic"
    assert given["rate"]["note"] == "R = E_x KL(q(z|x,c) ‖ p(z|c))"
    assert given["distortion"]["note"].startswith("D = −E_x E_q[log p(x|z,c)], closed form")
    plain = summarize_latent(means, None, True, terms)
    assert plain["kl_total"]["note"] == "KL(q(z|x) ‖ p(z)), analytic"


def collapsed_cvae():
    """A CVAE with a learned prior p(z | c) whose q(z | x, c) is p(z | c) on purpose: the code
    carries nothing beyond c, while its mean moves with c (the prior net's)."""
    from torchlvm.models.cvae import CVAE, CVAEConfig

    torch.manual_seed(0)
    model = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(16,), num_classes=10)).eval()
    last = [m for m in model.prior_net.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # (it starts at N(0, I)): means apart for the ten classes, as trained
        last.weight.normal_()
    model.encode = lambda x, c=None: model.prior(c, batch_shape=x.shape[:-1])
    return model


def test_a_learned_prior_cvae_whose_code_is_its_prior_has_no_active_unit(digits):
    """userI #13: a digits CVAE (mask:top, learned p(z|c)) counted 20 of 20 units active by
    Burda's Cov_x(E_q[z_i]), while q(z|x,c) ≈ p(z|c): its prior's means move with c. Under a
    prior that depends on c, activity is Var_x(E_q[z_i|x,c] − E_p[z_i|c]), so this model counts
    none, and the record says which measure it took; the training check warns of it."""
    from torchlvm.evaluation.latent import prior_means
    from torchlvm.models.cvae import CVAE, CVAEConfig
    from torchlvm.training.collapse import inactive_activity

    _, test = digits
    labels = torch.arange(len(test)) % 10
    c = torch.nn.functional.one_hot(labels, 10).float()
    model = collapsed_cvae()
    means, centres = posterior_means(model, test, c), prior_means(model, test, c)
    assert active_units(means)[0] == 4  # Burda's measure: the prior's moving mean
    count, activity = active_units(means, centres=centres)
    assert count == 0 and activity.max() < 1e-12
    latent = summarize_latent(means, None, True, None, conditional=True, centres=centres)
    assert latent["active_units"]["value"] == 0 and latent["active_units"]["from_prior_mean"]
    assert "E_p[z_i|c]" in latent["active_units"]["note"]
    assert inactive_activity(model, test, c) is not None  # collapsed: the warning fires
    assert prior_means(model, test, None) is None  # no condition: nothing to subtract
    standard = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(16,), prior="standard")).eval()
    assert prior_means(standard, test, c) is None  # N(0, I) for every c: Burda's (review12 #7)
