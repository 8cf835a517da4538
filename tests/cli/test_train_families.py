"""``torchlvm train --posterior/--flow-steps/--prior/--prior-components``: the options reach the
model's config through its recipe, a CVAE refuses a VAE-only prior, and the commands that use
q or p(z) afterwards (sample, gaps, impute's pseudo-Gibbs) run on such a model."""

import json

import pytest

from torchlvm import cli
from torchlvm.cli.train_options import settle
from torchlvm.errors import ConfigError
from torchlvm.models.registry import recipe_for


def test_settle_maps_the_family_options_to_config_fields():
    s = settle("vae", {"data": "digits", "posterior": "flow", "prior": "mog"})
    fields = recipe_for("vae").fields_from(s)
    assert fields["posterior"] == "flow" and fields["flow_steps"] == 2
    assert fields["prior"] == "mog" and fields["prior_components"] == 50
    assert recipe_for("cvae").fields_from(settle("cvae", {"data": "digits"}))["posterior"] == "diag"


def test_a_cvae_refuses_the_vae_prior_option_and_names_its_own():
    match = (
        "--prior does not apply to a CVAE; train a vae for it, or choose a CVAE's p\\(z\\|c\\) "
        "with --cvae-prior learned\\|standard\\|vamp\\|mog"
    )
    with pytest.raises(ConfigError, match=match):
        settle("cvae", {"data": "digits", "prior": "vamp"})


def test_train_a_cvae_with_a_conditional_vamp_prior_then_sample(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "cvae", "--data", "digits", "--epochs", "1", "--latent-dim", "2"]
    argv += ["--hidden", "16", "--cvae-prior", "vamp", "--prior-components", "3"]
    assert cli.main([*argv, "--out", str(out), "--quiet"]) == 0
    assert "Monte Carlo KL" in capsys.readouterr().out
    model = json.loads((out / "config.json").read_text())["model"]
    assert (model["prior"], model["prior_components"]) == ("vamp", 3)
    sample = ["sample", str(out), "--n", "4", "--condition", "all"]
    assert cli.main([*sample, "--out", str(tmp_path / "s.png")]) == 0


def test_train_a_flow_vae_with_a_vamp_prior_then_sample_and_gaps(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", "--latent-dim", "2"]
    argv += ["--hidden", "16", "--posterior", "flow", "--flow-steps", "1", "--prior", "vamp"]
    assert cli.main([*argv, "--prior-components", "5", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "Monte Carlo KL" in printed
    model = json.loads((out / "config.json").read_text())["model"]
    assert (model["posterior"], model["flow_steps"], model["prior"]) == ("flow", 1, "vamp")
    assert model["prior_components"] == 5
    assert cli.main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    gaps = ["gaps", str(out), "--n", "3", "--k", "20", "--steps", "2", "--elbo-samples", "20"]
    assert cli.main(gaps) == 0
    assert "diagonal base and context under the encoder's flow" in capsys.readouterr().out
