"""User-facing errors.

Every problem a user can cause (bad arguments, missing or corrupt data, a folder that already
holds a run) raises a subclass of :class:`TorchLVMError`. Its message is one line that names the
problem and the fix. The CLI prints that line and exits non-zero without a traceback; library
users can catch :class:`TorchLVMError`, or the built-in class it also derives from.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from typing import TypeVar

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class TorchLVMError(Exception):
    """Base class of every error torchlvm raises on purpose."""


class ConfigError(TorchLVMError, ValueError):
    """An argument or configuration value is out of its allowed range."""


class DataError(TorchLVMError, ValueError):
    """Data is missing, unreadable, corrupt, or does not fit the model."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A dataset's files were not found in any of the places torchlvm looks."""


class NotFittedError(TorchLVMError, RuntimeError, _SklearnNotFittedError):
    """A model was used before it was fitted or loaded (also scikit-learn's ``NotFittedError``,
    so scikit-learn's tools and ``except`` clauses recognise it)."""


class RunDirectoryError(TorchLVMError, FileExistsError):
    """An output folder already holds a run, or a run folder lacks what is needed."""


class NonFiniteError(TorchLVMError, FloatingPointError):
    """A loss, gradient or parameter became NaN or infinite."""


class RunBusyError(TorchLVMError, RuntimeError):
    """Another process is training the run (it holds the run's lock)."""


class DataTypeError(DataError, TypeError):
    """Data of a kind a model cannot take at all (sparse, non-numeric objects); also a
    ``TypeError``, as scikit-learn's estimator contract expects for such input."""


class OptionError(ConfigError):
    """A :class:`ConfigError` about an option that each interface spells its own way: Python by
    its keyword (``label_column``), the command line by its flag (``--label-column``). Build one
    with :func:`spelled`; ``str(err)`` is the Python message, :attr:`on_command_line` the
    command line's, which the CLI prints."""


Spell = Callable[[str, object], str]
"""How an interface writes option ``keyword`` set to a value (None: the option alone)."""

E = TypeVar("E", bound=TorchLVMError)


def in_python(keyword: str, value: object = None) -> str:
    """``drop_columns=['id']``; ``label_column`` for None."""
    return keyword if value is None else f"{keyword}={value!r}"


#: the keywords whose flag is not ``--`` and the keyword with dashes
FLAGS = {
    "max_epochs": "--epochs",
    "ais_steps": "--ais",
    "refine_steps": "--refine",
    "linear": "--linear-decoder",
    "out_dir": "--out",
}


def on_command_line(keyword: str, value: object = None) -> str:
    """``--drop-columns id 'Total, USD'`` (a list as words, each quoted for a shell where it
    needs it); ``--no-standardize`` for False; ``--label-column`` for None; a
    keyword in :data:`FLAGS` by its flag there (``max_epochs``: ``--epochs``)."""
    flag = FLAGS.get(keyword, "--" + keyword.replace("_", "-"))
    if value is None or value is True:
        return flag
    if value is False:
        return "--no-" + flag[2:]
    parts = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    plain = [str(part) for part in parts if not _dashed(str(part))]
    words = [f"{flag} {' '.join(shlex.quote(part) for part in plain)}"] if plain else []
    # a value that starts with '-' (and is no number) is read as an option unless attached
    words += [f"{flag}={shlex.quote(str(part))}" for part in parts if _dashed(str(part))]
    return " ".join(words)


def _dashed(text: str) -> bool:
    """Whether argparse would read ``text`` as an option, not as a value (``-e``, ``--x``; a
    negative number such as ``-999`` is a value)."""
    if not text.startswith("-") or text == "-":  # a lone '-' is a value to argparse
        return False
    try:
        float(text)
    except ValueError:
        return True
    return False


def spelled(cls: type[E], message: Callable[[Spell], str]) -> E:
    """The error ``cls`` whose text, ``message(spell)``, names each option as Python spells it
    (:func:`in_python`); :attr:`on_command_line`, which the CLI prints, as the command line does
    (:func:`on_command_line`). The one way an error names options: where a fix is not the same
    words in both interfaces (``load_dataset(...)`` against ``--data-dir``), ``message`` tells
    them apart by ``spell is on_command_line``."""
    error = cls(message(in_python))
    error.on_command_line = message(on_command_line)  # type: ignore[attr-defined]
    return error
