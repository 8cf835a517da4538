"""Several outputs put in place as one: a failed commit leaves the old files, Ctrl-C during a
commit is delivered when it ends, and a commit killed outright is finished by the next command
(its journal)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from torchlvm.run.commit import (
    JOURNAL_NAME,
    Staging,
    interrupts_held,
    recover,
    replaced,
    staging_name,
)


def _staged(tmp_path: Path) -> dict[Path, Path]:
    (tmp_path / "a.png").write_text("old a")
    moves = {}
    for name in ("a.png", "b.png"):
        path = tmp_path / name
        staging_name(path).write_text(f"new {name[0]}")
        moves[staging_name(path)] = path
    return moves


def test_a_failure_in_the_block_puts_the_old_files_back(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="disk full"):
        with replaced(_staged(tmp_path)):
            assert (tmp_path / "a.png").read_text() == "new a"
            raise OSError("disk full")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no staged or kept file
    assert (tmp_path / "a.png").read_text() == "old a"


def test_a_users_own_hidden_new_and_old_files_are_left_alone(tmp_path: Path) -> None:
    """Staged and kept files carry torchlvm's name, so a user's own ``.a.png.old`` (an editor's
    or a script's backup) beside an output is neither taken for a kept file nor replaced."""
    mine = {".a.png.old": "my backup", ".a.png.new": "my draft", ".b.png.old": "mine too"}
    for name, text in mine.items():
        (tmp_path / name).write_text(text)
    with replaced(_staged(tmp_path)):
        pass
    assert (tmp_path / "a.png").read_text() == "new a"
    assert {name: (tmp_path / name).read_text() for name in mine} == mine
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.png", "b.png", *mine])


def test_a_commit_replaces_every_file(tmp_path: Path) -> None:
    with replaced(_staged(tmp_path)):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]
    assert (tmp_path / "a.png").read_text() == "new a"


def test_ctrl_c_is_delivered_when_the_block_ends() -> None:
    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
            done.append("the block went on")
    assert done == ["the block went on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_sigterm_is_delivered_when_the_block_ends() -> None:
    """SIGTERM is the command line's Ctrl-C with exit 143 (userO #7): it waits for the commit's
    renames as Ctrl-C does, where it stopped them halfway."""
    from torchlvm._terminated import Terminated, raise_terminated

    done = []
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        with pytest.raises(Terminated):
            with interrupts_held():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append("the block went on")
        assert signal.getsignal(signal.SIGTERM) is raise_terminated
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert done == ["the block went on"]


def test_an_ignored_ctrl_c_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts_held():
            os.kill(os.getpid(), signal.SIGINT)
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_outside_the_main_thread_the_block_just_runs() -> None:
    seen = []

    def work() -> None:
        with interrupts_held():
            seen.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]


def test_a_staging_puts_every_file_in_place_on_commit(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_text("old a")
    with Staging(tmp_path) as staging:
        for name in ("a.png", "b.json"):
            staging.path(tmp_path / name).write_text(f"new {name[0]}")
        staging.commit()
    assert staging.places == [tmp_path / "a.png", tmp_path / "b.json"]
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.png": "new a",
        "b.json": "new b",
    }


def test_an_error_before_the_commit_leaves_the_old_files_and_no_staging_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.png").write_text("old a")
    with pytest.raises(KeyboardInterrupt):
        with Staging(tmp_path) as staging:
            staging.path(tmp_path / "a.png").write_text("new a")
            staging.path(tmp_path / "b.json")  # named, not yet written: interrupted
            raise KeyboardInterrupt
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.png": "old a"}


def test_ctrl_c_before_the_commit_leaves_no_folder_it_made(tmp_path: Path) -> None:
    """evaluate interrupted while drawing its first figure left an empty figures/ in the run."""
    (tmp_path / "mine").mkdir()
    with pytest.raises(KeyboardInterrupt):
        with Staging(tmp_path) as staging:
            staged = staging.path(tmp_path / "figures" / "deep" / "a.png")
            staged.parent.mkdir(parents=True)
            staged.write_text("new a")
            staging.path(tmp_path / "mine" / "b.png").write_text("new b")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # (theirs stays, empty)


def test_a_full_disk_while_staging_names_the_file_the_user_knows(tmp_path: Path) -> None:
    """evaluate on a full disk said 'No space left on device: r/figures/.samples.png.torchlvm-new',
    a hidden name the user never saw."""
    import errno

    place = tmp_path / "figures" / "samples.png"
    with pytest.raises(OSError) as caught:
        with Staging(tmp_path) as staging:
            staged = staging.path(place)
            raise OSError(errno.ENOSPC, "No space left on device", str(staged))
    assert (caught.value.errno, caught.value.filename) == (errno.ENOSPC, str(place))
    assert not (tmp_path / "figures").exists()


def test_a_file_where_a_folder_goes_is_named_and_the_error_kept(tmp_path: Path) -> None:
    """A user's FILE named figures: writing figures/samples.png failed, then the clean-up's
    unlink of the staged name failed too ('Not a directory') and replaced the error, naming
    figures/.samples.png.torchlvm-new (eval12). The error is the writer's, naming the file in
    the way, and the user's file is left as it was."""
    (tmp_path / "figures").write_text("mine")
    place = tmp_path / "figures" / "samples.png"
    with pytest.raises(NotADirectoryError) as caught:
        with Staging(tmp_path) as staging:
            staging.path(place).write_bytes(b"png")
    assert caught.value.filename == str(tmp_path / "figures")
    assert "stands where the command puts a folder; move or rename it" in str(caught.value)
    with pytest.raises(FileExistsError, match="move or rename it"):  # its folder made first
        with Staging(tmp_path) as staging:
            staging.path(place).parent.mkdir(exist_ok=True)
    assert (tmp_path / "figures").read_text() == "mine"


def test_a_folder_made_for_a_committed_file_stays(tmp_path: Path) -> None:
    with Staging(tmp_path) as staging:
        staged = staging.path(tmp_path / "figures" / "a.png")
        staged.parent.mkdir()
        staged.write_text("new a")
        staging.commit()
    assert (tmp_path / "figures" / "a.png").read_text() == "new a"


def _failing_rename(monkeypatch: pytest.MonkeyPatch, name: str, error: OSError) -> None:
    """Make every rename onto a file called ``name`` raise ``error``."""
    real = os.replace

    def failing(src: Path, dst: Path) -> None:
        if Path(dst).name == name:
            raise error
        real(src, dst)

    monkeypatch.setattr(os, "replace", failing)


def test_a_rename_that_fails_leaves_its_destination_and_puts_the_others_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The destinations were renamed to their backups before the new files went in, so a rename
    onto one that failed (and failed again putting it back) left it missing, and the backup was
    then removed: its file was lost. Each destination is kept by a hard link now and only ever
    replaced by one rename."""
    (tmp_path / "a.png").write_text("old a")
    (tmp_path / "b.json").write_text("old b")
    moves = {}
    for name in ("a.png", "b.json"):
        staging_name(tmp_path / name).write_text(f"new {name[0]}")
        moves[staging_name(tmp_path / name)] = tmp_path / name
    _failing_rename(monkeypatch, "b.json", OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        with replaced(moves):
            pass
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.png": "old a",
        "b.json": "old b",
    }


# ------------------------------------------------------------------ killed inside a commit

KILLED = """
import os, signal, sys
from pathlib import Path

real, count = os.replace, [0]


def replace(src, dst):  # a SIGKILL before the Nth staged file is renamed onto its place
    if Path(src).name.endswith(".torchlvm-new"):
        count[0] += 1
        if count[0] == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
    real(src, dst)


os.replace = replace
"""

COMMIT = """
from torchlvm.run.commit import Staging
folder = Path(sys.argv[2])
with Staging(folder) as staging:
    for name in ("a.png", "figures/b.png", "c.json"):
        staging.path(folder / name).write_text("new " + name)
    staging.commit()
"""


def _killed(tmp_path: Path, script: str, nth: int, *args: str) -> None:
    """Run ``script`` in a new Python process, SIGKILLed before its ``nth`` staged rename."""
    import subprocess
    import sys

    code = KILLED + script
    done = subprocess.run([sys.executable, "-c", code, str(nth), *args], env=os.environ)
    assert done.returncode == -signal.SIGKILL


def _files(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}


def _old_set(folder: Path) -> None:
    (folder / "figures").mkdir()
    (folder / "a.png").write_text("old a.png")
    (folder / "figures" / "b.png").write_text("old figures/b.png")


NEW = {name: f"new {name}" for name in ("a.png", "figures/b.png", "c.json")}


def test_a_commit_killed_between_its_renames_is_finished_by_recover(tmp_path: Path) -> None:
    """A SIGKILL between a commit's renames left a new a.png beside an old figures/b.png, for
    good: the journal written before the renames lets the next command finish them."""
    _old_set(tmp_path)
    _killed(tmp_path, COMMIT, 2, str(tmp_path))
    files = _files(tmp_path)
    assert files["a.png"] == "new a.png" and files["figures/b.png"] == "old figures/b.png"
    assert JOURNAL_NAME in files  # (and the staged files, whole)
    assert recover(tmp_path) is True
    assert _files(tmp_path) == NEW  # no staging, kept or journal file left
    assert recover(tmp_path) is False


def test_a_recovery_killed_in_turn_is_finished_by_the_next(tmp_path: Path) -> None:
    _old_set(tmp_path)
    _killed(tmp_path, COMMIT, 1, str(tmp_path))  # before any rename: all old, journal written
    assert _files(tmp_path)["a.png"] == "old a.png" and JOURNAL_NAME in _files(tmp_path)
    recovery = "from torchlvm.run.commit import recover\nrecover(Path(sys.argv[2]))\n"
    _killed(tmp_path, recovery, 2, str(tmp_path))  # the recovery renames one, then is killed
    assert _files(tmp_path)["a.png"] == "new a.png"
    assert _files(tmp_path)["figures/b.png"] == "old figures/b.png"
    assert recover(tmp_path) is True and _files(tmp_path) == NEW


def test_a_command_killed_before_its_commit_leaves_the_old_set(tmp_path: Path) -> None:
    """Killed with its files staged, before the journal: nothing to finish, the old set; the
    staged files are leftovers that the next staging of those places writes over."""
    _old_set(tmp_path)
    script = COMMIT.replace("    staging.commit()", "    os.kill(os.getpid(), signal.SIGKILL)")
    _killed(tmp_path, script, 99, str(tmp_path))
    assert recover(tmp_path) is False
    files = _files(tmp_path)
    assert files["a.png"] == "old a.png" and files["figures/b.png"] == "old figures/b.png"


def test_a_failed_rename_leaves_the_old_set_and_no_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old_set(tmp_path)
    _failing_rename(monkeypatch, "c.json", PermissionError(13, "Permission denied"))
    with pytest.raises(PermissionError):
        with Staging(tmp_path) as staging:
            for name in NEW:
                staging.path(tmp_path / name).write_text(f"new {name}")
            staging.commit()
    assert _files(tmp_path) == {"a.png": "old a.png", "figures/b.png": "old figures/b.png"}


def test_a_journal_torchlvm_did_not_write_is_named(tmp_path: Path) -> None:
    from torchlvm.errors import RunDirectoryError

    (tmp_path / JOURNAL_NAME).write_text('{"moves": [["../x", "y"]]}')
    with pytest.raises(RunDirectoryError, match="is not a commit journal torchlvm wrote; move"):
        recover(tmp_path)
    assert (tmp_path / JOURNAL_NAME).exists()


def test_a_reader_finishes_a_killed_commit_only_where_nobody_holds_the_run(tmp_path: Path) -> None:
    """report reads a run without locking it: it finishes a killed commit under the run's lock
    when it is free, and leaves it to the holder (which is committing, or recovers first) when
    it is not."""
    from torchlvm.run.commit import recover_if_free
    from torchlvm.run.lock import acquire

    _old_set(tmp_path)
    _killed(tmp_path, COMMIT, 3, str(tmp_path))
    with acquire(tmp_path, "torchlvm evaluate", doing="evaluated"):
        recover_if_free(tmp_path)
        assert (tmp_path / JOURNAL_NAME).exists()
    recover_if_free(tmp_path)
    assert _files(tmp_path) == NEW


def test_what_a_killed_commit_leaves_is_torchlvm_s_own(tmp_path: Path) -> None:
    """train --overwrite refuses a run folder holding files torchlvm did not write: the journal
    and a record's staged or kept file that a kill left there are its own."""
    from torchlvm.run.layout import foreign_entries

    staged_or_kept = (".metrics.json.torchlvm-new", ".metrics.json.torchlvm-old")
    for name in (JOURNAL_NAME, *staged_or_kept, ".gaps.json.torchlvm-new"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "notes.txt").write_text("mine")
    assert foreign_entries(tmp_path) == ["notes.txt"]


# ------------------------------------------------- a finished run's model and config, published

PUBLISH = """
import torch
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.run.record import write_finished
torch.manual_seed(1)
write_finished(Path(sys.argv[2]), VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(5,))), {})
"""


def _old_run(folder: Path) -> None:
    import torch

    from torchlvm.models.vae import VAE, VAEConfig
    from torchlvm.run.record import write_finished

    torch.manual_seed(0)
    write_finished(folder, VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(4,))), {})


def test_a_publish_killed_between_model_and_config_is_finished_by_load(tmp_path: Path) -> None:
    """A SIGKILL between the renames of model.safetensors and config.json (a resumed run
    publishing again) left a new model beside the old config: load finishes the commit."""
    import json

    import torchlvm

    _old_run(tmp_path)
    _killed(tmp_path, PUBLISH, 2, str(tmp_path))  # model.safetensors renamed, config.json not
    assert json.loads((tmp_path / "config.json").read_text())["model"]["hidden"] == [4]
    assert (tmp_path / JOURNAL_NAME).exists()
    from torchlvm.run.layout import foreign_entries

    assert foreign_entries(tmp_path) == []  # (train --overwrite may replace what it left)
    model = torchlvm.load(tmp_path)
    assert model.config.hidden == (5,)  # the new pair, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "model.safetensors"]


def test_a_killed_publish_that_cannot_be_finished_is_refused(tmp_path: Path) -> None:
    import torchlvm
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run.lock import acquire

    _old_run(tmp_path)
    _killed(tmp_path, PUBLISH, 1, str(tmp_path))  # the journal written, nothing renamed
    with acquire(tmp_path, "torchlvm evaluate", doing="evaluated"):
        with pytest.raises(RunDirectoryError, match="left half replaced .* run this command again"):
            torchlvm.load(tmp_path)
    assert torchlvm.load(tmp_path).config.hidden == (5,)


def test_a_killed_publish_in_a_read_only_folder_is_refused_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only file system refuses the lock file (EROFS, not a PermissionError)."""
    import errno

    import torchlvm
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run import lock

    def read_only(folder, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(Path(folder) / lock.LOCK_NAME))

    _old_run(tmp_path)
    _killed(tmp_path, PUBLISH, 2, str(tmp_path))
    monkeypatch.setattr(lock, "acquire", read_only)
    with pytest.raises(RunDirectoryError, match="or where it may write to .* read-write mount"):
        torchlvm.load(tmp_path)


@pytest.mark.parametrize("command", ["resume", "overwrite"])
def test_train_resume_and_overwrite_finish_a_killed_publish_first(
    tmp_path: Path, command: str
) -> None:
    """train --resume reads the run it continues; train --overwrite leaves the old run readable
    while it trains the new one: both finish a killed publish before they start."""
    import json

    from torchlvm.run.publish import staged_run
    from torchlvm.run.resume import resuming

    run = tmp_path / "run"
    run.mkdir()
    _old_run(run)
    _killed(tmp_path, PUBLISH, 2, str(run))
    with resuming(run) if command == "resume" else staged_run(run, overwrite=True):
        assert not (run / JOURNAL_NAME).exists()
        assert json.loads((run / "config.json").read_text())["model"]["hidden"] == [5]


@pytest.mark.parametrize("command", ["score", "report"])
def test_every_reader_finishes_a_killed_evaluate_commit_or_refuses(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """A kill inside evaluate's commit left metrics.json half replaced: score (through the
    run's model) and report finish the commit; where they may not lock the run (another user's
    folder), report read the old metrics.json beside the new figures, where it must refuse."""
    import errno
    import json

    import numpy as np

    from torchlvm.cli import main
    from torchlvm.run import lock

    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(run)]) == 0
    (run / ".metrics.json.torchlvm-new").write_text('{"new": 1}')
    (run / JOURNAL_NAME).write_text('{"moves": [[".metrics.json.torchlvm-new", "metrics.json"]]}')
    np.save(tmp_path / "rows.npy", np.zeros((3, 64), dtype=np.float32))
    argv = {
        "score": ["score", str(run), "--data", str(tmp_path / "rows.npy"), "--out"],
        "report": ["report", str(run), "--out"],
    }[command] + [str(tmp_path / f"out.{'csv' if command == 'score' else 'html'}")]
    real = lock._create

    def refused(path: Path) -> int | None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(lock, "_create", refused)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "left half replaced" in err, err
    monkeypatch.setattr(lock, "_create", real)
    assert main(argv) == 0
    assert json.loads((run / "metrics.json").read_text()) == {"new": 1}
    assert not (run / JOURNAL_NAME).exists()


def test_a_folder_of_the_users_at_a_place_is_refused_before_anything_moves(
    tmp_path: Path,
) -> None:
    """A folder of the user's named figures/kl_per_dimension.png was renamed to its hidden
    '.torchlvm-old' name, the new figure put in its place, and the journal left refused every
    later command on the run (score13's finding). It is refused before anything moves."""
    (tmp_path / "a.png").write_text("old a")
    (tmp_path / "b.png").mkdir()
    (tmp_path / "b.png" / "mine.txt").write_text("mine")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OSError, match="a folder of yours stands where the command writes a file"):
        with Staging(tmp_path) as staging:
            for name in ("a.png", "b.png"):
                staging.path(tmp_path / name).write_text(f"new {name[0]}")
            staging.commit()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # (no journal, no kept name)
    assert (tmp_path / "a.png").read_text() == "old a"
    assert (tmp_path / "b.png" / "mine.txt").read_text() == "mine"
    moves = {staging_name(tmp_path / "c.png"): tmp_path / "b.png"}
    staging_name(tmp_path / "c.png").write_text("new")
    with pytest.raises(OSError, match="a folder of yours"), replaced(moves):
        pass
    assert (tmp_path / "b.png" / "mine.txt").read_text() == "mine"
