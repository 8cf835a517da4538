"""save_pretrained → torchlvm.io.load gives the same model: configs, weights, buffers, outputs."""

from __future__ import annotations

import json
import os

import pytest
import torch

from torchlvm.errors import RunDirectoryError
from torchlvm.io import load
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.vae import VAE, VAEConfig

MODELS = {
    "vae-mlp": lambda: VAE(VAEConfig(64, latent_dim=3, hidden=(16, 8), activation="tanh")),
    "vae-conv-gaussian-diagonal": lambda: VAE(
        VAEConfig(
            64,
            latent_dim=3,
            hidden=(16,),
            arch="conv",
            image_shape=(1, 8, 8),
            likelihood="gaussian",
            variance="diagonal",
            scale=0.3,
        )
    ),
    "vae-linear-decoder": lambda: VAE(
        VAEConfig(64, latent_dim=3, likelihood="gaussian", variance="scalar", linear_decoder=True)
    ),
    "cvae-learned-labels": lambda: CVAE(
        CVAEConfig(
            64, 10, latent_dim=3, hidden=(16,), num_classes=10, class_names=tuple("abcdefghij")
        )
    ),
    "cvae-conv-standard": lambda: CVAE(
        CVAEConfig(64, 10, latent_dim=3, arch="conv", image_shape=(1, 8, 8), prior="standard")
    ),
    "ae-mlp": lambda: Autoencoder(AutoencoderConfig(64, latent_dim=3, hidden=(16,))),
    "ae-linear-fitted": lambda: Autoencoder(
        AutoencoderConfig(64, latent_dim=3, linear=True)
    ).fit_code_distribution(torch.rand(40, 64, generator=torch.Generator().manual_seed(3))),
    "ae-conv-bernoulli-fitted": lambda: Autoencoder(
        AutoencoderConfig(
            64, latent_dim=3, arch="conv", image_shape=(1, 8, 8), reconstruction="bernoulli"
        )
    ).fit_code_distribution(torch.rand(40, 64, generator=torch.Generator().manual_seed(3))),
}


def outputs(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Everything a user reads from a model, computed deterministically."""
    x = torch.rand(4, 64, generator=torch.Generator().manual_seed(0))
    c = torch.eye(10)[[1, 2, 3, 4]] if isinstance(model, CVAE) else None
    z = torch.randn(2, 4, model.latent_dim, generator=torch.Generator().manual_seed(1))
    gen = torch.Generator().manual_seed(2)
    if isinstance(model, CVAE):
        sample = model.sample(4, c, generator=gen)
    elif isinstance(model, Autoencoder) and not model.is_code_distribution_fitted:
        sample = model.sample(4, source="standard", generator=gen)
    else:
        sample = model.sample(4, generator=gen)
    result = {
        "encode-mean": model.encode(x, c).mean,
        "decode-mean": model.decode(z, c).mean,
        "sample": sample,
        "reconstruct": model.reconstruct(x, c),
    }
    if not isinstance(model, Autoencoder) or model.is_code_distribution_fitted:  # else no p(z)
        result["prior-mean"] = model.prior(c, batch_shape=(4,)).mean
        result["prior-stddev"] = model.prior(c, batch_shape=(4,)).stddev
    if isinstance(model, VAE | CVAE):
        result["encode-stddev"] = model.encode(x, c).stddev
        result["decode-stddev"] = model.decode(z, c).stddev
    return result


@pytest.mark.parametrize("name", list(MODELS), ids=list(MODELS))
def test_saved_model_loads_with_identical_outputs(name, tmp_path):
    torch.manual_seed(0)
    model = MODELS[name]().eval()
    with torch.no_grad():  # move off the initial values so that loading defaults would show
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    folder = model.save_pretrained(tmp_path / name)
    loaded = load(folder)
    assert type(loaded) is type(model)
    assert loaded.config == model.config
    record = json.loads((folder / "config.json").read_text())
    assert record["model_type"] == type(model).model_type
    before, after = outputs(model), outputs(loaded)
    for key in before:
        torch.testing.assert_close(after[key], before[key], rtol=0, atol=0, msg=key)


def test_fitted_code_distribution_survives_save_and_load(tmp_path):
    torch.manual_seed(0)
    model = MODELS["ae-linear-fitted"]()
    loaded = load(model.save_pretrained(tmp_path / "ae"))
    assert loaded.is_code_distribution_fitted
    torch.testing.assert_close(loaded.code_cov, model.code_cov, rtol=0, atol=0)
    unfitted = load(
        Autoencoder(AutoencoderConfig(64, latent_dim=3)).save_pretrained(tmp_path / "u")
    )
    assert not unfitted.is_code_distribution_fitted


def test_the_same_weights_and_config_save_to_the_same_bytes(tmp_path):
    """userN #4: safetensors wrote its 2-key __metadata__ map in a Rust HashMap's order, which
    changes from map to map (two orders seen in 50 saves of one process, and across processes):
    identical saves differed under sha256sum / cmp half the time. 20 saves, one set of bytes."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=16, latent_dim=2, hidden=(8,)))
    files = {model.save_pretrained(tmp_path / f"e{i}").joinpath("model.safetensors").read_bytes()
             for i in range(20)}  # fmt: skip
    assert len(files) == 1
    (data,) = files
    size = int.from_bytes(data[:8], "little")
    assert data[8:].startswith(b'{"__metadata__":{"config_sha256":"')  # sorted keys
    assert json.loads(data[8 : 8 + size])["__metadata__"]["format"] == "pt"
    torch.testing.assert_close(load(tmp_path / "e3").state_dict(), model.state_dict())


def test_weights_and_config_from_different_saves_are_refused(tmp_path):
    import json

    from torchlvm.errors import DataError
    from torchlvm.io import load
    from torchlvm.models import VAE, VAEConfig

    VAE(VAEConfig(input_dim=16, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path)
    record = json.loads((tmp_path / "config.json").read_text())
    record["model"]["activation"] = "tanh"  # same shapes, another model
    (tmp_path / "config.json").write_text(json.dumps(record))
    with pytest.raises(DataError, match="different saves"):
        load(tmp_path)


def test_a_full_disk_while_saving_weights_is_an_oserror_and_leaves_no_file(tmp_path):
    # a real file-size limit in a child process (SIGXFSZ ignored, so the write fails with EFBIG)
    code = f"""
import errno, resource, signal
from pathlib import Path
from torchlvm import VAE
from torchlvm.models.vae import VAEConfig
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
try:
    VAE(VAEConfig(64, latent_dim=2, hidden=(64,))).save_pretrained(Path({str(tmp_path)!r}) / "m")
except OSError as err:
    print("OSError", err.errno == errno.EFBIG)
"""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "OSError True", done.stderr
    assert not (tmp_path / "m" / "model.safetensors").exists()
    assert [p.name for p in (tmp_path / "m").iterdir()] == []


def _run_folder(folder):
    """What `torchlvm train` leaves: a record with data and training, checkpoints, metrics."""
    VAE(VAEConfig(8, latent_dim=2, hidden=(4,))).save_pretrained(folder)
    record = json.loads((folder / "config.json").read_text())
    record.update(data={"name": "digits"}, training={"epochs": 1})
    (folder / "config.json").write_text(json.dumps(record))
    (folder / "checkpoints").mkdir()
    (folder / "metrics.csv").write_text("epoch\n0\n")


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        (_run_folder, "holds a run .*a data record, a training record"),
        (lambda f: f.mkdir() or (f / "config.json").write_text('{"lr": 1}'), "not a torchlvm"),
        (lambda f: f.mkdir() or (f / "model.safetensors").write_bytes(b"x"), "without a torchlvm"),
    ],
    ids=["a-run", "the-users-config", "the-users-weights"],
)
def test_save_pretrained_never_replaces_a_run_or_the_users_files(tmp_path, prepare, message):
    """save_pretrained into a run folder replaced its config.json: the data and training record
    were gone, and evaluate, sample and --resume refused the run from then on."""
    folder = tmp_path / "target"
    prepare(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    with pytest.raises(RunDirectoryError, match=message):
        VAE(VAEConfig(8, latent_dim=3, hidden=(4,))).save_pretrained(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before


def test_save_pretrained_replaces_an_earlier_export(tmp_path):
    VAE(VAEConfig(8, latent_dim=2, hidden=(4,))).save_pretrained(tmp_path / "export")
    (tmp_path / "export" / "metrics.json").write_text("{}")  # evaluate ran on it
    VAE(VAEConfig(8, latent_dim=3, hidden=(4,))).save_pretrained(tmp_path / "export")
    assert load(tmp_path / "export").latent_dim == 3


def test_an_unfitted_ppca_is_not_saved(tmp_path):
    from torchlvm import PPCA
    from torchlvm.errors import NotFittedError

    with pytest.raises(NotFittedError, match=r"PPCA is not fitted yet \(W, mu, sigma2 unset\)"):
        PPCA(latent_dim=2).save_pretrained(tmp_path / "export")
    assert not (tmp_path / "export").exists()


@pytest.mark.parametrize(
    "extra, match",
    [
        ({"data": object()}, "extra sections must be JSON .* not JSON serializable"),
        ({"model": {"latent_dim": 3}}, r"extra sections \['model'\] are the model's own record"),
    ],
)
def test_save_pretrained_checks_its_extra_sections_before_writing_anything(tmp_path, extra, match):
    from torchlvm.errors import ConfigError

    model = VAE(VAEConfig(6, latent_dim=2, hidden=(4,)))
    with pytest.raises(ConfigError, match=match):
        model.save_pretrained(tmp_path / "export", **extra)
    assert not (tmp_path / "export").exists()  # no weights without their config
    model.save_pretrained(tmp_path / "export", data={"name": "digits"})  # the folder is free
    assert load(tmp_path / "export").latent_dim == 2


def test_save_pretrained_onto_a_file_names_it(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match=r"notes.txt is a file, not a folder"):
        VAE(VAEConfig(6, latent_dim=2, hidden=(4,))).save_pretrained(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_save_pretrained_to_an_unexpanded_home_is_refused(tmp_path, monkeypatch):
    """save_pretrained('~/export') made a folder named '~' in the working directory (Python does
    not expand '~'), one that a later 'rm -rf ~' in a shell would read as the home folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    model = VAE(VAEConfig(6, latent_dim=2, hidden=(4,)))
    with pytest.raises(RunDirectoryError, match=r"expanduser\('~/export'\)"):
        model.save_pretrained("~/export")
    assert not (tmp_path / "~").exists()
    model.save_pretrained(os.path.expanduser("~/export"))  # the fix
    assert load(tmp_path / "home" / "export").latent_dim == 2


def test_a_ppca_fitted_on_a_frame_loads_with_its_column_names(tmp_path):
    """userT #1: save_pretrained dropped feature_names_in_, so the loaded PPCA transformed a
    frame with its columns reversed without an error (scikit-learn warned, wrongly, that it
    was "fitted without feature names")."""
    import numpy as np
    import pandas as pd

    from torchlvm.errors import DataError
    from torchlvm.models.ppca import PPCA

    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(50, 2)) @ rng.normal(size=(2, 5)), columns=list("vwxyz"))
    df += 0.1 * rng.normal(size=df.shape)
    fitted = PPCA(latent_dim=2).fit(df)
    loaded = load(fitted.save_pretrained(tmp_path / "m"))
    assert list(loaded.feature_names_in_) == list("vwxyz")
    np.testing.assert_array_equal(loaded.transform(df), fitted.transform(df))
    with pytest.raises(DataError, match="columns"):
        loaded.transform(df[df.columns[::-1]])
    plain = load(PPCA(latent_dim=2).fit(df.to_numpy()).save_pretrained(tmp_path / "plain"))
    assert not hasattr(plain, "feature_names_in_")
    config = tmp_path / "m" / "config.json"
    record = json.loads(config.read_text())
    config.write_text(json.dumps({**record, "feature_names_in": ["v", "w"]}))
    with pytest.raises(
        DataError, match="must list the 5 column names .* the file is damaged: save "
    ):
        load(tmp_path / "m")
    del record["feature_names_in"]  # the fix it names: the model loads without column names
    config.write_text(json.dumps(record))
    assert not hasattr(load(tmp_path / "m"), "feature_names_in_")


def test_a_table_run_s_ppca_loaded_in_python_names_rows_in_the_file_s_units(tmp_path):
    """userT #13: a PPCA that `fit ppca --data diabetes.csv` made, loaded in Python, scored the
    file's own rows -27,762 nats each (its rows in the file's units, the model reading
    standardized ones) with no word of units. Such rows are warned of, naming the recorded
    standardization; the standardized rows, all or one, are not."""
    import warnings

    from sklearn.datasets import load_diabetes, load_wine

    from torchlvm.cli import main
    from torchlvm.data.standardize import Standardizer
    from torchlvm.io import read_config

    diabetes = load_diabetes(as_frame=True, scaled=False).frame
    wine = load_wine(as_frame=True).frame  # (readH H8: its raw column means lie near 0)
    for frame, column in [(diabetes, "s5"), (wine, "alcohol")]:
        frame = frame.drop(columns="target")
        frame.to_csv(tmp_path / "table.csv", index=False)
        run = tmp_path / column
        assert main(["fit", "ppca", "--data", str(tmp_path / "table.csv"), "--latent-dim", "3",
                     "--out", str(run)]) == 0  # fmt: skip
        model = load(run)
        table = read_config(run)["data"]["table"]
        units = Standardizer.from_dict(table["standardize"])
        rows = frame[table["columns"]].to_numpy()
        standardized = units.transform(torch.from_numpy(rows)).numpy()
        for x in (rows, rows[:1]):
            with pytest.warns(
                UserWarning, match=rf"X looks to be in its file's units \(column '{column}'"
            ):
                model.score(x)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for x in (standardized, standardized[:1], standardized[-5:]):
                assert model.score(x) > -40
            model.transform(standardized)
