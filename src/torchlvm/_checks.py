"""Argument checks shared by public entry points (STYLE.md habit 6).

Each raises :class:`torchlvm.errors.ConfigError` with a message that names the argument, the
value it got and what is allowed.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

from torchlvm.errors import ConfigError


def check_positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer > 0 (a NumPy integer too), else raise
    ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_non_negative(name: str, value: Any) -> float:
    """Return ``value`` as float if it is a finite number >= 0, else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    if value == float("inf"):
        raise ConfigError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise ``ConfigError``."""
    options = tuple(choices)
    if value not in options:
        allowed = ", ".join(repr(c) for c in options)
        raise ConfigError(f"{name} must be one of {allowed}, got {value!r}")
    return value
