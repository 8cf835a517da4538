"""``--progress`` / ``--quiet``: whether a command draws progress bars.

Bars go to stderr, and by default only when stderr is a terminal: piped or redirected output gets
the results and no bar redraws. ``--progress`` asks for bars anyway (e.g. into a log file);
``--quiet`` leaves only the summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Literal


def add_progress_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add ``--progress`` and ``--quiet`` (mutually exclusive) to ``parser``.

    ``suppress`` leaves them out of the namespace unless given (for ``train``, which tells the
    options a user passed from the defaults)."""
    default = argparse.SUPPRESS if suppress else False
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress", action="store_true", default=default,
        help="show progress on stderr even when it is not a terminal (train: a line per epoch "
        "there, for a log file)",
    )  # fmt: skip
    group.add_argument(
        "--quiet", action="store_true", default=default,
        help="no progress bars: print only the summary",
    )  # fmt: skip


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw progress bars: ``--progress``, else not ``--quiet`` and stderr is a
    terminal."""
    if getattr(args, "progress", False):
        return True
    if getattr(args, "quiet", False):
        return False
    return sys.stderr.isatty()


def bar_or_lines(shown: bool) -> bool | Literal["lines"]:
    """How training shows progress that is ``shown`` (:func:`show_progress`): a bar on a
    terminal, and a plain line per epoch elsewhere (``"lines"``, e.g. ``--progress 2>> log``),
    where a bar's redraws fill a log file with carriage returns and cursor moves (userV #8)."""
    if not shown:
        return False
    return True if sys.stderr.isatty() else "lines"


def progress_printer(shown: bool) -> Callable[[str], None]:
    """What prints a line of progress (a busy machine, a re-stated expected time) on stderr
    between the bars' redraws where the bars are ``shown`` (:func:`show_progress`), and drops it
    where they are not: piped output, as with the bars, holds the results alone."""

    def say(line: str) -> None:
        if shown:
            from tqdm.auto import tqdm

            with tqdm.external_write_mode(file=sys.stderr):
                print(line, file=sys.stderr, flush=True)

    return say
