"""The ``torchlvm`` command line.

Each subcommand is one module in this package with ``HELP`` (a line), ``configure(parser)`` (adds
its arguments) and ``run(args) -> int``. :data:`COMMANDS` maps command names to those modules. The
CLI parses arguments, calls the library and prints; it holds no maths. A
:class:`~torchlvm.errors.TorchLVMError` becomes one line on stderr and exit status 2, an ``OSError``
(disk full, permission denied) one line and exit status 1, Ctrl-C exit status 130, never a
traceback.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from torchlvm.errors import TorchLVMError

#: command name → module under ``torchlvm.cli``, in the order ``--help`` lists them
COMMANDS: dict[str, str] = {
    "datasets": "datasets",
    "fit": "fit",
    "train": "train",
    "sample": "sample",
    "reconstruct": "reconstruct",
    "encode": "encode",
    "impute": "impute",
    "score": "score",
    "transfer": "transfer",
    "evaluate": "evaluate",
    "gaps": "gaps",
    "kl-demo": "kl_demo",
    "compare": "compare",
    "report": "report",
}


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors read like every other torchlvm error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # one error line and a one-line pointer to the help, not argparse's usage block
        self.exit(2, f"torchlvm: error: {message}\n  see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from torchlvm import __version__

    parser = Parser(
        prog="torchlvm",
        description="Latent variable models in PyTorch: fit, train, sample, evaluate, report.",
        epilog="Run 'torchlvm COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"torchlvm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module_name in COMMANDS.items():
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
            return f"{text} (default: %(default)s)".strip()
        return text


def _informative(default: object) -> bool:
    return default is not None and default is not False and default is not argparse.SUPPRESS


def _print_any_path() -> None:
    """Let messages name any path, also one whose name is not UTF-8 (Python holds its bytes as
    surrogates, which a strict stream refuses to print): they go out as the original bytes."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            reconfigure(errors="surrogateescape")


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _one_line_warning(
    message: Warning | str, category: type[Warning], *_: object, **__: object
) -> str:
    """A warning as one ``torchlvm: warning:`` line (not Python's file:line and source line)."""
    return f"torchlvm: warning: {' '.join(str(message).split())}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``torchlvm`` script. Returns the exit status."""
    _print_any_path()
    warnings.formatwarning = _one_line_warning
    try:  # (building the parser imports every command: Ctrl-C may come now)
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
    except KeyboardInterrupt:
        print("torchlvm: interrupted", file=sys.stderr)
        return 130
    if extra:  # named by the command's parser, whose --help lists what it takes
        command = parser.commands.get(args.command, parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status = int(args.run(args) or 0)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except TorchLVMError as err:
        print(f"torchlvm: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        if str(err):  # what was kept, e.g. the checkpoints of the finished epochs
            print(f"torchlvm: {err}", file=sys.stderr)
        print("torchlvm: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout's reader went away (| head): stop quietly, as cat does
        _discard_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a process that the pipe stopped
    except OSError as err:  # a full disk, a read-only or unreadable path: the system's refusal
        what = " ".join((err.strerror or str(err) or type(err).__name__).split())
        where = f": {err.filename}" if err.filename else ""
        print(
            f"torchlvm: error: {what}{where}; check the path, its permissions and the free disk "
            "space (files written before stay as they were)",
            file=sys.stderr,
        )
        return 1
