"""Objectives are registered values: a new one trains through fit() without touching the
config, the module or the trainer, and the registry answers which objectives suit a model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import lightning as L
import pytest
import torch

from torchlvm.errors import ConfigError
from torchlvm.inference import elbo
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import (
    OBJECTIVES,
    LVMDataModule,
    TrainConfig,
    fit,
    get_objective,
    monitor,
    objectives_for,
    register_objective,
)
from torchlvm.training.metrics_csv import read_metrics
from torchlvm.training.objectives import check_objective


@pytest.fixture
def two_sample_elbo() -> Iterator[str]:
    """Registers "elbo-2" (the ELBO averaged over two z draws) for this test only."""

    def validation(model, x, c, config):
        return {"elbo_2": elbo(model, x, c, num_samples=2).elbo}

    @register_objective(
        "elbo-2", models=("vae",), monitor=("val/elbo_2", "max"), validation=validation
    )
    def loss(model, x, c, config, *, kl_weight):
        terms = elbo(model, x, c, num_samples=2)
        return {"loss": -terms.elbo, "elbo": terms.elbo}

    yield "elbo-2"
    del OBJECTIVES["elbo-2"]


def test_the_builtin_objectives_and_the_models_they_train() -> None:
    assert objectives_for("cvae") == ("elbo", "iwae")
    assert objectives_for("vae") == ("elbo", "iwae", "miwae")
    assert objectives_for("ae") == ("reconstruction",)
    assert objectives_for("ppca") == ()
    assert monitor(TrainConfig()) == ("val/elbo", "max")
    assert monitor(TrainConfig(objective="iwae", k=5)) == ("val/iwae_5", "max")
    assert monitor(TrainConfig(objective="iwae", k=1)) == ("val/elbo", "max")
    assert monitor(TrainConfig(objective="reconstruction")) == ("val/reconstruction", "min")
    assert get_objective("iwae").importance_samples and get_objective("elbo").kl_term


def test_a_registered_objective_trains_without_other_changes(
    two_sample_elbo: str, tmp_path: Path
) -> None:
    config = TrainConfig(objective=two_sample_elbo, max_epochs=1, batch_size=256)
    assert objectives_for("vae") == ("elbo", "elbo-2", "iwae", "miwae")
    with pytest.raises(ConfigError, match="objective='elbo-2' has none"):
        TrainConfig(objective=two_sample_elbo, beta=2.0)  # it did not declare a KL term
    with pytest.raises(ConfigError, match="only apply to objective='iwae'"):
        TrainConfig(objective=two_sample_elbo, k=3)
    ae = Autoencoder(AutoencoderConfig(64, latent_dim=2, hidden=(8,)))
    with pytest.raises(ConfigError, match="trains vae models, not Autoencoder"):
        check_objective(ae, two_sample_elbo)
    torch.set_num_threads(1)
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(16,)))
    dm = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    result = fit(model, dm, config, tmp_path, progress=False)
    row = read_metrics(tmp_path / "metrics.csv")[-1]
    assert result.monitor == "val/elbo_2" and result.best_epoch == 0
    assert {"train/loss", "train/elbo", "val/elbo_2"} <= set(row)
    assert row["train/loss"] == pytest.approx(-row["train/elbo"])


def test_an_unknown_objective_names_the_registered_ones() -> None:
    with pytest.raises(
        ConfigError, match="objective must be one of 'elbo', 'iwae', 'miwae', 'reconstr"
    ):
        TrainConfig(objective="wake-sleep")


def test_a_model_of_the_protocol_alone_is_told_how_to_train_it(protocol_only) -> None:
    """userY #10: a model with the protocol's methods only (latent_dim, prior, encode, decode),
    which every estimator takes, was refused by fit as 'no registered objective trains it', and
    nothing more. The message names the way that works: its loss from torchlvm.inference in a
    training step of one's own."""
    from torchlvm.inference import iwae_bound

    inner = VAE(VAEConfig(64, latent_dim=2, hidden=(8,)))

    model = protocol_only(inner)
    said = r"of your own, its loss from torchlvm.inference, e.g. -iwae_bound\(model, x, num_"
    with pytest.raises(ConfigError, match=said):
        check_objective(model, "iwae")
    x = torch.bernoulli(torch.full((3, 64), 0.5))
    loss = -iwae_bound(model, x, num_samples=5).mean()  # (the fix named works)
    loss.backward()
    assert torch.isfinite(loss) and inner.encoder[0].weight.grad is not None
