"""Disentanglement: the mutual information gap (MIG; Chen, Li, Grosse & Duvenaud 2018,
"Isolating Sources of Disentanglement in Variational Autoencoders", eq. 6).

For ground-truth factors v_k and latent dimensions z_j,

    MIG = (1/K) Σ_k [I(z_{j⁽¹⁾}; v_k) − I(z_{j⁽²⁾}; v_k)] / H(v_k),

where j⁽¹⁾ and j⁽²⁾ are the latent dimensions with the largest and second-largest mutual
information with v_k. A score near 1 means each factor is captured by one latent dimension alone;
near 0, by none or by several at once. Following the discretized estimator of
``disentanglement_lib`` (Locatello et al. 2019), each latent dimension (posterior means) is cut
into ``bins`` equal-width bins between its minimum and maximum, and I and H are the plug-in
discrete estimates (``sklearn.metrics.mutual_info_score``), in nats. Factors are discrete.

The MIG's standard error is the bootstrap's: the standard deviation of the MIG over
:data:`BOOTSTRAP` seeded resamples of the N rows (with replacement, binned afresh), the noise of
the estimate on these data, not of the training that made the latents.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from torch import Tensor

from torchlvm._checks import check_positive_int
from torchlvm.errors import DataError
from torchlvm.evaluation._records import metric

BOOTSTRAP = 50  # resamples of the rows behind the MIG's standard error


def discretize(latents: Tensor | np.ndarray, bins: int = 20) -> np.ndarray:
    """Bin each column of ``latents`` ``(N, J)`` into ``bins`` equal-width bins; ``(N, J)``
    int64 bin indices. A constant column falls into one bin."""
    z = np.asarray(latents, dtype=np.float64)
    codes = np.zeros(z.shape, dtype=np.int64)
    for j in range(z.shape[1]):  # a loop over latent dimensions, not data points
        edges = np.histogram_bin_edges(z[:, j], bins=bins)
        codes[:, j] = np.digitize(z[:, j], edges[1:-1])
    return codes


def mutual_information_matrix(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Plug-in I(z_j; v_k) in nats for discrete ``codes`` ``(N, J)`` and ``factors``
    ``(N, K)``; shape ``(J, K)``."""
    from sklearn.metrics import mutual_info_score

    return np.array(
        [
            [mutual_info_score(factors[:, k], codes[:, j]) for k in range(factors.shape[1])]
            for j in range(codes.shape[1])
        ]
    )


def mutual_information_gap(
    latents: Tensor | np.ndarray, factors: Mapping[str, Tensor | np.ndarray], *, bins: int = 20
) -> dict[str, Any]:
    """The MIG of a representation against known factors.

    Args:
        latents: posterior means ``(N, J)``, J ≥ 2 (one latent dimension has no second best).
        factors: factor name → discrete values ``(N,)``; each must vary.
        bins: bins per latent dimension.

    Returns:
        ``{"mig": metric in [0, 1] with its bootstrap ``stderr``, "per_factor": {name: gap / H},
        "mutual_information":
        (J, K) list of lists in nats, "factor_entropy": {name: nats}}``.

    Raises:
        DataError: for mismatched lengths, fewer than 2 latent dimensions, or a constant factor.
    """
    check_positive_int("bins", bins)
    z = np.asarray(latents, dtype=np.float64)
    names = list(factors)
    v = np.stack([np.asarray(factors[name]) for name in names], axis=1)  # (N, K)
    if z.ndim != 2 or z.shape[1] < 2:
        raise DataError(f"MIG needs latents (N, J) with J >= 2, got shape {z.shape}")
    if len(v) != len(z):
        raise DataError(f"latents have {len(z)} rows but the factors have {len(v)}")
    mi, entropy, gaps = _gaps(z, v, bins)
    if (entropy <= 0).any():
        constant = names[int(np.argmin(entropy))]
        raise DataError(f"factor {constant!r} is constant in this data; MIG needs varying factors")
    rng = np.random.default_rng(0)
    resampled = [
        _gaps(z[rows], v[rows], bins) for rows in rng.integers(len(z), size=(BOOTSTRAP, len(z)))
    ]
    migs = [g.mean() for _, h, g in resampled if (h > 0).all()]  # a resample may lose a factor
    return {
        "mig": metric(
            float(gaps.mean()),
            "MIG (0..1)",
            "estimate",
            stderr=float(np.std(migs, ddof=1)) if len(migs) > 1 else None,
            bins=bins,
            n=len(z),
            note="mutual information gap, Chen et al. 2018, discretized posterior means; "
            f"standard error from {len(migs)} bootstrap resamples of the rows",
        ),
        "per_factor": {name: float(g) for name, g in zip(names, gaps, strict=True)},
        "mutual_information": mi.tolist(),
        "factor_entropy": {name: float(h) for name, h in zip(names, entropy, strict=True)},
    }


def _gaps(z: np.ndarray, v: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The mutual information ``(J, K)``, the factors' entropies ``(K,)`` and each factor's
    normalized gap ``(K,)`` (inf or NaN where an entropy is 0) of latents ``z`` and factors
    ``v``."""
    from sklearn.metrics import mutual_info_score

    entropy = np.array([mutual_info_score(v[:, k], v[:, k]) for k in range(v.shape[1])])
    mi = mutual_information_matrix(discretize(z, bins), v)  # (J, K)
    top = np.sort(mi, axis=0)[::-1]  # (J, K), descending per factor
    with np.errstate(divide="ignore", invalid="ignore"):
        return mi, entropy, (top[0] - top[1]) / entropy
