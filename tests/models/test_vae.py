"""VAE: shapes for every architecture, the protocol, ELBO/IWAE on it, config and data checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.distributions import Independent, Normal

from torchlvm.errors import ConfigError, DataError
from torchlvm.inference import elbo, iwae_bound
from torchlvm.models.config import MAX_WIDTH, config_from_dict, config_to_dict
from torchlvm.models.registry import MODELS
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.protocol import LatentVariableModel

CONFIGS = {
    "mlp-digits": VAEConfig(64, latent_dim=3, hidden=(16,)),
    "mlp-iwae-tanh": VAEConfig(64, latent_dim=3, hidden=(16, 16), activation="tanh"),
    "conv-8x8": VAEConfig(64, latent_dim=3, hidden=(16,), arch="conv", image_shape=(1, 8, 8)),
    "conv-28x28": VAEConfig(784, latent_dim=4, hidden=(), arch="conv", image_shape=(1, 28, 28)),
    "gaussian-diagonal": VAEConfig(
        64, latent_dim=3, hidden=(16,), likelihood="gaussian", variance="diagonal", scale=0.5
    ),
    "linear-decoder-gaussian": VAEConfig(
        64, latent_dim=3, hidden=(16,), likelihood="gaussian", linear_decoder=True
    ),
}


@pytest.fixture(params=list(CONFIGS), ids=list(CONFIGS))
def model(request) -> VAE:
    torch.manual_seed(0)
    return VAE(CONFIGS[request.param])


def data(model: VAE, batch: int = 4) -> torch.Tensor:
    return torch.rand(batch, model.input_dim, generator=torch.Generator().manual_seed(1))


def test_vae_satisfies_the_protocol_and_is_registered(model):
    assert isinstance(model, LatentVariableModel)
    assert MODELS["vae"] is VAE and VAE.model_type == "vae" and VAE.Config is VAEConfig
    assert model.latent_dim == model.config.latent_dim and model.input_dim == model.config.input_dim


def test_distribution_shapes(model):
    B, K, D = 4, model.latent_dim, model.input_dim
    q = model.encode(data(model, B))
    assert isinstance(q, Independent) and isinstance(q.base_dist, Normal)
    assert (q.batch_shape, q.event_shape) == ((B,), (K,))
    p_x = model.decode(q.rsample((5,)))  # (S, B, K)
    assert (p_x.batch_shape, p_x.event_shape) == ((5, B), (D,))
    prior = model.prior(batch_shape=(B,))
    assert (prior.batch_shape, prior.event_shape) == ((B,), (K,))
    assert model.prior().batch_shape == ()
    torch.testing.assert_close(prior.mean, torch.zeros(B, K))
    torch.testing.assert_close(prior.stddev, torch.ones(B, K))


def test_point_outputs_have_documented_shapes(model):
    x = data(model)
    assert model.sample(7).shape == (7, model.input_dim)
    assert model.reconstruct(x).shape == x.shape
    assert model.posterior_mean(x).shape == (4, model.latent_dim)
    torch.testing.assert_close(model.posterior_mean(x), model.encode(x).mean)


def test_encoder_scale_is_positive_and_floored_for_extreme_inputs(model):
    q = model.encode(1e4 * data(model))
    assert torch.isfinite(q.base_dist.scale).all() and (q.base_dist.scale > 0).all()


def test_bernoulli_decoder_means_are_probabilities():
    torch.manual_seed(0)
    model = VAE(CONFIGS["mlp-digits"])
    samples = model.sample(10, generator=torch.Generator().manual_seed(0))
    assert ((samples >= 0) & (samples <= 1)).all()


def test_sample_is_reproducible_with_a_generator(model):
    a = model.sample(3, generator=torch.Generator().manual_seed(5))
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_elbo_and_iwae_are_finite_per_example_and_differentiable(model):
    x = data(model)
    terms = elbo(model, x, num_samples=2)
    bound = iwae_bound(model, x, num_samples=5)
    for value in (*terms, bound):
        assert value.shape == (4,) and torch.isfinite(value).all()
    (-(terms.elbo.sum() + bound.sum())).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert (terms.kl >= 0).all()


def test_iwae_with_one_sample_equals_the_monte_carlo_elbo(model):
    x = data(model)
    torch.manual_seed(123)
    bound = iwae_bound(model, x, num_samples=1)
    torch.manual_seed(123)
    terms = elbo(model, x, kl_method="mc")
    torch.testing.assert_close(bound, terms.elbo, rtol=1e-6, atol=1e-5)


def test_iwae_paper_architecture_is_expressible():
    model = VAE(VAEConfig(784, latent_dim=50, hidden=(200, 200), activation="tanh"))
    linear = lambda net: [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)]  # noqa: E731
    assert linear(model.encoder) == [(784, 200), (200, 200), (200, 100)]  # μ and σ: 2 × 50
    assert linear(model.decoder) == [(50, 200), (200, 200), (200, 784)]
    assert sum(isinstance(m, nn.Tanh) for m in model.modules()) == 4


def test_learned_gaussian_variance_is_a_trained_parameter():
    model = VAE(CONFIGS["gaussian-diagonal"])
    names = {name for name, _ in model.named_parameters()}
    assert "likelihood.log_scale" in names
    torch.testing.assert_close(model.likelihood.scale(), torch.full((64,), 0.5))


def test_linear_decoder_is_one_linear_map():
    model = VAE(CONFIGS["linear-decoder-gaussian"])
    assert isinstance(model.decoder, nn.Linear)
    assert (model.decoder.in_features, model.decoder.out_features) == (3, 64)


def test_config_round_trips_through_a_dict_with_lists():
    config = CONFIGS["conv-8x8"]
    record = config_to_dict(config)
    assert record["hidden"] == [16] and record["image_shape"] == [1, 8, 8]
    assert config_from_dict(VAEConfig, record) == config
    assert VAEConfig(64, hidden=[8, 8]).hidden == (8, 8)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dim": 0}, "latent_dim must be a positive integer, got 0"),
        ({"input_dim": -3}, "input_dim must be a positive integer, got -3"),
        ({"latent_dim": MAX_WIDTH + 1}, f"latent_dim must be at most {MAX_WIDTH}"),
        ({"hidden": (16, 10**9)}, f"hidden width must be at most {MAX_WIDTH}"),
        ({"hidden": 16}, r"hidden must be a tuple of layer widths, got 16; .* is hidden=\(16,\)$"),
        ({"arch": "conv"}, r"arch='conv' needs image_shape=\(channels, height, width\), got None"),
        (
            {"arch": "conv", "image_shape": (1, 28, 28)},
            r"image_shape \(1, 28, 28\) holds 784 values but input_dim is 64",
        ),
        ({"arch": "resnet"}, "arch must be one of 'mlp', 'conv', got 'resnet'"),
        ({"activation": "gelu"}, "activation must be one of .*got 'gelu'"),
        ({"likelihood": "poisson"}, "likelihood must be one of 'bernoulli', 'gaussian'"),
        ({"variance": "full"}, "variance must be one of 'fixed', 'scalar', 'diagonal'"),
        ({"scale": 0.0}, "scale must be a positive finite number, got 0.0"),
        ({"linear_decoder": 1}, "linear_decoder must be True or False, got 1"),
    ],
    ids=[
        "latent-0",
        "input-negative",
        "latent-too-wide",
        "hidden-too-wide",
        "hidden-not-tuple",
        "conv-without-image-shape",
        "image-shape-mismatch",
        "unknown-arch",
        "unknown-activation",
        "unknown-likelihood",
        "unknown-variance",
        "zero-scale",
        "non-bool-flag",
    ],
)
def test_bad_config_is_refused(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        VAEConfig(**{"input_dim": 64, **kwargs})


@pytest.mark.parametrize(
    ("shape", "fix"),
    [
        ((2, 8, 8, 3), r"channels-last images \(B, H, W, C\): pass x.permute\(0, 3, 1, 2\)"),
        (
            (2, 3, 8, 8),
            r"pass the images flattened, x.reshape\(len\(x\), -1\), pixels in \(C, H, W\)",
        ),
        ((2, 5, 7), r"pass a tensor of shape \(B, 192\)"),
    ],
    ids=["channels-last", "channels-first", "not-its-images"],
)
def test_a_batch_of_images_is_told_the_order_the_model_reads_pixels_in(shape, fix):
    """userS #4: a run on a channels-last RGB file, used from Python, said "pass a tensor of
    shape (B, 192)" to a (B, H, W, C) batch, and the x.reshape(B, -1) it invites is read without
    an error in the wrong pixel order. A batch of images of the model's size is told the order."""
    model = VAE(VAEConfig(input_dim=192, latent_dim=2, hidden=(8,)))
    with pytest.raises(DataError, match=fix):
        model.encode(torch.rand(shape))


def test_data_with_the_wrong_feature_count_is_refused():
    model = VAE(CONFIGS["mlp-digits"])
    with pytest.raises(DataError, match="data has 784 features but the model expects 64"):
        model.encode(torch.rand(2, 784))
    with pytest.raises(DataError, match="data has 784 features"):
        elbo(model, torch.rand(2, 784))
    with pytest.raises(DataError, match="z has 5 entries but the model expects 3"):
        model.decode(torch.randn(2, 5))
    with pytest.raises(DataError, match="must be a floating-point tensor, got torch.uint8"):
        model.encode(torch.zeros(2, 64, dtype=torch.uint8))
    with pytest.raises(
        DataError, match=r"^data must be a torch.Tensor, got numpy.ndarray; .*as_tensor"
    ):
        model.encode(torch.zeros(2, 64).numpy())  # (the fix was not named)


def test_bad_sample_count_is_refused():
    with pytest.raises(ConfigError, match="n must be a positive integer, got 0"):
        VAE(CONFIGS["mlp-digits"]).sample(0)


def test_decode_takes_z_of_any_float_dtype_as_the_models() -> None:
    model = VAE(VAEConfig(input_dim=6, latent_dim=2, hidden=(4,)))
    z = torch.zeros(3, 2, dtype=torch.float64)  # e.g. from NumPy
    assert model.decode(z).mean.dtype == torch.float32
    assert model.double().decode(z.float()).mean.dtype == torch.float64
