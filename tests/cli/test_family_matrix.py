"""Every command that reads q(z | x) or p(z) on runs trained with every posterior family and
prior (``--posterior diag|full|flow`` × ``--prior standard|vamp|mog`` for a VAE, every posterior
for a CVAE): ``evaluate`` (with ``--refine`` and ``--ais``), ``gaps``, ``sample``, ``impute``,
``encode``, ``reconstruct`` and, for the CVAE, ``transfer``. Tiny runs (one epoch on digits,
K = 2), each trained once per module and shared by its tests."""

import json

import numpy as np
import pytest

from torchlvm import cli

POSTERIORS = ("diag", "full", "flow")
PRIORS = ("standard", "vamp", "mog")
TINY = ["--data", "digits", "--epochs", "1", "--latent-dim", "2", "--hidden", "16", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Trains a run the first time a test asks for it: ``runs("vae", "flow", "mog")``."""
    root = tmp_path_factory.mktemp("family-runs")
    trained = {}

    def get(model: str, posterior: str, prior: str = "standard", condition: str = "label"):
        key = (model, posterior, prior, condition)
        if key not in trained:
            out = root / "-".join(key).replace(":", "-")
            argv = ["train", model, *TINY, "--posterior", posterior, "--flow-steps", "1"]
            if model == "vae":
                argv += ["--prior", prior, "--prior-components", "4"]
            else:
                argv += ["--condition", condition]
            assert cli.main([*argv, "--out", str(out)]) == 0
            trained[key] = out
        return trained[key]

    return get


def evaluate_and_gaps(run, tmp_path, capsys):
    """evaluate --refine --ais and gaps on ``run``: both exit 0 and record their numbers."""
    argv = ["evaluate", str(run), "--n", "20", "--k", "20", "--ks", "5", "--ood", "none"]
    argv += ["--refine", "2", "--ais", "3", "--ais-chains", "2", "--no-figures", "--quiet"]
    assert cli.main(argv) == 0, capsys.readouterr().err
    metrics = json.loads((run / "metrics.json").read_text())
    assert np.isfinite(metrics["likelihood"]["elbo"]["nats"]["value"])
    capsys.readouterr()
    gaps = ["gaps", str(run), "--n", "3", "--k", "20", "--steps", "2", "--elbo-samples", "20"]
    assert cli.main([*gaps, "--flow-steps", "1"]) == 0, capsys.readouterr().err
    table = capsys.readouterr().out  # a CVAE's likelihood is conditional, and says so
    conditional = json.loads((run / "config.json").read_text())["model_type"] == "cvae"
    assert ("log p(x | c)" in table) == conditional and ("log p(x) " in table) != conditional
    record = json.loads((run / "gaps.json").read_text())
    assert np.isfinite(record["mean"]["amortization_gap"])


IMPUTE = ["--mask", "top", "--n", "2", "--eval-n", "4", "--samples", "2"]


def images(run, tmp_path, capsys, *extra, impute=True):
    """sample, reconstruct, impute and encode on ``run``: each writes its file."""
    commands = {"sample": ["--n", "4", *extra], "reconstruct": ["--n", "4"], "encode": []}
    if impute:
        commands["impute"] = [*IMPUTE, "--iterations", "2"]  # pseudo-Gibbs steps
    for name, args in commands.items():
        out = tmp_path / (f"{name}.npy" if name == "encode" else f"{name}.png")
        assert cli.main([name, str(run), *args, "--out", str(out)]) == 0, capsys.readouterr().err
        assert out.stat().st_size > 0
    latents = np.load(tmp_path / "encode.npy")
    assert latents.shape[1] == 2 and np.isfinite(latents).all()


@pytest.mark.parametrize("posterior", POSTERIORS)
@pytest.mark.parametrize("prior", PRIORS)
def test_every_command_runs_on_a_vae_of_each_family(runs, posterior, prior, tmp_path, capsys):
    run = runs("vae", posterior, prior)
    evaluate_and_gaps(run, tmp_path, capsys)
    images(run, tmp_path, capsys)


@pytest.mark.parametrize("posterior", POSTERIORS)
def test_every_command_runs_on_a_cvae_of_each_family(runs, posterior, tmp_path, capsys):
    run = runs("cvae", posterior)
    evaluate_and_gaps(run, tmp_path, capsys)
    images(run, tmp_path, capsys, "--condition", "3", impute=False)  # impute: below
    out = tmp_path / "transfer.png"
    argv = ["transfer", str(run), "--from-condition", "3", "--to-condition", "8", "--n", "2"]
    assert cli.main([*argv, "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.stat().st_size > 0


def test_impute_and_evaluate_run_on_an_imputation_cvae_with_a_flow_q(runs, tmp_path, capsys):
    """A CVAE conditioned on the observed part (the one kind of CVAE impute takes)."""
    run = runs("cvae", "flow", condition="mask:top")
    evaluate_and_gaps(run, tmp_path, capsys)
    out = tmp_path / "impute.png"
    assert cli.main(["impute", str(run), *IMPUTE, "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.stat().st_size > 0
