"""``--progress`` / ``--quiet``: whether a command draws progress bars.

Bars go to stderr, and by default only when stderr is a terminal: piped or redirected output gets
the results and no bar redraws. ``--progress`` asks for bars anyway (e.g. into a log file);
``--quiet`` leaves only the summary.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable


def add_progress_options(parser: argparse.ArgumentParser, *, suppress: bool = False) -> None:
    """Add ``--progress`` and ``--quiet`` (mutually exclusive) to ``parser``.

    ``suppress`` leaves them out of the namespace unless given (for ``train``, which tells the
    options a user passed from the defaults)."""
    default = argparse.SUPPRESS if suppress else False
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--progress", action="store_true", default=default,
        help="draw progress bars on stderr even when it is not a terminal",
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
