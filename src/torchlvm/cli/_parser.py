"""The ``torchlvm`` argument parser: one subparser per command module, usage errors as one
``torchlvm: error:`` line (naming the spelling meant, and the command meant where a list option
took a positional word), help texts that show the defaults worth showing."""

from __future__ import annotations

import argparse
import copy
import difflib
import importlib
import sys
from collections.abc import Iterable, Sequence
from typing import Any


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors read like every other torchlvm error, and name the
    command, choice or option a misspelt one is closest to (as git and Python 3.14's argparse
    ``suggest_on_error`` do). An option is taken only as spelt in full: argparse's default
    reads a prefix as the one option it starts, so ``encode RUN --n 20`` was read as
    ``--na-values 20`` and refused as "leave out --na-values", an option never typed (readJ J7),
    and an option a later version adds could change what an old script's word means. A prefix
    is refused naming the option it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        self._words = list(sys.argv[1:] if args is None else args)  # (for error's hint)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> None:  # type: ignore[override]
        # one error line and a one-line pointer to the help, not argparse's usage block
        words = getattr(self, "_words", [])
        if (
            self._subparsers is None  # (a command's words are its own, not the top parser's)
            and not message.startswith("unrecognized arguments")
            and (unknown := _unknown_option(self, words))
        ):
            self.unrecognized([unknown])  # (the error it led to, e.g. its value as a positional)
        message += _swallowed(self, message, words) or _dashed(self, message, words)
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
        meant = [(arg, _meant(arg.lstrip("-"), options)) for arg in typed]  # (not the dashes)
        hints = [f"{arg!r}: did you mean {options[c]!r}?" for arg, c in meant if c is not None]
        hints += _split_value(self, getattr(self, "_words", []), extra)
        more = any(not a.option_strings and a.nargs in ("*", "+") for a in self._actions)
        hints += [_as_path(self, a, self._words) for a in extra if more and _a_path(self, a)]
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


def _swallowed(parser: argparse.ArgumentParser, message: str, words: list[str]) -> str:
    """The hint for a positional word that a list option took as one of its values (``train
    --drop-columns id vae``: the model is missing; ``--hidden 64 vae``: 'vae' is no integer):
    argparse gives a list option every word up to the next option. It names the word and the
    command with the word first, which is read as meant; '' where no such word is found.

    A word is the positional's where the error is about it (its option's error quotes it, or
    the positional is reported missing) and it fits: one of the positional's choices, or, for a
    positional without choices (a run folder), the last word of the list and a path that exists.
    """
    import os

    from torchlvm._shell import quoted

    taken = _list_words(parser, words)
    for action, at in taken:
        word = words[at]
        about_it = message.startswith(f"argument {'/'.join(action.option_strings)}:") and (
            repr(word) in message
        )
        for positional in (a for a in parser._actions if not a.option_strings and a.required):
            missing = _named(message, positional.metavar or positional.dest)
            if positional.choices is not None:  # (and not typed elsewhere: 'vae --hidden 8 ae')
                fits = word in positional.choices and not _given(positional, words, taken)
            else:  # (a folder that exists: not a value that looks like one)
                last = at + 1 == len(words) or words[at + 1].startswith("-")
                fits = last and os.path.exists(word) and missing
            if fits and (about_it or missing):
                rest = words[:at] + words[at + 1 :]
                command = " ".join([parser.prog, quoted(word), *map(quoted, rest)])
                return (
                    f"; {word!r} was taken as a value of {action.option_strings[0]} (a list "
                    f"option takes every word up to the next option): pass it first: {command}"
                )
    return ""


def _dashed(parser: argparse.ArgumentParser, message: str, words: list[str]) -> str:
    """The hint for a value that starts with '-', which argparse reads as an option (userV #11):
    ``--out -new`` or ``--lr -1e-3`` ('expected one argument': ``--out=-new``), or a run folder
    ``-dash`` (the positional reported missing: ``./-dash``); '' where no such word is found."""
    head, _, _ = message.partition(": expected ")
    for at, word in enumerate(words[:-1] if head.startswith("argument ") else []):
        action, value = _option(parser, word), words[at + 1]
        if action is not None and head == f"argument {'/'.join(action.option_strings)}":
            if _option(parser, value) is None and value not in ("-", "--"):
                read = f"{value!r} starts with '-' and was read as an option"
                return f"; {read}: write {word}={_quoted(value)}"
    missing = [a for a in parser._actions if not a.option_strings and a.choices is None
               and _named(message, a.metavar or a.dest)]  # fmt: skip  # (a path: not --data)
    found = [w for w in words if missing and _a_path(parser, w)]
    return f"; {_as_path(parser, found[0], words)}" if found else ""


def _a_path(parser: argparse.ArgumentParser, word: str) -> bool:
    """Whether ``word``, which argparse read as an option, is rather a path that exists."""
    import os

    return word.startswith("-") and _option(parser, word) is None and os.path.exists(word)


def _as_path(parser: argparse.ArgumentParser, word: str, words: list[str]) -> str:
    """How to pass ``word``, a path that starts with '-', with the rest of ``words``."""
    fixed = [f"./{w}" if w == word else w for w in words]
    command = " ".join([parser.prog, *map(_quoted, fixed)])
    return f"{word!r} starts with '-' and was read as an option: write it as ./{word}: {command}"


def _quoted(word: str) -> str:
    from torchlvm._shell import quoted

    return quoted(word)


def _split_value(
    parser: argparse.ArgumentParser, words: list[str], extra: Sequence[str]
) -> list[str]:
    """The hint for words left over after an option of one value, which the shell split at
    their spaces (``--label-column worst area``: 'area' was refused alone, and the user was not
    told to quote the name, userP #14): each such option with the value quoted, or none."""
    from torchlvm._shell import quoted

    hints, left = [], list(extra)
    for at, word in enumerate(words):
        flag, equals, value = word.partition("=")
        action = _option(parser, flag) if flag.startswith("-") else None
        if action is None or action.nargs is not None or not action.option_strings:
            continue  # (a flag of no value or of a list, or not an option)
        if not equals:
            if at + 1 == len(words) or words[at + 1].startswith("-"):
                continue
            value, at = words[at + 1], at + 1
        after = []
        for stray in words[at + 1 :]:
            if stray.startswith("-") or not left or left[0] != stray:
                break
            after.append(left.pop(0))
        joined = " ".join([value, *after])
        if after and _takes(action, joined):
            hints.append(f"if {joined!r} is one value of {flag}, quote it: {flag} {quoted(joined)}")
    return hints


def _takes(action: argparse.Action, value: str) -> bool:
    """Whether ``action`` would take ``value`` (a number option never takes '5 10': review15
    R10)."""
    try:
        converted = value if action.type is None else action.type(value)
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return False
    return not action.choices or converted in action.choices


def _given(positional: Any, words: list[str], taken: list[tuple[Any, int]]) -> bool:
    """Whether one of ``positional``'s choices is among ``words`` outside the list options'."""
    listed = {at for _, at in taken}
    return any(w in positional.choices for at, w in enumerate(words) if at not in listed)


def _named(message: str, name: object) -> bool:
    """Whether a 'the following arguments are required: a, b' message names ``name``."""
    head, _, names = message.partition(":")
    return head == "the following arguments are required" and str(name) in (
        n.strip() for n in names.split(",")
    )


def _list_words(parser: argparse.ArgumentParser, words: list[str]) -> list[tuple[Any, int]]:
    """Each word (by index) that a list option (nargs '+' or '*') took, with the option: the
    words after the option up to the next option or '--'."""
    taken: list[tuple[Any, int]] = []
    action = None
    for at, word in enumerate(words):
        if word == "--":
            break
        if word.startswith("-"):
            action = _option(parser, word)
            action = action if action is not None and action.nargs in ("+", "*") else None
        elif action is not None:
            taken.append((action, at))
    return taken


def _option(parser: argparse.ArgumentParser, word: str) -> Any:
    """The option ``word`` names, as argparse reads it (a unique prefix too), or None; None for
    ``--opt=value``, which takes that value alone."""
    if "=" in word:
        return None
    found = [a for o, a in parser._option_string_actions.items() if o.startswith(word)]
    exact = parser._option_string_actions.get(word)
    return exact if exact is not None else (found[0] if len({id(a) for a in found}) == 1 else None)


def _unknown_option(parser: argparse.ArgumentParser, words: list[str]) -> str | None:
    """The first word before any '--' spelt as an option (``--name``) that ``parser`` has not."""
    for word in words:
        if word == "--":
            return None
        flag = word.partition("=")[0]
        if flag.startswith("--") and len(flag) > 2 and flag not in parser._option_string_actions:
            return word
    return None


def _meant(typed: str, options: dict[str, str]) -> str | None:
    """The option (its name without dashes) that ``typed`` begins, where it begins one alone
    in three letters or more (``drop``: ``drop-columns``; ``n`` is no prefix of ``na-values``),
    else the one it likely misspells (:func:`_closest`)."""
    started = [name for name in options if len(typed) >= 3 and name.startswith(typed)]
    return started[0] if len(started) == 1 else _closest(typed, options)


def _closest(typed: str, known: Iterable[str]) -> str | None:
    """The one of ``known`` that ``typed`` is a likely misspelling of, or None; capitals are no
    misspelling (``VAE``: ``vae``, which difflib, comparing them as different letters, missed)."""
    lowered = {word.lower(): word for word in known}
    found = difflib.get_close_matches(typed.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[found[0]] if found else None


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
