"""``compare`` trains its runs as ``torchlvm train`` does: under the run lock, in a staging
folder, so that a concurrent ``train`` into one of them is refused, and the other way round."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import torchlvm.training
from torchlvm.cli import main
from torchlvm.errors import RunBusyError, RunDirectoryError
from torchlvm.evaluation.compare import Budget, Contender, obtain, train_contender
from torchlvm.run import RunLayout, acquire, holds_run, stage_path

VAE = Contender("vae", "VAE", "vae")
BUDGET = Budget(epochs=1, latent_dim=2, hidden=(8,), batch_size=256)


def test_a_train_into_a_run_that_compare_is_training_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shapes" / "vae"
    fit, refused = torchlvm.training.fit, []

    def fit_while_someone_trains_the_same_folder(*args, **kwargs):
        code = main(["train", "vae", "--data", "shapes", "--epochs", "1", "--out", str(folder)])
        refused.append((code, capsys.readouterr().err))
        return fit(*args, **kwargs)

    monkeypatch.setattr(torchlvm.training, "fit", fit_while_someone_trains_the_same_folder)
    train_contender(VAE, "shapes", folder, BUDGET)
    busy = f"{folder} is being trained by pid {os.getpid()}; wait for it to finish"
    assert refused == [(2, f"torchlvm: error: {busy}\n")]
    assert holds_run(folder) and (folder / "model.safetensors").is_file()
    assert not stage_path(folder).exists() and not (folder / ".torchlvm.lock").exists()


def test_compare_refuses_a_run_folder_that_a_train_is_building(tmp_path: Path) -> None:
    folder = tmp_path / "shapes" / "vae"
    stage = stage_path(folder)
    stage.mkdir(parents=True)
    with acquire(stage, "torchlvm train vae"):
        with pytest.raises(RunBusyError, match=f"{folder} is being trained by pid {os.getpid()}"):
            train_contender(VAE, "shapes", folder, BUDGET)
    assert not folder.exists()


@pytest.mark.slow
def test_a_run_of_compare_killed_mid_training_is_named_with_a_fix_that_works(
    tmp_path: Path,
) -> None:
    """SIGKILL after an epoch leaves the run in its staging folder; compare names it and the way
    to finish it, and once finished with ``train --resume``, ``--reuse`` uses it."""
    folder = tmp_path / "shapes" / "vae"
    budget = Budget(epochs=12, latent_dim=2, hidden=(8,), batch_size=256)
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from torchlvm.evaluation.compare import Budget, Contender, train_contender
        train_contender(Contender("vae", "VAE", "vae"), "shapes", Path({str(folder)!r}),
                        Budget(**{budget.__dict__!r}))
        """
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    last = RunLayout(stage_path(folder)).last_checkpoint
    deadline = time.monotonic() + 120
    while not last.is_file() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)  # (checkpoints are written atomically: this one is whole)
    child.communicate()
    assert last.is_file() and not folder.exists()
    fix = f"finish it with 'torchlvm train vae --resume --out {folder}' and pass --reuse"
    with pytest.raises(RunDirectoryError, match=re.escape(fix)):
        obtain(VAE, "shapes", folder, budget, reuse=True)
    assert main(["train", "vae", "--resume", "--quiet", "--out", str(folder)]) == 0
    model, trained = obtain(VAE, "shapes", folder, budget, reuse=True)
    assert not trained and model.latent_dim == 2


def test_a_run_that_a_train_resumes_in_place_is_busy_not_one_to_reuse(tmp_path: Path) -> None:
    """obtain checked 'holds a run' (naming --reuse) before the busy check, and staged_run then
    made the same checks again: one set of checks now, the busy one first."""
    from torchlvm.models.vae import VAE as Model
    from torchlvm.models.vae import VAEConfig

    folder = tmp_path / "vae"
    Model(VAEConfig(input_dim=4, latent_dim=2, hidden=(4,))).save_pretrained(folder)
    code = f"from torchlvm.run import acquire; acquire({str(folder)!r}, 'x'); print(1); input()"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "1"
        with pytest.raises(RunBusyError, match=f"{folder} is being trained by pid {child.pid}"):
            obtain(VAE, "shapes", folder, BUDGET, reuse=False)
    finally:
        child.kill()
        child.wait()
    with pytest.raises(RunDirectoryError, match=f"^{folder} already holds a run; pass --reuse"):
        obtain(VAE, "shapes", folder, BUDGET, reuse=False)


def test_a_model_without_probes_is_said_why_not_that_the_data_have_no_labels() -> None:
    """compare --data digits --n 50 printed 'n/a (no labels)' for every model: digits has
    labels, the 50 examples had too few of some class for 5-fold probes. The cell now gives
    the evaluation's own reason; the budget line says '1 epoch', not '1 epochs'."""
    from torchlvm.evaluation.compare import _table, comparison_markdown

    reason = "5-fold probes need at least 5 examples of each of two or more classes, got [4]"
    entry = {
        "label": "AE",
        "interpretability": {"mig": {"value": 0.1}},
        "metrics": {"separability": {"value": None, "kind": "undefined", "note": reason + "; x"}},
    }
    table = _table({"ae": entry})
    assert table["separability"] == {"AE": f"n/a ({reason})"}
    budget = {"epochs": 1, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    result = {"data": "digits", "table": table, "budget": budget, "models": {"ae": entry}}
    result.update(protocol={"binarize": "dynamic", "n": 50, "k": 5}, verdicts={})
    assert "Budget (identical for all): 1 epoch, latent size 2" in comparison_markdown(result)


def test_points_are_not_called_images_or_pixels() -> None:
    """compare --data two-moons wrote 'posterior means of two-moons test images' and 'raw
    pixels give 0.760' for 2-D points: data that are not images are called examples, and their
    reference probe reads the raw inputs."""
    from torchlvm.evaluation.compare import comparison_markdown

    probes = {"logistic": {"value": 0.76, "stderr": 0.01}, "knn": {"value": 0.9}}
    metrics = {
        "protocol": {"shape": [2]},
        "separability": {"latent": probes, "pixels": probes},
    }
    budget = {"epochs": 2, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    result = {"data": "two-moons", "table": {"separability": {"AE": "x"}}, "budget": budget}
    result.update(models={"ae": {"metrics": metrics}}, verdicts={})
    result.update(protocol={"binarize": "none", "n": 50, "k": 5})
    text = comparison_markdown(result)
    assert "posterior means of two-moons test examples" in text
    assert "raw inputs give 0.760 (logistic)" in text and "between test examples" in text
    assert "pixels give" not in text and "test images" not in text
    metrics["protocol"]["shape"] = [1, 8, 8]
    assert "raw pixels give 0.760" in comparison_markdown(result)


def test_the_frechet_verdict_gives_the_digits_of_the_table_not_thousandths() -> None:
    """compare --data digits printed 'AE 369.485 vs VAE 334.241' for Fréchet distances whose
    noise floor at that n is 4.8 (the table beside it: 'FD 369.5'): one decimal, as the table."""
    from torchlvm.evaluation.compare import _verdicts

    def entry(frechet: float, mig: float) -> dict:
        fd = {"unit": "Fréchet distance", "kind": "estimate"}
        quality = {"frechet": {"value": frechet, **fd},
                   "frechet_real_reference": {"value": 4.821978, **fd}}  # fmt: skip
        return {"metrics": {"sample_quality": quality}, "interpretability": {"mig": {"value": mig}}}

    verdicts = _verdicts({"ae": entry(369.48512, 0.0213), "vae": entry(334.24133, 0.0561)})
    assert verdicts["generation"] == (
        "Fréchet distance of samples (lower = better; the AE fed N(0, I) codes): AE 369.5 vs "
        "VAE 334.2 — the VAE is better here"
    )
    assert "AE 0.021 vs VAE 0.056" in verdicts["interpretability"]
    near = _verdicts({"ae": entry(336.0, 0.02), "vae": entry(334.24133, 0.02)})["generation"]
    assert near.endswith("no clear difference (|difference| within the real-vs-real distance at "
                         "this n, 4.8)")  # fmt: skip


def test_the_frechet_verdict_also_weighs_the_ae_on_its_fitted_codes() -> None:
    """compare said 'AE 1065.7 vs VAE 740.4 — the VAE is better here' of an AE fed N(0, I)
    codes while the table beside it gave the AE on fitted-Gaussian codes (what sample draws from
    an AE) 262.8, better than the VAE (userB): the verdict weighs both."""
    from torchlvm.evaluation.compare import _verdicts

    fd = {"unit": "Fréchet distance", "kind": "estimate"}

    def entry(**frechets: float) -> dict:
        quality = {name: {"value": v, **fd} for name, v in frechets.items()}
        quality["frechet_real_reference"] = {"value": 4.8, **fd}
        return {"metrics": {"sample_quality": quality}, "interpretability": {"mig": {"value": 0}}}

    ae = entry(frechet=1065.7, frechet_fitted_codes=262.8)
    verdict = _verdicts({"ae": ae, "vae": entry(frechet=740.4)})["generation"]
    assert "N(0, I) codes): AE 1065.7 vs VAE 740.4 — the VAE is better here; " in verdict
    assert verdict.endswith(
        "the AE fed codes from a Gaussian fitted to its training codes: AE 262.8 vs VAE 740.4 — "
        "the AE is better here"
    )


def test_the_mig_verdict_weighs_the_difference_against_the_bootstrap_standard_errors() -> None:
    """compare called MIG 0.021 vs 0.056 'the VAE is better here' against a fixed tolerance of
    0.02 that no measurement gave; each MIG now carries its bootstrap standard error, and a
    difference within twice their combined error is no clear difference."""
    from torchlvm.evaluation.compare import _verdicts

    def entry(mig: float, stderr: float) -> dict:
        return {"metrics": {}, "interpretability": {"mig": {"value": mig, "stderr": stderr}}}

    near = _verdicts({"ae": entry(0.0213, 0.015), "vae": entry(0.0561, 0.012)})
    assert near["interpretability"] == (
        "MIG (higher = more disentangled): AE 0.021 vs VAE 0.056 — no clear difference "
        "(|difference| within 2 bootstrap standard errors, 0.038)"
    )
    far = _verdicts({"ae": entry(0.0213, 0.005), "vae": entry(0.0561, 0.004)})
    assert far["interpretability"].endswith("— the VAE is better here")


def test_the_table_gives_each_mig_with_its_bootstrap_standard_error() -> None:
    """compare.md's table printed 'MIG 0.056' bare while its verdict weighed the difference
    against the bootstrap standard errors and compare.png drew them as error bars: a reader of
    the table could not tell 0.021 vs 0.056 from noise. The cell is value ± s.e.; a MIG recorded
    before the s.e. existed (a reused compare) keeps its bare value, claiming no error."""
    from torchlvm.evaluation.compare import _table, comparison_markdown

    def entry(label: str, mig: dict) -> dict:
        return {"label": label, "interpretability": {"mig": mig}, "metrics": {}}

    models = {
        "ae": entry("AE", {"value": 0.0213, "stderr": 0.0151}),
        "vae": entry("VAE", {"value": 0.0561}),
    }
    table = _table(models)
    assert table["interpretability"] == {"AE": "MIG 0.021 ± 0.015", "VAE": "MIG 0.05610"}
    budget = {"epochs": 1, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    result = {"data": "digits", "table": table, "budget": budget, "models": models}
    result.update(protocol={"binarize": "dynamic", "n": 50, "k": 5}, verdicts={})
    text = comparison_markdown(result)
    assert "| **interpretability** | MIG 0.021 ± 0.015 | MIG 0.05610 |" in text
    assert "± its bootstrap standard error (50 resamples of the images)" in text


def test_contenders_on_colour_images_get_the_colour_files_defaults(tmp_path: Path) -> None:
    """compare --data rgb.npy trained its contenders with a Bernoulli on dynamically binarized
    colours, while train on the same file takes the measured colour defaults (a Gaussian with a
    learned σ per pixel, no binarization: data.pixels.COLOUR_DEFAULTS): compare takes them too."""
    import numpy as np

    from torchlvm.data.pixels import COLOUR_DEFAULTS
    from torchlvm.evaluation.compare import Contender, _contender_run

    rgb = tmp_path / "rgb.npy"
    np.save(rgb, np.random.default_rng(0).integers(0, 256, (60, 3, 4, 4), dtype=np.uint8))
    budget = Budget(epochs=1, latent_dim=2, hidden=(8,), batch_size=16)
    model, dm, _ = _contender_run(Contender("vae", "VAE", "vae"), str(rgb), budget, None)
    assert dm.binarize == "none"
    for key, value in COLOUR_DEFAULTS.items():
        assert getattr(model.config, key) == value, key


def test_a_cvae_separability_is_said_to_be_given_the_class() -> None:
    """userB: the CVAE's probes (0.730, above raw pixels) ranked it the most separable with no
    word that its codes come from q(z|x,c) fed the true class: the cell and the notes say so."""
    from torchlvm.evaluation.compare import _table, comparison_markdown

    probes = {"logistic": {"value": 0.73, "stderr": 0.01}, "knn": {"value": 0.7, "stderr": 0.02}}

    def entry(label: str, condition: str) -> dict:
        metrics = {"protocol": {"condition": condition}, "separability": {"latent": probes}}
        return {"label": label, "interpretability": {"mig": {"value": 0.1}}, "metrics": metrics}

    models = {
        "ae": entry("AE", "none"),
        "vae": entry("VAE", "none"),
        "cvae": entry("CVAE", "label"),
    }
    table = _table(models)
    assert table["separability"]["VAE"] == "logistic 0.730 ± 0.010 / 5-NN 0.700 ± 0.020"
    assert table["separability"]["CVAE"].startswith(
        "logistic 0.730 ± 0.010 / 5-NN 0.700 ± 0.020 (codes of q(z|x,c)"
    )
    budget = {"epochs": 1, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    result = {"data": "digits", "table": table, "budget": budget, "models": models}
    result.update(protocol={"binarize": "dynamic", "n": 50, "k": 5}, verdicts={})
    assert "probe reads back the class it was handed" in comparison_markdown(result)


def test_the_generation_cell_gives_an_exact_log_p_as_exact() -> None:
    """A PPCA's cell read its importance-sampled estimate ("IS, k=1000"), which evaluate no
    longer draws beside the exact log p(x): the cell gives the best one there is, named."""
    from torchlvm.evaluation.compare import _generation
    from torchlvm.evaluation.records import Evaluation

    def cell(likelihood: dict) -> str:
        return _generation(Evaluation.from_json({"likelihood": likelihood}), False)

    exact = {"nats": {"value": 16.64, "unit": "nats/example", "kind": "exact"}}
    estimate = {"nats": {"value": -26.2, "unit": "nats/example", "kind": "estimate", "k": 1000}}
    assert cell({"exact": exact}) == "FD n/a; log p(x) 16.64 nats (exact)"
    assert cell({"exact": exact, "log_marginal": estimate}).endswith("16.64 nats (exact)")
    assert cell({"log_marginal": estimate}) == "FD n/a; log p(x) -26.20 nats (IS, k=1000)"


def test_the_cvaes_generation_cell_gives_its_log_p_x_over_the_classes() -> None:
    """userU #3: compare.md put the CVAE's log p(x | c) beside the VAE's log p(x) in one row,
    the class given to one and not the other: its log p(x) over the classes follows."""
    from torchlvm.evaluation.compare import _generation
    from torchlvm.evaluation.records import Evaluation

    given = {"nats": {"value": -28.08, "unit": "nats/example", "kind": "estimate", "k": 1000}}
    over = {"nats": {"value": -29.0, "unit": "nats/example", "kind": "estimate", "k": 100}}
    like = {"quantity": "log p(x | c)", "log_marginal": given, "log_px_over_classes": over}
    assert _generation(Evaluation.from_json({"likelihood": like}), False) == (
        "FD n/a; log p(x | c) -28.08 nats (IS, k=1000); log p(x) over the classes -29.00 nats "
        "(IS, k=100 per class)"
    )


def test_compare_md_gives_the_numbers_compare_png_draws() -> None:
    """userH #16: compare.md's separability cells gave no ± where compare.png does, and the
    real-vs-real Fréchet floor was in the PNG only; userJ #2: no chance level beside the
    accuracies. One set of numbers in both, with the probes' chance."""
    from torchlvm.evaluation.compare import _table, comparison_markdown
    from torchlvm.plots.compare import comparison_scores

    probes = {"logistic": {"value": 0.62, "stderr": 0.022}, "knn": {"value": 0.56, "stderr": 0.03}}
    separability = {"latent": probes, "pixels": probes, "chance": {"value": 0.112}}
    quality = {"frechet": {"value": 160.25}, "frechet_real_reference": {"value": 27.91}}

    def entry(label: str) -> dict:
        metrics = {"separability": separability, "sample_quality": quality}
        return {"label": label, "interpretability": {"mig": {"value": 0.1}}, "metrics": metrics}

    models = {"ae": entry("AE"), "vae": entry("VAE")}
    table = _table(models)
    budget = {"epochs": 1, "latent_dim": 2, "hidden": [8], "batch_size": 8, "lr": 0.1, "seed": 0}
    result = {"data": "mnist", "table": table, "budget": budget, "models": models}
    result.update(protocol={"binarize": "dynamic", "n": 200, "k": 100}, verdicts={})
    text = comparison_markdown(result)
    rows = comparison_scores(result)
    drawn = rows["separability"]["values"]["VAE"], rows["separability"]["errors"]["VAE"]
    assert f"logistic {drawn[0]:.3f} ± {drawn[1]:.3f} / 5-NN 0.560 ± 0.030" in text
    assert f"give {rows['generation']['reference']:.1f} (a reference)" in text
    assert "always answering the most frequent class, 0.112 (chance)" in text


def test_a_warning_while_a_contender_trains_names_which_model_it_is_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of the eight models compare trains, 'no latent dimension is active ... try more --epochs,
    a smaller --beta' named none (it was the β-VAE's on digits, 5 epochs)."""
    import warnings

    from torchlvm.errors import spelled

    fit = torchlvm.training.fit

    def fit_that_warns(*args, **kwargs):
        fit(*args, **kwargs)
        warnings.warn(spelled(UserWarning, lambda s: f"odd; try {s('beta')}"), stacklevel=2)

    monkeypatch.setattr(torchlvm.training, "fit", fit_that_warns)
    folder = tmp_path / "shapes" / "beta-vae"
    with pytest.warns(UserWarning) as caught:
        train_contender(Contender("beta-vae", "β-VAE (β=4)", "vae", 4.0), "shapes", folder, BUDGET)
    said = [w.message for w in caught if "odd; try" in str(w.message)]
    assert len(said) == 1
    assert str(said[0]) == f"the β-VAE (β=4) trained on shapes ({folder}): odd; try beta"
    assert said[0].on_command_line.endswith(
        f"({folder}): odd; try --beta of 'torchlvm train vae' (compare takes no --beta: it "
        "trains this model at β = 4)"
    )


def test_a_contenders_warning_names_trains_options_that_compare_does_not_take() -> None:
    """compare's collapse warning offered 'a smaller --beta', which compare does not take: the
    fix that exists is train's option, named as such, with the contender's own β."""
    from torchlvm.evaluation.compare import CONTENDERS, _options_compare_takes

    vae, beta_vae = CONTENDERS[1], CONTENDERS[2]
    text = "try a smaller --scale (σ of p(x | z) is 1 here), more --epochs, a smaller --beta"
    assert _options_compare_takes(text, beta_vae) == (
        "try a smaller --scale of 'torchlvm train vae' (compare takes no --scale) (σ of p(x | z) "
        "is 1 here), more --epochs, a smaller --beta of 'torchlvm train vae' (compare takes no "
        "--beta: it trains this model at β = 4)"
    )
    assert "at β = 1)" in _options_compare_takes("a smaller --beta", vae)
    assert (
        _options_compare_takes("more --epochs or --beta-max", vae) == "more --epochs or --beta-max"
    )


def test_the_warnings_of_a_contender_whose_training_fails_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """review16 R10: the warnings were re-emitted after fit returned, so those of a fit that
    raised (the ones that tell why, often) were dropped."""
    import warnings

    def fit_that_warns_then_fails(*args, **kwargs):
        warnings.warn("the loss is not finite", UserWarning, stacklevel=2)
        raise RuntimeError("training failed")

    monkeypatch.setattr(torchlvm.training, "fit", fit_that_warns_then_fails)
    folder = tmp_path / "shapes" / "vae"
    with pytest.warns(UserWarning, match=r"the VAE trained on shapes .*: the loss is not finite"):
        with pytest.raises(RuntimeError, match="training failed"):
            train_contender(VAE, "shapes", folder, BUDGET)
