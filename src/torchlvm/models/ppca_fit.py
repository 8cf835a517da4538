"""PPCA's maximum-likelihood parameters from data (Tipping & Bishop 1999): the closed form from
the eigendecomposition of the ML sample covariance (PRML eqs. 12.45–12.46), or EM
(:mod:`torchlvm.models.ppca_em`, which also fits around missing entries), returned in the
canonical rotation; and the refusals of data that leave no variance for the noise σ² (too few
features, rows or directions), each naming the fix. What a float32 fit's cast does to the data
is :mod:`torchlvm.models.ppca_float32`'s.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from sklearn.exceptions import ConvergenceWarning
from torch import Tensor

from torchlvm._callers import callers_level
from torchlvm._sklearn import check_observed
from torchlvm.errors import ConfigError, DataError, Spell, on_command_line, spelled
from torchlvm.models import ppca_em

if TYPE_CHECKING:
    from torchlvm.models.ppca import PPCAConfig


def fit_parameters(
    X: Tensor, config: PPCAConfig, names: Sequence[str] | None = None
) -> tuple[Tensor, Tensor, Tensor, list[float]]:
    """ML ``(W (D, K), μ (D,), σ² 0-d, history)`` of X (N, D) by ``config.method``; W in the
    canonical rotation R = I (the left singular vectors, signs as scikit-learn's, times the
    singular values); ``history``: EM's mean log-likelihood per row at each iterate (empty for
    the closed form). ``names``: X's column names (a DataFrame's), by which a refusal names a
    column.

    Raises:
        ConfigError: for ``latent_dim`` not smaller than the number of features.
        DataError: for one feature, too few rows for K, NaN with the closed form, an all-NaN
            feature, or no variance left for σ².
    """
    D, K = X.shape[1], config.latent_dim
    if D == 1:
        raise DataError(
            "X has n_features=1, and PPCA needs at least 2 (latent_dim >= 1 must be smaller, "
            "to leave a direction for the noise variance); fit it to data with 2 or more "
            "features (one feature's Gaussian is just its mean and variance)"
        )
    if K >= D:
        raise spelled(ConfigError, lambda spell: (
            f"latent_dim must be smaller than the number of features, got latent_dim={K} "
            f"for X with n_features={D}; choose {spell('latent_dim')} from 1 to {D - 1}"
        ))  # fmt: skip
    check_rows(X.shape[0], K)
    missing = has_nan(X)
    if missing:
        check_observed(X, names, "PPCA")
    if missing and config.method == "closed_form":
        raise DataError(
            'X contains NaN; the closed form needs complete data — use method="em" for '
            "missing values"
        )
    history: list[float] = []
    if config.method == "closed_form":
        W, mu, sigma2, variance = closed_form(X, K)
        check_variance(variance, X)
    else:
        W, mu, sigma2, variance, history = _em(X, config, missing)
    if not sigma2 > 10 * torch.finfo(X.dtype).eps * variance:
        raise no_noise_left(K, X)
    U, s, _ = torch.linalg.svd(W, full_matrices=False)
    return flip_signs(U) * s, mu, sigma2.reshape(()), history  # C = W Wᵀ + σ² I unchanged


def _em(
    X: Tensor, config: PPCAConfig, missing: bool
) -> tuple[Tensor, Tensor, Tensor, float, list[float]]:
    """EM from the seeded start; returns ``(W, mu, sigma2, mean variance, history)``."""
    if missing:
        variance = float(((X - X.nanmean(0)) ** 2).nanmean())
    else:
        variance = float(X.var(0, correction=0).mean())
    check_variance(variance, X)
    D, K = X.shape[1], config.latent_dim
    W0, sigma2_0 = ppca_em.initial_loadings(D, K, variance, seed=config.seed, dtype=X.dtype)
    W0, sigma2_0 = W0.to(X.device), sigma2_0.to(X.device)  # (drawn on the CPU: the same start)
    run = ppca_em.em_missing if missing else ppca_em.em_complete
    trail: list[float] = []
    try:
        W, mu, sigma2, history = run(
            X, W0, sigma2_0, max_iter=config.max_iter, tol=config.tol, noise_trail=trail
        )
    except torch.linalg.LinAlgError:  # σ² went to 0: W Wᵀ + σ² I lost its full rank
        raise no_noise_left(K, X) from None
    if missing:  # (complete data: σ² → 0 is a rank, refused below by no_noise_left)
        check_noise_collapse(trail, variance, K, X)
    _warn_if_not_converged(history, config)
    return W, mu, sigma2, variance, history


class EMConvergenceWarning(ConvergenceWarning, RuntimeWarning):
    """PPCA's EM stopped at ``max_iter`` iterations before its mean log-likelihood settled
    within ``tol``. Its ``on_command_line`` names the options as the command line takes them
    (:func:`~torchlvm.errors.spelled`): ``fit ppca`` has ``--max-iter`` and no tolerance.

    A scikit-learn ``ConvergenceWarning`` too, as ``FactorAnalysis``' is: a grid search's
    ``filterwarnings("ignore", category=ConvergenceWarning)`` silences it (userT #11)."""


def _warn_if_not_converged(history: list[float], config: PPCAConfig) -> None:
    if len(history) - 1 >= config.max_iter and not ppca_em.settled(history, config.tol):
        change = ppca_em.last_change(history)

        def message(spell: Spell) -> str:
            tol = "" if spell is on_command_line else f" or {spell('tol')}"
            return (
                f"PPCA EM did not converge in {config.max_iter} iterations "
                f"({spell('max_iter', config.max_iter)}; last change {change:.3g} nats, above "
                f"the tolerance {config.tol:g}); raise {spell('max_iter')}{tol}"
            )

        warnings.warn(
            spelled(EMConvergenceWarning, message),
            stacklevel=callers_level(),  # the user's line that called fit
        )


def flip_signs(U: Tensor) -> Tensor:
    """Make the largest-magnitude entry of each column of ``U`` (D, K) positive (sklearn's
    ``svd_flip`` convention for ``components_``), so the axes are deterministic."""
    rows = U.abs().argmax(0)
    signs = torch.sign(U[rows, torch.arange(U.shape[1])])
    return U * torch.where(signs == 0, 1.0, signs)


def closed_form(X: Tensor, K: int) -> tuple[Tensor, Tensor, Tensor, float]:
    """ML parameters ``(W (D, K), μ (D,), σ² 0-d)`` from the eigendecomposition of S (D, D),
    and the mean variance per feature tr(S) / D. With fewer rows than features (N < D) the
    eigenpairs come from the thin SVD of the centred data (N, D) instead: S's other D − N
    eigenvalues are 0, and a (D, D) eigendecomposition of a wide table took minutes."""
    N, D = X.shape
    mu = X.mean(0)
    Xc = X - mu  # (N, D)
    if N < D:
        _, s, Vh = torch.linalg.svd(Xc, full_matrices=False)  # descending; (N,), (N, D)
        evals, evecs = torch.cat([s.square() / N, s.new_zeros(D - N)]), Vh.T  # (D,), (D, N)
    else:
        S = Xc.T @ Xc / N  # (D, D), divide by N: the ML estimate
        if not torch.isfinite(S).all():
            raise DataError(
                f"X's covariance overflows {X.dtype} (values up to {Xc.abs().max().item():.3g} "
                "from the mean); rescale X"
            )
        evals, evecs = torch.linalg.eigh(S)  # ascending
        evals, evecs = evals.flip(0), evecs.flip(1)
    sigma2 = evals[K:].mean()
    W = flip_signs(evecs[:, :K]) * (evals[:K] - sigma2).clamp_min(0).sqrt()
    return W, mu, sigma2, float(evals.sum()) / D


def no_noise_left(K: int, X: Tensor) -> DataError:
    """The refusal of σ² = 0 (relative to X's variance). Where X's columns differ in scale by
    more than its float type resolves beside each other (a column ~1e30 beside columns ~1), the
    small columns' variance is below the eigensolver's rounding, not absent: then the fix is
    standardizing, which no latent_dim replaces."""
    variances = column_variances(X)  # (D,)
    positive = variances[variances > 0]
    resolution = 10 * torch.finfo(X.dtype).eps * X.shape[1] * float(variances.mean())
    if len(positive) and float(positive.min()) < resolution:
        low, high = float(positive.min()), float(variances.max())
        return spelled(DataError, lambda spell: (
            f"X has no variance outside {K} directions that {X.dtype} can resolve: its column "
            f"variances from {low:.3g} to {high:.3g}: standardize X first ("
            + ("pass --standardize, the default for tables" if spell is on_command_line
               else "e.g. sklearn.preprocessing.StandardScaler in a Pipeline")
            + ")"
        ))  # fmt: skip
    if K == 1:
        return DataError(
            "X has no variance outside 1 direction, so the noise variance is 0 and the density "
            "is degenerate; the rows lie on one line, which PCA(n_components=1) describes exactly"
        )
    rank, largest = _rank(X)
    if rank is None or largest is None:  # (missing values: no covariance to read it from)
        return spelled(DataError, lambda spell: (
            f"X has no variance outside {K} directions, so the noise variance is 0 and the "
            f"density is degenerate; choose a smaller {spell('latent_dim')}"
        ))  # fmt: skip

    def given(spell: Any, k: int) -> str:  # latent_dim=5, --latent-dim 5
        return f"{spell('latent_dim')}{' ' if spell is on_command_line else '='}{k}"

    return spelled(DataError, lambda spell: (
        f"X varies in only {rank} directions (its covariance has rank {rank}), so "
        f"{given(spell, K)} leaves no variance for the noise (σ² = 0) and the density is "
        f"degenerate; choose {given(spell, largest)} or fewer"
    ))  # fmt: skip


COLLAPSED = 1e-4
"""σ² below this share of X's mean variance per feature, still falling, is EM's collapse."""


def check_noise_collapse(trail: list[float], variance: float, K: int, X: Tensor) -> None:
    """Refuse an EM fit whose noise variance σ² (``trail``: after each update) ends below
    :data:`COLLAPSED` of X's variance and fell by half or more over its last tenth of updates
    (at least 10): with many cells missing, K directions can match each row's few observed
    cells, the likelihood grows without bound as σ² → 0, and EM walks there slowly. Wine with
    70% of its cells missing at the default K = 6 stopped at 1,000 updates with σ² = 6.8e-12
    (1e-11 of the variance), a test log p(x_o) of −2.0e9 nats a row and imputations worse than
    the column means, and only a warning to raise max_iter, which gave the refusal of σ² = 0
    (userX #2); K = 4 converged in 86 updates at σ² = 0.19."""
    tail = max(10, len(trail) // 10)
    floor = 10 * torch.finfo(X.dtype).eps * variance  # (below: no_noise_left says more)
    if len(trail) <= tail or not floor < trail[-1] < COLLAPSED * variance:
        return
    start, end = trail[-tail - 1], trail[-1]
    if not end <= start / 2:
        return
    observed = (~torch.isnan(X)).sum(1).median().item()
    raise spelled(DataError, lambda spell: (
        f"PPCA's EM drove the noise variance σ² toward 0, from {start:.3g} to {end:.3g} over its "
        f"last {tail} updates (X's variance per feature: {variance:.3g}), so the fit is "
        f"degenerate: {K} latent direction{'s' if K > 1 else ''} can match the observed "
        f"cells of rows that observe few (a median of {observed:g} of {X.shape[1]} here), and "
        f"the likelihood has no maximum; choose a smaller {spell('latent_dim')}"
    ))  # fmt: skip


def column_variances(X: Tensor) -> Tensor:
    """Each column's ML variance ``(D,)`` over its observed (non-NaN) cells."""
    return (X - X.nanmean(0)).square().nanmean(0)


def _rank(X: Tensor) -> tuple[int | None, int | None]:
    """The number of directions complete ``X`` varies in (its covariance's eigenvalues above
    the noise floor :func:`fit` holds σ² to), and the largest latent size whose σ², the mean of
    the eigenvalues past it, clears that floor; ``(None, None)`` for X with NaN or a rank of 1
    or less. A user refused at K = 63 on digits was refused again at 62 and 61 (userE): the
    train split varies in 61 directions, and 60 is the largest K that fits."""
    if has_nan(X):
        return None, None
    N, D = X.shape
    evals = torch.linalg.svdvals(X - X.mean(0)).square() / N  # descending, min(N, D) of them
    evals = torch.cat([evals, evals.new_zeros(D - len(evals))])
    floor = 10 * torch.finfo(X.dtype).eps * float(evals.sum()) / D
    tail = evals.flip(0).cumsum(0).flip(0) / torch.arange(D, 0, -1, dtype=evals.dtype)
    fits = (tail[1:] > floor).nonzero()  # tail[k]: σ² at latent size k
    rank = int((evals > floor).sum())
    if rank <= 1 or not len(fits):
        return None, None
    return rank, int(fits[-1]) + 1


def check_rows(N: int, K: int) -> None:
    """Refuse N rows for K latent dimensions when K >= N − 1: the centred rows span at most
    N − 1 directions, so no variance is left for σ² (and the thin SVD has only N axes)."""
    if K < N - 1:
        return

    def fix(spell: Any) -> str:
        rows = f"fit at least {K + 2} rows"
        return (
            f"choose a smaller {spell('latent_dim')}, at most {N - 2}, or {rows}" if N > 2 else rows
        )

    raise spelled(DataError, lambda spell: (
        f"X has {N} rows, which span at most {N - 1} directions around their mean, so "
        f"latent_dim={K} leaves no variance for the noise (σ² = 0); {fix(spell)}"
    ))  # fmt: skip


def check_variance(variance: float, X: Tensor) -> None:
    """Refuse X whose mean variance per feature is 0: constant, or varying so little that the
    squares of its deviations underflow X's float type (X * 1e-200 was told it has "zero
    variance in every feature", where rescaling fits it: userT #8)."""
    if variance > 0:
        return
    observed = ~torch.isnan(X)
    high = torch.where(observed, X, -torch.inf).amax(0)
    low = torch.where(observed, X, torch.inf).amin(0)
    spread = float((high - low).nan_to_num(0.0, posinf=0.0, neginf=0.0).amax())
    if not spread > 0:
        raise DataError("X has zero variance in every feature; PPCA needs data that vary")
    dtype = str(X.dtype).removeprefix("torch.")
    power = -math.floor(math.log10(spread))  # (10.0 ** 309 overflows: subnormal X is divided)
    rescale = f"X * 1e+{power}" if power <= 308 else f"X / 1e-{min(power, 323)}"
    wider = spread > math.sqrt(torch.finfo(torch.float64).tiny) and X.dtype != torch.float64
    raise DataError(
        f"X varies by at most {spread:.3g} in any feature, whose square underflows {dtype} "
        f"(below {torch.finfo(X.dtype).tiny:.3g}), so its variance reads as 0; rescale X "
        f"(e.g. {rescale}){', or pass dtype=' + repr('float64') if wider else ''}"
    )


def has_nan(x: Tensor) -> bool:
    """Whether ``x`` (already free of inf) holds NaN; one reduction when it does not."""
    return not bool(torch.isfinite(x.sum())) and bool(torch.isnan(x).any())
