"""``load_split`` refuses a run whose model learned values torchlvm no longer reads from its
image file, whichever file the command is given: its own (checked before) or another of the same
kind, which is read as image files are read now and so is not what the model learned either."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from torchlvm.cli import main
from torchlvm.data import load_dataset

TINY = ["--epochs", "1", "--latent-dim", "2", "--hidden", "8", "--quiet"]


@pytest.fixture
def earlier_run(tmp_path):
    """A VAE trained on an int64 file of 0..255, recorded as trained under reading 2 (which
    took such values as stored), and a second int64 file of the same shape."""
    x = load_dataset("digits", "all").x[:120].numpy().reshape(-1, 8, 8)
    pixels = np.round(x * 255).astype(np.int64)
    np.save(tmp_path / "a.npy", pixels)
    np.save(tmp_path / "b.npy", pixels[::-1].copy())
    run = tmp_path / "run"
    assert main(["train", "vae", "--data", str(tmp_path / "a.npy"), *TINY, "--out", str(run)]) == 0
    config = json.loads((run / "config.json").read_text())
    config["data"]["pixels"] = 2
    (run / "config.json").write_text(json.dumps(config))
    return run


@pytest.mark.parametrize("given", [None, "b.npy"], ids=["its-own-file", "another-file"])
def test_a_run_of_an_earlier_reading_is_refused_whichever_file_it_is_given(
    earlier_run, given, capsys
):
    folder = earlier_run.parent
    data = [] if given is None else ["--data", str(folder / given)]
    out = folder / "r.png"
    capsys.readouterr()
    assert main(["reconstruct", str(earlier_run), *data, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its int64 values of 0..255 as stored" in err, err
    assert f"read {folder / 'a.npy'} with" in err and "train it again: torchlvm train vae" in err
    if given is not None:
        assert f"image files give now (as {folder / given} would)" in err
    assert not out.exists()


def test_gaps_reads_the_run_split_as_every_other_command_does(earlier_run, capsys):
    """gaps loaded the run's data by itself (load_dataset with the run's options), past
    load_split's checks: the run of an earlier reading was measured on values it never saw."""
    capsys.readouterr()
    assert main(["gaps", str(earlier_run), "--n", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "its int64 values of 0..255 as stored" in err, err
    assert not (earlier_run / "gaps.json").exists()


def test_a_moved_file_is_named_as_evaluate_names_it_and_read_with_the_runs_splits(tmp_path):
    """encode/reconstruct said '/tmp/t.csv does not exist; check the path' where evaluate said
    'which no longer exists; if the file moved, pass its new place with --data FILE' (userB): one
    wording. Given that new place, a split is the run's (its seed, not seed 0's), as evaluate's."""
    import shutil

    from torchlvm.errors import DataNotFoundError
    from torchlvm.run.loaded import load_run
    from torchlvm.run.split import load_split

    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).normal(size=(80, 5)).astype("float32"))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "2", "--seed", "3"]
    assert main([*argv, "--out", str(run)]) == 0
    test = load_dataset(str(data), "test", seed=3).x
    moved = tmp_path / "elsewhere.npy"
    shutil.move(data, moved)
    with pytest.raises(DataNotFoundError, match=r"no longer exists; if the file moved, pass its "):
        load_split(load_run(run), None, "test")
    assert torch.equal(load_split(load_run(run), str(moved), "test").x, test)
    assert not torch.equal(load_dataset(str(moved), "test", seed=0).x, test)  # (seed 0's differ)


def test_a_moved_file_given_once_is_recorded_for_every_later_command(tmp_path, capsys):
    """encode --data NEW of a run whose file moved read it, but recorded nothing: the next
    command without --data was told again "no longer exists; ... pass its new place with --data
    FILE" (run13), where evaluate --data NEW records it. Every command records it now, saying
    so; a file of other data given is read as such and not recorded."""
    import shutil
    import warnings

    data = tmp_path / "x.npy"
    np.save(data, np.random.default_rng(0).normal(size=(80, 5)).astype("float32"))
    np.save(tmp_path / "other.npy", np.random.default_rng(1).normal(size=(30, 5)))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "2", "--seed", "3"]
    assert main([*argv, "--out", str(run)]) == 0
    shutil.move(data, tmp_path / "moved.npy")
    config = run / "config.json"
    before = config.read_bytes()
    encode = ["encode", str(run), "--out"]
    assert main([*encode, str(tmp_path / "z0.npy"), "--data", str(tmp_path / "other.npy")]) == 0
    assert config.read_bytes() == before  # (other data: read, not recorded)
    with pytest.warns(UserWarning) as shown:
        assert main([*encode, str(tmp_path / "z1.npy"), "--data", str(tmp_path / "moved.npy")]) == 0
    (said,) = [str(w.message) for w in shown if "recorded in" in str(w.message)]
    assert said.startswith(f"the run in {run} reads its data from {tmp_path / 'moved.npy'} now")
    assert f"(it holds the data of {data}, which no longer exists)" in said
    assert json.loads(config.read_text())["data"]["name"] == str(tmp_path / "moved.npy")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # (said once: nothing more to record)
        assert main([*encode, str(tmp_path / "z2.npy")]) == 0  # no --data: at its new place
        assert main(["reconstruct", str(run), "--out", str(tmp_path / "r.csv")]) == 0


def test_every_row_of_an_edited_table_is_standardized_as_the_model_was_trained(tmp_path):
    """encode --split all of a table run whose file had rows appended standardized the rows by
    the edited file's train split (its mean and scale moved), not by the run's: codes in other
    units with no word. The run's recorded standardization is used for its own file."""
    from torchlvm.run.loaded import load_run
    from torchlvm.run.split import load_split

    x = np.random.default_rng(0).normal(size=(60, 3)) * [1, 10, 100]
    data = tmp_path / "t.csv"
    data.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.4f}" for v in r) for r in x) + "\n")
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--out", str(run)]) == 0
    recorded = json.loads((run / "config.json").read_text())["data"]["table"]["standardize"]
    with data.open("a") as f:
        f.write("\n".join(",".join(f"{v + 50:.4f}" for v in r) for r in x[:20]) + "\n")
    rows = load_split(load_run(run), None, "all")
    assert len(rows) == 80
    assert list(rows.standardizer.mean) == pytest.approx(recorded["mean"])
    raw = np.loadtxt(data, delimiter=",", skiprows=1)
    expected = (raw - np.array(recorded["mean"])) / np.array(recorded["scale"])
    assert rows.x.numpy() == pytest.approx(expected, abs=1e-5)


def test_a_run_whose_resume_stopped_before_saving_says_so(tmp_path):
    """userO #1: a 5-epoch run resumed to 30 and stopped with Ctrl-C after epoch 9 keeps its
    epoch-5 model beside metrics.csv and checkpoints of epoch 9; sample, evaluate and report
    read it without a word. Every command that loads it now says so, with the command that
    finishes it."""
    import warnings

    from torchlvm.run.loaded import load_run

    run = tmp_path / "vae"
    assert main(["train", "vae", "--data", "digits", *TINY, "--out", str(run)]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # (a finished run: nothing to say)
        load_run(run)
    metrics = run / "metrics.csv"
    header, last = metrics.read_text().splitlines()[0], metrics.read_text().splitlines()[-1]
    column = header.split(",").index("epoch")
    later = [",".join(str(e) if j == column else v for j, v in enumerate(last.split(",")))
             for e in (1, 2, 3)]  # fmt: skip
    metrics.write_text(metrics.read_text() + "\n".join(later) + "\n")
    with pytest.warns(UserWarning, match=r"its model was saved after epoch 1, but metrics.csv "
                      r"and checkpoints/ go on to epoch 4") as shown:  # fmt: skip
        load_run(run)
    assert f"'torchlvm train vae --resume --out {run} --epochs 4'" in str(shown[0].message)


def test_a_resume_stopped_by_a_non_finite_loss_says_so_and_its_command_finishes_it(
    tmp_path, monkeypatch
):
    """review14 R35: the warning above was checked on a run that stopped early, not on a resume
    that --on-nonfinite stop (the default) ended: the loss NaN from epoch 4 on, the resume to 8
    epochs stops with the checkpoint of epoch 3; the run's model is epoch 2's. The warning says
    so, and the command it gives publishes epoch 3's model without training (no warning after)."""
    import warnings

    from torchlvm.run.loaded import load_run
    from torchlvm.training.module import LVMModule

    run = tmp_path / "vae"
    assert (
        main(["train", "vae", "--data", "digits", *TINY, "--epochs", "2", "--out", str(run)]) == 0
    )
    terms = LVMModule.training_terms

    def diverging(self, x, c, weight):
        found = terms(self, x, c, weight)
        if self.current_epoch < 3:
            return found
        return {**found, "loss": found["loss"] * float("nan")}

    monkeypatch.setattr(LVMModule, "training_terms", diverging)
    resume = ["train", "vae", "--resume", "--quiet", "--out", str(run)]
    assert main([*resume, "--epochs", "8"]) == 2  # NonFiniteError: training stopped
    monkeypatch.undo()
    said = r"saved after epoch 2, but metrics.csv and checkpoints/ go on to epoch 3: a resume was"
    with pytest.warns(UserWarning, match=said) as shown:
        load_run(run)
    assert f"'torchlvm train vae --resume --out {run} --epochs 3'" in str(shown[0].message)
    assert main([*resume, "--epochs", "3"]) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert load_run(run).model is not None


def test_a_copy_of_the_runs_file_is_read_with_the_runs_splits(tmp_path):
    """readI I1: a byte-identical copy of an array run's file was read by seed 0's split, so a
    --seed 5 run's 'test split' of the copy held rows it trained on."""
    import shutil

    from torchlvm import run as _run

    x = load_dataset("digits", "all").x[:200].numpy()
    np.save(tmp_path / "a.npy", x)
    run = tmp_path / "run"
    argv = ["train", "vae", "--data", str(tmp_path / "a.npy"), "--seed", "5", *TINY]
    assert main([*argv, "--out", str(run)]) == 0
    shutil.copyfile(tmp_path / "a.npy", tmp_path / "copy.npy")
    loaded = _run.load_run(run)
    own = _run.load_split(loaded, None, "test").x
    copied = _run.load_split(loaded, str(tmp_path / "copy.npy"), "test").x
    torch.testing.assert_close(copied, own)
