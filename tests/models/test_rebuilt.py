"""``save_pretrained`` records a model by its config, and ``torchlvm.load`` rebuilds it from
that config: a model whose modules were replaced in Python is refused before anything is
written (userY #1: an encoder of one's own, of the config's widths but tanh, reloaded as the
config's ReLU MLP holding its weights, encoder means 0.31 off, silently; userY #2: one of other
module names was saved, then refused at load as weights of "another model")."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torchlvm import PPCA
from torchlvm.errors import ConfigError
from torchlvm.io import load
from torchlvm.models.rebuilt import config_difference
from torchlvm.models.vae import VAE, VAEConfig

from .test_save_load import MODELS

MORE = {
    "vae-flow": lambda: VAE(VAEConfig(64, latent_dim=4, hidden=(8,), posterior="flow")),
    "vae-full-vamp": lambda: VAE(
        VAEConfig(64, latent_dim=4, hidden=(8,), posterior="full", prior="vamp", prior_components=3)
    ),
    "vae-mog": lambda: VAE(VAEConfig(64, latent_dim=4, hidden=(8,), prior="mog")),
    "ppca": lambda: PPCA(latent_dim=2).fit(torch.randn(30, 5, dtype=torch.float64)),
}


def _vae() -> VAE:
    return VAE(VAEConfig(64, latent_dim=6, hidden=(64,)))


@pytest.mark.parametrize("name", [*MODELS, *MORE])
def test_a_model_as_its_config_builds_it_is_saved_and_the_check_draws_nothing(name, tmp_path):
    """A flow q drew from the global random state while it was built, even on the meta device:
    the check keeps the caller's state."""
    model = {**MODELS, **MORE}[name]()
    state = torch.random.get_rng_state()
    assert config_difference(model) is None
    assert torch.equal(torch.random.get_rng_state(), state)
    model.save_pretrained(tmp_path / name)


def test_an_encoder_of_ones_own_is_refused_before_anything_is_written(tmp_path):
    vae = _vae()
    vae.encoder = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 12))  # same keys
    with pytest.raises(ConfigError) as refusal:
        vae.save_pretrained(tmp_path / "mine")
    message = str(refusal.value)
    assert message.startswith("torchlvm records a VAE by its config (config.json), and torchlvm")
    assert "but encoder is Sequential() where its config builds " in message
    assert "safetensors.torch.save_file(model.state_dict(), PATH)" in message
    assert not (tmp_path / "mine").exists()


def test_a_replaced_activation_is_named_by_its_place():
    vae = _vae()
    name = next(name for name, module in vae.named_modules() if isinstance(module, nn.ReLU))
    parent, _, child = name.rpartition(".")
    setattr(vae.get_submodule(parent), child, nn.Tanh())
    assert config_difference(vae) == f"{name} is Tanh() where its config builds ReLU()"


def test_a_module_added_or_taken_away_is_named():
    vae = _vae()
    vae.aux = nn.Linear(2, 2)
    assert config_difference(vae) == (
        "aux (Linear(in_features=2, out_features=2, bias=True)) is a module its config does "
        "not build"
    )
    vae = _vae()
    name = next(name for name, module in vae.named_modules() if isinstance(module, nn.ReLU))
    parent, _, child = name.rpartition(".")
    delattr(vae.get_submodule(parent), child)
    assert config_difference(vae) == f"{name} (ReLU()), which its config builds, is gone"


def test_the_weights_of_a_model_its_config_builds_load_as_saved(tmp_path):
    """The check refuses no model that loads as it was: the same encoder means after load."""
    vae = _vae().eval()
    x = torch.bernoulli(torch.rand(4, 64, generator=torch.Generator().manual_seed(0)))
    loaded = load(vae.save_pretrained(tmp_path / "vae"))
    torch.testing.assert_close(loaded.encode(x).mean, vae.encode(x).mean, rtol=0, atol=0)


def test_training_fit_refuses_a_replaced_encoder_before_it_trains(tmp_path):
    """userY #1 through the documented training path: the run recorded the config alone, and
    loaded (and evaluated, and resumed) as the config's ReLU networks."""
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    vae = _vae()
    vae.encoder = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 12))
    with pytest.raises(ConfigError, match="but encoder is Sequential"):
        fit(vae, LVMDataModule("digits", binarize="dynamic"), TrainConfig(max_epochs=1),
            tmp_path / "run", progress=False)  # fmt: skip
    assert not list((tmp_path / "run").rglob("*.ckpt"))
    assert not (tmp_path / "run" / "model.safetensors").exists()


class _TanhVAE(VAE):
    """An encoder of one's own set where PyTorch users set one: in a subclass's ``__init__``."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        self.encoder = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 12))


class _DigitsVAE(VAE):
    """A subclass that only fixes the config: its modules are VAE's."""

    def __init__(self) -> None:
        super().__init__(VAEConfig(64, latent_dim=6, hidden=(64,)))


def test_a_subclass_is_compared_with_the_class_load_builds(tmp_path):
    """readJ J4: the check built type(model), running the subclass's __init__, so an encoder set
    there was saved silently and loaded as VAE's ReLU MLP (encoder means 0.296 off), and a
    subclass of its own __init__ signature got TypeError from save_pretrained."""
    with pytest.raises(ConfigError, match="but encoder is Sequential"):
        _TanhVAE(VAEConfig(64, latent_dim=6, hidden=(64,))).save_pretrained(tmp_path / "tanh")
    assert not (tmp_path / "tanh").exists()
    model = _DigitsVAE().eval()
    x = torch.bernoulli(torch.rand(4, 64, generator=torch.Generator().manual_seed(0)))
    loaded = load(model.save_pretrained(tmp_path / "digits"))
    torch.testing.assert_close(loaded.encode(x).mean, model.encode(x).mean, rtol=0, atol=0)
