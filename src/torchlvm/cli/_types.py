"""Argument types and options that several commands share, so that one option means one thing
everywhere.

Each type is an ``argparse`` ``type=``: a bad value becomes argparse's usage error, which the CLI
prints as one ``torchlvm: error: argument --seed: ...`` line with exit status 2, before any
work is done.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from torchlvm.cli._accelerator import add_accelerator
from torchlvm.cli._tables import add_encoding

T = TypeVar("T", int, float)

MAX_SEED = 2**32 - 1
"""The largest seed every random source accepts (NumPy's and Lightning's seeds are 32-bit)."""
#: where a dataset is looked for without --data-dir (data/locate.py), in the words of --help
SEARCHED = "$TORCHLVM_DATA/NAME, then ~/.cache/torchlvm/NAME, then /usr/share/datasets/NAME"
#: what --data-dir is in a command on a run, which reads the data from where the run was
#: trained (data/locate.py: the only place looked in)
DATA_DIR_HELP = (
    "the folder holding the dataset's files, the only place looked in (default: the run's own, "
    f"else {SEARCHED})"
)
#: what --data-dir is in a command that reads a dataset for no run (train, fit, datasets)
SEARCH_DATA_DIR_HELP = (
    f"the folder holding the dataset's files, the only place looked in (default: {SEARCHED})"
)


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def seed(text: str) -> int:
    """A seed: an integer in ``0..2**32 - 1``."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..{MAX_SEED}, got {text}")
    return value


seed_type = seed  # (for functions whose ``seed`` argument is a help text)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def _at_least_zero(parse: Callable[[str], T], what: str, *, positive: bool) -> Callable[[str], T]:
    """A ``type=`` that parses with ``parse`` and refuses values below 0 (and 0 if ``positive``)."""
    sign = "positive" if positive else "non-negative"

    def check(text: str) -> T:
        value = parse(text)
        if value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f"must be a {sign} {what}, got {text}")
        return value

    return check


finite_number = _number  # any finite number (nan and inf refused)
positive_int = _at_least_zero(_int, "integer", positive=True)  # an integer ≥ 1
non_negative_int = _at_least_zero(_int, "integer", positive=False)  # an integer ≥ 0
positive_number = _at_least_zero(_number, "number", positive=True)  # a finite number > 0
non_negative_number = _at_least_zero(_number, "number", positive=False)  # a finite number ≥ 0


def given_path(text: str) -> Path:
    """A path on the command line, read or written; an empty one is refused: ``Path("")`` is
    the current folder, which is never what was meant (an unset shell variable, ``--out
    "$OUT"``): read, it was named as a folder without a model ('no model in .'); written,
    ``--overwrite`` would replace it."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "the path is empty (an unset shell variable?); pass a file or folder name"
        )
    return Path(text)


def data_source(text: str) -> str:
    """``--data``: a dataset name or a file; standard input and pipes (``-``, ``/dev/stdin``,
    ``<(…)``) are refused, since a command reads its data more than once (userF's ``cat t.csv |
    torchlvm score RUN --data -`` was told the run's columns, as if '-' lacked them)."""
    path = Path(text)
    piped = text == "-" or (path.exists() and not path.is_file() and not path.is_dir())
    if piped:
        raise argparse.ArgumentTypeError(
            f"{text} is standard input or a pipe, which torchlvm does not read (it reads its data "
            "more than once); save it to a file first (… > data.csv) and pass that file"
        )
    return text


WHOLE_FILE = " (default: test, or every example of a --data file)"
"""What ``--split`` of a command that reads a user's file whole says (:func:`split_of`)."""


def run_and_data(
    parser: argparse.ArgumentParser,
    *,
    seed: str = "seed of the binarization draw",
    split: str = "which split of the data to use (all: every example)",
    whole_file: bool = False,
) -> None:
    """``DIR``, the run or export folder, the data a command on it reads (``--data``,
    ``--data-dir``, ``--split`` and ``--seed``, described by ``seed`` and ``split``) and where
    its model runs (``--accelerator``); ``whole_file``: ``--split`` defaults to every example
    of a file given with ``--data`` (:func:`split_of`)."""
    parser.add_argument("run_dir", type=given_path, metavar="DIR", help="run or export folder")
    parser.add_argument("--seed", type=seed_type, default=0, help=seed)
    parser.add_argument(
        "--data", type=data_source, help="dataset name or file (default: the run's own dataset)"
    )
    parser.add_argument("--data-dir", help=DATA_DIR_HELP)
    add_encoding(parser)
    parser.add_argument(
        "--split",
        choices=["train", "val", "test", "all"],
        default=None if whole_file else "test",
        help=split + (WHOLE_FILE if whole_file else ""),
    )
    add_accelerator(parser)


def split_of(args: argparse.Namespace) -> str:
    """The split a command given ``whole_file`` reads: ``--split``, else every example of a
    user's file given with ``--data`` (their own images or rows, all of which they mean), else
    the test split of the run's data."""
    from torchlvm.cli._tables import is_file

    return args.split or ("all" if is_file(args.data) else "test")


def output_options(parser: argparse.ArgumentParser, default: str) -> None:
    """``--out FILE`` (``default`` names the file written without it, or says which in words:
    ``"DIR/a.png, or DIR/a.csv for a table"``) and ``--overwrite``."""
    suffix = "" if " " in default else Path(default).suffix
    what = "PNG" if suffix == ".png" else "file"
    parser.add_argument(
        "--out",
        type=given_path,
        metavar=f"FILE{suffix}",
        help=f"{what} to write (default: {default})",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
