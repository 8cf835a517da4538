"""The ``torchlvm`` argument parser: one subparser per command module, usage errors as one
``torchlvm: error:`` line, help texts that show the defaults worth showing."""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib
from collections.abc import Iterable, Sequence


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors read like every other torchlvm error, and name the
    command, choice or option a misspelt one is closest to (as git and Python 3.14's argparse
    ``suggest_on_error`` do)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # one error line and a one-line pointer to the help, not argparse's usage block
        self.exit(2, f"torchlvm: error: {message}\n  see '{self.prog} --help'\n")

    def unrecognized(self, extra: Sequence[str]) -> None:
        """Refuse the arguments ``extra`` that no option took, naming the option closest to
        each misspelt one (``--nn``: ``--n``)."""
        options = {o[2:]: o for o in self._option_string_actions if o.startswith("--")}
        typed = [arg.partition("=")[0] for arg in extra if arg.startswith("-")]
        if any(arg in self._option_string_actions for arg in typed):  # an option after '--'
            self.error(
                f"unrecognized arguments: {' '.join(extra)}; every word after '--' is a "
                "positional argument (a path that starts with '-'): put the options before '--'"
            )
        meant = [(arg, _closest(arg.lstrip("-"), options)) for arg in typed]  # (not the dashes)
        hints = [f"{arg!r}: did you mean {options[c]!r}?" for arg, c in meant if c is not None]
        self.error(f"unrecognized arguments: {' '.join(extra)}{'; ' if hints else ''}"
                   + "; ".join(hints))  # fmt: skip

    def _check_value(self, action: argparse.Action, value: object) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as err:  # an invalid choice (a command, --accelerator...)
            close = _closest(str(value), (str(c) for c in action.choices or ()))
            if close is None:
                raise
            raise argparse.ArgumentError(
                action, f"{err.message}; did you mean {close!r}?"
            ) from None


def _closest(typed: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``typed`` is a likely misspelling of, or None."""
    found = difflib.get_close_matches(typed, list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def parser_for(commands: dict[str, str]) -> argparse.ArgumentParser:
    """The argument parser with every subcommand of ``commands`` (name → module name)."""
    from torchlvm import __version__

    parser = Parser(
        prog="torchlvm",
        description="Latent variable models in PyTorch: fit, train, sample, evaluate, report.",
        epilog="Run 'torchlvm COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"torchlvm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module_name in commands.items():
        module = importlib.import_module(f"torchlvm.cli.{module_name}")
        sub = subparsers.add_parser(
            name, help=module.HELP, description=module.__doc__, formatter_class=_Formatter
        )
        module.configure(sub)
        sub.set_defaults(run=module.run)
    parser.commands = subparsers.choices  # type: ignore[attr-defined]  # errors name their --help
    return parser


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows defaults that carry information: every
    default but None and False (0 is one: a seed of 0, no refinement steps), also for an option
    that has no help text of its own."""

    def _format_action(self, action: argparse.Action) -> str:
        if action.option_strings and not action.help and _informative(action.default):
            action = copy.copy(action)
            action.help = "(default: %(default)s)"  # (argparse prints nothing for no help)
        return super()._format_action(action)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = (action.help or "").strip()
        if "%(default)" in text or "(default" in text or not _informative(action.default):
            return text
        if action.option_strings or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE):
            if isinstance(action.default, (list, tuple)):  # as typed: 200 200, not [200, 200]
                shown = " ".join(str(v) for v in action.default).replace("%", "%%")
                return f"{text} (default: {shown})".strip()
            return f"{text} (default: %(default)s)".strip()
        return text


def _informative(default: object) -> bool:
    return default is not None and default is not False and default is not argparse.SUPPRESS
