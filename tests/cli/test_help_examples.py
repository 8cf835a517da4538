"""Every example line of every command's ``--help`` can be pasted: the shell reads it (a comment
after ``#``) and the parser takes it (userP #1: sample's '(classes drawn by their frequency)'
after an example was a shell syntax error and an unrecognized argument)."""

from __future__ import annotations

import importlib
import shlex

import pytest

from torchlvm.cli import COMMANDS, build_parser


def _examples(module: str) -> list[str]:
    """The example lines of the command module's docstring (its --help): those under
    'Examples:', or the one after 'Example:'."""
    doc = importlib.import_module(f"torchlvm.cli.{module}").__doc__ or ""
    one = [line.split(":", 1)[1].strip() for line in doc.splitlines()
           if line.startswith("Example: torchlvm ")]  # fmt: skip
    lines = doc.split("Examples:", 1)[1].splitlines()[1:] if "Examples:" in doc else []
    examples = []
    for line in lines:
        if not line.startswith("  torchlvm "):
            break
        examples.append(line.strip())
    return one + examples


@pytest.mark.parametrize("command", list(COMMANDS), ids=list(COMMANDS))
def test_each_example_parses_as_pasted(command):
    parser = build_parser()
    examples = _examples(COMMANDS[command])
    doc = importlib.import_module(f"torchlvm.cli.{COMMANDS[command]}").__doc__ or ""
    assert examples or "Example" not in doc  # (a docstring's examples found: the test checks some)
    for line in examples:
        words = shlex.split(line, comments=True)  # (as bash reads it: '(' would not parse)
        assert "(" not in line.split("#")[0], line
        assert words[:2] == ["torchlvm", command], line
        parser.parse_args(words[1:])  # (exits 2 on an argument it does not take)


@pytest.mark.parametrize("command", ["sample", "report"])
def test_overwrite_help_says_a_users_file_is_never_replaced(command):
    """userM #8: report --help said --overwrite replaces 'an existing --out that is not a
    report', and sample's 'existing output files', while a file of the user's is refused even
    with --overwrite. The help says what the refusal does."""
    parser = build_parser()
    action = next(
        a
        for a in parser._subparsers._group_actions[0].choices[command]._actions  # noqa: SLF001
        if "--overwrite" in a.option_strings
    )
    assert "torchlvm wrote, unchanged since" in action.help
    assert "a file of yours never is" in action.help
