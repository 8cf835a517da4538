"""The output files of commands: checked before any work is done, written atomically.

- :func:`output_file`: the file a command is about to write, refused if it has the wrong suffix,
  is a folder, or already exists and the user did not pass ``--overwrite``.
- :func:`labels_file`: where the labels go next to an array file.
- :func:`write_npy`: several ``.npy`` files written atomically, all of them or none.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

import numpy as np

from torchlvm.errors import ConfigError, RunDirectoryError


def output_file(
    path: str | os.PathLike[str] | None,
    default: Path,
    *,
    suffix: str,
    flag: str = "--out",
    overwrite: bool = False,
) -> Path:
    """The file to write: ``path`` or ``default``, checked before any work is done.

    Raises:
        ConfigError: if the name does not end in ``suffix``.
        RunDirectoryError: if it is a folder, or an existing file and ``overwrite`` is False.
    """
    out = default if path is None else Path(path)
    if out.suffix.lower() != suffix:
        raise ConfigError(f"{flag} must name a {suffix} file, got {out}")
    if out.is_dir():
        raise RunDirectoryError(f"{flag} {out} is a folder; pass a file path ending in {suffix}")
    if out.exists() and not overwrite:
        raise RunDirectoryError(
            f"{out} already exists; pass --overwrite to replace it, or choose another {flag}"
        )
    return out


def labels_file(path: Path) -> Path:
    """``z.npy`` → ``z.labels.npy``: where labels go next to an array file."""
    return path.with_name(path.stem + ".labels.npy")


def write_npy(arrays: dict[Path, np.ndarray]) -> None:
    """Write each array to its ``.npy`` path atomically; all of them or none are replaced."""
    from torchlvm._files import atomic_path

    with ExitStack() as stack:
        for path, array in arrays.items():
            tmp = stack.enter_context(atomic_path(path))
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(array))
