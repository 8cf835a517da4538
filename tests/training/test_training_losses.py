"""Training losses are compositions of torchlvm.inference, checked against it directly."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal

from torchlvm.errors import ConfigError
from torchlvm.inference import elbo
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import TrainConfig, training_loss
from torchlvm.training.losses import free_bits_kl, kl_per_dimension
from torchlvm.training.objectives import check_objective


@pytest.fixture
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(6, latent_dim=3, hidden=(8,)))


@pytest.fixture
def x() -> torch.Tensor:
    return _binary(5)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models train fastest on one thread (and CI machines are shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _binary(n: int) -> torch.Tensor:
    return torch.bernoulli(torch.full((n, 6), 0.5), generator=torch.Generator().manual_seed(0))


def test_elbo_loss_is_minus_the_elbo(vae: VAE, x: torch.Tensor) -> None:
    torch.manual_seed(1)
    terms = training_loss(vae, x, None, TrainConfig())
    torch.manual_seed(1)
    reference = elbo(vae, x)
    assert set(terms) == {"loss", "elbo", "log_lik", "kl"}
    torch.testing.assert_close(terms["loss"], -reference.elbo)
    torch.testing.assert_close(terms["kl"], reference.kl)
    assert terms["loss"].shape == (5,)


def test_beta_weights_only_the_kl(vae: VAE, x: torch.Tensor) -> None:
    torch.manual_seed(1)
    terms = training_loss(vae, x, None, TrainConfig(beta=3.0), kl_weight=3.0)
    torch.testing.assert_close(terms["loss"], -(terms["log_lik"] - 3.0 * terms["kl"]))


def test_free_bits_batch_mean_is_sum_of_clamped_means() -> None:
    kl_dims = torch.tensor([[0.1, 2.0], [0.3, 4.0]], requires_grad=True)
    per_example = free_bits_kl(kl_dims, 0.5)
    assert per_example.mean().item() == pytest.approx(0.5 + 3.0)
    per_example.mean().backward()
    # the held dimension gets no gradient, the free one its usual 1/B
    torch.testing.assert_close(kl_dims.grad, torch.tensor([[0.0, 0.5], [0.0, 0.5]]))


def test_kl_per_dimension_sums_to_the_kl(vae: VAE, x: torch.Tensor) -> None:
    q, p = vae.encode(x), vae.prior(batch_shape=(5,))
    dims = kl_per_dimension(q, p)
    assert dims.shape == (5, 3)
    torch.testing.assert_close(dims.sum(-1), torch.distributions.kl_divergence(q, p))


def test_kl_per_dimension_refuses_full_covariance() -> None:
    q = MultivariateNormal(torch.zeros(2), torch.eye(2))
    p = Independent(Normal(torch.zeros(2), torch.ones(2)), 1)
    with pytest.raises(ConfigError, match="free bits need diagonal Gaussian"):
        kl_per_dimension(q, p)


def test_iwae_with_one_sample_matches_the_elbo_loss_in_expectation(vae: VAE) -> None:
    x = _binary(2000)
    torch.manual_seed(0)
    iwae = training_loss(vae, x, None, TrainConfig(objective="iwae", k=1))
    torch.manual_seed(0)
    loss = training_loss(vae, x, None, TrainConfig())
    assert set(iwae) == {"loss", "iwae", "elbo", "log_lik", "kl"}
    assert iwae["loss"].mean().item() == pytest.approx(loss["loss"].mean().item(), rel=0.02)


def test_iwae_bound_is_tighter_with_more_samples(vae: VAE) -> None:
    x = _binary(500)
    torch.manual_seed(0)
    k1 = training_loss(vae, x, None, TrainConfig(objective="iwae", k=1))["iwae"].mean()
    k20 = training_loss(vae, x, None, TrainConfig(objective="iwae", k=20))["iwae"].mean()
    assert k20 > k1


def test_iwae_terms_come_from_one_decoder_pass(vae: VAE, monkeypatch) -> None:
    x = _binary(50)
    calls = []
    decode = vae.decode
    monkeypatch.setattr(vae, "decode", lambda z, c=None: calls.append(z.shape) or decode(z, c))
    terms = training_loss(vae, x, None, TrainConfig(objective="iwae", k=5))
    assert calls == [torch.Size([5, 50, 3])]  # the k draws of the bound, nothing more
    torch.testing.assert_close(terms["log_lik"] - terms["kl"], terms["elbo"])
    assert torch.all(terms["elbo"] <= terms["iwae"] + 1e-5)  # mean ≤ log-mean-exp


def test_reconstruction_loss_is_the_autoencoders() -> None:
    ae = Autoencoder(AutoencoderConfig(6, latent_dim=2, hidden=(8,)))
    x = torch.rand(4, 6)
    terms = training_loss(ae, x, None, TrainConfig(objective="reconstruction"))
    torch.testing.assert_close(terms["loss"], ae.reconstruction_loss(x))


def test_objective_must_suit_the_model(vae: VAE) -> None:
    ae = Autoencoder(AutoencoderConfig(6, latent_dim=2, hidden=(8,)))
    with pytest.raises(
        ConfigError, match="trains ae models, not VAE .* objective 'elbo' or 'iwae'"
    ):
        check_objective(vae, "reconstruction")
    with pytest.raises(ConfigError, match="trains vae, cvae models, not Autoencoder .*'reconstr"):
        check_objective(ae, "elbo")
