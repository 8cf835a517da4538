"""What an OOD set named on the command line is, and reading the ones that are folders or IDX
files: a made set (``noise``, ``flip``, ``other``), a dataset by its name, a folder of IDX files
(its test images), or a file (used whole). :func:`check_ood_name` refuses by the name alone what
:func:`~torchlvm.evaluation.outliers.make_ood_set` would refuse after minutes of other work."""

from __future__ import annotations

import os

import torch
from torch import Tensor

from torchlvm.data import pixels
from torchlvm.data.dataset import Dataset
from torchlvm.data.idx import read_idx
from torchlvm.data.locate import TORCHVISION_FOLDERS, candidate_dirs, find_files
from torchlvm.data.mnist import IDX_FILES, is_idx_name
from torchlvm.data.registry import FILE_SUFFIXES, is_file_name, unreadable
from torchlvm.errors import ConfigError, DataError, DataNotFoundError, spelled

SYNTHETIC_OOD: tuple[str, ...] = ("noise", "flip", "other")
"""OOD sets made from the in-distribution data rather than read (see
:func:`~torchlvm.evaluation.outliers.make_ood_set`)."""


def ood_not_found(dataset: str) -> DataNotFoundError:
    """A named OOD dataset whose files are in none of the folders searched. Its fix is ``--ood``
    with the folder: ``--data-dir``, the dataset's own fix, also moves where evaluate reads
    the run's own data (another dataset of the same IDX file names, read silently)."""
    looked = ", ".join(str(folder) for folder in candidate_dirs(dataset))
    return spelled(
        DataNotFoundError,
        lambda spell: (
            f"{dataset} not found: looked in {looked}; to score it as an OOD set, pass the folder "
            f"of its four IDX files ({spell('ood', 'FOLDER')}) or put them in "
            f"$TORCHLVM_DATA/{dataset} with TORCHLVM_DATA set"
        ),
    )


def idx_test_images(folder: str) -> str:
    """The test images file (``t10k-images-idx3-ubyte``, raw or ``.gz``) of a folder of IDX
    files, or of torchvision's ``MNIST/raw`` (or another dataset's) folder in it.

    Raises:
        DataNotFoundError: for a folder that holds none.
    """
    wanted = IDX_FILES["test"][:1]
    for name in ("", *TORCHVISION_FOLDERS):  # ("": the folder and its raw/ alone)
        found = find_files(name, wanted, folder)
        if found.files is not None:
            return str(found.files[wanted[0]])
    from torchlvm.data.picture_folder import pictures_fix, pictures_in

    pictures = pictures_in(folder)  # (review13 #18: the lines that make "one file of images")
    if pictures is not None:
        raise DataNotFoundError(
            f"--ood {folder}: a folder of picture files, which torchlvm does not read one by "
            f"one; {pictures_fix(pictures)}"
        )
    raise DataNotFoundError(
        f"--ood {folder}: the folder holds no {wanted[0]} (raw or .gz), the test images of a "
        "dataset in MNIST's IDX format; pass a folder that holds them, or one file of images"
    )


def is_ood_folder(name: str) -> bool:
    """Whether OOD set ``name`` is a folder of IDX files: a folder, whose name is not a dataset's
    or a made set's unless it is written as a path (``./mnist``): a folder called ``mnist`` in
    the working folder (a run's, a user's notes) took the place of the dataset of that name,
    also in the default sets (review11)."""
    from torchlvm.data.registry import list_datasets

    if not os.path.isdir(name):
        return False
    return os.sep in name or name not in (*SYNTHETIC_OOD, *list_datasets())


def is_ood_file(name: str) -> bool:
    """Whether OOD set ``name`` is a file, used whole: one torchlvm reads (``.npy``, ``.csv``
    ...) or one IDX file of images (``t10k-images-idx3-ubyte.gz``)."""
    return is_file_name(name) or is_idx_name(name)


def idx_images(path: str) -> Dataset:
    """Every image in one IDX file of images (MNIST's format), grey levels in [0, 1] as a
    dataset read by its name holds them.

    Raises:
        DataError: for an IDX file that does not hold images (N, H, W), such as a labels file.
    """
    array = read_idx(path)
    if array.ndim != 3:
        raise DataError(
            f"OOD set {path!r} is an IDX file of shape {array.shape}, not of images (N, H, W); "
            "pass a dataset's images file (its name has 'images' and 'idx3')"
        )
    x = torch.from_numpy(pixels.rows(array))  # uint8 / 255, (N, H * W)
    shape = (1, *array.shape[1:])
    return Dataset(x, None, path, "all", shape, None, None, "none")


def check_ood_name(name: str, *, table: bool) -> None:
    """Refuse, before any work, an OOD set :func:`make_ood_set` would refuse by its name alone:
    a file that does not exist, a dataset that is not registered, and, beside a ``table`` run,
    anything but a file of rows.

    Raises:
        ConfigError: for a name that is not a file beside a table run, or an unknown dataset.
        DataNotFoundError: for a file that does not exist.
    """
    import torchlvm.data.factors  # noqa: F401  (registers "shapes")
    from torchlvm.data.registry import get_spec

    if table and not is_file_name(name):
        raise not_a_table_file(name)
    if is_ood_file(name):
        if not os.path.isfile(name):
            raise DataNotFoundError(f"--ood: {name} does not exist; check the path")
    elif is_ood_folder(name):
        idx_test_images(name)
    elif name not in SYNTHETIC_OOD:
        get_spec(name)  # raises for an unknown name, naming the known ones


def check_ood_values(x: Tensor, binarize: str, name: str) -> None:
    """Refuse an OOD set ``x`` ``(N, D)`` of images that the scores cannot take: missing values
    (NaN), and values the run's ``binarize`` protocol cannot take (a binarized run scores
    images drawn from grey levels in [0, 1]; ``"none"`` takes any).

    Raises:
        DataError: naming the rows with NaN, or the range of values and the rescaling.
    """
    if x.numel() == 0:
        return
    missing = int(torch.isnan(x).any(-1).sum())
    if missing:
        raise DataError(
            f"OOD set {name!r} has missing values (NaN) in {missing} of its {len(x)} images, "
            "which the outlier scores cannot take; drop those images, save it and pass that "
            "file instead"
        )
    low, high = float(x.min()), float(x.max())
    if binarize == "none" or (low >= 0.0 and high <= 1.0):
        return
    fix = "rescale it to [0, 1]"
    if low >= 0 and high <= 255 and bool((x == x.round()).all()):
        fix += " (8-bit pixels: divided by 255)"
    raise DataError(
        f"OOD set {name!r} holds {low:g}..{high:g}, but the run binarizes its images "
        f"({binarize}) from grey levels in [0, 1]; {fix}, save it and pass that file instead"
    )


def not_a_table_file(name: str) -> ConfigError:
    """The error for an OOD set beside a table run that is not a file of rows: for a file in a
    format torchlvm does not read (a .parquet, an .xlsx), the line that saves it as CSV (an IDX
    file of images keeps this message: the one for IDX files is about image datasets)."""
    unread = None if is_idx_name(name) else unreadable(name)
    if unread is not None:
        return ConfigError(f"OOD set {name!r}: {unread}")
    return ConfigError(
        f"OOD set {name!r}: a model trained on a table takes files of rows as OOD sets "
        f"({', '.join(FILE_SUFFIXES)}), not {name!r}; pass --ood FILE.csv"
    )
