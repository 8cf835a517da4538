"""What a PPCA fit in a float type narrower than float64 does to the data, and the words for it:
a refusal the cast caused (:func:`lost_in_cast`: the data's variation rounded away), and a
:class:`PrecisionWarning` where a fit ran on rounded values (:func:`warn_if_cast_rounded`) or
fitted a noise variance σ² of the type's rounding (:func:`warn_if_noise_is_rounding`). One rule
says when the cast moved a column's variance: :func:`_moved`, by :data:`MOVED` of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from torchlvm._callers import callers_level
from torchlvm.errors import ConfigError, DataError
from torchlvm.models.ppca_fit import column_variances

MOVED = 0.01
"""The share by which a cast must change a column's variance to have rounded its variation."""


def _moved(before: Tensor, after: Tensor) -> Tensor:
    """Which columns' variances ``(D,)`` the cast moved from ``before`` to ``after`` by more
    than :data:`MOVED` of themselves (the one rule of :func:`lost_in_cast` and
    :func:`warn_if_cast_rounded`; a NaN variance is never moved)."""
    return (after - before).abs() > MOVED * before


def lost_in_cast(
    given: Any, X: Tensor, refit: Callable[[Tensor], Any] | None = None
) -> DataError | None:
    """The refusal to give when a fit of ``X`` failed because its float type rounded the data's
    variation away (userL #11: wine shifted by 1e8 steps by 8 in float32, 4 of its first 5
    columns turned constant, and that read as "no variance outside K directions"): some column's
    variance moved by more than 1% in the cast from ``given``, or spans fewer than 100 of the
    type's steps at the column's size (``given`` came in rounded: the fix is then before the cast
    that rounded it, not ``dtype='float64'``, review14 R11). ``None`` for float64, or
    where neither holds.

    The cast is taken for the cause only where ``refit`` of the data in float64 succeeds (a
    refusal of NaN with the closed form, or of too few rows, is the same in float64: readD D1),
    or where ``given`` itself came narrower than float64 with a column too coarse to vary.

    Args:
        given: the data as the caller passed it (array-like or tensor, ``(N, D)``).
        X: the same data after the cast to the fit's dtype, ``(N, D)``.
        refit: the fit that refused ``X``, to try on the data in float64 (None: not tried).
    """
    if X.dtype == torch.float64:
        return None
    try:
        wide = (
            given.detach().to(torch.float64)
            if isinstance(given, Tensor)
            else torch.from_numpy(np.array(given, dtype=np.float64))
        ).to(X.device)
    except (TypeError, ValueError):
        return None
    before, after = column_variances(wide), column_variances(X.to(torch.float64))  # (D,)
    sizes = X.to(torch.float64).nan_to_num(0.0).abs().amax(0)  # (D,)
    steps = torch.from_numpy(np.spacing(sizes.cpu().numpy().astype(_NUMPY[X.dtype])))
    coarse = (after > 0) & (after.sqrt() < 100 * steps.to(after))
    moved = _moved(before, after)  # (D,): by our cast
    lost = moved | coarse
    came = _type_name(given)  # e.g. ' (as float32)': the rounding was done before the fit
    ours = _fits(refit, wide)  # (float64 fits: the cast to X's type is what refused it)
    if not lost.any() or not (ours or (came and bool(coarse.any()))):
        return None
    columns = lost.nonzero().flatten().tolist()
    listed = ", ".join(map(str, columns[:5])) + (", ..." if len(columns) > 5 else "")
    size = float(sizes[columns].max())
    dtype = str(X.dtype).removeprefix("torch.")
    fix = (
        "pass dtype='float64', or subtract X's mean first (e.g. StandardScaler)"
        if ours
        else f"X came in rounded{came}: subtract its mean in float64 before casting it to "
        f"{dtype}, or keep it float64 and pass dtype='float64'"
    )
    constant = int(((after == 0) & ~lost & (sizes > 0)).sum())
    also = f", and {constant} more are constant, maybe from the same rounding" if constant else ""
    return DataError(
        f"X's values (up to {size:.3g} in size) lose their variation in {dtype}, whose steps "
        f"there are {float(np.spacing(np.asarray(size, dtype=_NUMPY[X.dtype]))):.3g}: too "
        f"little of it is left in {len(columns)} of its {X.shape[1]} features (feature "
        f"{listed}){also}; {fix}"
    )


def _fits(refit: Callable[[Tensor], Any] | None, wide: Tensor) -> bool:
    """Whether ``refit`` of the float64 data ``wide`` goes through (False where not given)."""
    if refit is None:
        return False
    try:
        refit(wide)
    except (DataError, ConfigError):
        return False
    return True


class PrecisionWarning(RuntimeWarning):
    """A fit ran on values that its float type rounded: the cast to ``dtype`` moved some
    column's variance by more than 1% (:func:`warn_if_cast_rounded`)."""


def warn_if_cast_rounded(given: Any, X: Tensor) -> None:
    """Warn, at the caller's line, where a fit that ran went on values whose cast from a wider
    ``given`` moved a column's variance by more than 1%: wine + 1e7 in float32 steps by 1 and
    fitted without a word (userL #11's milder case); so too from integers of more than 24 bits.
    One pass over each array, no copy of a float64 array or tensor (torch's variance reduction
    keeps no (N, D) temporary); columns holding NaN are not compared."""
    if X.dtype == torch.float64:
        return
    wide = given.detach() if isinstance(given, Tensor) else np.asarray(given)
    whole = str(wide.dtype).removeprefix("torch.") in ("int32", "int64", "uint32", "uint64")
    if wide.dtype not in (np.float64, torch.float64) and not whole:
        return  # (as narrow as X already: nothing of ours rounded it)
    with warnings.catch_warnings():  # a read-only array (a frame's) is only read here
        warnings.simplefilter("ignore", UserWarning)
        wide = torch.as_tensor(wide).to(X.device)
    if whole:  # (IDs, cents, timestamps: more digits than float32 keeps; readD D3)
        wide = wide.to(torch.float64)
    before, after = wide.var(0, correction=0), X.var(0, correction=0).double()  # (D,)
    moved = _moved(before, after).nonzero().flatten().tolist()
    if not moved:
        return
    listed = ", ".join(map(str, moved[:5])) + (", ..." if len(moved) > 5 else "")
    size = float(wide[:, moved].nan_to_num(0.0).abs().max())
    dtype = str(X.dtype).removeprefix("torch.")
    step = float(np.spacing(np.asarray(size, dtype=_NUMPY[X.dtype])))
    warnings.warn(
        f"X's values (up to {size:.3g} in size) lose part of their variation in {dtype}, whose "
        f"steps there are {step:.3g}: the cast changes the variance of {len(moved)} of its "
        f"{X.shape[1]} features (feature {listed}) by more than 1%, and the fit is of the "
        "rounded values; pass dtype='float64', or subtract X's mean first (e.g. StandardScaler)",
        PrecisionWarning,
        stacklevel=callers_level(),  # the user's line that called fit
    )


def warn_if_noise_is_rounding(X: Tensor, sigma2: Tensor) -> None:
    """Warn, at the caller's line, where the fitted noise variance σ² is no more than 10 times
    the variance that ``X``'s float type adds by rounding (step² / 12 per column, at each
    column's size): rank-2 data at 1e8 fitted in float32 with latent_dim=3 "succeeded" with a
    σ² of rounding noise, where float64 refuses them (review14 R18)."""
    if X.dtype == torch.float64:
        return
    sizes = X.nan_to_num(0.0).abs().amax(0).double().cpu().numpy()  # (D,)
    rounding = float(
        (np.spacing(sizes.astype(_NUMPY[X.dtype])).astype(np.float64) ** 2).mean() / 12
    )
    if not float(sigma2) <= 10 * rounding:
        return
    dtype = str(X.dtype).removeprefix("torch.")
    warnings.warn(
        f"the fitted noise variance σ² = {float(sigma2):.3g} is under 10 times the variance "
        f"{dtype}'s rounding adds to X's values ({rounding:.3g}, at sizes up to "
        f"{float(sizes.max()):.3g}): the data "
        "may have no variance left outside latent_dim directions, and the density is of the "
        "rounding; pass dtype='float64', or subtract X's mean first (e.g. StandardScaler)",
        PrecisionWarning,
        stacklevel=callers_level(),  # the user's line that called fit
    )


def _type_name(given: Any) -> str:
    """`` (as float32)`` for data of one float type narrower than float64 (an array, a tensor,
    a frame of such columns), else ``""``."""
    types = getattr(given, "dtypes", None)  # (a pandas frame: one per column)
    kinds = {str(t) for t in types} if types is not None else {str(getattr(given, "dtype", ""))}
    kinds = {kind.removeprefix("torch.") for kind in kinds}
    narrow = kinds <= {"float32", "float16", "bfloat16"} and len(kinds) == 1
    return f" (as {kinds.pop()})" if narrow else ""


_NUMPY = {torch.float32: np.float32, torch.float16: np.float16, torch.bfloat16: np.float32}


CONDITIONED = 1e-3
"""The most of float32's relative precision (``eps × cond(C)``) a fit may spend on its
covariance's spread of scales before log p(x) is said to be off: measured, fits at 2e-6 or less
(digits, standardized wine and breast_cancer) scored within 3e-4 nats a row of float64, fits at
0.014 or more (raw wine, raw breast_cancer, latent_dim 3 and 5) 0.11 to 4.5 nats off."""


def warn_if_ill_conditioned(W: Tensor, sigma2: Tensor) -> None:
    """Warn, at the caller's line, where the fitted covariance C = W Wᵀ + σ² I spans more scales
    than the fit's float type keeps apart (its condition number × the type's eps above
    :data:`CONDITIONED`): raw wine (proline's variance ~1e5 beside columns of ~1e-2) fitted in
    float32 with latent_dim=3 scored rows up to 0.11 nats off float64's, without a word, though
    its values were exact in float32 (userQ #5: the arithmetic, not the cast). Standardizing X
    is offered only where its columns' variances span that much too (:func:`_columns_spread`):
    low-noise data in one unit are as ill-conditioned standardized (review15 R11)."""
    if W.dtype == torch.float64:
        return
    top = float(torch.linalg.svdvals(W.double()).square().max()) if W.numel() else 0.0
    noise = float(sigma2)
    cond = (top + noise) / noise if noise > 0 else float("inf")
    eps = torch.finfo(W.dtype).eps
    if not cond * eps > CONDITIONED:
        return
    dtype = str(W.dtype).removeprefix("torch.")
    spread = _columns_spread(W, noise)
    fix = (
        f"standardize X first (e.g. StandardScaler: its columns' variances span a factor of "
        f"{spread:.3g}), or pass dtype='float64'"
        if spread * eps > CONDITIONED
        else "pass dtype='float64' (its columns' variances are alike: the spread is the data's "
        "signal over its noise, which standardizing keeps)"
    )
    warnings.warn(
        f"the fitted covariance's scales span a factor of {cond:.3g} (its condition number), more "
        f"than {dtype} keeps apart: log p(x) and the posteriors may be off by tenths of a nat a "
        f"row or more; {fix}",
        PrecisionWarning,
        stacklevel=callers_level(),  # the user's line that called fit
    )


def _columns_spread(W: Tensor, noise: float) -> float:
    """The greatest of the fitted covariance's diagonal, each column's variance ``‖W_i‖² + σ²``,
    over the least: what standardizing X divides away (raw wine: proline's ~1e5 beside ~1e-2)."""
    variances = W.double().square().sum(1) + noise  # (D,)
    return float(variances.max() / variances.min()) if noise > 0 else float("inf")
