"""SIGTERM, the signal of ``kill``, ``timeout`` and a cluster's scheduler, taken as Ctrl-C is:
:class:`Terminated` is a ``KeyboardInterrupt``, so every interrupt path (a training's finished
epochs kept, a staging folder and a half-written file removed, locks released) runs for it as
for Ctrl-C, and the command then exits 143 (128 + 15), the shell's status of a process that
SIGTERM ended, where Ctrl-C exits 130 (128 + 2). SIGHUP, sent when the terminal or the ssh
session a command runs in closes, is taken so too (:class:`HungUp`, exit 129): it ended a
training with no line and a half-written checkpoint left (userV #6). A command started under
``nohup`` ignores it, as before.

This module imports nothing of torchlvm's and nothing heavy: the command line installs the
handler before torch's seconds-long import.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Terminated(KeyboardInterrupt):
    """The process was sent SIGTERM while a command ran (see the module's docstring)."""

    signum = signal.SIGTERM


class HungUp(Terminated):
    """The process was sent SIGHUP (its terminal closed) while a command ran."""

    signum = getattr(signal, "SIGHUP", 1)  # (no SIGHUP on Windows)


ENDING_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)
"""The signals that end a command as Ctrl-C does, by :func:`raise_terminated`."""

_BY_SIGNAL = {cls.signum: cls for cls in (Terminated, HungUp)}

ENDED = {signal.SIGINT: "interrupted (Ctrl-C)", Terminated.signum: "terminated (SIGTERM)",
         HungUp.signum: "hung up (SIGHUP: the terminal closed)"}  # fmt: skip
"""What the last line of a command a signal ended says, by signal."""


_received: list[int] = []
"""The interrupting signals delivered while a command runs (:func:`interrupts_kept`)."""


def raise_terminated(signum: int, frame: FrameType | None) -> None:
    """The handler of :data:`ENDING_SIGNALS` in a ``torchlvm`` process: raises
    :class:`Terminated` (:class:`HungUp` for SIGHUP) where the signal arrives, as Python's own
    SIGINT handler raises ``KeyboardInterrupt``."""
    _received.append(signum)
    raise _BY_SIGNAL.get(signum, Terminated)


def raise_interrupted(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler while a command runs: raises ``KeyboardInterrupt`` as Python's own,
    and records the signal (:func:`interrupts_kept`)."""
    _received.append(signal.SIGINT)
    raise KeyboardInterrupt


RESEND_AFTER = 0.01
"""Seconds after which an interrupt a weakref callback or ``__del__`` dropped is sent again:
its handler then raises it where the command's own code runs, past the garbage collection."""


def _send(signum: int) -> None:
    if callable(signal.getsignal(signum)):  # (never the default action: that ends the process)
        signal.raise_signal(signum)


@contextmanager
def interrupts_kept() -> Iterator[None]:
    """Run a command so that Ctrl-C or SIGTERM stops it whatever code it lands in (userV #1,
    #2): an interrupt raised inside an extension module's initialisation comes out as another
    error (``ImportError: initialization failed`` from matplotlib's ft2font, imported lazily by
    ``train``: a 60-line traceback, exit 1), and one raised inside a weakref callback or
    ``__del__`` (matplotlib frees its transforms so) is printed as "Exception ignored" and
    dropped (``evaluate`` ran on to exit 0). Here an error leaving the block after a signal is
    the interrupt (:class:`Terminated` for SIGTERM), and a dropped interrupt is sent again
    :data:`RESEND_AFTER` seconds later (from a timer thread: sent from the callback, its handler
    would run, and be dropped, there), or raised as the block ends, if that comes first.
    Python's SIGINT handler is replaced by :func:`raise_interrupted` meanwhile (where it is the
    handler); SIGTERM's stays the caller's."""
    main = threading.current_thread() is threading.main_thread()
    ours = main and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if ours:
        signal.signal(signal.SIGINT, raise_interrupted)
    dropped_by, before = sys.unraisablehook, len(_received)
    resent: list[threading.Timer] = []

    def send_again(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt) or len(_received) == before:
            dropped_by(unraisable)
        elif main:
            resent.append(threading.Timer(RESEND_AFTER, _send, (_received[-1],)))
            resent[-1].daemon = True
            resent[-1].start()

    def interrupt() -> KeyboardInterrupt:
        return _BY_SIGNAL.get(_received[-1], KeyboardInterrupt)()

    sys.unraisablehook = send_again
    try:
        yield
    except Exception as err:
        if len(_received) > before:
            raise interrupt() from err
        raise
    finally:
        sys.unraisablehook = dropped_by
        unsent = [timer for timer in resent if not timer.finished.is_set()]
        for timer in resent:
            timer.cancel()
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if unsent:  # (the block ended before the interrupt it dropped was sent again)
        raise interrupt()


def as_interrupt(err: BaseException | None) -> type[KeyboardInterrupt]:
    """The interrupt to raise again for ``err`` (or its cause): :class:`Terminated` for a
    SIGTERM (this module's, or Lightning's ``SIGTERMException``, which its fit loop raises where
    it handles SIGTERM itself), :class:`HungUp` for a SIGHUP, else ``KeyboardInterrupt``."""
    while err is not None:
        if isinstance(err, Terminated):
            return type(err)
        if type(err).__name__ == "SIGTERMException":
            return Terminated
        err = err.__context__
    return KeyboardInterrupt
