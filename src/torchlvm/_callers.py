"""The stack level of the caller's own line: a warning given deep inside torchlvm points at the
user's line that called it (the first frame outside the package), whatever decorators or helpers
come between."""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def callers_level() -> int:
    """The ``stacklevel`` that makes a warning given by the function calling this one point at
    the first frame outside torchlvm: the user's line that called ``fit`` (a count fixed by hand
    went wrong whenever a decorator or helper came between)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
