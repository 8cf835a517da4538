"""`torchlvm train`: writes a run folder, refuses to clobber one, resumes, and turns every user
error into one line on stderr with exit status 2."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
import torch

import torchlvm.cli
import torchlvm.training.module as training_module
from torchlvm.cli import main
from torchlvm.training.metrics_csv import read_metrics

TINY = ["--latent-dim", "4", "--hidden", "32", "--quiet"]


@pytest.fixture(autouse=True)
def _train_command(monkeypatch: pytest.MonkeyPatch):
    """Register the command (a no-op once cli/__init__.py lists it) and use one thread."""
    monkeypatch.setitem(torchlvm.cli.COMMANDS, "train", "train")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("torchlvm: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "vae"
    argv = ["train", "vae", "--data", "digits", "--epochs", "2", *TINY, "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(torchlvm.cli.COMMANDS, "train", "train")
        assert main(argv) == 0
    return out


def test_train_writes_a_run_folder(vae_run: Path) -> None:
    names = {p.name for p in vae_run.iterdir()}
    assert names >= {"config.json", "model.safetensors", "metrics.csv", "checkpoints"}
    assert not [p for p in vae_run.parent.iterdir() if p.name.startswith(".")]  # no staging left
    record = json.loads((vae_run / "config.json").read_text())
    assert record["model_type"] == "vae"
    assert record["data"]["binarize"] == "dynamic"  # the default for digits with Bernoulli
    assert record["model"]["likelihood"] == "bernoulli" and record["model"]["latent_dim"] == 4
    assert record["training"]["max_epochs"] == 2 and record["cli"]["data"] == "digits"
    assert [r["epoch"] for r in read_metrics(vae_run / "metrics.csv")] == [0, 1]
    assert (vae_run / "checkpoints" / "last.ckpt").is_file()


def test_summary_labels_every_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    assert (
        main(["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]) == 0
    )
    text = capsys.readouterr().out
    assert "validation ELBO (bound on log p(x); β=1, 1 z sample, analytic KL)" in text
    assert "nats/example" in text and "binarize=dynamic" in text and str(out) in text
    assert "saved weights: best epoch 1 by val/elbo" in text  # epochs shown count from 1
    assert "trained on" not in text  # the ELBO itself: nothing to add


def test_a_beta_vae_summary_names_what_it_was_trained_on() -> None:
    """A β=4 run printed only 'validation ELBO (…; β=1, …)', which a student read as the run's
    β (userE): the summary names the objective the run maximized, beside the bound it prints."""
    from torchlvm.training.config import TrainConfig, shaped_objective

    assert shaped_objective(TrainConfig()) is None
    assert shaped_objective(TrainConfig(objective="iwae", k=5)) is None
    beta = shaped_objective(TrainConfig(beta=4.0))
    assert beta == "E_q[log p(x|z)] − β·KL with β=4"
    ramp = shaped_objective(TrainConfig(warmup_epochs=3, free_bits=0.5))
    assert ramp is not None and "ramped from 0 to 1 over 3 epochs" in ramp
    assert "held at ≥ 0.5 nats" in ramp


def test_an_existing_run_is_left_alone(vae_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _snapshot(vae_run)
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(vae_run)]
    assert main(argv) == 2
    assert "already holds a run; pass --resume" in _one_error_line(capsys)
    assert _snapshot(vae_run) == before


def test_resume_continues_and_refuses_changed_settings(
    vae_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "vae", "--epochs", "3", "--quiet", "--out", str(vae_run), "--resume"]
    assert main(argv) == 0
    assert "resumed at epoch 3" in capsys.readouterr().out  # 2 done: the third (from 1)
    assert [r["epoch"] for r in read_metrics(vae_run / "metrics.csv")] == [0, 1, 2]
    before = _snapshot(vae_run)
    assert main([*argv[:-1], "--latent-dim", "8", "--resume"]) == 2
    assert "--latent-dim 8 (the run has 4)" in _one_error_line(capsys)
    assert main(["train", "cvae", "--epochs", "9", "--out", str(vae_run), "--resume"]) == 2
    assert "holds a vae run" in _one_error_line(capsys)
    assert _snapshot(vae_run) == before


def test_a_resume_says_when_the_runs_metrics_describe_the_model_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After train --resume the run's metrics.json described the model before it, in silence."""
    from torchlvm.run.metrics import merge_metrics

    out = tmp_path / "run"
    base = ["train", "vae", "--data", "digits", *TINY, "--out", str(out)]
    assert main([*base, "--epochs", "1"]) == 0
    merge_metrics(out, {"likelihood": {"elbo": -30.0}})  # what evaluate merges, stamped
    capsys.readouterr()
    assert main([*base, "--epochs", "2", "--resume"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"  {out}/metrics.json: of the model before this resume; "
        f"'torchlvm evaluate {out}' measures this one"
    )
    merge_metrics(out, {"likelihood": {"elbo": -29.0}})  # evaluated again
    assert main([*base, "--epochs", "3", "--resume"]) == 0
    assert "before this resume" in capsys.readouterr().out  # (trained on: stale again)


def test_overwrite_replaces_a_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]
    assert main(base) == 0
    assert main([*base, "--overwrite", "--seed", "1"]) == 0
    assert json.loads((out / "config.json").read_text())["training"]["seed"] == 1


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["cvae", "--data", "linear-gaussian"], "condition 'label' needs class labels"),
        (["vae", "--data", "digits", "--binarize", "none"], "--likelihood gaussian"),
        (["vae", "--data", "digits", "--condition", "label"], "needs a conditional model"),
        (["ae", "--data", "digits", "--beta", "2"], "does not apply to an autoencoder"),
        (["vae", "--data", "no-such-data"], "unknown dataset 'no-such-data'"),
        (["vae", "--data", "digits", "--resume"], "holds no run to continue"),
    ],
    ids=["cvae-no-labels", "bernoulli-grey", "vae-condition", "ae-beta", "unknown-data",
         "resume-nothing"],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    out = tmp_path / "run"
    assert main(["train", *argv, "--out", str(out)]) == 2
    assert match in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--objective", "iwae", "--k", "0"], "argument --k: must be a positive integer, got 0"),
        (["--beta", "-1"], "argument --beta: must be a non-negative number, got -1"),
        (["--latent-dim", "0"], "argument --latent-dim: must be a positive integer, got 0"),
        (["--epochs", "0"], "argument --epochs: must be a positive integer, got 0"),
        (["--lr", "nan"], "argument --lr: must be a finite number, got nan"),
        (["--hidden", "8", "0"], "argument --hidden: must be a positive integer, got 0"),
        (["--warmup-epochs", "-1"], "argument --warmup-epochs: must be a non-negative integer"),
        (["--gradient-clip", "0"], "argument --gradient-clip: must be a positive number, got 0"),
    ],
    ids=["k0", "negative-beta", "latent0", "epochs0", "lr-nan", "hidden0", "warmup", "clip0"],
)
def test_a_bad_number_names_the_option_the_user_typed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], line: str
) -> None:
    """``--epochs 0`` said "max_epochs must be a positive integer" and ``--gradient-clip 0``
    "... or None": the names of Python fields. Each is now refused as the option typed, before
    any data is read."""
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        main(["train", "vae", "--data", "digits", *argv, "--out", str(out)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"torchlvm: error: {line}"), err
    assert err[1] == "  see 'torchlvm train --help'"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("model", "extra", "labels"),
    [
        ("ae", ["--likelihood", "gaussian", "--binarize", "none"],
         ["validation reconstruction loss (lower is better), last epoch: ",
          " squared error/example\n"]),
        ("cvae", [],
         ["validation ELBO (bound on log p(x | c); β=1", "E_q[log p(x|z,c)], last epoch",
          "and KL(q(z|x,c) ‖ p(z|c)), last epoch"]),
    ],
)  # fmt: skip
def test_other_models_train(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    model: str,
    extra: list[str],
    labels: list[str],
) -> None:
    """Each summary line names its quantity: the CVAE's bound is on log p(x | c) (its terms
    conditioned on c; they read log p(x), log p(x|z) and KL to p(z)), and the autoencoder's
    squared error is per example (it said only 'squared error')."""
    out = tmp_path / model
    argv = ["train", model, "--data", "digits", "--epochs", "1", *extra, *TINY, "--out", str(out)]
    assert main(argv) == 0
    assert json.loads((out / "config.json").read_text())["model_type"] == model
    text = capsys.readouterr().out
    assert all(label in text for label in labels), text


def test_a_diverged_new_run_leaves_nothing_half_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = training_module.training_loss
    state = {"calls": 0, "poison_from": 0}

    def poisoned(*args, **kwargs):
        terms = real(*args, **kwargs)
        if state["calls"] >= state["poison_from"]:
            terms["loss"] = terms["loss"] * float("nan")
        state["calls"] += 1
        return terms

    monkeypatch.setattr(training_module, "training_loss", poisoned)
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "3", *TINY, "--out", str(out)]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "global step 0" in line and f"nothing was written to {out}" in line
    assert "start it again with 'torchlvm train vae --data digits --epochs 3 " in line, line
    assert line.endswith(f"--out {out} --quiet'"), line  # (it reported quietly: so does this)
    assert list(tmp_path.iterdir()) == []

    # a run that finished an epoch keeps its checkpoints (not a model) for --resume
    state.update(calls=0, poison_from=15)
    assert main(argv) == 2
    line = _one_error_line(capsys)
    resume = f"torchlvm train vae --resume --out {out} --quiet"
    assert "global step 15" in line and f"finish it with '{resume}' (training on" in line, line
    assert {p.name for p in out.iterdir()} == {"checkpoints", "metrics.csv"}
    state.update(poison_from=10**9)
    assert main(shlex.split(resume)[1:]) == 0  # the command it names
    assert [r["epoch"] for r in read_metrics(out / "metrics.csv")] == [0, 1, 2]
    assert (out / "model.safetensors").is_file()


def test_a_diverged_run_is_finished_where_it_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run diverges in its third epoch: the message offers --epochs 2, which publishes the
    best epoch's weights without training; fewer epochs than finished is one line."""
    real = training_module.training_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        terms = real(*args, **kwargs)
        calls["n"] += 1
        return {**terms, "loss": terms["loss"] * float("nan")} if calls["n"] > 25 else terms

    monkeypatch.setattr(training_module, "training_loss", poisoned)
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "3", *TINY, "--out", str(out)]
    assert main(argv) == 2
    offered = f"'torchlvm train vae --resume --out {out} --quiet --epochs 2'"
    assert f"or where it stopped, after 2 epochs, with {offered}" in _one_error_line(capsys)
    monkeypatch.setattr(training_module, "training_loss", real)
    before = _snapshot(out)
    resume = ["train", "vae", "--quiet", "--out", str(out), "--resume"]
    assert main([*resume, "--epochs", "1"]) == 2
    line = _one_error_line(capsys)
    assert "interrupted after 2 epochs, more than the 1 that --epochs asks for" in line
    assert "set --epochs to 2 to finish it" in line
    assert "max_epochs" not in line and _snapshot(out) == before
    assert main(["evaluate", str(out), "--quiet"]) == 2
    assert (
        f"or where it stopped, after 2 epochs, with 'torchlvm train vae --resume --out {out} "
        "--epochs 2'" in _one_error_line(capsys)
    )
    assert main([*resume, "--epochs", "2"]) == 0
    printed = capsys.readouterr().out
    assert "where its training stopped, after 2 epochs: no epoch trained" in printed
    best = json.loads((out / "config.json").read_text())["result"]["best_epoch"]
    assert f"saved weights: best epoch {best + 1} by val/elbo" in printed
    assert [r["epoch"] for r in read_metrics(out / "metrics.csv")] == [0, 1]
    assert main([*resume, "--epochs", "2"]) == 2
    assert "has finished its 2 epochs and --epochs is 2" in _one_error_line(capsys)


def test_cuda_graph_runs_the_whole_step_path_and_says_so_in_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]
    assert main([*argv, "--cuda-graph"]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["runtime"]["fast"] is True and record["cli"]["cuda_graph"] is True
    resumed = ["train", "vae", "--data", "digits", "--epochs", "2", *TINY, "--out", str(out)]
    assert main([*resumed, "--resume"]) == 0  # resuming may drop it: same results either way
    assert json.loads((out / "config.json").read_text())["runtime"]["fast"] is False
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "--cuda-graph" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("file", "flag", "value", "message"),
    [
        ("t.npy", "--label-column", "y", "{} applies to .csv files, not t.npy; save the data"),
        ("t.npy", "--drop-columns", "a", "{} applies to .csv files, not t.npy; remove those"),
        ("t.csv", "--label-column", "nope", "{} 'nope' is not a column name (a, b, y)"),
        ("t.csv", "--drop-columns", "nope", "{} entry 'nope' is not a column name (a, b, y)"),
        ("t.csv", "--label-column", "7", "{} 7 is out of range for 3 columns"),
    ],
    ids=["npy-label", "npy-drop", "csv-label-name", "csv-drop-name", "csv-label-index"],
)
def test_a_column_option_is_named_as_each_interface_spells_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file, flag, value, message
) -> None:
    """The CLI's error named Python's keyword (label_column) for its flag (--label-column)."""
    import numpy as np

    from torchlvm.data import load_dataset
    from torchlvm.errors import ConfigError

    path = tmp_path / file
    rows = np.random.default_rng(0).normal(size=(30, 3)).round(3)
    if file.endswith(".npy"):
        np.save(path, rows.astype(np.float32))
    else:
        path.write_text("a,b,y\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    argv = ["train", "vae", "--data", str(path), flag, value, *TINY, "--out", str(tmp_path / "r")]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"torchlvm: error: {message.format(flag)}"), line
    assert "_column" not in line.replace(str(tmp_path), "")  # no Python keyword on the CLI
    keyword = flag[2:].replace("-", "_")
    option = int(value) if value.isdigit() else value
    with pytest.raises(ConfigError, match="^" + re.escape(message.format(keyword))):
        load_dataset(str(path), **{keyword: option if keyword == "label_column" else [option]})


def test_a_damaged_model_or_record_is_published_again_from_the_checkpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated model.safetensors (a copy cut short) named no fix that exists for a run:
    the command that reads it names '--resume --epochs DONE', which publishes it again."""
    import torchlvm

    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]
    assert main(argv) == 0
    weights = out / "model.safetensors"
    good = torchlvm.load(out).state_dict()
    weights.write_bytes(weights.read_bytes()[:1000])
    assert main(["sample", str(out), "--n", "2"]) == 2
    command = f"torchlvm train vae --resume --out {out} --epochs 1"
    assert _one_error_line(capsys).endswith(f"publish the run's model again: '{command}'")
    assert main(command.split()[1:] + ["--quiet"]) == 0
    for name, value in torchlvm.load(out).state_dict().items():
        torch.testing.assert_close(value, good[name], rtol=0, atol=0)
    # a damaged config.json: the checkpoints hold the run's record too
    config = out / "config.json"
    config.write_text('{"model_type":')
    assert main(["sample", str(out), "--n", "2"]) == 2
    assert _one_error_line(capsys).endswith(
        f"move {config} away, then '{command}' publishes the run again"
    )
    config.rename(tmp_path / "config.json.damaged")
    assert main(command.split()[1:] + ["--quiet"]) == 0
    assert torchlvm.load(out).config.latent_dim == 4
    # a deleted model.safetensors: the same command publishes it again
    weights.unlink()
    assert main(["sample", str(out), "--n", "2"]) == 2
    line = _one_error_line(capsys)
    assert line.startswith(f"torchlvm: error: {weights} is missing")
    assert line.endswith(f"publish the run's model again: '{command}'")
    assert main(command.split()[1:] + ["--quiet"]) == 0
    assert torchlvm.load(out).config.latent_dim == 4


def test_resume_as_another_model_offers_the_whole_command_that_resumes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train cvae --resume` of a VAE run offered "run 'torchlvm train vae ... --resume'",
    which cannot be pasted (userF #14): the command is whole, and run as offered it resumes."""
    out = tmp_path / "my run"
    assert (
        main(["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]) == 0
    )
    capsys.readouterr()
    assert main(["train", "cvae", "--resume", "--out", str(out), "--epochs", "2", "--quiet"]) == 2
    line = _one_error_line(capsys)
    offered = re.search(r"holds a vae run, not cvae; run '(.*)'$", line)
    assert offered is not None, line
    argv = shlex.split(offered.group(1))
    assert argv == ["torchlvm", "train", "vae", "--resume", "--out", str(out), "--quiet"] + [
        "--epochs",
        "2",
    ]
    assert main(argv[1:]) == 0
    assert [r["epoch"] for r in read_metrics(out / "metrics.csv")] == [0, 1]


def test_resume_into_a_fitted_ppca_run_names_no_command_that_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PPCA run is made by 'fit', which does not resume: the message offered 'torchlvm train
    ppca ... --resume', a model train does not know."""
    out = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    argv = ["train", "vae", "--epochs", "2", "--quiet", "--out", str(out), "--resume"]
    assert main(argv) == 2
    line = _one_error_line(capsys)
    assert "holds a ppca run, not vae" in line
    assert "'torchlvm fit' made it, which does not resume; train into another --out" in line
    assert "train ppca" not in line


def test_resume_without_last_ckpt_names_the_command_that_trains_it_anew(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run whose checkpoints/last.ckpt was deleted (to save space) cannot resume: the message
    said 'train from scratch instead', naming no command. It names the train command with the
    run's options (kept through an earlier resume) and a folder that is free; run as printed,
    that command trains it."""
    out = tmp_path / "my run"
    base = ["train", "vae", "--data", "digits", "--epochs", "1", *TINY, "--seed", "3"]
    assert main([*base, "--standardize", "--out", str(out)]) == 2  # (a table's option)
    assert main([*base, "--no-standardize", "--out", str(out)]) == 0
    assert main(["train", "vae", "--epochs", "2", "--quiet", "--out", str(out), "--resume"]) == 0
    (out / "checkpoints" / "last.ckpt").unlink()
    capsys.readouterr()
    before = _snapshot(out)
    assert main(["train", "vae", "--epochs", "3", "--out", str(out), "--resume"]) == 2
    line = _one_error_line(capsys)
    assert _snapshot(out) == before
    assert "has no checkpoints/last.ckpt" in line and "its model stays and loads" in line, line
    fix = re.search(r"train it anew with '([^']*)'", line)
    assert fix is not None, line
    argv = shlex.split(fix.group(1))
    assert argv[:3] == ["torchlvm", "train", "vae"] and argv[-2:] == ["--out", f"{out}-2"]
    assert {"--latent-dim", "--hidden", "--seed", "--no-standardize"} <= set(argv), argv
    assert argv[argv.index("--epochs") + 1] == "3"
    assert main(argv[1:]) == 0
    record = json.loads((Path(f"{out}-2") / "config.json").read_text())
    assert record["model"] == json.loads((out / "config.json").read_text())["model"]
    assert record["training"]["seed"] == 3 and record["training"]["max_epochs"] == 3
    assert f"with --out '{out}' --overwrite" in line or f'--out "{out}" --overwrite' in line


def test_resume_of_a_run_killed_in_its_first_epoch_names_the_command_that_made_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`train --resume` of a run SIGKILLed before its first epoch finished said only 'holds no
    run to continue; train it without --resume first', where evaluate and report name the
    command that made it (its options), which starts it over."""
    import os

    from torchlvm.run.layout import LOCK_NAME, STAGE_MARKER_NAME, stage_path

    out = tmp_path / "my run"
    stage = stage_path(out)
    (stage / "checkpoints").mkdir(parents=True)
    (stage / STAGE_MARKER_NAME).write_text(json.dumps({"target": str(out), "name": out.name}))
    made = f'torchlvm train vae --data digits --epochs 1 {" ".join(TINY)} --out "{out}"'
    holder = {"pid": 2**22 + 7, "host": os.uname().nodename, "command": made, "started": ""}
    (stage / LOCK_NAME).write_text(json.dumps(holder))
    assert main(["train", "vae", "--resume", "--out", str(out)]) == 2
    line = _one_error_line(capsys)
    assert "interrupted before its first epoch finished, so there is nothing to resume" in line
    assert f"start it over with the command that made it ('{made}';" in line, line
    assert main(shlex.split(made)[1:]) == 0  # as offered
    assert (out / "model.safetensors").is_file() and not stage.exists()


def test_a_users_lightning_checkpoint_named_last_is_not_resumed_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint of the user's own Lightning training put in a run as checkpoints/last.ckpt
    was judged by its name: resumed from (refused only where its tensors did not fit, as
    'another model'), counted as the run's finished epochs. It is named as not torchlvm's, kept,
    and --overwrite keeps it too."""
    out = tmp_path / "run"
    argv = ["train", "ae", "--data", "digits", "--epochs", "1", *TINY, "--out", str(out)]
    assert main(argv) == 0
    last = out / "checkpoints" / "last.ckpt"
    mine = torch.load(last, weights_only=True)  # (its tensors fit: only its record tells)
    del mine["torchlvm"]
    torch.save(mine, last)
    before = _snapshot(out)
    assert main(["train", "ae", "--epochs", "2", "--quiet", "--out", str(out), "--resume"]) == 2
    error = _one_error_line(capsys)
    assert f"{last} is not a checkpoint torchlvm wrote" in error
    assert f"move it out of {last.parent}, then" in error
    assert main([*argv, "--overwrite"]) == 2
    assert "also checkpoints/last.ckpt, which torchlvm did not write" in _one_error_line(capsys)
    assert _snapshot(out) == before


def test_a_run_stopped_early_says_why_and_how_to_train_on(tmp_path, capsys):
    """userW #5: a table's run stopped at epoch 34 of 60 on a plateau ('stopped early', by a
    table's default --patience 30), with no word of the rule or of the way on. The line names
    both, and the command it gives trains on."""
    out = tmp_path / "run"
    argv = ["train", "vae", "--data", "digits", "--latent-dim", "2", "--hidden", "8"]
    assert (
        main([*argv, "--epochs", "40", "--patience", "1", "--lr", "0.05", "--out", str(out)]) == 0
    )
    said = [line for line in capsys.readouterr().out.splitlines() if "stopped early:" in line]
    command = f"torchlvm train vae --resume --out {out} --patience 4"
    why = "  stopped early: no better val/elbo for 1 epoch (--patience; 30 for a table); "
    assert said == [f"{why}to train on: {command}"]
    assert main(command.split()[1:] + ["--quiet"]) == 0
    assert re.search(r": \d+ epochs? \(resumed at epoch \d+\)", capsys.readouterr().out)
