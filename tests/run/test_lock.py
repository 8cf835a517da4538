"""One writer per run: the lock file, its holder, stale takeover and a real second process."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import torchlvm
from torchlvm.errors import RunBusyError, RunDirectoryError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.run.layout import LOCK_NAME, stage_path
from torchlvm.run.lock import (
    EVALUATED,
    TRAINED,
    acquire,
    check_not_busy,
    command_line,
    holder_if_live,
    read_holder,
)


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _write_lock(folder: Path, pid: int, host: str | None = None) -> Path:
    path = folder / LOCK_NAME
    holder = {"pid": pid, "host": host or socket.gethostname(), "command": "x", "started": "t"}
    path.write_text(json.dumps(holder))
    return path


def _hold_in_child(
    folder: Path, doing: str = TRAINED, command: str = "torchlvm train vae"
) -> subprocess.Popen:
    """A second Python process that takes the lock of ``folder`` for ``command`` and sleeps
    holding it."""
    code = textwrap.dedent(
        f"""
        import sys, time
        from torchlvm.run.lock import acquire
        lock = acquire({str(folder)!r}, {command!r}, doing={doing!r})
        print("locked", flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_the_lock_file_names_this_process_and_goes_with_release(tmp_path: Path) -> None:
    with acquire(tmp_path, "torchlvm train vae --out x") as lock:
        holder = read_holder(lock.path)
        assert holder is not None
        assert (holder.pid, holder.host) == (os.getpid(), socket.gethostname())
        assert holder.command == "torchlvm train vae --out x"
        assert holder.started[:2] == "20"
    assert not (tmp_path / LOCK_NAME).exists()


def test_a_second_acquire_is_refused_naming_the_pid(tmp_path: Path) -> None:
    with acquire(tmp_path, "first"):
        with pytest.raises(RunBusyError, match=rf"being trained by pid {os.getpid()}; wait"):
            acquire(tmp_path, "second", what="runs/x")


def test_a_lock_held_by_another_live_process_is_refused_then_free_once_it_dies(
    tmp_path: Path,
) -> None:
    child = _hold_in_child(tmp_path)
    try:
        with pytest.raises(RunBusyError, match=rf"runs/x is being trained by pid {child.pid}"):
            acquire(tmp_path, "torchlvm train vae", what="runs/x")
        with pytest.raises(RunBusyError, match=f"pid {child.pid}"):
            check_not_busy(tmp_path)
    finally:
        child.kill()
        child.wait()
    # SIGKILL left the file behind; the kernel dropped the flock and the pid is gone: stale
    assert (tmp_path / LOCK_NAME).exists()
    with acquire(tmp_path, "torchlvm train vae --resume") as lock:
        holder = read_holder(lock.path)
        assert holder is not None and holder.pid == os.getpid()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    _write_lock(tmp_path, _dead_pid())
    check_not_busy(tmp_path)  # a reader does not wait for the dead
    with acquire(tmp_path, "new") as lock:
        holder = read_holder(lock.path)
        assert holder is not None and holder.command == "new"


def test_a_lock_naming_a_live_process_is_respected_even_without_its_flock(tmp_path: Path) -> None:
    """A lock whose holder did not record that its flock held (a file system that keeps none,
    or a lock of an earlier version) is judged by its pid: respected while a process has it,
    and the message names the file to delete if that process is not the holder (userO #3)."""
    path = _write_lock(tmp_path, os.getppid())  # alive: this test's parent
    busy = f"pid {os.getppid()}; wait for it to finish (if no such process is running, delete "
    with pytest.raises(RunBusyError, match=re.escape(f"{busy}{path})")):
        acquire(tmp_path, "new")


def test_a_lock_whose_flock_held_is_stale_once_free_whatever_has_its_pid(tmp_path: Path) -> None:
    """userO #3: a training killed with SIGKILL as pid 1 of a container (every container's
    command is pid 1) left a lock naming pid 1, which a live process always has: "being trained
    by pid 1; wait for it to finish" for ever, with no way out named. Its holder recorded that
    its flock held; a free flock then says it is gone, whatever process has its pid since."""
    with acquire(tmp_path, "torchlvm train vae") as lock:
        assert json.loads(lock.path.read_text())["flock"] is True  # (this file system keeps it)
    path = _write_lock(tmp_path, 1)
    path.write_text(json.dumps({**json.loads(path.read_text()), "flock": True}))
    assert holder_if_live(tmp_path) is None
    check_not_busy(tmp_path)
    with acquire(tmp_path, "torchlvm train vae --resume") as lock:
        assert read_holder(lock.path).pid == os.getpid()


def test_a_lock_of_another_host_is_respected_and_says_how_to_clear_it(tmp_path: Path) -> None:
    path = _write_lock(tmp_path, _dead_pid(), host="elsewhere.example")
    with pytest.raises(RunBusyError, match=rf"on host elsewhere.example.*delete {path}"):
        acquire(tmp_path, "new")


def test_an_unreadable_lock_is_busy_while_young_and_stale_when_old(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_bytes(b"\xff{half")
    assert holder_if_live(tmp_path) is not None  # its writer may be writing it right now
    old = time.time() - 3600
    os.utime(path, (old, old))
    assert holder_if_live(tmp_path) is None
    with acquire(tmp_path, "new"):
        pass


def test_readers_also_see_the_lock_of_a_new_run_still_in_its_staging_folder(
    tmp_path: Path,
) -> None:
    out = tmp_path / "runs" / "x"
    stage = stage_path(out)
    stage.mkdir(parents=True)
    with acquire(stage, "torchlvm train vae"):
        assert not out.exists()
        # this process holds it; a reader in this process does not wait for itself
        check_not_busy(out)
    child = _hold_in_child(stage)
    try:
        with pytest.raises(RunBusyError, match=rf"{out} is being trained by pid {child.pid}"):
            check_not_busy(out)
    finally:
        child.kill()
        child.wait()


def test_load_refuses_a_run_being_trained_and_reads_it_once_the_trainer_is_gone(
    tmp_path: Path,
) -> None:
    VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(4,))).save_pretrained(tmp_path)
    child = _hold_in_child(tmp_path)  # a `train --resume` of this run, say
    try:
        with pytest.raises(RunBusyError, match=rf"{tmp_path} is being trained by pid {child.pid}"):
            torchlvm.load(tmp_path)
    finally:
        child.kill()
        child.wait()
    assert torchlvm.load(tmp_path).encode(torch.zeros(1, 3)).mean.shape == (1, 2)
    with acquire(tmp_path, "torchlvm train vae --resume"):
        torchlvm.load(tmp_path)  # a process reading the run it trains itself does not wait


def test_an_evaluation_keeps_out_writers_and_readers_of_its_files_but_not_of_the_model(
    tmp_path: Path,
) -> None:
    """``evaluate`` holds the lock while it writes metrics.json and figures/, which a second
    evaluate or a report would mix with its own; the weights it leaves as they are."""
    VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(4,))).save_pretrained(tmp_path)
    child = _hold_in_child(tmp_path, EVALUATED, f"torchlvm gaps {tmp_path}")
    try:  # the command that holds it: 'evaluated' alone did not say that gaps does (userF #14)
        busy = (
            rf"{tmp_path} is being evaluated by pid {child.pid} \(torchlvm gaps\); wait for it "
            "to finish$"
        )
        with pytest.raises(RunBusyError, match=busy):
            acquire(tmp_path, "torchlvm evaluate", what=str(tmp_path), doing=EVALUATED)
        with pytest.raises(RunBusyError, match=busy):
            check_not_busy(tmp_path)
        check_not_busy(tmp_path, model_only=True)
        assert torchlvm.load(tmp_path).encode(torch.zeros(1, 3)).mean.shape == (1, 2)
    finally:
        child.kill()
        child.wait()


def test_a_lock_file_that_does_not_say_what_its_holder_does_names_a_training(
    tmp_path: Path,
) -> None:
    """Lock files written before evaluate took the lock have no "doing"."""
    _write_lock(tmp_path, os.getppid())
    holder = read_holder(tmp_path / LOCK_NAME)
    assert holder is not None and holder.doing == TRAINED
    with pytest.raises(RunBusyError, match=f"is being trained by pid {os.getppid()}; wait"):
        check_not_busy(tmp_path, model_only=True)  # (its command, "x", is none of torchlvm's)


def test_a_lock_copied_with_its_folder_is_not_the_holders(tmp_path: Path) -> None:
    """A run folder copied (cp -r) while a live process held its lock carried the lock file,
    and the copy was 'being trained by pid N' until that process ended: the lock records its own
    file, and a copy of it is stale (the original stays held, a rename keeps it held)."""
    import shutil

    run = tmp_path / "run"
    run.mkdir()
    holder = _hold_in_child(run)
    try:
        shutil.copytree(run, tmp_path / "copy")
        assert (tmp_path / "copy" / LOCK_NAME).is_file()
        assert holder_if_live(tmp_path / "copy") is None
        with acquire(tmp_path / "copy", "torchlvm evaluate copy"):
            pass
        assert holder_if_live(run) is not None
        os.rename(run, tmp_path / "moved")
        with pytest.raises(RunBusyError, match="being trained by pid"):
            acquire(tmp_path / "moved", "torchlvm train vae")
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_file_the_disk_refuses_is_named_and_not_left(tmp_path: Path) -> None:
    """A full disk refused the lock file's first write: os.write's OSError names no file, so the
    command said 'No space left on device; check the path' without a path. The kernel's own
    refusal here: a file size limit of 0 bytes (EFBIG, SIGXFSZ ignored)."""
    import resource
    import signal

    before = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, limits[1]))
    try:
        with pytest.raises(OSError, match="File too large") as refused:
            acquire(tmp_path, "torchlvm train vae")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, before)
    assert refused.value.filename == str(tmp_path / LOCK_NAME)
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_command_in_the_lock_file_reads_back_as_it_was_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run killed in its first epoch is named with the command that made it, from its lock
    file: 'torchlvm train vae --out my run' (words joined as they were) ran as --out my, with a
    stray 1."""
    import shlex

    from torchlvm.run.lock import command_line

    argv = ["train", "vae", "--out", "my run", "--data", "it's.csv"]
    monkeypatch.setattr("sys.argv", ["/usr/bin/torchlvm", *argv])
    assert shlex.split(command_line()) == ["torchlvm", *argv]


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES], ids=["read-only", "permission"])
def test_a_run_that_cannot_be_written_is_named_with_a_copy_to_work_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], code: int
) -> None:
    """evaluate, gaps and train --resume on a run in a read-only place said 'Read-only file
    system: RUN; check the path, its permissions and the free disk space', which no check
    mends: they write in the run, so the line names a copy of it to run the command on."""
    from torchlvm.cli import main
    from torchlvm.run import lock

    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(run)]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}

    def refused(path: Path) -> int | None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(lock, "_create", refused)
    with pytest.raises(OSError) as caught:
        lock.acquire(run, "torchlvm evaluate")
    assert caught.value.errno == code and isinstance(caught.value, OSError)
    capsys.readouterr()
    for command in (["evaluate", str(run), "--n", "20"], ["gaps", str(run), "--n", "2"]):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert f"copy the run where you can write, e.g. 'cp -r {run} ppca-copy'" in err, err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_the_lock_records_a_long_command_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command past 200 characters was cut to '...' in the lock file, and the message of a
    run killed before its first epoch offered 'torchlvm train ... --out RUN' instead of it
    (userF #14): the lock keeps the whole command, which the message offers."""
    from torchlvm.run.interrupted import check_finished
    from torchlvm.run.layout import STAGE_MARKER_NAME

    out = tmp_path / "run"
    columns = [f"column_{i}" for i in range(40)]
    argv = ["train", "vae", "--data", "t.csv", "--drop-columns", *columns, "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["torchlvm", *argv])
    command = command_line()
    assert len(command) > 400 and command == " ".join(["torchlvm", *argv])
    stage = stage_path(out)
    stage.mkdir()
    (stage / STAGE_MARKER_NAME).write_text(json.dumps({"target": str(out), "name": out.name}))
    _write_lock(stage, 2**22 + 7)  # a killed process's
    holder = json.loads((stage / LOCK_NAME).read_text())
    (stage / LOCK_NAME).write_text(json.dumps({**holder, "command": command}))
    with pytest.raises(RunDirectoryError, match="before its first epoch") as refused:
        check_finished(out)
    assert f"start it over with the command that made it ('{command}';" in str(refused.value)
