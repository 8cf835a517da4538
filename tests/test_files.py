"""Atomic writes: a failure names the file the user asked for and leaves nothing behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

import torchlvm._files as files
from torchlvm.run.outputs import write_npy


def _full_disk(tmp: Path) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # as write() raises it: no file name


def test_a_full_disk_names_the_destination_and_removes_the_folders_it_made(tmp_path: Path):
    target = tmp_path / "run" / "figures" / "samples.png"
    with pytest.raises(OSError, match="No space left") as caught:
        files.write_atomic(target, _full_disk)
    assert caught.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []  # neither figures/ nor run/ stays, empty


def test_a_refused_temporary_file_is_named_as_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """A read-only folder refuses the temporary file: the message names report.html, not the
    hidden .report.html.RANDOM.tmp the user never asked for."""

    def read_only(prefix: str, suffix: str, dir: Path):
        name = os.path.join(dir, f"{prefix}abc{suffix}")
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), name)

    monkeypatch.setattr(files.tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as caught:
        files.write_json(tmp_path / "report.html", {})
    assert caught.value.filename == str(tmp_path / "report.html")


def test_an_error_about_another_file_keeps_its_name(tmp_path: Path):
    def reads_a_missing_file(tmp: Path) -> None:
        (tmp_path / "elsewhere.txt").read_text()

    with pytest.raises(FileNotFoundError) as caught:
        files.write_atomic(tmp_path / "out.txt", reads_a_missing_file)
    assert caught.value.filename == str(tmp_path / "elsewhere.txt")
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_existed_stays(tmp_path: Path):
    (tmp_path / "figures").mkdir()
    with pytest.raises(OSError):
        files.write_atomic(tmp_path / "figures" / "a.png", _full_disk)
    assert [p.name for p in tmp_path.iterdir()] == ["figures"]


def test_a_full_disk_while_writing_latents_names_the_npy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fsync", no_space)
    with pytest.raises(OSError) as caught:
        write_npy({tmp_path / "latents.npy": np.zeros(3)})
    assert caught.value.filename == str(tmp_path / "latents.npy")
    assert list(tmp_path.iterdir()) == []


def test_an_error_without_a_system_code_keeps_its_words(tmp_path: Path):
    """numpy's tofile on a full disk raises OSError('8192 requested and 4096 written'), which has
    no errno or strerror: rebuilt from those, encode said 'torchlvm: error: None: z.npy'."""

    def short_write(tmp: Path) -> None:
        raise OSError("8192 requested and 4096 written")

    with pytest.raises(OSError) as caught:
        files.write_atomic(tmp_path / "z.npy", short_write)
    assert caught.value.strerror == (  # what the CLI prints: the cause (userF), then the counts
        "No space left on device, or a disk quota reached (8,192 bytes to write, 4,096 written)"
    )
    assert caught.value.filename == str(tmp_path / "z.npy")
    assert list(tmp_path.iterdir()) == []


def test_an_offered_file_name_is_one_that_is_free(tmp_path):
    """A pasted np.save line replaced the user's file of the offered name (review13 #27)."""
    from torchlvm._files import unused_name

    assert unused_name(tmp_path / "a.npy") == str(tmp_path / "a.npy")
    (tmp_path / "a.npy").touch()
    (tmp_path / "a-2.npy").touch()
    assert unused_name(tmp_path / "a.npy") == str(tmp_path / "a-3.npy")
    (tmp_path / "t.csv.gz").touch()
    assert unused_name(tmp_path / "t.csv.gz") == str(tmp_path / "t-2.csv.gz")
    (tmp_path / "gone").symlink_to(tmp_path / "nowhere")  # (a dangling link is taken too)
    assert unused_name(tmp_path / "gone") == str(tmp_path / "gone-2")


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


@pytest.mark.skipif(not files.FLOCKS, reason="no flock: every leftover is named, none removed")
def test_only_a_killed_writes_temporary_file_is_removed(tmp_path: Path):
    """userO #4: a write killed outside a run (sample --out x.png) left .x.png.RANDOM.tmp for
    good. The one whose writer surely died (its pid, in the name, lives nowhere here; its flock
    is free) is removed; one being written (flocked), one of an earlier version (no pid, or no
    host), one whose pid a process has, one of another host, another file's and the user's own
    are left, the unsure named."""
    import fcntl

    dead, live, here = _dead_pid(), os.getppid(), files._host()
    names = {
        "killed": f".x.png.p{dead}@{here}.abcd1234.tmp",
        "writing": f".x.png.p{dead}@{here}.efgh5678.tmp",
        "before": ".x.png.k2m4q6s8.tmp",
        "no-host": f".x.png.p{dead}.uvwx5678.tmp",
        "pid-reused": f".x.png.p{live}@{here}.ijkl9012.tmp",
        "other-host": f".x.png.p{dead}@gpu7.lab.qrst1234.tmp",
        "other-file": f".y.png.p{dead}@{here}.mnop3456.tmp",
        "users": ".x.png.notes.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_text("half a file")
    fd = os.open(tmp_path / names["writing"], os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # (a write under way holds it)
        left = files.killed_writes(tmp_path / "x.png")
        remaining = sorted(p.name for p in tmp_path.iterdir())
    finally:
        os.close(fd)
    unsure = ("before", "no-host", "pid-reused", "other-host")
    assert left == sorted(tmp_path / names[k] for k in unsure)
    assert remaining == sorted(n for key, n in names.items() if key != "killed")


@pytest.mark.skipif(not files.FLOCKS, reason="no flock: every leftover is named, none removed")
def test_the_next_command_writing_the_file_clears_a_killed_write(tmp_path: Path):
    """A process killed (SIGKILL) while it wrote x.png through atomic_path left its temporary
    file; the next sample --out x.png removes it, says nothing of it, and writes x.png; one it
    cannot be sure of (no pid in its name) is named, and kept."""
    import signal
    import subprocess
    import sys
    import warnings

    from torchlvm.cli import main
    from torchlvm.models import VAE, VAEConfig

    out = tmp_path / "x.png"
    killed = (
        "import os, signal, sys; from torchlvm._files import atomic_path\n"
        "with atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half a png'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", killed, str(out)], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p.name for p in tmp_path.iterdir()]
    assert files.temporary_of(left) == "x.png" and left.startswith(".x.png.p")
    run = VAE(VAEConfig(64, latent_dim=2, hidden=(8,))).save_pretrained(
        tmp_path / "run", data={"name": "digits", "binarize": "dynamic", "seed": 0}
    )
    (tmp_path / ".x.png.k2m4q6s8.tmp").write_text("an earlier version's: no pid to tell by")
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(["sample", str(run), "--n", "4", "--out", str(out)]) == 0
    assert [str(w.message) for w in shown if "killed" in str(w.message)] == [
        f"{tmp_path / '.x.png.k2m4q6s8.tmp'} may be the temporary file of a write of x.png that "
        "was killed (torchlvm writes a file under such a name, then renames it); delete it if "
        f"no command is writing {out} now"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".x.png.k2m4q6s8.tmp", "run", "x.png"]


@pytest.mark.skipif(not files.FLOCKS, reason="no flock: every leftover is named, none removed")
def test_another_hosts_write_in_a_shared_folder_is_left_and_named(tmp_path: Path):
    """A folder shared by hosts (NFS without flocks): a write by host gpu7 has a pid that lives
    nowhere here, and no flock this host can see; sample --out x.png here removed that
    temporary file as a killed write's, under gpu7's write. The writing host is in the name: a
    write of another host is left, and named with its host."""
    import signal
    import subprocess
    import sys
    import warnings

    from torchlvm.cli import main
    from torchlvm.models import VAE, VAEConfig

    out = tmp_path / "x.png"
    gpu7 = (  # (its flock dropped, as on a shared file system that keeps none across hosts)
        "import os, signal, socket, sys; socket.gethostname = lambda: 'gpu7'\n"
        "import torchlvm._files as files; files.hold = lambda fd: None\n"
        "with files.atomic_path(sys.argv[1]) as tmp:\n"
        "    tmp.write_bytes(b'half a png'); os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", gpu7, str(out)], capture_output=True)
    assert done.returncode == -signal.SIGKILL
    (left,) = [p.name for p in tmp_path.iterdir()]
    assert files.temporary_of(left) == "x.png"
    run = VAE(VAEConfig(64, latent_dim=2, hidden=(8,))).save_pretrained(
        tmp_path / "run", data={"name": "digits", "binarize": "dynamic", "seed": 0}
    )
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        assert main(["sample", str(run), "--n", "4", "--out", str(out)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [left, "run", "x.png"]
    assert [str(w.message) for w in shown if "killed" in str(w.message)] == [
        f"{tmp_path / left} may be the temporary file of a write of x.png on host gpu7 that was "
        "killed (torchlvm writes a file under such a name, then renames it); delete it if no "
        f"command on gpu7 is writing {out} now"
    ]
