"""``shapes``: small images of a white square on a black canvas, generated from known, independent
factors of variation, returned with those factors (for disentanglement metrics).

Each image is a ``canvas × canvas`` grey image (one channel) holding one filled square. Three
factors, drawn independently and uniformly for each example:

- ``x_position``: the column of the square's left edge, ``0 .. canvas - max_size``;
- ``y_position``: the row of its top edge, ``0 .. canvas - max_size``;
- ``size``: its side length in pixels, ``min_size .. max_size``.

The position range does not depend on the size (every square fits for every position), so the
three factors are independent by construction, as disentanglement metrics such as the mutual
information gap assume (Chen et al. 2018, "Isolating Sources of Disentanglement in VAEs"). The
idea follows dSprites (Matthey et al. 2017), reduced to a size that trains in seconds on a CPU.

Labels ``y`` are the size index (``size - min_size``), so the class-conditional models have a
condition; ``truth`` holds each factor's value per example as an int64 tensor of shape ``(N,)``.
Pixels are exactly 0 or 1. Splits are seeded 80% train, 10% val, 10% test; ``"all"`` is
everything.
"""

from __future__ import annotations

import os

import torch

from torchlvm._checks import check_positive_int
from torchlvm.data.dataset import Dataset
from torchlvm.data.registry import register_dataset
from torchlvm.data.splits import PART_NAMES, check_seed, split_indices
from torchlvm.errors import ConfigError

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
FACTOR_NAMES: tuple[str, ...] = ("x_position", "y_position", "size")


def make_shapes(
    *,
    n: int = 4000,
    canvas: int = 16,
    min_size: int = 2,
    max_size: int = 5,
    seed: int = 0,
) -> Dataset:
    """Draw ``n`` square images with independent, uniformly drawn position and size.

    Args:
        n: Number of examples N.
        canvas: Side of the square image in pixels.
        min_size: Smallest square side.
        max_size: Largest square side; must leave room to move (``max_size < canvas``).
        seed: Seed of the factor draw.

    Returns:
        Split ``"all"``: ``x`` of shape ``(N, canvas²)`` float32 in {0, 1}, per-example shape
        ``(1, canvas, canvas)``, ``y`` the size index ``(N,)``, and ``truth`` with the int64
        factors ``x_position``, ``y_position`` and ``size``, each ``(N,)``.

    Raises:
        ConfigError: If a size is not a positive integer or the square cannot fit and move.
    """
    check_positive_int("n", n)
    check_positive_int("canvas", canvas)
    check_positive_int("min_size", min_size)
    check_positive_int("max_size", max_size)
    if min_size > max_size:
        raise ConfigError(f"min_size must be <= max_size, got {min_size} > {max_size}")
    if max_size >= canvas:
        raise ConfigError(
            f"max_size must be smaller than canvas so the square can move, got max_size="
            f"{max_size} and canvas={canvas}"
        )
    generator = torch.Generator().manual_seed(check_seed(seed))
    positions = canvas - max_size + 1
    left = torch.randint(positions, (n,), generator=generator)
    top = torch.randint(positions, (n,), generator=generator)
    size = torch.randint(min_size, max_size + 1, (n,), generator=generator)
    grid = torch.arange(canvas)
    cols = (grid >= left[:, None]) & (grid < (left + size)[:, None])  # (N, canvas)
    rows = (grid >= top[:, None]) & (grid < (top + size)[:, None])  # (N, canvas)
    images = rows[:, :, None] & cols[:, None, :]  # (N, canvas, canvas)
    num_sizes = max_size - min_size + 1
    return Dataset(
        x=images.reshape(n, canvas * canvas).float(),
        y=size - min_size,
        name="shapes",
        split="all",
        shape=(1, canvas, canvas),
        num_classes=num_sizes,
        class_names=tuple(f"size {s}" for s in range(min_size, max_size + 1)),
        binarize="none",
        truth={"x_position": left, "y_position": top, "size": size},
    )


def factors_of(data: Dataset) -> dict[str, torch.Tensor]:
    """The per-example factors of a ``shapes`` dataset, name → int64 ``(N,)``.

    Raises:
        ConfigError: If ``data`` carries no factors (it is not a factors dataset).
    """
    truth = data.truth or {}
    factors = {name: truth[name] for name in FACTOR_NAMES if name in truth}
    if len(factors) != len(FACTOR_NAMES):
        raise ConfigError(
            f"{data.name} has no known factors of variation; disentanglement needs a factors "
            "dataset such as 'shapes'"
        )
    return factors


@register_dataset(
    "shapes",
    description="16x16 images of a square with known independent factors: x, y position, size",
    how_to_get="generated: nothing to download",
)
def load_shapes(
    split: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None,
    n: int = 4000,
    canvas: int = 16,
) -> Dataset:
    """One split of :func:`make_shapes` data (80/10/10), factors split alongside; ``data_dir``
    is ignored."""
    del data_dir
    data = make_shapes(n=n, canvas=canvas, seed=seed)
    if split == "all":
        return data
    index = split_indices(len(data), FRACTIONS, seed)[PART_NAMES.index(split)]
    rows = torch.from_numpy(index)
    assert data.y is not None and data.truth is not None
    return Dataset(
        x=data.x[rows],
        y=data.y[rows],
        name=data.name,
        split=split,
        shape=data.shape,
        num_classes=data.num_classes,
        class_names=data.class_names,
        binarize=data.binarize,
        truth={name: value[rows] for name, value in data.truth.items()},
    )
