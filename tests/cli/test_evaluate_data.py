"""evaluate's and gaps' refusal of an export whose config.json lacks what they read of its data
(cli/_evaluate_data.py): one wording, naming the save that gives it (userY #4)."""

from __future__ import annotations

import pytest
import torch

from torchlvm.cli import COMMANDS, main
from torchlvm.models import VAE, VAEConfig


@pytest.fixture(autouse=True)
def _commands(monkeypatch: pytest.MonkeyPatch) -> None:
    for command in ("evaluate", "gaps"):
        monkeypatch.setitem(COMMANDS, command, command)


@pytest.mark.parametrize("command", ["evaluate", "gaps"])
def test_an_export_without_binarize_is_named_with_the_save_that_gives_it(
    tmp_path, capsys, command
) -> None:
    """An export saved with data={'name': 'digits'}, as gaps' refusal advised, ended both
    commands in 'binarize it first: torch.bernoulli(x)', a Python fix with no option; and
    evaluate's refusal of an export without data named no save at all."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))  # (Bernoulli p(x | z))
    model.save_pretrained(tmp_path / "bare")
    model.save_pretrained(tmp_path / "named", data={"name": "digits"})
    fix = "'seed': 0, 'binarize': 'dynamic'})"
    assert main([command, str(tmp_path / "bare"), "--n", "5", "--k", "10"]) == 2
    err = capsys.readouterr().err
    assert (
        f"has no 'data' section naming the dataset the model was trained on, which {command}" in err
    )
    assert (
        f"model.save_pretrained({str(tmp_path / 'bare')!r}, data={{'name': 'digits', {fix}" in err
    )
    assert main([command, str(tmp_path / "named"), "--n", "5", "--k", "10"]) == 2
    err = capsys.readouterr().err
    assert "data section names 'digits' but not 'seed', " in err and " nor 'binarize', " in err
    assert "torch.bernoulli" not in err
    assert (
        f"model.save_pretrained({str(tmp_path / 'named')!r}, data={{'name': 'digits', {fix}" in err
    )
