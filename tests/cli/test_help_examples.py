"""Every example line of every command's ``--help`` can be pasted: the shell reads it (a comment
after ``#``) and the parser takes it (userP #1: sample's '(classes drawn by their frequency)'
after an example was a shell syntax error and an unrecognized argument)."""

from __future__ import annotations

import importlib
import shlex

import pytest

from torchlvm.cli import COMMANDS, build_parser


def _examples(module: str) -> list[str]:
    """The lines under 'Examples:' in the command module's docstring (its --help epilog)."""
    doc = importlib.import_module(f"torchlvm.cli.{module}").__doc__ or ""
    lines = doc.split("Examples:", 1)[1].splitlines()[1:] if "Examples:" in doc else []
    examples = []
    for line in lines:
        if not line.startswith("  torchlvm "):
            break
        examples.append(line.strip())
    return examples


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_each_example_parses_as_pasted(command):
    parser = build_parser()
    for line in _examples(COMMANDS[command]):
        words = shlex.split(line, comments=True)  # (as bash reads it: '(' would not parse)
        assert "(" not in line.split("#")[0], line
        assert words[:2] == ["torchlvm", command], line
        parser.parse_args(words[1:])  # (exits 2 on an argument it does not take)
