"""The dataset classifier whose hidden layer is the feature space of sample-quality metrics.

The Fréchet distance needs features that know what the data look like. Inception features (FID)
suit natural photographs, not 8×8 digits or 28×28 clothing, so torchlvm trains a small MLP
classifier per dataset (D → 256 → 64 → classes, ReLU, dropout 0.2) on that dataset's training
split and uses its 64-d penultimate activations as features; its own test accuracy is reported
next to every number computed with it, so a weak feature space is visible.

The classifier is trained once per training split and cached as ``<key>.safetensors`` (weights)
plus ``<key>.json`` (what it is and how good) in ``$TORCHLVM_CACHE/classifiers/``, or, when that
variable is unset, ``$XDG_CACHE_HOME/torchlvm/classifiers/`` (default
``~/.cache/torchlvm/classifiers/``). The key names the dataset and its example shape and holds a
SHA-256 of the training split's images and labels, so another folder of ``mnist`` files, or a
file rewritten at the same path, gets its own classifier rather than one trained on other data.
A damaged cache entry is retrained and replaced.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from torchlvm._files import check_writable, write_atomic, write_json
from torchlvm._kept_state import seeded
from torchlvm.data.dataset import Dataset
from torchlvm.errors import DataError

VERSION = 1
HIDDEN: tuple[int, int] = (256, 64)
TRAIN_STEPS = 3000
BATCH_SIZE = 128
LEARNING_RATE = 1e-3


def cache_dirs() -> tuple[Path, ...]:
    """Where classifiers are looked for, in order: ``$TORCHLVM_CACHE/classifiers``; else the
    user cache's ``classifiers``, and after it, where that cannot be written (a container's uid
    without a home), the user's own :func:`~torchlvm._user_folders.kept_folder`, as the record
    of written files does (runs17 F1: ``HOME=/proc`` ended evaluate of an image run in 'set
    TORCHLVM_CACHE'). A read-only cache that holds a classifier is still read first."""
    from torchlvm._user_folders import can_hold, kept_folder
    from torchlvm.data.locate import user_cache_dir

    root = os.environ.get("TORCHLVM_CACHE")
    if root:
        return (Path(root) / "classifiers",)
    default = user_cache_dir() / "classifiers"
    kept = None if can_hold(default) else kept_folder("classifiers")
    return (default,) if kept is None else (default, kept)


def cache_dir() -> Path:
    """Where a classifier trained now is cached: the last of :func:`cache_dirs`."""
    return cache_dirs()[-1]


def _network(dim: int, num_classes: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(dim, HIDDEN[0]),
        nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(HIDDEN[0], HIDDEN[1]),
        nn.ReLU(),
        nn.Linear(HIDDEN[1], num_classes),
    )


@dataclass(frozen=True, eq=False)
class DatasetClassifier:
    """A trained classifier of one dataset and its feature map.

    Attributes:
        network: the MLP; ``network[:-1]`` maps x ``(N, D)`` to features ``(N, 64)``.
        info: what it is: ``dataset``, ``shape``, ``num_classes``, ``test_accuracy``, ...
    """

    network: nn.Sequential
    info: dict[str, Any]

    @torch.no_grad()
    def features(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """Penultimate-layer activations ``(N, 64)`` of images ``x`` ``(N, D)`` in [0, 1]."""
        self.network.eval()
        body = self.network[:-1]
        return torch.cat(
            [body(x[i : i + batch_size].float()) for i in range(0, len(x), batch_size)]
        )

    @torch.no_grad()
    def predict(self, x: Tensor, batch_size: int = 1024) -> Tensor:
        """The most probable class of each image, ``(N,)`` int64."""
        self.network.eval()
        return torch.cat(
            [
                self.network(x[i : i + batch_size].float()).argmax(-1)
                for i in range(0, len(x), batch_size)
            ]
        )

    @property
    def test_accuracy(self) -> float:
        """Accuracy on the dataset's test split, in [0, 1]."""
        return float(self.info["test_accuracy"])


def _key(train: Dataset) -> str:
    """The cache name of ``train``'s classifier: its name and shape to read, and a digest of its
    content (0.3 s for Fashion-MNIST's 54,000 images), so that other data under the same name
    never reuse it."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(train.name).name)[:40]
    digest = hashlib.sha256(f"{train.name}|{train.shape}|v{VERSION}".encode())
    digest.update(train.x.detach().cpu().contiguous().numpy().data)
    if train.y is not None:
        digest.update(train.y.detach().cpu().contiguous().numpy().data)
    shape = "x".join(map(str, train.shape))
    return f"{safe}-{shape}-v{VERSION}-{digest.hexdigest()[:16]}"


def _train(train: Dataset, seed: int, progress: bool) -> nn.Sequential:
    from tqdm.auto import tqdm

    assert train.y is not None and train.num_classes is not None
    with seeded(seed):
        network = _network(train.dim, train.num_classes)
        optimizer = torch.optim.Adam(network.parameters(), lr=LEARNING_RATE)
        generator = torch.Generator().manual_seed(seed)
        network.train()
        for _ in tqdm(range(TRAIN_STEPS), desc="classifier", disable=not progress, leave=False):
            index = torch.randint(len(train), (min(BATCH_SIZE, len(train)),), generator=generator)
            loss = nn.functional.cross_entropy(network(train.x[index].float()), train.y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return network.eval()


def _load_cached(path: Path, dim: int, num_classes: int) -> DatasetClassifier | None:
    info_path = path.with_suffix(".json")
    if not (path.is_file() and info_path.is_file()):
        return None
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
        # its initial weights are overwritten: drawing them from the global generator would
        # shift every later draw of the caller (evaluate's samples) by whether the cache held it
        with torch.random.fork_rng(devices=[]):
            network = _network(dim, num_classes)
        network.load_state_dict(load_file(str(path)), strict=True)
    except Exception:  # a damaged or foreign cache entry: retrain it
        return None
    if info.get("version") != VERSION or info.get("num_classes") != num_classes:
        return None
    return DatasetClassifier(network.eval(), info)


def dataset_classifier(
    name: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: bool = False,
) -> DatasetClassifier:
    """The cached classifier of dataset ``name``, trained on its train split if not cached.

    Args:
        name: a registered dataset with labels, e.g. ``"digits"`` or ``"fashion-mnist"``.
        data_dir: where its files are (as for ``load_dataset``).
        seed: seed of the split and of training (only used when training).
        progress: show a progress bar while training.

    Returns:
        The classifier, with ``info["test_accuracy"]`` measured on the test split.

    Raises:
        DataError: if the dataset has no labels.
    """
    from torchlvm.data import load_dataset

    train = load_dataset(name, "train", data_dir=data_dir, seed=seed)
    if train.y is None or train.num_classes is None:
        raise DataError(
            f"{name} has no class labels, so torchlvm cannot train the classifier whose features "
            "the Fréchet distance uses; sample quality needs a labelled dataset"
        )
    file = f"{_key(train)}.safetensors"
    for folder in cache_dirs():
        cached = _load_cached(folder / file, train.dim, train.num_classes)
        if cached is not None:
            return cached
    path = cache_dir() / file
    _check_cache_writable(path.parent)  # before minutes of training whose result goes there
    network = _train(train, seed, progress)
    test = load_dataset(name, "test", data_dir=data_dir, seed=seed)
    classifier = DatasetClassifier(network, {})
    assert test.y is not None
    accuracy = float((classifier.predict(test.x) == test.y).double().mean())
    info = {
        "version": VERSION,
        "dataset": name,
        "shape": list(train.shape),
        "num_classes": train.num_classes,
        "architecture": f"MLP {train.dim}-{HIDDEN[0]}-{HIDDEN[1]}-{train.num_classes}, ReLU",
        "feature_dim": HIDDEN[1],
        "train_steps": TRAIN_STEPS,
        "batch_size": BATCH_SIZE,
        "seed": seed,
        "n_train": len(train),
        "n_test": len(test),
        "test_accuracy": accuracy,
        "input": "grey levels in [0, 1] (binarize='none')",
    }
    tensors = {k: v.detach().contiguous() for k, v in network.state_dict().items()}
    write_atomic(path, lambda tmp: save_file(tensors, str(tmp)))
    write_json(path.with_suffix(".json"), info)
    return DatasetClassifier(network, info)


def _check_cache_writable(folder: Path) -> None:
    """Create the cache folder and check a file can be written in it.

    Raises:
        OSError: naming the folder and the variable that moves it.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        check_writable(folder)
    except OSError as err:
        what = f"{err.strerror or err} (the sample-quality classifier's cache; set TORCHLVM_CACHE "
        raise OSError(err.errno, what + "to a writable folder)", os.fspath(folder)) from err


def sample_quality_note(classifier: DatasetClassifier) -> str:
    """One line saying which feature space a distance was computed in."""
    info = classifier.info
    accuracy = info.get("test_accuracy", math.nan)
    return (
        f"Fréchet distance in the {info.get('feature_dim')}-d penultimate features of torchlvm's "
        f"{info.get('dataset')} classifier (test accuracy {accuracy:.3f})"
    )
