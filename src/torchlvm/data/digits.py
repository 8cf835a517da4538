"""The ``digits`` dataset: scikit-learn's 1,797 8x8 handwritten digits, the embedded default.

Source: ``sklearn.datasets.load_digits`` (the UCI "Optical Recognition of Handwritten Digits"
test set). Pixel counts 0..16 are divided by 16 into [0, 1]; each image is flattened row-major to
64 values with per-example shape ``(1, 8, 8)``.

Splits: seeded and stratified by class, 70% train, 10% val, 20% test (1258 / 180 / 359
examples); the same seed always gives the same split. ``"all"`` is every example in the original
order.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.data.registry import register_dataset
from torchlvm.data.splits import select_split

FRACTIONS: tuple[float, float, float] = (0.7, 0.1, 0.2)
CLASS_NAMES: tuple[str, ...] = tuple(str(d) for d in range(10))


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Pixels ``(1797, 64)`` float32 in [0, 1] and labels ``(1797,)`` int64, read once."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.data / 16.0).astype(np.float32)
    y = bunch.target.astype(np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@register_dataset(
    "digits",
    description="1,797 8x8 grey handwritten digits in 10 classes (scikit-learn, built in)",
    how_to_get="built in: shipped with scikit-learn (sklearn.datasets.load_digits)",
)
def load_digits(split: str, *, seed: int, data_dir: str | os.PathLike[str] | None) -> Dataset:
    """Load one split of the digits.

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        seed: Seed of the stratified 70/10/20 split.
        data_dir: Ignored; the data ships with scikit-learn.

    Returns:
        ``x`` of shape ``(N, 64)`` float32 in [0, 1], ``y`` of shape ``(N,)``, shape
        ``(1, 8, 8)``.
    """
    del data_dir
    x, y = _digits_arrays()
    everything = Dataset(
        x=torch.tensor(x),
        y=torch.tensor(y),
        name="digits",
        split="all",
        shape=(1, 8, 8),
        num_classes=10,
        class_names=CLASS_NAMES,
        binarize="none",
    )
    return select_split(everything, split, fractions=FRACTIONS, seed=seed, stratify=True)
