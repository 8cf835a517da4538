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
            28x28"``, with the standard set's count where it differs), or why they cannot be
            read; None when no files were found or needed.
        same_as: The dataset listed before whose files are the same folder's (a ``data_dir``
            that holds IDX files itself is searched for every IDX dataset, and nothing in the
            files says which set they are), or None.
    """

    name: str
    description: str
    available: bool
    location: str | None
    looked_in: tuple[str, ...]
    how_to_get: str
    found: str | None = None
    same_as: str | None = None


def _found(files: dict[str, Path], name: str, size: int | None) -> tuple[str, bool]:
    """What IDX ``files`` hold by their headers: the count and size of their images, with the
    standard set's ``size`` where it differs (the catalog's description names the standard set,
    which a folder may not hold: userH read "70,000" and "4,000" at once), or the damage; and
    whether they can be read."""
    from torchlvm.data.mnist import check_headers

    try:
        shapes = check_headers(files)
    except DataError as error:
        return f"cannot be read: {error}", False
    images = [shape for shape in shapes if len(shape) == 3]
    sizes = sorted({"x".join(map(str, shape[1:])) for shape in images})
    count = sum(shape[0] for shape in images)
    standard = "" if size in (None, count) else f" (the standard {name} has {size:,})"
    return f"{count:,} images of {' and '.join(sizes)}{standard}", True


def describe_datasets(data_dir: str | os.PathLike[str] | None = None) -> list[DatasetInfo]:
    """Describe every registered dataset, searching for the files of those read from disk.

    Args:
        data_dir: The folder to look in, as in ``load_dataset``.

    Returns:
        One :class:`DatasetInfo` per dataset, sorted by name.
    """
    infos: list[DatasetInfo] = []
    for spec in dataset_specs():
        if spec.locate is None:
            infos.append(DatasetInfo(spec.name, spec.description, True, None, (), spec.how_to_get))
            continue
        found = spec.locate(data_dir)
        held, readable = (
            (None, False) if found.files is None else _found(found.files, spec.name, spec.size)
        )
        infos.append(
            DatasetInfo(
                name=spec.name,
                description=spec.description,
                available=readable,
                location=found.location,
                looked_in=found.looked_in,
                how_to_get=spec.how_to_get,
                found=held,
                same_as=_listed_at(found.location, infos),
            )
        )
    return infos


def _listed_at(location: str | None, infos: list[DatasetInfo]) -> str | None:
    """The dataset in ``infos`` found in the folder ``location`` too, or None."""
    if location is None:
        return None
    here = os.path.realpath(location)
    seen = (i.name for i in infos if i.location and os.path.realpath(i.location) == here)
    return next(seen, None)
