"""List the datasets torchlvm knows, whether each is available here, and where it was found.

For data that is missing, the line says where torchlvm looked and how to get it.
"""

from __future__ import annotations

import argparse

from torchlvm.cli import _types

HELP = "list datasets: which are available here, where they are, how to get the rest"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help=_types.SEARCH_DATA_DIR_HELP)


def run(args: argparse.Namespace) -> int:
    from torchlvm.data import describe_datasets
    from torchlvm.data.registry import FILE_SUFFIXES

    _check_data_dir(args.data_dir)
    infos = describe_datasets(data_dir=args.data_dir)
    width = max(len(info.name) for info in infos)
    for info in infos:
        status = "available" if info.available else "damaged" if info.location else "missing"
        print(f"{info.name:<{width}}  {status:<9}  {info.description}")
        if info.same_as:  # one folder of IDX files, read as either name: said once
            print(
                f"{'':<{width}}  {'':<9}  at {info.location}: the files of {info.same_as} above "
                f"(nothing in IDX files says which set they are: --data {info.same_as} and "
                f"--data {info.name} read the same images)"
            )
        elif info.location:  # what the folder holds (not the full set), or why it is unreadable
            held = f": {info.found}" if info.found else ""
            print(f"{'':<{width}}  {'':<9}  at {info.location}{held}")
        elif not info.available:
            if info.looked_in:
                print(f"{'':<{width}}  {'':<9}  looked in: {', '.join(info.looked_in)}")
            print(f"{'':<{width}}  {'':<9}  to get it: {info.how_to_get}")
    print(f"A file is accepted as --data too: {', '.join(FILE_SUFFIXES)}.")
    return 0


def _check_data_dir(data_dir: str | None) -> None:
    """Refuse a ``--data-dir`` that names no folder: every dataset would be listed as missing
    from it, which reads as if the folder were there and held none of them.

    Raises:
        DataNotFoundError: naming the folder (and the path meant, for a '~' no shell expanded).
    """
    from pathlib import Path

    from torchlvm._shell import unexpanded_home
    from torchlvm.errors import DataNotFoundError

    if data_dir is None or Path(data_dir).is_dir():
        return
    home = unexpanded_home(data_dir, "data_dir", reading=True, error=DataNotFoundError)
    what = "is not a folder" if Path(data_dir).exists() else "does not exist"
    raise home or DataNotFoundError(
        f"--data-dir {data_dir} {what}; pass the folder that holds the dataset's files"
    )
