"""Several outputs put in place as one: a failed commit leaves the old files, and Ctrl-C during
a commit is delivered when it ends."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from torchlvm.run.commit import Staging, interrupts_held, replaced, staging_name


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # no staged or .old file
    assert (tmp_path / "a.png").read_text() == "old a"


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
    with Staging() as staging:
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
        with Staging() as staging:
            staging.path(tmp_path / "a.png").write_text("new a")
            staging.path(tmp_path / "b.json")  # named, not yet written: interrupted
            raise KeyboardInterrupt
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"a.png": "old a"}


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
    real = os.replace

    def full(src: Path, dst: Path) -> None:
        if Path(dst).name == "b.json":
            raise OSError(28, "No space left on device", str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        with replaced(moves):
            pass
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {
        "a.png": "old a",
        "b.json": "old b",
    }
