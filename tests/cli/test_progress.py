"""What training prints: torchlvm's summary on stdout, nothing of Lightning's, bars on stderr only
when stderr is a terminal or --progress asks (issue 14)."""

from __future__ import annotations

import argparse
import io

import pytest

from torchlvm import cli
from torchlvm.cli._progress import show_progress

LIGHTNING_LINES = ("GPU available", "TPU available", "Tip:", "Trainable params", "stopped:")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("progress", "quiet", "tty", "shown"),
    [
        (False, False, False, False),
        (False, False, True, True),
        (True, False, False, True),
        (False, True, True, False),
    ],
    ids=["piped", "terminal", "progress-asked", "quiet-on-terminal"],
)
def test_bars_show_on_a_terminal_or_when_asked(monkeypatch, progress, quiet, tty, shown):
    monkeypatch.setattr("sys.stderr", _Terminal() if tty else io.StringIO())
    assert show_progress(argparse.Namespace(progress=progress, quiet=quiet)) is shown


def _train(tmp_path, *extra: str) -> list[str]:
    return ["train", "vae", "--data", "digits", "--epochs", "1", "--latent-dim", "2"] + [
        "--hidden", "8", "--out", str(tmp_path / "run"), *extra,
    ]  # fmt: skip


def test_piped_training_prints_only_torchlvm_summary(tmp_path, capsys):
    assert cli.main(_train(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert out.startswith("trained vae on digits")
    assert err == ""
    for line in LIGHTNING_LINES:
        assert line not in out + err
    assert "Epoch" not in out + err


def test_progress_bars_go_to_stderr_never_stdout(tmp_path, capsys, monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert cli.main(_train(tmp_path, "--progress")) == 0
    out, err = capsys.readouterr()[0], terminal.getvalue()
    assert "Epoch 0" in err
    assert "Epoch" not in out and "it/s" not in out
    for line in LIGHTNING_LINES:
        assert line not in out + err


def test_progress_into_a_log_file_is_a_plain_line_per_epoch(tmp_path, capsys):
    """userV #8: ``train --progress 2> log`` wrote tqdm's redraws into the log (carriage
    returns, cursor-up escapes) and nothing a reader of a log can follow. Where stderr is not a
    terminal, each epoch ends in one plain line holding the numbers metrics.csv records."""
    from torchlvm.training.metrics_csv import read_metrics

    assert cli.main(_train(tmp_path, "--progress") + ["--epochs", "3"]) == 0
    out, err = capsys.readouterr()
    assert "\r" not in err and "\x1b" not in err and "Epoch" not in err
    lines = err.splitlines()
    rows = read_metrics(tmp_path / "run" / "metrics.csv")
    assert len(lines) == len(rows) == 3
    for line, row in zip(lines, rows, strict=True):
        epoch = row["epoch"] + 1
        assert line.startswith(f"epoch {epoch}/3: val/elbo {row['val/elbo']:.5g}; 10 steps in ")
        assert line.endswith(" s")
    assert out.startswith("trained vae on digits")


def test_a_long_epoch_gives_the_log_a_line_at_the_interval(tmp_path, capsys, monkeypatch):
    """An epoch longer than EpochLines.interval says how far it is on the way, so a log of a
    run of hours is not silent for an epoch's length (here the interval is 0: every batch)."""
    import re

    from torchlvm.training.progress_lines import EpochLines

    monkeypatch.setattr(EpochLines, "interval", 0.0)
    assert cli.main(_train(tmp_path, "--progress", "--batch-size", "256")) == 0
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if not re.fullmatch(r"epoch 1/1: \d+/5 steps, \d+ s", line)] == [
        lines[-1]
    ]
    assert lines[-2].startswith("epoch 1/1: 5/5 steps")
    assert lines[-1].startswith("epoch 1/1: val/elbo ")


def test_progress_and_quiet_are_exclusive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(_train(tmp_path, "--progress", "--quiet"))
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: argument --quiet: not allowed with argument --progress")


def test_a_warning_is_one_line():

    from torchlvm.cli import _one_line_warning

    line = _one_line_warning(
        UserWarning("grey levels under\n  a Bernoulli likelihood"), UserWarning
    )
    assert line == "torchlvm: warning: grey levels under a Bernoulli likelihood\n"


def test_a_command_warns_in_one_line_and_gives_the_caller_its_warning_format_back(monkeypatch):
    """Inside a command a warning is formatted as one ``torchlvm: warning:`` line; called
    in-process, main leaves the caller's ``warnings.formatwarning`` as it found it."""
    import warnings

    from torchlvm.cli import _one_line_warning

    inside = []

    def start(argv):  # the command line parsed as ever, its command one that looks around
        parser, args, extra = start_as_ever(argv)
        args.run = lambda args: inside.append(warnings.formatwarning)
        return parser, args, extra

    start_as_ever = cli._start
    monkeypatch.setattr(cli, "_start", start)
    previous = warnings.formatwarning
    assert cli.main(["datasets"]) == 0
    assert inside == [_one_line_warning]
    assert warnings.formatwarning is previous
