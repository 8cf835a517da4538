"""A run killed (SIGKILL) before its first epoch finished: the commands that read runs name the
interrupted run and the command that starts it over, instead of saying the folder does not
exist; that command, run as printed, makes the run."""

from __future__ import annotations

import os
import re
import shlex
import signal
import time
from pathlib import Path

import pytest
from _reliability import error_line, patience, start_cli, wait_for

from torchlvm.cli import main
from torchlvm.run.layout import RunLayout, stage_path

# an epoch of 158 steps of 8 rows through 768-wide layers: a second or more, so a kill lands
# in the first one
SLOW = ["--data", "digits", "--latent-dim", "2", "--hidden", "768", "768", "--batch-size", "8"]
SLOW += ["--epochs", "1", "--seed", "3", "--quiet"]


@pytest.mark.budget(150)
def test_a_run_killed_in_its_first_epoch_is_named_with_the_command_that_makes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    stage = RunLayout(stage_path(out))
    proc = start_cli(["train", "vae", *SLOW, "--out", str(out)])
    wait_for(stage.run_record.is_file, proc, timeout=120)  # written as training starts
    time.sleep(0.2)
    assert proc.poll() is None and not stage.last_checkpoint.is_file(), "killed too late"
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=patience(30))
    assert proc.returncode == -signal.SIGKILL and not out.exists()

    capsys.readouterr()
    for command in (["evaluate", str(out), "--quiet"], ["report", str(out)]):
        assert main(command) == 2
        line = error_line(capsys.readouterr().err)
        assert f"the training of {out} was interrupted before its first epoch finished" in line
        assert "does not exist" not in line and "not a folder" not in line, line
    fix = re.search(r"start it over with the command that made it \('([^']*)';", line)
    assert fix is not None, line
    argv = shlex.split(fix.group(1))
    assert argv[:2] == ["torchlvm", "train"] and argv[-2:] == ["--out", str(out)]
    assert main(argv[1:]) == 0
    assert RunLayout(out).config.is_file() and not stage.folder.exists()
