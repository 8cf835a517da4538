"""``load_dataset``: the one entry point from a name (or a file path) to a :class:`Dataset`.

It checks the arguments, dispatches to a registered loader (:mod:`torchlvm.data.registry`) or to
the user-file reader (:mod:`torchlvm.data.files`), then applies the binarization protocol
(:mod:`torchlvm.data.binarize`): ``"threshold"`` now, ``"dynamic"`` at every pass.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from torchlvm._checks import check_choice
from torchlvm.data.binarize import PROTOCOLS, check_intensities
from torchlvm.data.binarize import binarize as apply_binarize
from torchlvm.data.dataset import SPLITS, Dataset
from torchlvm.data.files import load_file
from torchlvm.data.registry import (
    get_spec,
    is_file_name,
    list_datasets,
    names_other_file,
    unsupported,
)
from torchlvm.data.splits import check_seed
from torchlvm.errors import ConfigError, DataNotFoundError, OptionError, Spell, in_python, spelled

FILE_OPTIONS: tuple[str, ...] = (
    "allow_missing",
    "label_column",
    "drop_columns",
    "columns",
    "standardize",
    "mmap",
    "encoding",
    "dtype",
    "na_values",
    "stratify",
)


def data_reference(name: str | os.PathLike[str]) -> str:
    """What a run records of data ``name``: a user file by its absolute path, so that the run
    reads the same file from any working directory (a relative path recorded at training named
    another file, or none, once the user ``cd``-ed elsewhere); a dataset's name as is."""
    text = os.fspath(name)
    try:
        is_file = _is_file_name(text)
    except ConfigError:  # an unsupported file: loading it says so; record it as given
        is_file = False
    return os.path.abspath(text) if is_file and text else text


def _is_file_name(name: str | os.PathLike[str]) -> bool:
    """Whether ``name`` is meant as a path to a user file rather than a dataset name."""
    if isinstance(name, os.PathLike):
        return True
    if name in list_datasets():
        return False
    if is_file_name(name):
        return True
    if os.path.isdir(name) or name.endswith(("/", os.sep)):  # get_spec names how it is read
        return False
    if os.sep in name or Path(name).is_file() or names_other_file(name):
        if not os.path.lexists(name):  # (its extension's fix would name a file that is not there)
            raise DataNotFoundError(f"{name} does not exist; check the path")
        raise unsupported(name)
    return False


def _check_options(what: str, options: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takers = " (it applies to data files)" if unknown[0] in FILE_OPTIONS else ""

        def message(spell: Spell) -> str:  # Python lists the options; a flag is left out
            if spell is in_python:
                return (
                    f"{what} takes no option {unknown[0]!r}; its options are: "
                    f"{', '.join(allowed) or 'none'}"
                )
            flag = spell(unknown[0])
            return f"{flag} does not apply to {what}{takers}; leave out {flag}"

        raise spelled(OptionError, message)


def _apply_protocol(data: Dataset, protocol: str) -> Dataset:
    """``data`` (grey levels) under the binarization ``protocol``."""
    if protocol == "none":
        return data
    if hasattr(data, "with_protocol"):  # a memory-mapped file: checked and applied lazily
        return data.with_protocol(protocol)
    check_intensities(data.x, protocol, data.name)
    if protocol == "threshold":
        return replace(data, x=apply_binarize(data.x, "threshold"), binarize="threshold")
    return replace(data, binarize="dynamic")


def load_dataset(
    name: str | os.PathLike[str],
    split: str = "train",
    *,
    data_dir: str | os.PathLike[str] | None = None,
    binarize: str = "none",
    seed: int = 0,
    **options: Any,
) -> Dataset:
    """Load a named dataset, or a user's ``.npy`` / ``.npz`` / ``.csv`` file.

    Args:
        name: A registered name (see :func:`list_datasets`), e.g. ``"digits"`` or
            ``"fashion-mnist"``, or a path ending in ``.npy``, ``.npz`` or ``.csv``.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        data_dir: Folder holding the dataset's files; when given, the only place looked in.
        binarize: ``"none"``, ``"dynamic"`` (fresh Bernoulli draw per pass) or ``"threshold"``
            (x > 0.5 now).
        seed: Seed of the split (and of generation, for synthetic data).
        **options: Dataset-specific options, e.g. ``n=500`` for ``"linear-gaussian"`` or
            ``allow_missing=True``, ``label_column="y"``, ``drop_columns=["id"]``,
            ``columns=`` (a run's), ``standardize=True``, ``encoding="cp1251"`` (a table's text
            encoding, where it is not UTF-8 or Windows-1252), ``dtype="float64"`` (a file's
            values in float64, as a model that computes in it reads them), ``na_values=["-"]``
            (cell texts that mark a missing value beyond the common ones), ``stratify=True``
            (a table split by class, as a CVAE of its labels records it) and ``mmap=True``
            (stream a ``.npy`` file larger than memory, :mod:`torchlvm.data.memmap`) for files
            (:func:`torchlvm.data.files.load_file`).

    Returns:
        The split, with ``x`` of shape ``(N, D)`` and ``y`` of shape ``(N,)`` or None.

    Raises:
        ConfigError: If the name, split, protocol, seed or an option is not allowed.
        DataNotFoundError: If the dataset's files are not found; the message lists where
            torchlvm looked and how to get them.
        DataError: If the data are corrupt or empty, or cannot be binarized.
    """
    check_choice("split", split, SPLITS)
    check_choice("binarize", binarize, PROTOCOLS)
    check_seed(seed)
    if not isinstance(name, (str, os.PathLike)):
        raise ConfigError(f"name must be a dataset name or a file path, got {name!r}")
    if _is_file_name(name):
        _check_options(f"file {name}", options, FILE_OPTIONS)
        data = load_file(name, split, seed=seed, **options)
    else:
        spec = get_spec(name)
        _check_options(f"dataset {name!r}", options, spec.options)
        data = spec.loader(split, seed=seed, data_dir=data_dir, **options)
    return _apply_protocol(data, binarize)
