"""The ``torchlvm`` argument parser: one subparser per command module, usage errors as one
``torchlvm: error:`` line, help texts that show the defaults worth showing."""

from __future__ import annotations

import argparse
import copy
import importlib


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors read like every other torchlvm error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # one error line and a one-line pointer to the help, not argparse's usage block
        self.exit(2, f"torchlvm: error: {message}\n  see '{self.prog} --help'\n")


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
