"""What datasets exist and whether their files are here: the facts behind ``torchlvm datasets``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torchlvm.data.registry import dataset_specs
from torchlvm.errors import DataError


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset as the user sees it.

    Attributes:
        name: The name ``load_dataset`` takes.
        description: One line on what the data is.
        available: Whether it can be loaded now (built in, generated, or files found whose
            IDX headers read and fit together, images beside labels; damaged files are found,
            at ``location``, but not available).
        location: The folder its files were found in, or None (missing, or no files needed).
        looked_in: The folders searched, in order; empty when no files are needed.
        how_to_get: How to obtain the data, or a note that nothing is needed.
        found: What the found files hold, read from their IDX headers (``"400 images of
            28x28"``), or why they cannot be read; None when no files were found or needed.
    """

    name: str
    description: str
    available: bool
    location: str | None
    looked_in: tuple[str, ...]
    how_to_get: str
    found: str | None = None


def _found(files: dict[str, Path]) -> tuple[str, bool]:
    """What IDX ``files`` hold by their headers: the count and size of their images (the
    catalog's description names the full dataset, which a folder may not hold), or the damage;
    and whether they can be read."""
    from torchlvm.data.mnist import check_headers

    try:
        shapes = check_headers(files)
    except DataError as error:
        return f"cannot be read: {error}", False
    images = [shape for shape in shapes if len(shape) == 3]
    sizes = sorted({"x".join(map(str, shape[1:])) for shape in images})
    return f"{sum(shape[0] for shape in images):,} images of {' and '.join(sizes)}", True


def describe_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[DatasetInfo]:
    """Describe every registered dataset, searching for the files of those read from disk.

    Args:
        data_dir: The folder to look in, as in ``load_dataset``.

    Returns:
        One :class:`DatasetInfo` per dataset, sorted by name.
    """
    infos = []
    for spec in dataset_specs():
        if spec.locate is None:
            infos.append(DatasetInfo(spec.name, spec.description, True, None, (), spec.how_to_get))
            continue
        found = spec.locate(data_dir)
        held, readable = (None, False) if found.files is None else _found(found.files)
        infos.append(
            DatasetInfo(
                name=spec.name,
                description=spec.description,
                available=readable,
                location=found.location,
                looked_in=found.looked_in,
                how_to_get=spec.how_to_get,
                found=held,
            )
        )
    return infos
