"""Synthetic datasets generated from known parameters, returned with that truth.

- ``linear-gaussian``: the probabilistic PCA model (Tipping and Bishop, "Probabilistic Principal
  Component Analysis", JRSS B 1999, eq. 2): z ~ N(0, I_K), x = W z + mu + eps with
  eps ~ N(0, sigma^2 I_D), so x ~ N(mu, W W^T + sigma^2 I). ``W`` and ``mu`` have standard normal
  entries. Truth: ``W`` ``(D, K)``, ``mu`` ``(D,)``, ``noise_variance`` (a scalar tensor).
- ``two-moons``: scikit-learn's ``make_moons``, two interleaving half circles, labels = moon.
- ``gaussian-mixture``: ``k`` isotropic Gaussians with equal weights, means evenly spaced on a
  circle; labels = component. Truth: ``means`` ``(k, 2)``, ``std`` and ``weights`` ``(k,)``.

Data are float32; truth tensors float64. The seed fixes both the draw and the split; the splits
are seeded 80% train, 10% val, 10% test, and ``"all"`` is everything.
"""

from __future__ import annotations

import math
import os

import torch

from torchlvm._checks import check_non_negative, check_positive_int
from torchlvm.data.dataset import Dataset
from torchlvm.data.registry import register_dataset
from torchlvm.data.splits import check_seed, select_split

FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
_GENERATED = "generated: nothing to download"


def make_linear_gaussian(
    *,
    n: int = 2000,
    dim: int = 20,
    latent_dim: int = 3,
    noise_variance: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Draw ``n`` examples from a random linear-Gaussian (PPCA) model.

    Args:
        n: Number of examples N.
        dim: Data dimension D.
        latent_dim: Latent dimension K.
        noise_variance: sigma^2, the variance of the isotropic noise.
        seed: Seed of the parameters and the draw.

    Returns:
        Split ``"all"``: ``x`` of shape ``(N, D)`` float32, no labels, and ``truth`` with ``W``
        ``(D, K)``, ``mu`` ``(D,)`` and ``noise_variance`` (scalar), float64.

    Raises:
        ConfigError: If a size is not a positive integer, the variance is negative or the seed is
            not a non-negative integer.
    """
    check_positive_int("n", n)
    check_positive_int("dim", dim)
    check_positive_int("latent_dim", latent_dim)
    noise_variance = check_non_negative("noise_variance", noise_variance)
    generator = torch.Generator().manual_seed(check_seed(seed))
    f64 = torch.float64
    weights = torch.randn(dim, latent_dim, generator=generator, dtype=f64)
    mean = torch.randn(dim, generator=generator, dtype=f64)
    z = torch.randn(n, latent_dim, generator=generator, dtype=f64)
    noise = torch.randn(n, dim, generator=generator, dtype=f64) * math.sqrt(noise_variance)
    x = z @ weights.T + mean + noise  # (N, D)
    return Dataset(
        x=x.float(),
        y=None,
        name="linear-gaussian",
        split="all",
        shape=(dim,),
        num_classes=None,
        class_names=None,
        binarize="none",
        truth={"W": weights, "mu": mean, "noise_variance": torch.tensor(noise_variance, dtype=f64)},
    )


def make_two_moons(*, n: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles in 2-D (``sklearn.datasets.make_moons``).

    Args:
        n: Number of examples N.
        noise: Standard deviation of the Gaussian noise added to each point.
        seed: Seed of the draw.

    Returns:
        Split ``"all"``: ``x`` of shape ``(N, 2)`` float32, ``y`` ``(N,)`` in {0, 1}.

    Raises:
        ConfigError: If an argument is out of range.
    """
    from sklearn.datasets import make_moons

    check_positive_int("n", n)
    noise = check_non_negative("noise", noise)
    x, y = make_moons(n_samples=n, noise=noise, random_state=check_seed(seed))
    return Dataset(
        x=torch.tensor(x, dtype=torch.float32),
        y=torch.tensor(y, dtype=torch.int64),
        name="two-moons",
        split="all",
        shape=(2,),
        num_classes=2,
        class_names=("upper", "lower"),
        binarize="none",
    )


def make_gaussian_mixture(
    *, n: int = 1000, k: int = 8, radius: float = 2.0, std: float = 0.2, seed: int = 0
) -> Dataset:
    """A mixture of ``k`` equally weighted 2-D Gaussians with means on a circle.

    Mean j sits at angle 2 pi j / k on the circle of the given radius around the origin.

    Args:
        n: Number of examples N.
        k: Number of components, also the number of classes.
        radius: Radius of the circle of means.
        std: Standard deviation of each component, the same in both coordinates.
        seed: Seed of the draw.

    Returns:
        Split ``"all"``: ``x`` of shape ``(N, 2)`` float32, ``y`` ``(N,)`` the component, and
        ``truth`` with ``means`` ``(k, 2)``, ``std`` (scalar) and ``weights`` ``(k,)``.

    Raises:
        ConfigError: If an argument is out of range.
    """
    check_positive_int("n", n)
    check_positive_int("k", k)
    radius = check_non_negative("radius", radius)
    std = check_non_negative("std", std)
    generator = torch.Generator().manual_seed(check_seed(seed))
    f64 = torch.float64
    angles = 2 * math.pi * torch.arange(k, dtype=f64) / k
    means = radius * torch.stack([angles.cos(), angles.sin()], dim=1)  # (k, 2)
    labels = torch.randint(k, (n,), generator=generator)
    x = means[labels] + std * torch.randn(n, 2, generator=generator, dtype=f64)  # (N, 2)
    return Dataset(
        x=x.float(),
        y=labels,
        name="gaussian-mixture",
        split="all",
        shape=(2,),
        num_classes=k,
        class_names=tuple(f"component {j}" for j in range(k)),
        binarize="none",
        truth={
            "means": means,
            "std": torch.tensor(std, dtype=f64),
            "weights": torch.full((k,), 1.0 / k, dtype=f64),
        },
    )


@register_dataset(
    "linear-gaussian",
    description="data from a random linear-Gaussian (PPCA) model, returned with its truth",
    how_to_get=_GENERATED,
)
def load_linear_gaussian(
    split: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None,
    n: int = 2000,
    dim: int = 20,
    latent_dim: int = 3,
    noise_variance: float = 0.1,
) -> Dataset:
    """One split of :func:`make_linear_gaussian` data (80/10/10); ``data_dir`` is ignored."""
    del data_dir
    data = make_linear_gaussian(
        n=n, dim=dim, latent_dim=latent_dim, noise_variance=noise_variance, seed=seed
    )
    return select_split(data, split, fractions=FRACTIONS, seed=seed)


@register_dataset(
    "two-moons", description="two interleaving 2-D half circles, 2 classes", how_to_get=_GENERATED
)
def load_two_moons(
    split: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None,
    n: int = 1000,
    noise: float = 0.1,
) -> Dataset:
    """One split of :func:`make_two_moons` data (80/10/10); ``data_dir`` is ignored."""
    del data_dir
    data = make_two_moons(n=n, noise=noise, seed=seed)
    return select_split(data, split, fractions=FRACTIONS, seed=seed)


@register_dataset(
    "gaussian-mixture",
    description="a 2-D mixture of k Gaussians with means on a circle, labels = component",
    how_to_get=_GENERATED,
)
def load_gaussian_mixture(
    split: str,
    *,
    seed: int,
    data_dir: str | os.PathLike[str] | None,
    n: int = 1000,
    k: int = 8,
    radius: float = 2.0,
    std: float = 0.2,
) -> Dataset:
    """One split of :func:`make_gaussian_mixture` data (80/10/10); ``data_dir`` is ignored."""
    del data_dir
    data = make_gaussian_mixture(n=n, k=k, radius=radius, std=std, seed=seed)
    return select_split(data, split, fractions=FRACTIONS, seed=seed)
