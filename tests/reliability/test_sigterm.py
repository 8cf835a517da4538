"""SIGTERM (``kill``, ``timeout``, a cluster's scheduler) ends a command as Ctrl-C does, what an
interrupt keeps kept, but with exit status 143 (128 + 15), not Ctrl-C's 130 (userO #7)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from _reliability import patience, start_cli, wait_for

from torchlvm.training.checkpoint_io import read_checkpoint


@pytest.mark.budget(90)
@pytest.mark.parametrize(
    "signum, status, line",
    [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
     (signal.SIGHUP, 129, "hung up (SIGHUP: the terminal closed)")],
    ids=["sigterm", "sighup"],
)  # fmt: skip
def test_sigterm_during_training_keeps_the_checkpoint_and_exits_143(
    tmp_path: Path, signum: int, status: int, line: str
) -> None:
    """It exited 130, the status of Ctrl-C, where a script or scheduler reads 143 as terminated.
    SIGHUP (an ssh session that drops) ended it with status 129, no line, and a half-written
    checkpoint's temporary file left (userV #6); it is taken as SIGTERM is."""
    out = tmp_path / "run"
    args = ["train", "vae", "--data", "digits", "--latent-dim", "4", "--hidden", "512", "512"]
    proc = start_cli([*args, "--batch-size", "16", "--epochs", "50", "--out", str(out)])

    def checkpointed() -> bool:
        return any(tmp_path.glob(".run.*/checkpoints/last.ckpt"))

    wait_for(checkpointed, proc, timeout=60)  # epoch 1 of 50 finished: training is in its loop
    time.sleep(0.3)
    assert proc.poll() is None, "the training ended before it was terminated"
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=patience(30))
    assert proc.returncode == status, err
    assert "Traceback" not in err
    lines = [said for said in err.splitlines() if said.startswith("torchlvm: ")]
    assert lines[-1] == f"torchlvm: error: {line}"
    assert any(f"finish it with 'torchlvm train vae --resume --out {out}'" in s for s in lines), err
    assert 0 <= read_checkpoint(out / "checkpoints" / "last.ckpt")["epoch"] < 49
    assert not (out / "model.safetensors").exists()
    assert not list(tmp_path.glob(".run.*")), "the staging folder was left behind"
    assert json.loads((out / "checkpoints" / "run.json").read_text())["model_type"] == "vae"


@pytest.mark.budget(60)
def test_sigterm_while_the_command_starts_exits_143_without_a_traceback(tmp_path: Path) -> None:
    """Outside a training, SIGTERM ended the process at once (status -15): no message, and what
    it was writing left half done; while it imports torch it is refused as Ctrl-C is there."""
    out = tmp_path / "run"
    proc = start_cli(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)])
    time.sleep(0.5)  # (torch's import takes seconds)
    assert proc.poll() is None, "the fit ended before it was terminated"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=patience(30))
    assert proc.returncode == 143, err
    assert err.splitlines() == ["torchlvm: error: terminated (SIGTERM)"], err
    assert sorted(tmp_path.iterdir()) == []


def test_sigterm_in_a_fit_removes_its_staging_folder_and_exits_143(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What the handler raises (Terminated, a KeyboardInterrupt) takes Ctrl-C's way out of a
    command: its staging folder and lock removed, nothing written to --out."""
    from torchlvm._terminated import Terminated
    from torchlvm.cli import main
    from torchlvm.models.ppca import PPCA

    def terminated(self, x):
        raise Terminated

    monkeypatch.setattr(PPCA, "fit", terminated)
    out = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]) == 143
    assert capsys.readouterr().err == "torchlvm: error: terminated (SIGTERM)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(
    params=[signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "sigterm", "sighup"]
)
def interrupt(request: pytest.FixtureRequest):
    """The signal, its handler as the command line has it (SIGTERM's: raise_terminated), and
    the status and last line it ends a command with."""
    from torchlvm._terminated import ENDED, raise_terminated

    signum = request.param
    previous, sigint = signal.getsignal(signum), signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # (as any python has it: not
    if signum != signal.SIGINT:  # what an earlier test may have left)
        signal.signal(signum, raise_terminated)
    yield signum, 128 + signum, "error: " + ENDED[signum]
    signal.signal(signum, previous)
    signal.signal(signal.SIGINT, sigint)


def _arrives(signum: int) -> None:
    """The signal arriving at this line: its handler runs here, as the interpreter runs it."""
    signal.getsignal(signum)(signum, None)


def test_an_interrupt_an_extension_turns_into_an_error_ends_the_command_as_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], interrupt
) -> None:
    """userV #1: Ctrl-C while train imported Lightning lazily (matplotlib's ft2font initialising)
    came out as 'ImportError: initialization failed', a 60-line traceback and exit 1."""
    from torchlvm.cli import main
    from torchlvm.models.ppca import PPCA

    signum, status, line = interrupt

    def importing(self, x):
        try:
            _arrives(signum)  # (inside an extension module's initialisation)
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None

    monkeypatch.setattr(PPCA, "fit", importing)
    out = tmp_path / "ppca"
    assert (
        main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]) == status
    )
    assert capsys.readouterr().err == f"torchlvm: {line}\n"
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_a_garbage_callback_dropped_still_ends_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], interrupt
) -> None:
    """userV #2: SIGTERM landing in a weakref callback (matplotlib freeing a transform) while
    evaluate drew its figures was printed as 'Exception ignored ... Terminated' and dropped: the
    command ran on and exited 0. The interrupt is raised again where the command goes on."""
    from torchlvm.cli import main
    from torchlvm.models.ppca import PPCA

    signum, status, line = interrupt
    went_on = []

    class Freed:
        def __del__(self) -> None:
            _arrives(signum)

    def fitting(self, x):
        Freed()  # (freed at once: the signal lands in its __del__)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # (the command's own work, for 5 s)
            time.sleep(0.001)
        went_on.append(True)
        return self

    monkeypatch.setattr(PPCA, "fit", fitting)
    out = tmp_path / "ppca"
    assert (
        main(["fit", "ppca", "--data", "digits", "--latent-dim", "2", "--out", str(out)]) == status
    )
    assert capsys.readouterr().err == f"torchlvm: {line}\n"
    assert went_on == [] and list(tmp_path.iterdir()) == []
