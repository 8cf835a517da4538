"""How a shell reads the words of a command: the one place that knows it.

- :func:`quoted`: a path as one shell word inside a command a message offers;
- :func:`home_meant` and :func:`unexpanded_home`: a path that starts with a ``~`` no shell
  expanded (a quoted word, the part after ``--out=``, a Python string), and its refusal, worded
  for each interface the one way errors are (:func:`torchlvm.errors.spelled`).

It imports only :mod:`torchlvm.errors` (a leaf), so that every layer can import it at the top.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TypeVar

from torchlvm.errors import RunDirectoryError, Spell, TorchLVMError, on_command_line, spelled

UNEXPANDED = "no shell expanded its '~' (a shell leaves it as it is inside quotes and after '=')"
"""Why a path given on a command line that starts with ``~`` names no home folder."""

IN_PYTHON = "Python does not expand '~'"
"""Why a path a Python caller passed that starts with ``~`` names no home folder."""

E = TypeVar("E", bound=TorchLVMError)


def quoted(path: str | os.PathLike[str]) -> str:
    """``path`` as one shell word inside a command a message offers in single quotes: as is
    where it needs no quoting, else in double quotes (``"my runs/vae"``)."""
    text = os.fspath(path)
    if shlex.quote(text) == text:
        return text
    return '"' + "".join("\\" + c if c in '\\"$`' else c for c in text) + '"'


def home_meant(path: str | os.PathLike[str]) -> str | None:
    """``path`` with its leading ``~`` (or ``~user``) expanded, where that names a home folder
    and no entry of that name exists in the current folder (made on purpose): a ``~`` that no
    shell expanded. Written to, such a path makes a folder named ``~`` here, which a later
    ``rm -rf ~`` reads as the home folder. Else None."""
    parts = Path(path).parts
    if not parts or not parts[0].startswith("~") or os.path.lexists(parts[0]):
        return None
    home = os.path.expanduser(os.fspath(path))
    return None if home == os.fspath(path) else home  # (~user of no such user: as it is)


def unexpanded_home(
    path: str | os.PathLike[str],
    keyword: str = "",
    *,
    reading: bool = False,
    error: type[E] = RunDirectoryError,  # type: ignore[assignment]
) -> E | None:
    """The refusal of ``path`` where it starts with a ``~`` that names a home folder but was not
    expanded (:func:`home_meant`), naming the path meant; else None. Worded for both interfaces
    by :func:`~torchlvm.errors.spelled`: ``str(err)`` for a Python caller (the fix is
    ``os.path.expanduser``), ``err.on_command_line`` for the command line (the fix is the
    expanded path), so a caller need not know which one gave the path.

    Args:
        path: the path as given.
        keyword: the argument that gave it, as Python spells it (``"out_dir"``; the command
            line names it by its flag, ``--out``: :func:`~torchlvm.errors.on_command_line`),
            or ``""`` for a positional word or argument.
        reading: True for a path that is read (it does not exist), False for one that would
            be made (it would make a folder named ``~`` in the current folder).
        error: the class of the error returned.
    """
    home = home_meant(path)
    if home is None:
        return None
    first = Path(path).parts[0]
    made = f"would make a folder named '{first}' in the current folder"
    problem = "does not exist" if reading else made

    def message(spell: Spell) -> str:
        flag = f"{spell(keyword)} " if keyword else ""
        if spell is on_command_line:
            return f"{flag}{path} {problem}: {UNEXPANDED}; pass {flag}{quoted(home)}"
        return f"{flag}{path} {problem}: {IN_PYTHON}; pass os.path.expanduser({os.fspath(path)!r})"

    return spelled(error, message)
