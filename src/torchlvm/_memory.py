"""How much memory a request needs against what this machine has: sizes that cannot fit are
refused before any work, with a message naming both numbers, instead of an allocation failure
(a traceback) minutes in."""

from __future__ import annotations

import os
from collections.abc import Callable

from torchlvm.errors import ConfigError, OptionError, Spell, in_python, spelled


def available_bytes() -> int | None:
    """Memory available to a new allocation (Linux: ``MemAvailable``; else the free physical
    pages), or None when the system does not say."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def size_text(nbytes: float) -> str:
    """E.g. ``"25.6 GB"`` (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if nbytes < 1000 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1000
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str, fix: str | Callable[[Spell], str]) -> None:
    """Refuse a request whose ``nbytes`` exceed the memory available here.

    Args:
        nbytes: what the request needs at least. what: what those bytes hold, e.g.
            ``"--n 100000000 samples of 64 values (float32)"``. fix: how to ask for less; a
            function of a :data:`~torchlvm.errors.Spell` where it names an option, which each
            interface spells its own way (:func:`~torchlvm.errors.spelled`).

    Raises:
        ConfigError: naming the need, the limit and the fix (an OptionError for a spelled fix).
    """
    have = available_bytes()
    if have is None or nbytes <= have:
        return

    def message(spell: Spell) -> str:
        advice = fix if isinstance(fix, str) else fix(spell)
        return (
            f"{what} need {size_text(nbytes)} of memory, more than the {size_text(have)} "
            f"available here; {advice}"
        )

    raise ConfigError(message(in_python)) if isinstance(fix, str) else spelled(OptionError, message)
