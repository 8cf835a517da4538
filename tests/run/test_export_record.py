"""A model saved from Python with a ``data`` section that names its dataset but not the seed of
its splits, or (for a Bernoulli model) its binarization, is refused where a command reads its data:
read with seed 0, a ``--seed 7`` digits run's export was evaluated on a "test split" of which 248
of 359 rows were its training rows, without a word (userY #12); without ``binarize`` its commands
ended in a refusal of grey levels whose only fix was Python's (userY #4)."""

from __future__ import annotations

import json

import pytest
import torch

from torchlvm.cli import main
from torchlvm.data import load_dataset
from torchlvm.models import VAE, VAEConfig


def _export(folder, likelihood: str, data: dict | None):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood=likelihood))
    model.save_pretrained(folder, **({} if data is None else {"data": data}))
    return folder


@pytest.mark.parametrize(
    "likelihood, data, missing",
    [
        ("bernoulli", {"name": "digits"}, ["'seed'", "'binarize'"]),
        ("bernoulli", {"name": "digits", "binarize": "dynamic"}, ["'seed'"]),
        ("bernoulli", {"name": "digits", "seed": 7}, ["'binarize'"]),
        ("gaussian", {"name": "digits"}, ["'seed'"]),
    ],
    ids=["neither", "no-seed", "no-binarize", "gaussian-no-seed"],
)
@pytest.mark.parametrize("command", ["evaluate", "gaps"])
def test_an_export_missing_seed_or_binarize_is_refused_naming_them(
    tmp_path, capsys, likelihood, data, missing, command
):
    folder = _export(tmp_path / "exp", likelihood, data)
    assert main([command, str(folder), "--n", "5", "--k", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("torchlvm: error: ")
    assert "config.json's data section names 'digits' but not " in err
    for key in ("'seed'", "'binarize'"):
        assert (f"{key}, " in err) == (key in missing), key
    protocol = "dynamic" if likelihood == "bernoulli" else "none"
    save = f"model.save_pretrained({str(folder)!r}, data={{'name': 'digits', 'seed': 0, "
    assert save + f"'binarize': {data.get('binarize', protocol)!r}}})" in err


def test_the_section_completed_as_told_reads_the_training_split(tmp_path, capsys):
    """Adding the seed to the section, the first fix offered, reads the split training drew:
    digits' test split of seed 7, not seed 0's."""
    folder = _export(tmp_path / "exp", "gaussian", {"name": "digits"})
    config = json.loads((folder / "config.json").read_text())
    config["data"]["seed"] = 7
    (folder / "config.json").write_text(json.dumps(config))
    from torchlvm.run.loaded import load_run, load_split

    split = load_split(load_run(folder), None, "test")
    assert torch.equal(split.x, load_dataset("digits", "test", seed=7).x)
    assert not torch.equal(split.x, load_dataset("digits", "test", seed=0).x)


def test_sample_of_an_export_reads_only_its_image_shape(tmp_path, capsys):
    """sample reads an export's data for the image shape alone: it needs neither the seed of
    the splits nor the binarization, and is not refused for them."""
    folder = _export(tmp_path / "exp", "bernoulli", {"name": "digits"})
    assert main(["sample", str(folder), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0


def test_another_dataset_given_to_an_export_needs_no_seed(tmp_path):
    """The seed is that of the section's own dataset's splits: a file given with --data is
    split with seed 0, as for any run."""
    import numpy as np

    from torchlvm.run.loaded import load_run, load_split

    folder = _export(tmp_path / "exp", "gaussian", {"name": "digits"})
    np.save(tmp_path / "rows.npy", np.random.default_rng(0).normal(size=(30, 64)))
    split = load_split(load_run(folder), str(tmp_path / "rows.npy"), "test")
    assert split.x.shape[1] == 64
