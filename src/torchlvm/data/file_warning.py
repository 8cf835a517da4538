"""What a read of a data file tells of its contents, as a :class:`FileWarning`: a copied
column, repeated rows, a rare class, a code such as -999 among a column's values, rows left out
for want of a label or a value, a guessed encoding or pixel scale.

Such a warning is said once a command (:func:`~torchlvm.data.csv_once.parsed_once`: a command
that parses its file twice said each twice), and not at all by a command that reads again the
file a run it opened was trained on, as it was then (:func:`said_at_training`): that run's
training said it, and evaluate, encode, reconstruct and score repeated every one on each
command (table16, readG G2). A file given to a run as other data is told of as at training.
Outside a command every read says its own; ``warnings.filterwarnings("ignore",
category=FileWarning)`` silences them all.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchlvm.data.csv_once import kept, known

_TRAINED_ON = ("trained on",)  # the fact kept of a run's own file, this command


class FileWarning(UserWarning):
    """A warning about what a data file holds, with what to do about it; said when a file is
    read to train on or given to a run, not when a run reads its own file again."""


def warn_of_file(path: str | os.PathLike[str], message: str | Warning, stacklevel: int = 1) -> None:
    """Warn of the file at ``path`` with ``message`` (a :class:`FileWarning`'s text, or one
    made by :func:`~torchlvm.errors.spelled`), unless said already this command or the file is
    a run's own (:func:`said_at_training`). ``stacklevel`` as ``warnings.warn`` counts it from
    the caller."""
    where = Path(path)
    if known(where, _TRAINED_ON):
        return
    warning = message if isinstance(message, Warning) else FileWarning(message)
    if not where.exists():  # (nothing to know it by: said as it comes)
        warnings.warn(warning, stacklevel=stacklevel + 1)
        return
    said = ("said", type(warning).__name__, str(warning))
    kept(where, said, lambda: warnings.warn(warning, stacklevel=stacklevel + 3))


def said_at_training(data: Mapping[str, Any] | None) -> None:
    """Mark, for the rest of this command, the file a run's ``data`` record names as one whose
    contents its training told of (its :class:`FileWarning` s are not said again), where it
    has the size the run recorded (an edited file is told of anew)."""
    from torchlvm.data.registry import is_file_name

    name = None if data is None else data.get("name")
    if not isinstance(name, str) or not is_file_name(name) or not os.path.isfile(name):
        return
    recorded = data.get("file") if data is not None else None
    size = recorded.get("bytes") if isinstance(recorded, dict) else None
    if size is not None and os.path.getsize(name) != size:
        return
    kept(Path(name), _TRAINED_ON, lambda: True)
