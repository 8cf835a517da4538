"""Output piped into a reader that stops early (``torchlvm ... | head -1``) ends quietly, and so
does Ctrl-C before the command starts its work."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("unbuffered", ["", "1"])
def test_a_closed_pipe_is_no_error(unbuffered: str) -> None:
    """The reader closes its end before torchlvm writes: no 'torchlvm: error: Broken pipe; check
    the path, its permissions and the free disk space' (there is nothing to check), no
    traceback, and the status a shell gives a process stopped by its pipe (128 + SIGPIPE)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = unbuffered
    read, write = os.pipe()
    os.close(read)  # the reader is gone
    done = subprocess.run(
        [sys.executable, "-m", "torchlvm.cli", "datasets"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    os.close(write)
    assert done.stderr == "" and done.returncode == 141, done.stderr


def test_ctrl_c_while_the_commands_load_is_one_line(monkeypatch, capsys) -> None:
    """Building the parser imports every command module (a second or more on a busy machine);
    Ctrl-C then was a traceback, not the ``torchlvm: interrupted`` of Ctrl-C during the work."""
    import torchlvm.cli as cli

    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert cli.main(["datasets"]) == 130
    assert capsys.readouterr().err == "torchlvm: interrupted\n"
