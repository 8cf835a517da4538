"""SIGTERM, the signal of ``kill``, ``timeout`` and a cluster's scheduler, taken as Ctrl-C is:
:class:`Terminated` is a ``KeyboardInterrupt``, so every interrupt path (a training's finished
epochs kept, a staging folder and a half-written file removed, locks released) runs for it as
for Ctrl-C, and the command then exits 143 (128 + 15), the shell's status of a process that
SIGTERM ended, where Ctrl-C exits 130 (128 + 2).

This module imports nothing of torchlvm's and nothing heavy: the command line installs the
handler before torch's seconds-long import.
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM while a command ran (see the module's docstring)."""

    signum = signal.SIGTERM


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The SIGTERM handler of a ``torchlvm`` process: raises :class:`Terminated` where the
    signal arrives, as Python's own SIGINT handler raises ``KeyboardInterrupt``."""
    raise Terminated


def as_interrupt(err: BaseException | None) -> type[KeyboardInterrupt]:
    """The interrupt to raise again for ``err`` (or its cause): :class:`Terminated` for a
    SIGTERM (this module's, or Lightning's ``SIGTERMException``, which its fit loop raises where
    it handles SIGTERM itself), else ``KeyboardInterrupt``."""
    while err is not None:
        if isinstance(err, Terminated) or type(err).__name__ == "SIGTERMException":
            return Terminated
        err = err.__context__
    return KeyboardInterrupt
