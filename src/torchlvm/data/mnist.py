"""MNIST and Fashion-MNIST from their four IDX files.

Datasets: ``mnist`` (LeCun, Cortes and Burges, 1998) and ``fashion-mnist`` (Xiao, Rasul and
Vollgraf, "Fashion-MNIST", arXiv:1708.07747, 2017): 28x28 grey images, 10 classes, 60,000 official
training and 10,000 test images. The files are found as :mod:`torchlvm.data.locate` describes.

Splits: ``"test"`` is the official t10k set; ``"val"`` is a seeded, class-stratified 10% of the
official training set and ``"train"`` the other 90%; ``"all"`` is train + val + test (70,000).
Pixels are scaled from 0..255 to [0, 1] and each image flattened row-major to 784 values.
"""

from __future__ import annotations

import functools
import os
import shlex
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from torchlvm._files import unused_name
from torchlvm.data.dataset import Dataset
from torchlvm.data.idx import read_idx_cached, read_idx_shape
from torchlvm.data.locate import TORCHVISION_FOLDERS, candidate_dirs, find_files, missing_files
from torchlvm.data.registry import register_dataset
from torchlvm.data.splits import split_indices
from torchlvm.errors import (
    DataError,
    DataNotFoundError,
    OptionError,
    on_command_line,
    spelled,
)

IDX_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
REQUIRED_FILES: tuple[str, ...] = IDX_FILES["train"] + IDX_FILES["test"]
VAL_FRACTION = 0.1
NUM_CLASSES = 10
STANDARD_SIZE = 70_000
"""The images of the standard MNIST and Fashion-MNIST (60,000 train + 10,000 test)."""

FASHION_CLASSES: tuple[str, ...] = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DIGIT_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))

_FILES_NOTE = "the four IDX files (" + ", ".join(REQUIRED_FILES) + ", each raw or .gz)"
FASHION_HOW_TO_GET = (
    "on Debian/Ubuntu run `sudo apt-get install dataset-fashion-mnist`; or put "
    f"{_FILES_NOTE} in one of those folders, or pass --data-dir naming their folder"
)
MNIST_HOW_TO_GET = (
    f"put {_FILES_NOTE} in a folder and pass --data-dir, or put them in "
    "$TORCHLVM_DATA/mnist with TORCHLVM_DATA set"
)


def _torchvision_note(name: str, folder: Path) -> tuple[str, str]:
    """What to say of torchvision's layout in ``folder`` when ``name`` is not found there: where
    torchvision would keep it (searched too, but not listed as looked in while it does not exist),
    and, first, the other dataset a torchvision folder in it holds (``FashionMNIST/raw`` is no
    MNIST)."""
    where = f" (or torchvision's {folder / TORCHVISION_FOLDERS[name] / 'raw'})"
    held = [
        (other, kept)
        for other, kept in TORCHVISION_FOLDERS.items()
        if other != name and not missing_files(folder / kept / "raw", REQUIRED_FILES)
    ]
    first = (
        ""
        if not held
        else (f"{folder / held[0][1] / 'raw'} holds torchvision's {held[0][0]}, not {name}; ")
    )
    return first, where


def _check_folder(folder: Path) -> None:
    """Refuse a data folder that is a file (often one of the IDX files), naming the folder that
    holds it; a folder that does not exist is where the files are to be put (the search names it).

    Raises:
        DataNotFoundError: naming the path and the folder to pass.
    """
    if folder.exists() and not folder.is_dir():
        raise spelled(
            DataNotFoundError,
            lambda spell: (
                f"{spell('data_dir', str(folder))} is a file, not a folder; pass the folder that "
                f"holds the four IDX files ({spell('data_dir', str(folder.parent))})"
            ),
        )


def _holds(shape: tuple[int, ...]) -> str:
    """What an IDX file of dimensions ``shape`` holds, as a user would call it."""
    kind = {1: "labels", 3: "images"}.get(len(shape), "other data")
    plural = "s" if len(shape) != 1 else ""
    return f"{kind} (its IDX header declares {len(shape)} dimension{plural}, {shape})"


def check_pair(
    image_path: Path, image_shape: tuple[int, ...], label_path: Path, label_shape: tuple[int, ...]
) -> None:
    """Refuse an images file and a labels file (of one official part) whose dimensions do not
    fit: images ``(N, H, W)``, labels ``(N,)``. A file saved under the other's name is named.

    Raises:
        DataError: naming the file and the fix.
    """
    for path, shape, ndim, role in (
        (image_path, image_shape, 3, "images"),
        (label_path, label_shape, 1, "labels"),
    ):
        if len(shape) != ndim:
            raise DataError(
                f"{path} must hold {role} but holds {_holds(shape)}; put the {role} file there "
                "under this name, or download it again"
            )
    if image_shape[0] != label_shape[0]:
        raise DataError(
            f"{image_path} holds {image_shape[0]} images but {label_path} holds "
            f"{label_shape[0]} labels; the two must come from the same set, re-download them"
        )


def check_headers(files: dict[str, Path]) -> list[tuple[int, ...]]:
    """The dimensions of the four files by their headers (read cheaply, see
    :func:`~torchlvm.data.idx.read_idx_shape`), checked as the loader checks the arrays.

    Raises:
        DataError: for a damaged file or a pair that does not fit, naming the file and the fix.
    """
    shapes = {name: read_idx_shape(files[name]) for name in REQUIRED_FILES}
    for image_name, label_name in IDX_FILES.values():
        check_pair(files[image_name], shapes[image_name], files[label_name], shapes[label_name])
    return list(shapes.values())


def _read_pair(files: dict[str, Path], part: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, H, W)`` and labels ``(N,)`` of the official ``part``, checked to agree."""
    image_name, label_name = IDX_FILES[part]
    image_path, label_path = files[image_name], files[label_name]
    images, labels = read_idx_cached(image_path), read_idx_cached(label_path)
    check_pair(image_path, images.shape, label_path, labels.shape)
    return images, labels


def _other_classes(files: dict[str, Path], name: str) -> str | None:
    """What to say of IDX files whose labels (of either part, whichever split is read: a CVAE
    trained on labelled train files then failed on unlabelled test ones, review14 R16) are not
    ``name``'s classes 0..9, read whole (the reader checks every file's size against its
    header): another set in MNIST's format, as EMNIST (letters labelled 1..26); its images are
    read without them,
    and a labelled archive of the four files keeps its classes. It was told to "re-download it",
    which gives the same labels (userM #4), and a model that reads no labels was refused too
    (review14 R6). None where the labels are ``name``'s classes."""
    found = ((files[IDX_FILES[p][1]], read_idx_cached(files[IDX_FILES[p][1]])) for p in IDX_FILES)
    path, labels = next(((f, y) for f, y in found if len(y) and y.max() >= NUM_CLASSES), (0, 0))
    if not isinstance(labels, np.ndarray):
        return None
    out = unused_name(f"{Path(path).resolve().parent.name or name}-idx.npz")  # (in the cwd)
    both = "np.concatenate([read_idx({!r}), read_idx({!r})])"
    x, y = (both.format(*(str(files[IDX_FILES[p][i]]) for p in ("train", "test"))) for i in (0, 1))
    y = f"np.unique({y}, return_inverse=True)[1]"  # classes 0..C-1, as a model needs them
    line = f"from torchlvm.data.idx import read_idx; np.savez({out!r}, x={x}, y={y})"
    low, high = int(labels.min()), int(labels.max())
    return (
        f"{path} holds labels {low} to {high} ({len(np.unique(labels))} classes), not "
        f"{name}'s 0..{NUM_CLASSES - 1}: its files are whole, of another set in {name}'s format "
        f"(as EMNIST), and its images are read without labels (a model of classes, a cvae, has "
        f"none to learn); to train on its classes, save the four as one labelled archive, its "
        f"classes numbered from 0 in the order of their labels (label {low} as class 0; python: "
        f"import numpy as np; {line}) and pass --data {shlex.quote(out)} (torchlvm then draws "
        "its own seeded train/val/test split of all its rows)"
    )


def _first_said(folder: Path) -> bool:
    """Whether the warning of ``folder``'s labels of another set is said now: at each read, but
    once in a command (:func:`~torchlvm.data.csv_once.parsed_once`, which the CLI opens), which
    reads the train and validation splits, then the test split: one warning, not three. (It was
    once a process: a second command run in the same process, a notebook's, was silent: review14
    R16.)"""
    from torchlvm.data.csv_once import kept

    now = object()  # (a fact kept for the command's block: the first read's, not this one)
    return kept(folder, ("said: labels of another set",), lambda: now) is now


def _select(
    files: dict[str, Path], split: str, seed: int, name: str
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The image and label arrays that make up ``split``, in train-then-test order."""
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    if split in ("train", "val", "all"):
        train_images, train_labels = _read_pair(files, "train", name)
        if split != "all":
            fractions = (1.0 - VAL_FRACTION, VAL_FRACTION)
            parts = split_indices(len(train_labels), fractions, seed, stratify=train_labels)
            index = parts[0] if split == "train" else parts[1]
            train_images, train_labels = train_images[index], train_labels[index]
        images.append(train_images)
        labels.append(train_labels)
    if split in ("test", "all"):
        test_images, test_labels = _read_pair(files, "test", name)
        images.append(test_images)
        labels.append(test_labels)
    return images, labels


def _scaled(pixels: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, D)`` pixels as float32 in [0, 1]; the input (maybe cached, read-only) is only
    read."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(pixels).to(torch.float32).div_(255)


def load_idx_dataset(
    name: str,
    split: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None,
    class_names: tuple[str, ...],
    how_to_get: str,
) -> Dataset:
    """Find, read and split an MNIST-format dataset.

    Args:
        name: Dataset name, also its folder name under the search roots.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        seed: Seed of the train/val split.
        data_dir: The folder to read from (then no other folder is searched).
        class_names: One name per class.
        how_to_get: The fix shown when the files are missing.

    Returns:
        ``x`` of shape ``(N, H*W)`` in [0, 1], float32; ``y`` of shape ``(N,)``; shape
        ``(1, H, W)``.

    Raises:
        DataNotFoundError: If no searched folder holds all four files; the message lists every
            folder and how to get the data.
        DataError: If a file is corrupt or the files disagree.
    """
    if data_dir is not None:
        _check_folder(Path(data_dir))
    found = find_files(name, REQUIRED_FILES, data_dir)
    if found.files is None and data_dir is not None:  # an explicit folder is the only place
        lacking = [(f, missing_files(f, REQUIRED_FILES)) for f in candidate_dirs(name, data_dir)]
        partial = [(f, m) for f, m in lacking if 0 < len(m) < len(REQUIRED_FILES)]
        them = "it" if partial and len(partial[0][1]) == 1 else "them"
        first, where = _torchvision_note(name, Path(data_dir))
        how_to_get = (
            f"{partial[0][0]} lacks {', '.join(partial[0][1])} (raw or .gz): put {them} there, or "
            if partial
            else f"{first}put {_FILES_NOTE} in {data_dir}{where}, or "
        ) + "leave out --data-dir to search $TORCHLVM_DATA, the user cache and /usr/share/datasets"
    if found.files is None:
        message = f"{name} not found: looked in {', '.join(found.looked_in)}; to get it: "
        raise spelled(  # how_to_get names the flag, as the datasets' notes do
            DataNotFoundError,
            lambda spell: message + how_to_get.replace("--data-dir", spell("data_dir")),
        )
    images, labels = _select(found.files, split, seed, name)
    if len({part.shape[1:] for part in images}) > 1:
        raise DataError(
            f"{name} in {found.location}: train and test images differ in size "
            f"({images[0].shape[1:]} vs {images[1].shape[1:]}); re-download the files"
        )
    pixels = np.concatenate(images) if len(images) > 1 else images[0]
    if len(pixels) == 0:
        raise DataError(f"{name} in {found.location} holds no images; re-download the files")
    height, width = pixels.shape[1:]
    x = _scaled(pixels.reshape(len(pixels), height * width))
    y = torch.from_numpy(np.concatenate(labels).astype(np.int64))
    other = _other_classes(found.files, name)  # (its images are read: a vae needs none)
    if other is not None and _first_said(Path(found.location)):
        warnings.warn(other, stacklevel=2)
    labelled = other is None
    return Dataset(
        x=x,
        y=y if labelled else None,
        name=name,
        split=split,
        shape=(1, height, width),
        num_classes=NUM_CLASSES if labelled else None,
        class_names=class_names if labelled else None,
        binarize="none",
    )


def _register(
    name: str, description: str, class_names: tuple[str, ...], how_to_get: str
) -> Callable[..., Dataset]:
    """Register an MNIST-format dataset whose files live in a folder called ``name``."""

    @register_dataset(
        name,
        description=description,
        how_to_get=how_to_get,
        locate=functools.partial(find_files, name, REQUIRED_FILES),
        size=STANDARD_SIZE,
    )
    def load(split: str, *, seed: int, data_dir: str | os.PathLike[str] | None) -> Dataset:
        return load_idx_dataset(
            name,
            split,
            seed=seed,
            data_dir=data_dir,
            class_names=class_names,
            how_to_get=how_to_get,
        )

    return load


load_fashion_mnist = _register(
    "fashion-mnist",
    "70,000 28x28 grey clothing images in 10 classes (Zalando Research)",
    FASHION_CLASSES,
    FASHION_HOW_TO_GET,
)
load_mnist = _register(
    "mnist", "70,000 28x28 grey handwritten digits in 10 classes", DIGIT_CLASSES, MNIST_HOW_TO_GET
)


def is_idx_name(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named as an IDX file is (``*ubyte*``, as every MNIST mirror names
    them: ``t10k-images-idx3-ubyte.gz``, ``train-images.idx3-ubyte``)."""
    return "ubyte" in Path(path).name.lower()


def idx_file_error(path: str | os.PathLike[str]) -> OptionError | None:
    """The refusal of one IDX file given where a data file goes (``--data
    train-images-idx3-ubyte.gz``), naming the dataset and folder that read it with the other
    three; None for a name that is no IDX file's (:func:`is_idx_name`).
    """
    path = Path(path)
    if not is_idx_name(path):
        return None
    folder = path.absolute().parent
    name = "fashion-mnist" if "fashion" in str(folder).lower() else "mnist"
    other = " (fashion-mnist for Fashion-MNIST's files)" if name == "mnist" else ""
    lacking = missing_files(folder, REQUIRED_FILES)
    start = f"{path} is an IDX file; torchlvm reads the four IDX files of a dataset together"
    if lacking:
        start += f", and {folder} lacks {', '.join(lacking)} (raw or .gz): put them there and"
    else:
        start += ":"
    python = f"call load_dataset({name!r}, data_dir={str(folder)!r})"
    shell = f"pass --data {name} --data-dir {shlex.quote(str(folder))}"
    return spelled(
        OptionError, lambda spell: f"{start} {shell if spell is on_command_line else python}{other}"
    )
