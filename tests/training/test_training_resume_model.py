"""A resume with the run's own model: its settings and its dtype (userY #7, #8)."""

from __future__ import annotations

import lightning as L
import pytest
import torch

from torchlvm import cli
from torchlvm.errors import ConfigError, DataError
from torchlvm.models import VAE, Autoencoder, AutoencoderConfig, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit
from torchlvm.training.checkpoint_io import read_checkpoint


def _run(out, model: VAE, epochs: int = 1, resume: bool = False):
    L.seed_everything(0)
    data = LVMDataModule("digits", binarize="dynamic", batch_size=256)
    return fit(model, data, TrainConfig(max_epochs=epochs, batch_size=256), out, progress=False,
               resume=resume)  # fmt: skip


def _vae(hidden: int = 16) -> VAE:
    return VAE(VAEConfig(64, latent_dim=2, hidden=(hidden,)))


@pytest.mark.filterwarnings("ignore:no latent dimension is active")
def test_a_model_of_other_settings_is_named_not_the_runs_checkpoint(tmp_path):
    """userY #8: a model of other widths than the run's was refused as 'last.ckpt ... belongs
    to another model', with the fixes 'cp best-epochNNN.ckpt over last.ckpt' (which fails the
    same way) or '--overwrite' (which throws the run away)."""
    _run(tmp_path / "run", _vae(16), epochs=2)
    said = r"trained with hidden=\(16,\), and the model given has hidden=\(32,\); resume it with"
    with pytest.raises(ConfigError, match=said) as err:
        _run(tmp_path / "run", _vae(32), epochs=3, resume=True)
    assert "ckpt" not in str(err.value) and "overwrite" not in str(err.value)
    assert read_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")["epoch"] == 1


@pytest.mark.filterwarnings("ignore:no latent dimension is active")
def test_a_float64_run_resumes_in_float64(tmp_path, capsys):
    """userY #7: `train --resume` of a run trained from Python on model.double() rebuilt the
    model from config.json in float32, and saved the run in float32, without a word."""
    import torchlvm

    out = tmp_path / "run"
    _run(out, _vae().double())
    assert cli.main(["train", "vae", "--resume", "--out", str(out), "--epochs", "2"]) == 0
    saved = read_checkpoint(out / "checkpoints" / "last.ckpt")["state_dict"]
    assert {v.dtype for k, v in saved.items() if k.startswith("model.")} == {torch.float64}
    assert next(torchlvm.load(out).parameters()).dtype == torch.float64
    with pytest.raises(DataError, match="holds the run's weights in float64 and the model given "
                       r"is float32; resume it with the model in float64 \(model.to"):  # fmt: skip
        _run(out, _vae(), epochs=3, resume=True)


@pytest.mark.filterwarnings("ignore:no latent dimension is active")
def test_a_model_of_another_type_or_of_the_protocol_alone_is_named(tmp_path, protocol_only):
    """readI I2: a model of the protocol's methods alone resumed onto a run raised an
    AttributeError ('no attribute from_config') before the objective's check that says how to
    train it; another type was 'trained with a vae model, and the model given has a ae'."""
    _run(tmp_path / "run", _vae(16))
    with pytest.raises(ConfigError, match="trains a model of type 'vae', and the model given is "
                       "of type 'ae'; resume it with"):  # fmt: skip
        _run(tmp_path / "run", Autoencoder(AutoencoderConfig(64, latent_dim=2, hidden=(16,))),
             epochs=2, resume=True)  # fmt: skip
    inner = _vae(16)

    with pytest.raises(ConfigError, match="its loss from torchlvm.inference"):
        _run(tmp_path / "run", protocol_only(inner), epochs=2, resume=True)
