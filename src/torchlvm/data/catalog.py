"""What datasets exist and whether their files are here: the facts behind ``torchlvm datasets``."""

from __future__ import annotations

import os
from dataclasses import dataclass

from torchlvm.data.registry import dataset_specs


@dataclass(frozen=True)
class DatasetInfo:
    """One registered dataset as the user sees it.

    Attributes:
        name: The name ``load_dataset`` takes.
        description: One line on what the data is.
        available: Whether it can be loaded now (built in, generated, or files found).
        location: The folder its files were found in, or None (missing, or no files needed).
        looked_in: The folders searched, in order; empty when no files are needed.
        how_to_get: How to obtain the data, or a note that nothing is needed.
    """

    name: str
    description: str
    available: bool
    location: str | None
    looked_in: tuple[str, ...]
    how_to_get: str


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
        infos.append(
            DatasetInfo(
                name=spec.name,
                description=spec.description,
                available=found.files is not None,
                location=found.location,
                looked_in=found.looked_in,
                how_to_get=spec.how_to_get,
            )
        )
    return infos
