"""The end of a ``torchlvm`` process: once its command is over, a Ctrl-C changes nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from _reliability import patience, start_cli

import torchlvm


@pytest.mark.budget(90)
def test_ctrl_c_after_the_run_is_written_leaves_the_exit_status_zero(tmp_path: Path) -> None:
    """The interpreter's teardown took seconds after train printed 'wrote ...' (garbage
    collection over torch's and Lightning's objects), SIGINT back at its default: a Ctrl-C
    there ended the process by SIGINT, with no message, though the run was whole."""
    out = tmp_path / "run"
    args = ["train", "vae", "--data", "digits", "--latent-dim", "2", "--hidden", "16"]
    proc = start_cli([*args, "--epochs", "1", "--quiet", "--out", str(out)])
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("wrote "):
            break
    time.sleep(0.05)  # the command has returned: the process is ending
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=patience(30))
    assert proc.returncode == 0, err
    said = err.splitlines()  # (a 1-epoch VAE of 2 dimensions collapses, and train says so)
    assert all(line.startswith("torchlvm: warning: no latent dimension") for line in said), err
    assert torchlvm.load(out).latent_dim == 2
