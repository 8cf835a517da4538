"""The parser's usage errors: one line, and for a misspelt command, choice or option the one
it is closest to (git's 'The most similar command is', Python 3.14 argparse's suggest_on_error)."""

from __future__ import annotations

import pytest

from torchlvm.cli import main


@pytest.mark.parametrize(
    ("argv", "ends"),
    [
        (["sampel", "run"], "; did you mean 'sample'?"),
        (["smaple", "run"], "; did you mean 'sample'?"),
        (["sample", "run", "--accelerator", "gpus"], "; did you mean 'gpu'?"),
        (["sample", "run", "--nn", "3"], "--nn 3; '--nn': did you mean '--n'?"),
        (
            ["train", "vae", "--out", "x", "--laten-dim=2"],
            "'--laten-dim': did you mean '--latent-dim'?",
        ),
        (["sample", "run", "--overwirte"], "'--overwirte': did you mean '--overwrite'?"),
    ],
    ids=["command", "command-swapped", "choice", "option", "option=value", "flag"],
)
def test_a_misspelling_names_what_it_is_closest_to(capsys, argv, ends):
    """'invalid choice: sampel (choose from ...14 commands)' and 'unrecognized arguments: --nn 3'
    left the newcomer to find the one meant."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    first, see = capsys.readouterr().err.splitlines()
    assert first.startswith("torchlvm: error: ") and first.endswith(ends)
    assert see.startswith("  see 'torchlvm")


@pytest.mark.parametrize(
    "argv",
    [["xyz"], ["sample", "run", "--colour", "red"], ["sample", "run", "--k", "3"]],
    ids=["command", "option", "short-option"],
)
def test_nothing_is_suggested_where_nothing_is_close(capsys, argv):
    """--colour is not --source, nor --k --n: a wrong guess is worse than none."""
    with pytest.raises(SystemExit):
        main(argv)
    assert "did you mean" not in capsys.readouterr().err


def test_an_option_after_double_dash_is_named_as_such(capsys):
    """'sample -- -dash --n 2' (a run folder whose name starts with '-') said "'--n': did you
    mean '--n'?": after '--' argparse takes every word as positional."""
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--", "-dash", "--n", "2"])
    assert exit_.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert "did you mean" not in first
    assert first.endswith("every word after '--' is a positional argument (a path that starts "
                          "with '-'): put the options before '--'")  # fmt: skip
