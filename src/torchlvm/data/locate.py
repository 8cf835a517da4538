"""Where torchlvm looks for a dataset's files (the README's "Data" section says it for users).

An explicit ``data_dir`` is the only place looked in (the folder itself, then
``data_dir/<name>``, then, where they exist, torchvision's ``data_dir/MNIST/raw`` (or
``FashionMNIST/raw``) and ``data_dir/raw``): a folder the user names that lacks the files is an
error, never a silent fall back to other copies. Without one, in order:

1. ``$TORCHLVM_DATA/<name>``,
2. the user cache, ``$XDG_CACHE_HOME/torchlvm/<name>`` or ``~/.cache/torchlvm/<name>``,
3. ``/usr/share/datasets/<name>``, where Debian packages such as ``dataset-fashion-mnist`` put
   them.

The first folder that holds every required file wins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SYSTEM_DIR = Path("/usr/share/datasets")
"""Where system packages install datasets."""
TORCHVISION_FOLDERS: dict[str, str] = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
"""torchvision's folder of a dataset: ``torchvision.datasets.MNIST(root, download=True)`` keeps
the four files in ``root/MNIST/raw``."""


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/torchlvm``, or ``~/.cache/torchlvm`` when that variable is unset."""
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "torchlvm"


def candidate_dirs(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for dataset ``name``, in search order.

    Args:
        name: Dataset name, also its folder name, e.g. ``"fashion-mnist"``.
        data_dir: An explicit folder: then only it, ``data_dir/<name>`` and the torchvision
            folders in it are searched.

    Returns:
        Folders, most preferred first.
    """
    if data_dir is not None:
        folder = Path(data_dir)
        torchvision = TORCHVISION_FOLDERS.get(name)
        made = [folder / torchvision / "raw", folder / "raw"] if torchvision else []
        return [folder, folder / name, *(d for d in made if d.is_dir())]
    dirs: list[Path] = []
    env = os.environ.get("TORCHLVM_DATA")
    if env:
        dirs.append(Path(env) / name)
    dirs += [user_cache_dir() / name, SYSTEM_DIR / name]
    return dirs


@dataclass(frozen=True)
class Found:
    """The outcome of a search.

    Attributes:
        files: Required file name -> path found, or None when no folder holds them all.
        looked_in: Every folder searched, in order.
    """

    files: dict[str, Path] | None
    looked_in: tuple[str, ...]

    @property
    def location(self) -> str | None:
        """The folder the files were found in, or None."""
        return self.looked_in[-1] if self.files else None  # the search stops at that folder


def _spellings(file_name: str) -> tuple[str, ...]:
    """The names a file goes by: as published, and with a dot before ``idx`` as several mirrors
    (and Kaggle) unpack MNIST (``train-images.idx3-ubyte``)."""
    dotted = file_name.replace("-idx", ".idx")
    return (file_name,) if dotted == file_name else (file_name, dotted)


def _candidates(folder: Path, file_name: str) -> list[Path]:
    """Where ``folder`` may hold ``file_name``, most preferred first: raw in any spelling, raw in
    a folder of its own name (Kaggle's MNIST ships ``train-images-idx3-ubyte/train-images-idx3-
    ubyte``), then gzipped."""
    names = _spellings(file_name)
    return [
        *(folder / n for n in names),
        *(folder / n / n for n in names),
        *(folder / f"{n}.gz" for n in names),
    ]


def missing_files(folder: str | os.PathLike[str], required: Sequence[str]) -> list[str]:
    """The required file names that ``folder`` holds in none of their spellings (raw or ``.gz``)."""
    return [n for n in required if not any(p.is_file() for p in _candidates(Path(folder), n))]


def _files_in(folder: Path, required: Sequence[str]) -> dict[str, Path] | None:
    """Each required file in ``folder``, raw preferred over ``.gz``; None if one is missing."""
    found: dict[str, Path] = {}
    for file_name in required:
        path = next((p for p in _candidates(folder, file_name) if p.is_file()), None)
        if path is None:
            return None
        found[file_name] = path
    return found


def find_files(
    name: str, required: Sequence[str], data_dir: str | os.PathLike[str] | None = None
) -> Found:
    """Search the folders of :func:`candidate_dirs` for one holding every required file.

    Args:
        name: Dataset name.
        required: File names that must all be present, each raw or gzipped (``.gz``).
        data_dir: An explicit folder, the only one searched when given.

    Returns:
        The files of the first complete folder, and every folder looked in.
    """
    looked: list[str] = []
    for folder in candidate_dirs(name, data_dir):
        looked.append(str(folder))
        files = _files_in(folder, required)
        if files is not None:
            return Found(files, tuple(looked))
    return Found(None, tuple(looked))
