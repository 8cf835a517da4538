"""Output piped into a reader that stops early (``torchlvm ... | head -1``) ends quietly, and so
does Ctrl-C before the command starts its work, also while it imports torch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _datasets_into(stdout, unbuffered: str = "") -> subprocess.CompletedProcess:
    """``torchlvm datasets`` (a quick command that prints) with its standard output on
    ``stdout``, buffered as a pipe is unless ``unbuffered`` sets PYTHONUNBUFFERED."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    return subprocess.run(
        [sys.executable, "-m", "torchlvm.cli", "datasets"],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_closed_pipe_is_no_error(unbuffered: str) -> None:
    """The reader closes its end before torchlvm writes: no 'torchlvm: error: Broken pipe; check
    the path, its permissions and the free disk space' (there is nothing to check), no
    traceback, and the status a shell gives a process stopped by its pipe (128 + SIGPIPE)."""
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    done = _datasets_into(write, unbuffered)
    os.close(write)
    assert done.stderr == "" and done.returncode == 141, done.stderr


def test_ctrl_c_while_the_commands_load_is_one_line(monkeypatch, capsys) -> None:
    """Building the parser imports every command module (a second or more on a busy machine);
    Ctrl-C then was a traceback, not the ``torchlvm: error: interrupted (Ctrl-C)`` of Ctrl-C
    during the work."""
    import torchlvm.cli as cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["datasets"]) == 130
    assert capsys.readouterr().err == "torchlvm: error: interrupted (Ctrl-C)\n"


@pytest.mark.parametrize("swallowed", [False, True], ids=["raised", "swallowed"])
def test_ctrl_c_that_an_import_turns_into_another_error_is_still_ctrl_c(
    monkeypatch, capsys, swallowed: bool
) -> None:
    """numpy's C core, interrupted while it imports datetime, raises ImportError (a traceback,
    status 1), and an optional import (``try: import x / except ImportError``) swallows that:
    the command then ran as if Ctrl-C had not been pressed."""
    import torchlvm.cli as cli

    build = cli.build_parser

    def interrupted_inside_an_import():
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
        except BaseException as err:  # what the extension does with it
            if not swallowed:
                raise ImportError("PyCapsule_Import could not import module 'datetime'") from err
        return build()

    monkeypatch.setattr(cli, "build_parser", interrupted_inside_an_import)
    assert cli.main(["datasets"]) == 130
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "torchlvm: error: interrupted (Ctrl-C)\n")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_command_gets_ctrl_c_as_a_keyboard_interrupt(capsys) -> None:
    """The start's own SIGINT handler is gone when the command runs: training turns a
    KeyboardInterrupt into a note naming the command that resumes it."""
    import torchlvm.cli as cli

    assert cli.main(["datasets"]) == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/PID/maps (Linux)")
@pytest.mark.parametrize(
    "library",
    ["_multiarray_umath", "scipy/special/_ufuncs", "torch/lib/libtorch_cpu"],
    ids=["numpy", "scipy-special", "torch"],
)
def test_ctrl_c_while_torchlvm_imports_is_one_line_and_130(library: str) -> None:
    """A real SIGINT as soon as the process has mapped ``library`` (the import of numpy, scipy's
    special functions, torch: the first seconds of every command) used to print a traceback
    (``import torchlvm`` imported torch before the CLI could catch Ctrl-C), or to end the process
    by SIGINT (status -2) where the KeyboardInterrupt went through scipy's extension module."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "torchlvm.cli", "datasets"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    maps = Path(f"/proc/{proc.pid}/maps")

    def mapped() -> bool:
        try:
            return library in maps.read_text()
        except OSError:  # (ended)
            return False

    deadline = time.monotonic() + 60
    while not mapped() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, f"the command ended before it mapped {library}"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, "torchlvm: error: interrupted (Ctrl-C)\n")


def test_a_closed_stdout_is_no_traceback() -> None:
    """``torchlvm ... >&-`` (a daemon, some CI steps): Python sets sys.stdout to None and the
    final flush was a traceback ('NoneType' object has no attribute 'flush'), status 1, for a
    command whose work was done (userF)."""
    done = subprocess.run(
        f"{sys.executable} -m torchlvm.cli datasets >&-",
        shell=True,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_full_stdout_is_named_as_standard_output() -> None:
    """``> /dev/full``: 'No space left on device; check the path, its permissions and the free
    disk space', no path, where the files were written whole and only the summary failed."""
    with open("/dev/full", "w") as full:
        done = _datasets_into(full)
    assert done.returncode == 1
    assert done.stderr.startswith(
        "torchlvm: error: could not write this command's summary to standard output (No space"
    ), done.stderr
    assert done.stderr.count("\n") == 1 and "check the path" not in done.stderr
