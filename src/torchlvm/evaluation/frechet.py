"""The Fréchet distance between two sets of feature vectors (Heusel et al. 2017, "GANs Trained by
a Two Time-Scale Update Rule", eq. 6; Dowson & Landau 1982).

Each set is summarized by a Gaussian N(μ, Σ) fitted to it; the distance is the 2-Wasserstein
distance between the two Gaussians, squared:

    d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁ Σ₂)^{1/2}).

The trace of the matrix square root is computed stably as Σ_i sqrt(λ_i), with λ_i the
eigenvalues of the symmetric positive semi-definite Σ₁^{1/2} Σ₂ Σ₁^{1/2}, which has the same
eigenvalues as Σ₁ Σ₂. Float64 throughout. With finite samples the estimate is biased upward
(two halves of one set give a small positive value), so compare distances computed with the same
number of samples.
"""

from __future__ import annotations

import numpy as np
from torch import Tensor

from torchlvm.errors import DataError


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(a)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def gaussian_frechet(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray
) -> float:
    """Squared 2-Wasserstein distance between N(mu1, sigma1) and N(mu2, sigma2).

    Args:
        mu1, mu2: means ``(F,)``. sigma1, sigma2: covariances ``(F, F)``.

    Returns:
        d² ≥ 0 (clipped at 0 against round-off).
    """
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_root
    return float(max(value, 0.0))


def frechet_distance(a: Tensor | np.ndarray, b: Tensor | np.ndarray) -> float:
    """The Fréchet distance between feature sets ``a`` ``(N₁, F)`` and ``b`` ``(N₂, F)``.

    Raises:
        DataError: for sets of different width, fewer than 2 rows, or non-finite values.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise DataError(f"feature sets must be (N, F) with the same F, got {a.shape} and {b.shape}")
    if len(a) < 2 or len(b) < 2:
        raise DataError(f"need at least 2 feature vectors per set, got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise DataError("feature sets contain NaN or inf; the generated images are not finite")
    return gaussian_frechet(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
