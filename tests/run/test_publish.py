"""The overwrite policy, staging and atomic publish, keeping a partial run, and adoption of an
interrupted one by its marker."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import torch

from torchlvm.errors import NonFiniteError, RunBusyError, RunDirectoryError
from torchlvm.run import publish
from torchlvm.run.layout import LOCK_NAME, STAGE_MARKER_NAME, RunLayout, stage_path
from torchlvm.run.lock import acquire
from torchlvm.run.publish import check_new_target, staged_run
from torchlvm.run.resume import adopt_interrupted, resuming

CONFIG = '{"model_type": "vae", "torchlvm_version": "0.1.0", "training": {}}'
"""A run's record as torchlvm writes it (a config.json of another's is no run: userO #2)."""


def _weights(value: float) -> bytes:
    """Weights as torchlvm saves them: safetensors with its config's fingerprint."""
    from safetensors.torch import save

    return save({"w": torch.full((2,), value)}, metadata={"config_sha256": "0" * 64})


OLD, NEW = _weights(1.0), _weights(2.0)


def _run(folder: Path, weights: bytes = OLD) -> Path:
    """A folder that holds a (fake) finished run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(CONFIG)
    (folder / "model.safetensors").write_bytes(weights)
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _write_run(stage: Path, weights: bytes = NEW) -> None:
    (stage / "config.json").write_text(CONFIG)
    (stage / "model.safetensors").write_bytes(weights)


# -- policy ---------------------------------------------------------------------------------------


def test_a_new_or_empty_folder_is_fine(tmp_path: Path) -> None:
    check_new_target(tmp_path / "new")
    (tmp_path / "empty").mkdir()
    check_new_target(tmp_path / "empty")


def test_a_run_needs_overwrite_and_the_message_offers_resume(tmp_path: Path) -> None:
    out = _run(tmp_path / "x")
    with pytest.raises(RunDirectoryError, match="already holds a run; pass --resume to continue"):
        check_new_target(out)
    check_new_target(out, overwrite=True)


@pytest.mark.parametrize("overwrite", [False, True], ids=["plain", "overwrite"])
def test_a_folder_that_is_not_a_run_is_refused_naming_what_it_holds(
    tmp_path: Path, overwrite: bool
) -> None:
    out = tmp_path / "X"
    out.mkdir()
    for name in ("mydata.csv", "notes.txt", "b.npy", "c.npy"):
        (out / name).write_text("mine")
    (out / "photos").mkdir()
    with pytest.raises(RunDirectoryError) as info:
        check_new_target(out, overwrite=overwrite)
    message = str(info.value)
    assert "holds no torchlvm run (it holds b.npy, c.npy, mydata.csv and 2 more)" in message
    assert "--overwrite" not in message


def test_overwrite_refuses_a_run_that_also_holds_the_users_files(tmp_path: Path) -> None:
    out = _run(tmp_path / "x")
    (out / "mydata.csv").write_text("1,2\n")
    with pytest.raises(RunDirectoryError, match=r"also mydata.csv, which torchlvm did not write"):
        check_new_target(out, overwrite=True)


def _hugging_face(out: Path) -> None:
    from safetensors.torch import save_file

    (out / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')
    save_file({"w": torch.zeros(3)}, out / "model.safetensors")


@pytest.mark.parametrize(
    "make",
    [
        _hugging_face,
        lambda out: [(out / "config.json").write_text('{"lr": 0.1}'),
                     (out / "metrics.csv").write_text("a,b\n1,2\n")],
        lambda out: (out / "config.json").write_text("not json at all"),
        lambda out: [(out / "checkpoints").mkdir(),
                     (out / "checkpoints" / "last.ckpt").write_text("")],
    ],
    ids=["hugging-face-model", "own-config-and-metrics", "not-json", "own-lightning-checkpoints"],
)  # fmt: skip
def test_files_of_a_runs_names_are_no_run_to_overwrite(tmp_path: Path, make) -> None:
    """userO #2 (HIGH): --overwrite took any folder holding a config.json, model.safetensors,
    metrics.csv or checkpoints/ for a run and deleted it: a Hugging Face model folder, a user's
    own config.json and metrics.csv, a config.json that is not even JSON. A folder is a run only
    where its record is torchlvm's."""
    from torchlvm.run.layout import is_run

    out = tmp_path / "mine"
    out.mkdir()
    make(out)
    before = _tree(out)
    assert not is_run(out)
    for overwrite in (False, True):
        with pytest.raises(RunDirectoryError, match=r"is not empty and holds no torchlvm run"):
            check_new_target(out, overwrite=overwrite)
    assert _tree(out) == before


def test_a_runs_config_or_weights_of_anothers_content_are_the_users(tmp_path: Path) -> None:
    """userO #2: a run's top-level file of a run's name counted as torchlvm's by its name."""
    out = _run(tmp_path / "x")
    _hugging_face(out)  # (a config.json and weights that are not torchlvm's, over the run's)
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / "run.json").write_text(CONFIG)  # (a run by its record)
    with pytest.raises(RunDirectoryError, match=r"also config.json, model.safetensors, which"):
        check_new_target(out, overwrite=True)


def test_fit_overwrite_keeps_a_hugging_face_model_folder(tmp_path: Path, capsys) -> None:
    from torchlvm.cli import main

    out = tmp_path / "hf"
    out.mkdir()
    _hugging_face(out)
    before = _tree(out)
    argv = ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]
    assert main([*argv, "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"torchlvm: error: --out {out} is not empty and holds no torchlvm run (it holds "
        "config.json, model.safetensors); choose another folder\n"
    )
    assert _tree(out) == before


def test_a_run_inside_the_run_is_called_another_run(tmp_path: Path) -> None:
    """A run fitted into runs/vdc/inner, then runs/vdc replaced: the refusal called inner/
    something 'torchlvm did not write' (userJ #18); it is another run."""
    out = _run(tmp_path / "x")
    _run(out / "inner")
    with pytest.raises(RunDirectoryError) as refused:
        check_new_target(out, overwrite=True)
    assert str(refused.value).endswith(
        f"holds a run and also inner/, another run; move that out of {out}, or choose another "
        "folder"
    )
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match=r"also notes.txt, which torchlvm did not write, "
                       r"and inner/, another run; move them out"):  # fmt: skip
        check_new_target(out, overwrite=True)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p.write_text("x"), "is a file; pass a folder path"),
        (lambda p: p.symlink_to(p.parent), "is a symbolic link; pass the folder it points to"),
    ],
    ids=["file", "symlink"],
)
def test_a_file_or_a_symlink_is_refused(tmp_path: Path, make, match: str) -> None:
    out = tmp_path / "out"
    make(out)
    with pytest.raises(RunDirectoryError, match=match):
        check_new_target(out, overwrite=True)


def test_a_path_inside_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(RunDirectoryError, match=r"lies inside .*f, which is a file"):
        check_new_target(tmp_path / "f" / "run")


def test_the_folder_one_works_in_is_not_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _run(tmp_path / "x")
    (out / "figures").mkdir()
    monkeypatch.chdir(out / "figures")
    with pytest.raises(RunDirectoryError, match="the folder you are working in"):
        check_new_target(out, overwrite=True)


def test_the_empty_folder_one_works_in_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fit ppca --out .` in a new, empty folder fitted, then failed to rename the run onto the
    working folder: 'Device or resource busy: .../.e.torchlvm-stage; check the path, ...'."""
    from torchlvm.cli import main

    (tmp_path / "e").mkdir()
    monkeypatch.chdir(tmp_path / "e")
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", "."]) == 2
    assert "--out . is the folder you are working in" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["e"] and os.listdir(tmp_path / "e") == []


# -- staging and publishing ----------------------------------------------------------------------


def test_a_new_run_is_staged_beside_with_marker_and_lock_then_renamed(tmp_path: Path) -> None:
    out = tmp_path / "runs" / "x"
    with staged_run(out, command="test") as stage:
        assert stage.folder == stage_path(out) == tmp_path / "runs" / ".x.torchlvm-stage"
        marker = json.loads((stage.folder / STAGE_MARKER_NAME).read_text())
        assert marker == {"target": str(out), "name": "x"}
        assert (stage.folder / LOCK_NAME).is_file()
        assert not out.exists()
        _write_run(stage.folder)
    assert _tree(out) == {
        "config.json": CONFIG.encode(),
        "model.safetensors": NEW,
    }
    assert os.listdir(out.parent) == ["x"]  # no staging, marker, lock or trash left


def test_overwrite_replaces_the_old_run_only_once_the_new_one_is_in_place(tmp_path: Path) -> None:
    out = _run(tmp_path / "x")
    with staged_run(out, overwrite=True) as stage:
        with pytest.raises(RunBusyError):  # nobody may resume the old run meanwhile
            acquire(out, "torchlvm train vae --resume")
        _write_run(stage.folder)
        assert (out / "model.safetensors").read_bytes() == OLD
    assert (out / "model.safetensors").read_bytes() == NEW
    assert sorted(os.listdir(tmp_path)) == ["x"]
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]


def test_a_failure_leaves_the_destination_as_it_was(tmp_path: Path) -> None:
    out = _run(tmp_path / "x")
    before = _tree(out)
    with pytest.raises(ValueError, match="boom"), staged_run(out, overwrite=True) as stage:
        _write_run(stage.folder)
        raise ValueError("boom")
    assert _tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["x"]


def test_a_failing_rename_puts_the_old_run_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _run(tmp_path / "x")
    before = _tree(out)
    real = os.rename

    def refuse_the_stage(src, dst, *args, **kwargs):
        if Path(src).name.endswith(".torchlvm-stage"):
            raise OSError(errno.EXDEV, "cross-device link", str(dst))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(publish.os, "rename", refuse_the_stage)
    with pytest.raises(OSError, match="cross-device") as caught:
        with staged_run(out, overwrite=True) as stage:
            _write_run(stage.folder)
            new = _tree(stage.folder)
    monkeypatch.undo()
    assert _tree(out) == before
    # the finished new run is not thrown away with its staging folder: it is named
    assert f"the finished run was left in {stage.folder}; move it" in str(caught.value)
    assert sorted(os.listdir(tmp_path)) == [stage.folder.name, "x"]
    assert {k: v for k, v in _tree(stage.folder).items() if k != LOCK_NAME} == {
        k: v for k, v in new.items() if k != LOCK_NAME
    }


def test_a_second_staging_for_the_same_destination_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with staged_run(out):
        with pytest.raises(RunBusyError, match=f"{out} is being trained by pid {os.getpid()}"):
            with staged_run(out):
                pass
    assert not out.exists() or os.listdir(out) == []


def _epoch_done(stage: Path) -> None:
    (stage / "checkpoints").mkdir()
    (stage / "checkpoints" / "last.ckpt").write_bytes(b"epoch 0")
    (stage / "metrics.csv").write_text("epoch\n0\n")


def test_keep_partial_moves_finished_epochs_into_place_for_resume(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with pytest.raises(NonFiniteError) as info:
        with staged_run(out, keep_partial=True) as stage:
            _epoch_done(stage.folder)
            raise NonFiniteError(f"loss is NaN at step 9; see {stage.folder}/metrics.csv")
    assert str(info.value) == (
        f"loss is NaN at step 9; see {out}/metrics.csv; the checkpoints of the finished epochs "
        f"are in {out / 'checkpoints'} (no model was saved); finish it with 'torchlvm train "
        f"MODEL --resume --out {out}'"
    )
    assert sorted(os.listdir(out)) == ["checkpoints", "metrics.csv"]
    assert os.listdir(tmp_path) == ["x"]


def test_keep_partial_turns_ctrl_c_and_a_full_disk_into_notes(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt, match="finish it with 'torchlvm train MODEL --resume"):
        with staged_run(tmp_path / "a", keep_partial=True) as stage:
            _epoch_done(stage.folder)
            raise KeyboardInterrupt
    with pytest.raises(OSError, match=r"No space left on device \(nothing was written to") as info:
        with staged_run(tmp_path / "b", keep_partial=True) as stage:
            raise OSError(errno.ENOSPC, "No space left on device", str(stage.folder / "m.csv"))
    assert info.value.filename is None  # (b/m.csv does not exist: nothing was kept)
    assert sorted(os.listdir(tmp_path)) == ["a"]


def test_a_failure_that_keeps_epochs_names_the_command_that_resumes_them(tmp_path: Path) -> None:
    """A full disk or Ctrl-C after an epoch finished said 'continue with --resume', a flag, not
    a command: the note names the command the train command passes, which keeps the options a
    resume does not read from the run (--devices, --quiet, ...), on and where it stopped."""
    out, resume = tmp_path / "x", f"torchlvm train vae --resume --out {tmp_path / 'x'} --quiet"
    with pytest.raises(KeyboardInterrupt) as info:
        with staged_run(out, keep_partial=True, resume=resume) as stage:
            _epoch_done(stage.folder)
            _checkpoint(RunLayout(stage.folder).last_checkpoint, epoch=0)
            raise KeyboardInterrupt
    assert str(info.value).endswith(
        f"(no model was saved); finish it with '{resume}' (training on to the epochs it was "
        f"given), or where it stopped, after 1 epoch, with '{resume} --epochs 1'"
    )


def test_a_failure_that_keeps_nothing_names_no_missing_path_and_how_to_start_again(
    tmp_path: Path,
) -> None:
    out, again = tmp_path / "b", "torchlvm train vae --data digits --out b"
    with pytest.raises(OSError) as info:
        with staged_run(out, keep_partial=True, again=again) as stage:
            best = stage.folder / "checkpoints" / "best-epoch000.ckpt"
            raise OSError(errno.ENOSPC, "No space left on device", str(best))
    assert info.value.filename is None
    assert info.value.strerror == (
        f"No space left on device (nothing was written to {out}; start it again with '{again}')"
    )
    assert os.listdir(tmp_path) == []


def test_a_kept_file_is_named_where_it_now_is(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with pytest.raises(OSError) as info:
        with staged_run(out, keep_partial=True) as stage:
            _epoch_done(stage.folder)
            raise OSError(
                errno.ENOSPC, "No space left on device", str(stage.folder / "metrics.csv")
            )
    assert info.value.filename == str(out / "metrics.csv")


def test_an_interrupted_overwrite_says_its_finished_epochs_are_not_kept(tmp_path: Path) -> None:
    out = tmp_path / "x"
    (out / "checkpoints").mkdir(parents=True)
    (out / "config.json").write_text(CONFIG)
    (out / "model.safetensors").write_bytes(OLD)
    before = sorted(os.listdir(out))
    again = f"torchlvm train vae --data digits --out {out} --overwrite"
    with pytest.raises(KeyboardInterrupt) as info:
        with staged_run(out, overwrite=True, keep_partial=True, again=again) as stage:
            _epoch_done(stage.folder)
            _checkpoint(RunLayout(stage.folder).last_checkpoint, epoch=1)
            raise KeyboardInterrupt
    assert str(info.value) == (
        f"nothing was written to {out}, which keeps its old run; the interrupted new training "
        f"(2 finished epochs) is not kept; start it again with '{again}'"
    )
    assert sorted(os.listdir(out)) == before and (out / "model.safetensors").read_bytes() == OLD


# -- a staging folder left behind -----------------------------------------------------------------


def _killed_stage(out: Path, *, epochs: bool = True, marker: bool = True) -> Path:
    """The staging folder of a run into ``out`` whose process was killed (its lock is stale)."""
    stage = stage_path(out)
    stage.mkdir(parents=True)
    if marker:
        (stage / STAGE_MARKER_NAME).write_text(json.dumps({"target": str(out), "name": out.name}))
    (stage / LOCK_NAME).write_text(
        json.dumps({"pid": 2**22 + 7, "host": os.uname().nodename, "command": "", "started": ""})
    )
    if epochs:
        _epoch_done(stage)
    return stage


def test_an_interrupted_run_is_adopted_by_its_marker(tmp_path: Path) -> None:
    out = tmp_path / "x"
    stage = _killed_stage(out)
    assert adopt_interrupted(out, "torchlvm train vae --resume") == stage
    assert sorted(os.listdir(out)) == ["checkpoints", "metrics.csv"]
    assert os.listdir(tmp_path) == ["x"]


def test_a_hidden_folder_without_a_marker_is_not_adopted(tmp_path: Path) -> None:
    out = tmp_path / "x"
    stage = _killed_stage(out, marker=False)
    assert adopt_interrupted(out) is None
    assert stage.is_dir() and not out.exists()


def test_a_new_run_does_not_discard_an_interrupted_one_unless_told(tmp_path: Path) -> None:
    out = tmp_path / "x"
    stage = _killed_stage(out)
    (stage / "checkpoints" / "run.json").write_text('{"model_type": "cvae"}')
    with pytest.raises(  # the whole command, its model read from the record (userF #14: '...')
        RunDirectoryError,
        match=r"an interrupted run of .*x is in .*; continue it with 'torchlvm train cvae "
        r"--resume --out \S*x', or pass --overwrite",
    ):
        with staged_run(out):
            pass
    assert (stage / "checkpoints" / "last.ckpt").is_file()
    with staged_run(out, overwrite=True) as new:
        assert set(os.listdir(new.folder)) == {LOCK_NAME, STAGE_MARKER_NAME}
        _write_run(new.folder)
    assert sorted(os.listdir(tmp_path)) == ["x"]


def test_a_killed_stage_without_finished_epochs_is_reused(tmp_path: Path) -> None:
    out = tmp_path / "x"
    _killed_stage(out, epochs=False)
    (stage_path(out) / "half.tmp").write_bytes(b"junk")
    with staged_run(out) as stage:
        assert "half.tmp" not in os.listdir(stage.folder)
        _write_run(stage.folder)
    assert sorted(os.listdir(out)) == ["config.json", "model.safetensors"]


def test_a_long_name_gets_a_hashed_staging_folder(tmp_path: Path) -> None:
    out = tmp_path / ("r" * 250)
    assert len(stage_path(out).name) < 60
    with staged_run(out) as stage:
        _write_run(stage.folder)
    assert (out / "model.safetensors").is_file()


def test_a_destination_that_changes_meanwhile_is_not_replaced_and_the_run_is_kept(
    tmp_path: Path,
) -> None:
    out = tmp_path / "x"
    with pytest.raises(RunDirectoryError, match=r"changed while the run was built \(it now holds"):
        with staged_run(out) as stage:
            _write_run(stage.folder)
            out.mkdir()
            (out / "mine.txt").write_text("arrived meanwhile")
    assert _tree(out) == {"mine.txt": b"arrived meanwhile"}
    assert (stage_path(out) / "model.safetensors").read_bytes() == NEW
    assert not (stage_path(out) / LOCK_NAME).exists()


@pytest.mark.parametrize(
    "path",
    ["runs/vae", "my runs/vae", 'a"b$c`d\\e', "it's here"],
    ids=["plain", "space", "meta", "'"],
)
def test_a_folder_in_an_offered_command_is_one_shell_word(path: str) -> None:
    """The commands the messages offer ('torchlvm train vae --resume --out DIR ...') printed a
    folder with a space as two words: it is quoted where it needs it, in double quotes (the
    command itself stands in single quotes)."""
    import subprocess

    from torchlvm._shell import quoted

    word = quoted(path)
    shell = subprocess.run(  # what the shell the user pastes it into makes of it
        ["sh", "-c", f"printf '%s\\n' --out {word} --epochs 3"], capture_output=True, text=True
    )
    assert shell.stdout.splitlines() == ["--out", path, "--epochs", "3"]
    assert word == path if path == "runs/vae" else word.startswith('"')


def test_an_interrupted_resume_says_what_stays_and_the_command_that_continues(
    tmp_path: Path,
) -> None:
    """Ctrl-C during `train --resume` printed only 'torchlvm: interrupted': that the run's
    checkpoints stay and which command continues it were not said."""
    run = tmp_path / "my run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model_type": "vae"}))
    with pytest.raises(KeyboardInterrupt) as stopped:
        with resuming(run):
            raise KeyboardInterrupt
    note = str(stopped.value)
    assert note.startswith(f"the checkpoints of the finished epochs stay in {run / 'checkpoints'}")
    assert f"""finish it with 'torchlvm train vae --resume --out "{run}"'""" in note, note
    with pytest.raises(KeyboardInterrupt) as stopped:  # a resume to more epochs than recorded
        with resuming(run, epochs=9):
            raise KeyboardInterrupt
    assert f"""'torchlvm train vae --resume --out "{run}" --epochs 9'""" in str(stopped.value)
    resume = "torchlvm train vae --resume --out r --devices 2 --quiet"  # train's own command
    with pytest.raises(KeyboardInterrupt) as stopped:
        with resuming(run, epochs=9, resume=resume):
            raise KeyboardInterrupt
    assert str(stopped.value).endswith(f"finish it with '{resume} --epochs 9'")
    assert not (run / LOCK_NAME).exists()
    with pytest.raises(KeyboardInterrupt, match="^kept$"):  # a note of its own is kept
        with resuming(run):
            raise KeyboardInterrupt("kept")


def test_a_new_run_in_a_read_only_place_is_named_as_the_user_named_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new run in a read-only folder said 'Read-only file system: .../.x.torchlvm-stage', a
    hidden name the user never gave: it names --out."""
    real = Path.mkdir

    def read_only(self: Path, *args, **kwargs) -> None:
        if self.name.endswith(".torchlvm-stage"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", read_only)
    with pytest.raises(OSError) as caught:
        with staged_run(tmp_path / "x"):
            pass
    assert (caught.value.errno, caught.value.filename) == (errno.EROFS, str(tmp_path / "x"))


def test_a_mount_point_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`train --out /out`, an empty volume mounted there (docker run -v ...:/out): the run was
    trained, then its rename onto the mount point failed (EBUSY) and the trained run was removed
    with its staging folder. The mount point is refused first, naming a folder inside it."""
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda path: Path(path) == out)
    with pytest.raises(RunDirectoryError, match=rf"is a mount point, .*--out {out / 'run'}$"):
        check_new_target(out)
    (out / "config.json").write_text(CONFIG)  # a run there, replaced by --overwrite: the same
    (out / "model.safetensors").write_bytes(OLD)
    with pytest.raises(RunDirectoryError, match="is a mount point"):
        check_new_target(out, overwrite=True)
    check_new_target(out / "run")


def test_a_run_moved_while_it_resumes_is_named_with_both_folders(tmp_path: Path) -> None:
    """'mv RUN NEW' while train --resume ran: training went on by path, made a new run in RUN,
    left NEW at the epoch of the move with a stale lock file, and said nothing."""
    run, new = tmp_path / "run", tmp_path / "new"
    run.mkdir()
    (run / "config.json").write_text("{}")
    with pytest.raises(RunDirectoryError) as caught:  # (train's held_for_resume, Python's too)
        with resuming(run, "test"):
            os.rename(run, new)
            run.mkdir()  # what the training's next checkpoint does
    assert str(caught.value).startswith(f"{run} was moved to {new} while it trained")
    assert not (new / LOCK_NAME).exists() and not (run / LOCK_NAME).exists()


def test_a_resume_left_in_place_ends_quietly(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with resuming(run, "test"):
        pass
    assert os.listdir(run) == []


def test_the_users_files_inside_a_runs_subfolders_and_edited_outputs_are_foreign(tmp_path):
    """userF: `train --overwrite` deleted a note in checkpoints/, a plot in figures/ and an
    edited report.html with the old run: only the top level was looked at. Files torchlvm wrote
    (its checkpoints, its figures, an output it recorded, sample's samples.csv) are not foreign."""
    from matplotlib.figure import Figure

    from torchlvm.plots import save_figure
    from torchlvm.run import written
    from torchlvm.run.layout import foreign_entries

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    _run(run)
    (run / "metrics.csv").write_text("epoch,step,train/elbo\n0,3,-1.0\n")
    for name in ("last.ckpt", "best-epoch004.ckpt", "best-epoch004-v1.ckpt"):
        _checkpoint(run / "checkpoints" / name)
    (run / "checkpoints" / "run.json").write_text(CONFIG)
    save_figure(Figure(), run / "figures" / "samples-seed0.png")
    (run / "figures" / ".gaps.png.torchlvm-new").write_bytes(b"")  # (a killed commit's)
    for name in ("report.html", "samples.csv"):
        written.expect(run / name)
        (run / name).write_text("torchlvm's\n")
        written.record(run / name)
    assert foreign_entries(run) == []
    (run / "checkpoints" / "my.txt").write_text("notes")
    (run / "figures" / "myplot.png").write_bytes(b"my plot")
    (run / "report.html").write_text("torchlvm's\n<p>my notes</p>\n")
    (run / "samples.csv").write_text("edited\n")
    assert foreign_entries(run) == [
        "checkpoints/my.txt",
        "figures/myplot.png",
        "report.html (changed since torchlvm wrote it)",
        "samples.csv",
    ]


def _checkpoint(path: Path, *, ours: bool = True, epoch: int = 4) -> None:
    """A Lightning checkpoint: torchlvm's (with the entry its training saves in each), or one of
    the user's own Lightning training."""
    checkpoint = {"epoch": epoch, "global_step": 40, "state_dict": {"w": torch.zeros(2)}}
    torch.save({**checkpoint, "torchlvm": {"skipped_steps": 0}} if ours else checkpoint, path)


def test_a_users_lightning_checkpoint_under_a_torchlvm_name_is_the_users(tmp_path: Path) -> None:
    """A checkpoint of the user's own Lightning training put in a trained run as
    checkpoints/last.ckpt (or best-epoch007.ckpt) was torchlvm's by its name: --overwrite
    deleted it with the run, and the run counted its epochs as finished ones."""
    from torchlvm.run.layout import foreign_entries
    from torchlvm.run.publish import finished_epochs

    run = _run(tmp_path / "run")
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "run.json").write_text(CONFIG)
    _checkpoint(run / "checkpoints" / "best-epoch002.ckpt")
    _checkpoint(run / "checkpoints" / "last.ckpt")
    assert foreign_entries(run) == [] and finished_epochs(run) == 5
    last = (run / "checkpoints" / "last.ckpt").read_bytes()
    (run / "checkpoints" / "last.ckpt").write_bytes(last[: len(last) // 2])
    assert foreign_entries(run) == []  # a damaged one of its name stays torchlvm's (review15 R3)
    mine = {"state_dict": {}, "hyper_parameters": {"root": Path("data")}}  # (weights_only: no)
    torch.save(mine, run / "checkpoints" / "last.ckpt")
    assert foreign_entries(run) == ["checkpoints/last.ckpt"]  # ... a whole one is the user's (R5)
    torch.save(mine, run / "checkpoints" / "last.ckpt", _use_new_zipfile_serialization=False)
    assert foreign_entries(run) == ["checkpoints/last.ckpt"]  # a legacy-format one (readE E3)
    (run / "checkpoints" / "last.ckpt").write_text("my notes on the run")
    assert foreign_entries(run) == ["checkpoints/last.ckpt"]  # ... any file but a zip archive
    (run / "checkpoints" / "last.ckpt").write_bytes(last[:3])  # (a copy killed at 3 bytes)
    assert foreign_entries(run) == []
    _checkpoint(run / "checkpoints" / "last.ckpt", ours=False, epoch=9)
    _checkpoint(run / "checkpoints" / "best-epoch007.ckpt", ours=False)
    assert foreign_entries(run) == ["checkpoints/best-epoch007.ckpt", "checkpoints/last.ckpt"]
    assert finished_epochs(run) is None
    before = _tree(run)
    with pytest.raises(RunDirectoryError, match=r"also checkpoints/best-epoch007.ckpt, checkp"):
        check_new_target(run, overwrite=True)
    assert _tree(run) == before


def test_a_symlinked_out_names_its_target_as_a_path_from_the_working_folder(tmp_path, monkeypatch):
    """userF: runs/linked -> ../real_run was named '../real_run' (the link's own text, relative
    to runs/); followed from the working folder it wrote a new run elsewhere."""
    from torchlvm.run.publish import check_new_target

    (tmp_path / "real_run").mkdir()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "linked").symlink_to(Path("..") / "real_run")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirectoryError, match=r"pass the folder it points to \(real_run\) or"):
        check_new_target(Path("runs/linked"), overwrite=True)


def test_a_fit_runs_training_entries_and_a_users_metrics_csv_are_the_users(tmp_path: Path) -> None:
    """review14 R22 (HIGH): in a real PPCA run (fit writes no metrics.csv nor checkpoints/), a
    user's metrics.csv and checkpoints/last.ckpt were deleted by --overwrite as torchlvm's, by
    their names; in a trained run, a metrics.csv of another's content was too."""
    from torchlvm.cli import main

    fit = ["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(tmp_path / "pr")]
    assert main(fit) == 0
    (tmp_path / "pr" / "metrics.csv").write_text("epoch,my_own_numbers\n")
    (tmp_path / "pr" / "checkpoints").mkdir()
    (tmp_path / "pr" / "checkpoints" / "last.ckpt").write_text("mine")
    before = _tree(tmp_path / "pr")
    with pytest.raises(RunDirectoryError, match=r"also checkpoints/, metrics.csv, which torchlvm"):
        check_new_target(tmp_path / "pr", overwrite=True)
    assert main([*fit, "--overwrite"]) == 2 and _tree(tmp_path / "pr") == before
    trained = _run(tmp_path / "tr")
    record = {**json.loads(CONFIG), "training": {}}
    (trained / "config.json").write_text(json.dumps(record))
    (trained / "metrics.csv").write_text("epoch,step,train/elbo,val/elbo\n0,3,-1.0,-1.1\n")
    check_new_target(trained, overwrite=True)  # (torchlvm's own)
    (trained / "metrics.csv").write_text("a,b\n1,2\n")
    with pytest.raises(RunDirectoryError, match=r"also metrics.csv, which torchlvm did not"):
        check_new_target(trained, overwrite=True)


def test_temporary_files_of_a_killed_write_are_torchlvms(tmp_path: Path) -> None:
    """userO #4: a write killed with SIGKILL left its temporary file (a checkpoint's, metrics
    .json's), and --overwrite of the run was then refused: 'holds a run and also
    checkpoints/.best-epoch001.ckpt.fdvb1u9a.tmp, which torchlvm did not write'. A temporary
    file of a name torchlvm writes there is its own; one of another name is still the user's."""
    from torchlvm.run.layout import foreign_entries

    out = _run(tmp_path / "x")
    (out / "checkpoints").mkdir()
    (out / "figures").mkdir()
    for left in (".metrics.json.75pgbitl.tmp", "checkpoints/.best-epoch001.ckpt.fdvb1u9a.tmp",
                 "figures/.samples-seed0.png.k2j4_x9a.tmp"):  # fmt: skip
        (out / left).write_bytes(b"half written")
    assert foreign_entries(out) == []
    check_new_target(out, overwrite=True)
    (out / ".notes.txt.abcdefgh.tmp").write_text("mine")
    (out / "checkpoints" / ".mine.ckpt.abcdefgh.tmp").write_text("mine")
    assert foreign_entries(out) == [
        ".notes.txt.abcdefgh.tmp",
        "checkpoints/.mine.ckpt.abcdefgh.tmp",
    ]
