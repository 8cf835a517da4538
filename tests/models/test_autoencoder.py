"""Autoencoder and PointMass: shapes, the reconstruction objective, the linear AE = PCA subspace,
the fitted code distribution, and why the ELBO is refused."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch.distributions import Independent, MultivariateNormal, Normal

from torchlvm.distributions.point_mass import PointMass, UndefinedDensityError
from torchlvm.errors import ConfigError, DataError, NotFittedError, TorchLVMError
from torchlvm.inference import elbo, iwae_bound
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.registry import MODELS
from torchlvm.protocol import LatentVariableModel

CONFIGS = {
    "mlp-mse": AutoencoderConfig(64, latent_dim=3, hidden=(16,)),
    "mlp-bernoulli": AutoencoderConfig(64, latent_dim=3, hidden=(16,), reconstruction="bernoulli"),
    "linear": AutoencoderConfig(64, latent_dim=3, linear=True),
    "conv-8x8": AutoencoderConfig(64, 3, (16,), arch="conv", image_shape=(1, 8, 8)),
    "conv-28x28": AutoencoderConfig(784, 4, (), arch="conv", image_shape=(1, 28, 28)),
}


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def model(request) -> Autoencoder:
    torch.manual_seed(0)
    return Autoencoder(CONFIGS[request.param])


def data(model: Autoencoder, batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, model.input_dim, generator=torch.Generator().manual_seed(1))


# --- PointMass -------------------------------------------------------------------------------


def test_point_mass_samples_are_the_point_expanded_to_the_sample_shape():
    loc = torch.randn(4, 3, requires_grad=True)
    q = PointMass(loc)
    assert (q.batch_shape, q.event_shape) == ((4,), (3,))
    assert q.has_rsample
    z = q.rsample((5,))
    assert z.shape == (5, 4, 3)
    torch.testing.assert_close(z, loc.detach().expand(5, 4, 3))
    z.sum().backward()
    torch.testing.assert_close(loc.grad, torch.full((4, 3), 5.0))
    assert not q.sample((2,)).requires_grad
    torch.testing.assert_close(q.mean, loc)
    torch.testing.assert_close(q.variance, torch.zeros(4, 3))
    assert q.expand((2, 4)).sample().shape == (2, 4, 3)


def test_point_mass_has_no_density_entropy_or_kl():
    q = PointMass(torch.zeros(2, 3))
    with pytest.raises(UndefinedDensityError, match="point mass has no density .* Lebesgue"):
        q.log_prob(torch.zeros(2, 3))
    with pytest.raises(UndefinedDensityError, match="differential entropy is undefined"):
        q.entropy()
    p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    with pytest.raises(UndefinedDensityError, match=r"KL\(q ‖ p\) is undefined"):
        torch.distributions.kl_divergence(q, p)
    assert issubclass(UndefinedDensityError, TorchLVMError)


@pytest.mark.parametrize("codes_fitted", [True, False], ids=["as-trained", "codes-not-fitted"])
def test_elbo_and_iwae_of_an_autoencoder_are_refused_with_the_reason(codes_fitted):
    """Without its codes' Gaussian an autoencoder has no p(z) either, and the bounds said 'call
    fit_code_distribution', which then led to the real reason: q has no density."""
    torch.manual_seed(0)
    x = torch.rand(2, 64)
    model = Autoencoder(CONFIGS["mlp-mse"])
    if codes_fitted:
        model.fit_code_distribution(x)  # as training leaves it
    for kl_method in ("analytic", "mc"):
        with pytest.raises(UndefinedDensityError, match="has no ELBO"):
            elbo(model, x, kl_method=kl_method)
    with pytest.raises(UndefinedDensityError, match="log q"):
        iwae_bound(model, x, num_samples=2)


# --- the model -------------------------------------------------------------------------------


def test_autoencoder_satisfies_the_protocol_and_is_registered(model):
    assert isinstance(model, LatentVariableModel)
    assert MODELS["ae"] is Autoencoder and Autoencoder.Config is AutoencoderConfig


def test_distribution_shapes(model):
    x = data(model)
    q = model.encode(x)
    assert isinstance(q, PointMass)
    assert (q.batch_shape, q.event_shape) == ((4,), (model.latent_dim,))
    p_x = model.decode(q.rsample((2,)))  # (S, B, K)
    assert (p_x.batch_shape, p_x.event_shape) == ((2, 4), (model.input_dim,))
    prior = model.fit_code_distribution(data(model, batch=8)).prior(batch_shape=(4,))
    assert isinstance(prior, MultivariateNormal) and prior.batch_shape == (4,)
    assert model.reconstruct(x).shape == x.shape
    assert model.posterior_mean(x).shape == (4, model.latent_dim)
    assert model.sample(3, source="standard").shape == (3, model.input_dim)
    assert model.reconstruction_loss(x).shape == (4,)


def test_encode_and_decode_take_any_float_dtype_as_the_models(model):
    z = torch.zeros(2, model.latent_dim, dtype=torch.float64)  # e.g. from NumPy
    assert model.decode(z).mean.dtype == torch.float32
    double = copy.deepcopy(model).double()
    assert double.decode(z.float()).mean.dtype == torch.float64
    assert double.encode(data(model)).mean.dtype == torch.float64


MSE_CONFIGS = [name for name, config in CONFIGS.items() if config.reconstruction == "mse"]


@pytest.mark.parametrize("name", MSE_CONFIGS, ids=MSE_CONFIGS)
def test_mse_loss_is_summed_squared_error_and_matches_the_unit_gaussian(name):
    torch.manual_seed(0)
    model = Autoencoder(CONFIGS[name])
    x = data(model)
    x_hat = model.reconstruct(x)
    loss = model.reconstruction_loss(x)
    torch.testing.assert_close(loss, (x - x_hat).pow(2).sum(-1))
    neg_log_lik = -model.decode(model.encode(x).mean).log_prob(x)
    const = 0.5 * model.input_dim * math.log(2 * math.pi)
    torch.testing.assert_close(loss.detach(), 2 * (neg_log_lik.detach() - const))


def test_bernoulli_loss_is_binary_cross_entropy():
    torch.manual_seed(0)
    model = Autoencoder(CONFIGS["mlp-bernoulli"])
    x = torch.rand(4, 64)
    probs = model.reconstruct(x)
    bce = torch.nn.functional.binary_cross_entropy(probs, x, reduction="none").sum(-1)
    torch.testing.assert_close(model.reconstruction_loss(x).detach(), bce, rtol=1e-4, atol=1e-4)


def test_reconstruction_loss_is_differentiable(model):
    model.reconstruction_loss(data(model)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_linear_autoencoder_is_two_affine_maps():
    model = Autoencoder(CONFIGS["linear"])
    assert isinstance(model.encoder, torch.nn.Linear) and isinstance(model.decoder, torch.nn.Linear)
    assert model.encoder.weight.shape == (3, 64) and model.decoder.weight.shape == (64, 3)


@pytest.fixture
def one_thread():
    """Full-batch L-BFGS on a tiny problem: one thread avoids contention on shared CPUs."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_linear_autoencoder_spans_the_top_principal_subspace(one_thread):
    """Baldi & Hornik (1989): the squared-error optimum spans PCA's top-K subspace."""
    digits = load_digits().data / 16
    digits = digits - digits.mean(0)
    x = torch.tensor(digits, dtype=torch.float32)
    torch.manual_seed(0)
    model = Autoencoder(AutoencoderConfig(64, latent_dim=5, linear=True))
    optimizer = torch.optim.LBFGS(
        model.parameters(), max_iter=300, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = model.reconstruction_loss(x).mean()
        loss.backward()
        return loss

    optimizer.step(closure)
    decoder_columns = model.decoder.weight.detach().double().numpy()  # (64, 5)
    components = PCA(n_components=5).fit(digits).components_.T  # (64, 5)
    max_angle = np.degrees(subspace_angles(decoder_columns, components)).max()
    assert max_angle < 2.0
    # The same subspace, not the same axes: the columns need not be orthonormal eigenvectors.
    gram = decoder_columns.T @ decoder_columns
    assert not np.allclose(gram, np.diag(np.diag(gram)), atol=1e-3)


def test_fitted_code_distribution_is_the_codes_mean_and_covariance():
    torch.manual_seed(0)
    model = Autoencoder(CONFIGS["mlp-mse"])
    x = torch.rand(50, 64)
    assert not model.is_code_distribution_fitted
    assert model.fit_code_distribution(x, chunk=16) is model
    codes = model.posterior_mean(x)
    assert model.is_code_distribution_fitted
    torch.testing.assert_close(model.code_mean, codes.mean(0))
    torch.testing.assert_close(model.code_cov, torch.cov(codes.T), rtol=1e-3, atol=1e-6)
    prior = model.prior()
    assert isinstance(prior, MultivariateNormal)
    torch.testing.assert_close(prior.mean, codes.mean(0))


def test_sampling_from_fitted_codes_differs_from_standard_normal_codes():
    torch.manual_seed(0)
    model = Autoencoder(CONFIGS["mlp-mse"]).fit_code_distribution(torch.rand(50, 64))
    fitted = model.sample(4, generator=torch.Generator().manual_seed(0))
    standard = model.sample(4, source="standard", generator=torch.Generator().manual_seed(0))
    assert fitted.shape == standard.shape == (4, 64)
    assert not torch.allclose(fitted, standard)


def test_sampling_fitted_codes_before_fitting_is_refused():
    """prior() and sample() decide once whether codes have a distribution: prior() was N(0, I)
    before fit_code_distribution while sample() refused, so generation through the protocol
    (decode(prior().sample())) drew the naive N(0, I) codes that sample() declines to."""
    model = Autoencoder(CONFIGS["mlp-mse"])
    fix = r"call fit_code_distribution\(x_train\) first"
    with pytest.raises(NotFittedError, match=fix) as from_sample:
        model.sample(2)
    with pytest.raises(NotFittedError, match=fix) as from_prior:
        model.prior(batch_shape=(2,))
    assert str(from_sample.value) == str(from_prior.value)
    assert "source='standard'" in str(from_prior.value)  # the naive codes stay one word away
    with pytest.raises(ConfigError, match="source must be one of 'fitted', 'standard'"):
        model.sample(2, source="prior")


def test_fitting_codes_needs_two_rows_of_the_right_width():
    model = Autoencoder(CONFIGS["mlp-mse"])
    with pytest.raises(DataError, match=r"N >= 2, got \(1, 64\)"):
        model.fit_code_distribution(torch.rand(1, 64))
    with pytest.raises(DataError, match="data has 10 features but the model expects 64"):
        model.fit_code_distribution(torch.rand(5, 10))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer, got 0"),
        ({"arch": "conv"}, "arch='conv' needs image_shape"),
        (
            {"linear": True, "arch": "conv", "image_shape": (1, 8, 8)},
            r"linear=True \(for an autoencoder.* uses single affine maps .* pass arch='mlp'",
        ),
        ({"reconstruction": "l1"}, "reconstruction must be one of 'mse', 'bernoulli'"),
    ],
    ids=["latent-0", "conv-without-image-shape", "linear-conv", "unknown-reconstruction"],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        AutoencoderConfig(**{"input_dim": 64, **kwargs})


def test_data_with_the_wrong_feature_count_is_refused(model):
    wrong = 784 if model.input_dim == 64 else 64
    with pytest.raises(DataError, match=f"data has {wrong} features but the model expects"):
        model.reconstruction_loss(torch.rand(2, wrong))


def test_a_linear_conv_autoencoder_names_the_command_line_fix():
    with pytest.raises(ConfigError) as err:
        AutoencoderConfig(input_dim=64, linear=True, arch="conv", image_shape=(1, 8, 8))
    assert "pass --arch mlp or drop --linear-decoder, got --arch conv" in (
        err.value.on_command_line
    )
    assert "linear=True" not in err.value.on_command_line
