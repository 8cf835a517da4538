"""``--accelerator``: one option and one rule for every command that runs a model."""

import argparse

import pytest
import torch

from torchlvm.cli import _accelerator
from torchlvm.cli._accelerator import add_accelerator, device_for
from torchlvm.errors import ConfigError


def parse(*argv):
    parser = argparse.ArgumentParser()
    add_accelerator(parser)
    return parser.parse_args(list(argv))


@pytest.mark.parametrize(
    "argv, gpus, device",
    [
        ((), 0, "cpu"),
        ((), 1, "cuda"),
        (("--accelerator", "auto"), 0, "cpu"),
        (("--accelerator", "cpu"), 1, "cpu"),
        (("--accelerator", "gpu"), 2, "cuda"),
    ],
    ids=["default-no-gpu", "default-gpu", "auto-no-gpu", "cpu-with-gpu", "gpu"],
)
def test_the_device_follows_the_option_and_what_is_visible(monkeypatch, argv, gpus, device):
    monkeypatch.setattr(_accelerator, "gpu_count", lambda: gpus)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert device_for(parse(*argv)).type == device


def test_gpu_without_one_is_one_line_naming_the_cpu_fallback(monkeypatch):
    monkeypatch.setattr(_accelerator, "gpu_count", lambda: 0)
    with pytest.raises(ConfigError, match="none visible") as caught:
        device_for(parse("--accelerator", "gpu"))
    assert "\n" not in caught.value.on_command_line
    assert caught.value.on_command_line.endswith("run on the CPU with --accelerator cpu")


def test_an_unknown_accelerator_is_refused_by_the_parser():
    with pytest.raises(SystemExit):
        parse("--accelerator", "tpu")


@pytest.mark.parametrize(
    ("typed", "read"), [("cuda", "gpu"), ("CUDA", "gpu"), ("GPU", "gpu"), ("Cpu", "cpu")]
)
def test_torchs_name_and_capitals_are_read_as_the_option_names_them(typed, read):
    """--accelerator cuda was refused as an invalid choice (users type torch's name)."""
    assert parse("--accelerator", typed).accelerator == read


def test_train_reads_the_option_as_every_other_command():
    from torchlvm.cli import build_parser

    words = ["train", "vae", "--data", "digits", "--out", "r"]
    assert "accelerator" not in vars(build_parser().parse_args(words))  # (train's DEFAULTS)
    assert build_parser().parse_args([*words, "--accelerator", "cuda"]).accelerator == "gpu"


@pytest.fixture(scope="module")
def vae_dir(tmp_path_factory):
    from torchlvm.models import VAE, VAEConfig

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("runs") / "vae"
    data = {"name": "digits", "binarize": "threshold", "seed": 0}
    VAE(VAEConfig(64, latent_dim=2, hidden=(8,))).save_pretrained(folder, data=data)
    return folder


@pytest.mark.parametrize("command", ["evaluate", "gaps"])
def test_commands_refuse_a_gpu_they_cannot_have_in_one_line(vae_dir, capsys, monkeypatch, command):
    from torchlvm import cli

    monkeypatch.setitem(cli.COMMANDS, command, command)
    monkeypatch.setattr(_accelerator, "gpu_count", lambda: 0)
    assert cli.main([command, str(vae_dir), "--accelerator", "gpu"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--accelerator cpu" in err and "Traceback" not in err


def test_gaps_runs_where_the_accelerator_says_and_records_it(vae_dir, monkeypatch, capsys):
    import json

    from torchlvm import cli

    monkeypatch.setitem(cli.COMMANDS, "gaps", "gaps")
    monkeypatch.setattr(_accelerator, "gpu_count", lambda: 0)
    argv = ["gaps", str(vae_dir), "--n", "4", "--k", "20", "--steps", "2", "--elbo-samples", "5"]
    assert cli.main([*argv, "--accelerator", "auto"]) == 0
    assert json.loads((vae_dir / "gaps.json").read_text())["device"] == "cpu"
