"""Model recipes: how `torchlvm train` builds each model type from options, declared by the type."""

from __future__ import annotations

import pytest

from torchlvm.errors import ConfigError
from torchlvm.models import CVAE, VAE, Autoencoder, AutoencoderConfig, CVAEConfig, VAEConfig
from torchlvm.models.registry import RECIPES, DataFacts, recipe_for

IMAGES = DataFacts(input_dim=64, shape=(1, 8, 8))
OPTIONS = {"latent_dim": 3, "hidden": [16, 8], "activation": "tanh", "arch": "mlp"}


def test_every_trainable_type_has_a_recipe_and_ppca_is_fitted_not_trained():
    assert sorted(RECIPES) == ["ae", "cvae", "vae"]
    with pytest.raises(ConfigError, match="'ae', 'cvae', 'vae', got 'ppca'"):
        recipe_for("ppca")


@pytest.mark.parametrize(
    "likelihood, reconstruction", [("bernoulli", "bernoulli"), ("gaussian", "mse")]
)
def test_autoencoder_recipe_maps_the_likelihood_to_its_reconstruction_loss(
    likelihood, reconstruction
):
    options = {**OPTIONS, "likelihood": likelihood, "linear_decoder": True}
    config = recipe_for("ae").config(Autoencoder, options, IMAGES)
    assert config == AutoencoderConfig(
        64, latent_dim=3, hidden=(16, 8), activation="tanh", linear=True,
        reconstruction=reconstruction,
    )  # fmt: skip
    assert recipe_for("ae").default_objective == "reconstruction"
    assert "beta" not in recipe_for("ae").options


def test_vae_recipe_takes_the_image_shape_from_the_data_for_convolutions():
    options = {
        **OPTIONS,
        "arch": "conv",
        "likelihood": "gaussian",
        "scale": 2,
        "variance": "scalar",
    }
    config = recipe_for("vae").config(VAE, options, IMAGES)
    assert config == VAEConfig(
        64, latent_dim=3, hidden=(16, 8), activation="tanh", arch="conv", image_shape=(1, 8, 8),
        likelihood="gaussian", variance="scalar", scale=2.0,
    )  # fmt: skip
    assert recipe_for("vae").default_objective == "elbo" and not recipe_for("vae").conditional


@pytest.mark.parametrize("model", ["vae", "ae", "cvae"])
def test_a_convolutional_network_on_rows_names_the_mlp(model):
    """`train ae --data rows.npy --arch conv` ended in "image_shape must be (channels, height,
    width), got (6,)": a config field the user never typed, and no fix."""
    cls = {"vae": VAE, "ae": Autoencoder, "cvae": CVAE}[model]
    rows = DataFacts(6, (6,), condition_dim=2, num_classes=2)
    with pytest.raises(ConfigError, match=r"rows of 6 values; use the MLP \(--arch mlp"):
        recipe_for(model).config(cls, {**OPTIONS, "arch": "conv"}, rows)


def test_cvae_recipe_takes_the_condition_and_classes_from_the_data():
    facts = DataFacts(64, (1, 8, 8), condition_dim=3, num_classes=3, class_names=("a", "b", "c"))
    config = recipe_for("cvae").config(CVAE, {**OPTIONS, "cvae_prior": "standard"}, facts)
    assert config == CVAEConfig(
        64, 3, latent_dim=3, hidden=(16, 8), activation="tanh", prior="standard", num_classes=3,
        class_names=("a", "b", "c"),
    )  # fmt: skip
    assert recipe_for("cvae").conditional
    with pytest.raises(ConfigError, match="needs a condition"):
        recipe_for("cvae").config(CVAE, OPTIONS, IMAGES)


def test_fields_from_sets_only_the_options_given():
    assert recipe_for("ae").fields_from({"likelihood": "gaussian", "epochs": 3}) == {
        "reconstruction": "mse"
    }
    assert recipe_for("cvae").fields_from({"cvae_prior": "learned", "hidden": [5]}) == {
        "prior": "learned",
        "hidden": (5,),
    }
