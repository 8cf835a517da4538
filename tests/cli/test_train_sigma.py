"""``train``'s Gaussian p(x | z) off tables: σ is learned and starts at the data's own scale, the
number used is recorded, and a run whose posterior collapsed is told so with the options to
change. σ fixed at 1 (the default once) on digits / 16 as an .npy file, pixels varying by 0.38
at most, learned nothing in 10 epochs: KL 0.007 nats, no active unit, nothing said."""

from __future__ import annotations

import csv
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from torchlvm.cli import main
from torchlvm.data import load_dataset
from torchlvm.data.standardize import data_scale

FAST = ["--latent-dim", "4", "--epochs", "4", "--quiet"]


@pytest.fixture(scope="module")
def pixels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sigma") / "digits16.npy"
    np.save(path, (load_digits().data / 16).astype(np.float32))
    return path


def _last(run: Path, column: str) -> float:
    with open(run / "metrics.csv", newline="") as f:
        rows = [row for row in csv.DictReader(f) if row.get(column)]
    return float(rows[-1][column])


def test_sigma_starts_at_the_data_s_scale_and_the_model_learns(pixels, tmp_path):
    out = tmp_path / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no collapse to tell)
        assert main(["train", "vae", "--data", str(pixels), *FAST, "--out", str(out)]) == 0
    model = json.loads((out / "config.json").read_text())["model"]
    train = load_dataset(str(pixels), "train", seed=0).x
    assert model["variance"] == "scalar"
    assert model["scale"] == pytest.approx(data_scale(train), rel=1e-9)  # the number used
    assert 0.2 < model["scale"] < 0.35  # (0.271 on this split: not the 1 of before)
    assert _last(out, "val/kl") > 1.0  # nats the code carries (0.007 with σ fixed at 1)


def test_a_collapsed_run_is_told_so_with_the_options_to_change(pixels, tmp_path):
    argv = ["train", "vae", "--data", str(pixels), *FAST, "--variance", "fixed", "--scale", "1"]
    fixes = r"try a smaller --scale \(σ of p\(x \| z\) is 1 here\), more --epochs, a smaller --beta"
    with pytest.warns(UserWarning, match="no latent dimension is active on the validation") as w:
        assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    assert len(w) == 1 and re.search(fixes, w[0].message.on_command_line)  # (what the CLI prints)


def test_a_collapsed_run_trained_from_python_is_told_so_in_pythons_words(pixels, tmp_path):
    """userQ #4: torchlvm.training.fit trained the same collapsed run without a word, where
    `torchlvm train` and the estimators warn."""
    import lightning as L

    from torchlvm.models import VAE, VAEConfig
    from torchlvm.training import LVMDataModule, TrainConfig, fit

    L.seed_everything(0)
    config = VAEConfig(64, latent_dim=4, likelihood="gaussian", variance="fixed", scale=1.0)
    dm = LVMDataModule(str(pixels), binarize="none")
    with pytest.warns(UserWarning, match="no latent dimension is active on the validation") as w:
        fit(VAE(config), dm, TrainConfig(max_epochs=4), tmp_path / "run", progress=False)
    said = [str(m.message) for m in w if "no latent dimension" in str(m.message)]
    fixes = "try a smaller scale (σ of p(x | z) is 1 here), more epochs, a smaller beta"
    assert len(said) == 1 and said[0].endswith(fixes)
    assert w[0].filename == __file__  # (at the caller's line)


def test_an_autoencoder_and_a_bernoulli_vae_keep_their_configs(pixels, tmp_path):
    from torchlvm.cli.train_options import settle

    s = settle("vae", {"data": "digits"})  # Bernoulli: no σ, the config's fields as before
    assert (s["likelihood"], s["variance"], s["scale"]) == ("bernoulli", "fixed", 1.0)
    assert settle("vae", {"data": "x.csv"})["scale"] == 1.0  # a table is standardized
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no posterior to collapse)
        argv = ["train", "ae", "--data", str(pixels), *FAST]
        assert main([*argv, "--out", str(tmp_path / "a")]) == 0


def test_a_streamed_file_trains_from_the_same_scale(pixels, tmp_path):
    """``--mmap`` on rows with a Gaussian p(x | z) stopped with a traceback (the scale warning
    read a table's attributes from the streamed rows); σ starts at the same scale, streamed."""
    runs = {}
    for name, extra in (("whole", []), ("streamed", ["--mmap"])):
        argv = ["train", "vae", "--data", str(pixels), *FAST, "--epochs", "1", *extra]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # (one epoch may collapse)
            assert main([*argv, "--out", str(tmp_path / name)]) == 0
        runs[name] = json.loads((tmp_path / name / "config.json").read_text())["model"]["scale"]
    assert runs["streamed"] == pytest.approx(runs["whole"], rel=1e-12)


def test_a_collapse_with_a_learned_sigma_is_told_in_one_warning(pixels, tmp_path):
    """Reading the learned σ for the collapse warning converted a tensor that requires grad to a
    float: torch's own "Converting a tensor with requires_grad=True to a scalar" warning came
    first on stderr (userK #5)."""
    argv = ["train", "vae", "--data", str(pixels), *FAST, "--beta", "200"]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert main([*argv, "--out", str(tmp_path / "run")]) == 0
    said = [str(warning.message) for warning in w]
    assert len(said) == 1 and said[0].startswith("no latent dimension is active"), said
