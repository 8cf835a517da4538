"""torchlvm.errors: one way for an error to name options, each interface in its own spelling
(``spelled``), and the flags of the keywords that the command line spells otherwise."""

from __future__ import annotations

import argparse
import shlex

import pytest

from torchlvm.cli import build_parser
from torchlvm.errors import FLAGS, OptionError, in_python, on_command_line, spelled


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of ``parser`` and of its subcommands."""
    found = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _flags(sub)
    return found


@pytest.mark.parametrize("keyword", sorted(FLAGS))
def test_each_renamed_keyword_names_a_flag_the_command_line_has(keyword):
    assert on_command_line(keyword) in _flags(build_parser())


def test_one_error_names_an_option_in_each_interface_by_its_own_spelling():
    """TrainConfig's max_epochs is train's --epochs: the error that OptionError.naming built from
    a keyword and a flag given apart is spelled from the keyword alone."""
    error = spelled(OptionError, lambda spell: f"set {spell('max_epochs', 4)} or {spell('seed')}")
    assert str(error) == "set max_epochs=4 or seed"
    assert error.on_command_line == "set --epochs 4 or --seed"
    assert in_python("linear", True) == "linear=True"
    assert on_command_line("linear", True) == "--linear-decoder"
    assert not hasattr(OptionError, "naming")


def test_a_value_that_starts_with_a_dash_is_attached_to_its_flag(tmp_path):
    """A cell '-e' was offered '--na-values -e', which argparse reads as an option ('expected at
    least one argument'; review12 #1): such a value is attached, '--na-values=-e', and the
    offered words parse back to the value; a negative number stays a plain value."""
    parser = build_parser()
    for keyword, value in [("na_values", ["-e"]), ("na_values", ["-999", "ERR", "-"]),
                           ("drop_columns", ["id", "-x", "a b"])]:  # fmt: skip
        words = shlex.split(on_command_line(keyword, value))
        args = parser.parse_args(["fit", "ppca", "--data", "x.csv", "--out", "r", *words])
        assert sorted(getattr(args, keyword)) == sorted(value)
    assert on_command_line("na_values", ["-999", "-"]) == "--na-values -999 -"
