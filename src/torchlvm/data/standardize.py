"""Standardization of real-valued columns: x' = (x − mean) / scale, fitted on the train split.

A :class:`Standardizer` is fitted once, on the rows a model trains on (missing cells, NaN, are left
out of each column's statistics), recorded with the run (:meth:`Standardizer.to_dict`), applied to
every file the run later reads and inverted on every output (samples, reconstructions,
imputations), so the user sees values in their own units. ``scale`` is the population standard
deviation (``ddof=0``, as scikit-learn's ``StandardScaler``).

Densities change with the units: for a row x in the user's units,
log p(x) = log p(x') − Σ_d log scale_d (:meth:`Standardizer.log_jacobian`, nats per row).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm.data.columns import drop_option
from torchlvm.data.csv_column import column_name, drop_for
from torchlvm.data.standardize_checks import warn_misleading
from torchlvm.errors import DataError, Spell, spelled

# relative to a column's mean magnitude; below it a column counts as constant (a spread of
# rounding error, which standardizing would blow up to unit variance)
_CONSTANT = 1e-12


def _column_name(columns: Sequence[str] | None, j: int, places: Sequence[int] = ()) -> str:
    """How a message names feature ``j``: a file without a header's by its ``places`` (its
    file index), as every other message names such a column (``column 3 (index 2)``,
    :func:`~torchlvm.data.csv_column.column_name`: this said ``column 2 (counting from 0)``, an
    index among the features, readC C1); else by its name (``column 'proline'``, a header's
    ``'column 3'`` too: readE E1); an array's by its index."""
    if places:
        return column_name(None, places[j])
    return f"column {columns[j]!r}" if columns else f"column {j} (counting from 0)"


def _drop(
    spell: Spell, columns: Sequence[str] | None, indices: Sequence[int], places: Sequence[int] = ()
) -> str:
    """``drop_columns`` set to feature columns ``indices`` as ``spell`` writes it: a file
    without a header's by file index (``places``; it offered a bare ``--drop-columns``, readC
    C1), else by name; an array's bare option (an index among the features is not the file's)."""
    if places:
        return drop_for(spell, None, [places[j] for j in indices])
    if not columns:
        return spell("drop_columns", None)
    return drop_option(spell, [columns[j] for j in indices])


def check_observed(
    x: Tensor,
    columns: Sequence[str] | None = None,
    *,
    source: str | None = None,
    places: Sequence[int] = (),
) -> None:
    """Refuse a column of the train split ``x`` ``(N, D)`` (NaN: a missing cell) with no
    observed value, naming the first (as :meth:`Standardizer.fit` names columns) and the way to
    drop it: no statistics can be taken of it, and a model trained around missing cells learns
    nothing of it, so ``impute`` filled all 100 cells of such a column of an ``.npy`` file from
    a decoder never trained on it, without a word (review17 R8).

    Raises:
        DataError: for such a column.
    """
    count = (~torch.isnan(x)).sum(0)
    if not (count == 0).any():
        return
    j = int((count == 0).nonzero()[0])
    at = "" if source is None else f"{source}: "
    if not columns and not places:  # an array: no option drops its columns
        raise DataError(
            f"{at}{_column_name(columns, j)} has no observed value in the train split (all "
            f"NaN), so a model learns nothing of it; remove it from the array (numpy: "
            f"np.delete(x, {j}, axis=1))"
        )
    raise spelled(
        DataError,
        lambda spell: (
            f"{at}{_column_name(columns, j, places)} has no observed value in the train split; "
            f"drop it ({_drop(spell, columns, [j], places)})"
        ),
    )


@dataclass(frozen=True)
class Standardizer:
    """Per-column mean and scale of a table, in the user's units.

    Attributes:
        mean: ``(D,)`` per-column means.
        scale: ``(D,)`` per-column standard deviations, all > 0.
    """

    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.mean) != len(self.scale) or not self.mean:
            raise DataError(
                f"a standardization needs one mean and one scale per column, got "
                f"{len(self.mean)} and {len(self.scale)}; re-create the run"
            )
        if not all(math.isfinite(m) for m in self.mean) or not all(
            math.isfinite(s) and s > 0 for s in self.scale
        ):
            raise DataError("a recorded standardization holds a non-finite mean or scale ≤ 0")

    @classmethod
    def fit(
        cls,
        x: Tensor,
        columns: Sequence[str] | None = None,
        *,
        source: str | None = None,
        lines: Sequence[int] | None = None,
        places: Sequence[int] = (),
    ) -> Standardizer:
        """Mean and standard deviation of each column of ``x`` ``(N, D)``, NaN cells left out.

        Args:
            x: the train split, in the user's units; NaN marks a missing cell.
            columns: column names, for the error message.
            source: the file ``x`` was read from, which a message names first.
            lines: ``(N,)`` the file line of each row of ``x``, which a warning of a far cell
                names.
            places: for a file without a header, the file index of each column, by which a
                message names it and its drop (a header's names are names).

        Raises:
            DataError: for a column with no observed value or a constant column (its standard
                deviation is 0, so standardizing would divide by zero; not standardizing would
                not help: a learned σ of a constant column shrinks without end), naming the
                first and the one fix, dropping it.

        Warns:
            UserWarning: for a column observed in few rows, or whose standard deviation a few
                far cells set (:func:`~torchlvm.data.standardize_checks.warn_misleading`).
        """
        at = "" if source is None else f"{source}: "
        x = x.to(torch.float64)
        check_observed(x, columns, source=source, places=places)
        observed = ~torch.isnan(x)
        count = observed.sum(0)
        x0 = torch.where(observed, x, 0.0)
        mean = x0.sum(0) / count
        var = torch.where(observed, (x - mean) ** 2, 0.0).sum(0) / count
        scale = var.sqrt()
        constant = scale <= _CONSTANT * mean.abs()  # relative, so a column of 1e-30s varies
        if constant.any():
            every = [int(i) for i in constant.nonzero()[:, 0]]
            j = every[0]
            more = "" if len(every) == 1 else f" ({len(every)} such columns)"
            raise spelled(
                DataError,
                lambda spell: (
                    f"{at}{_column_name(columns, j, places)} is constant ({mean[j].item():g} in "
                    f"every row of the train split){more}, so standardizing divides by zero (and a "
                    "model learns nothing of it); "
                    f"drop {'it' if len(every) == 1 else 'them'} "
                    f"({_drop(spell, columns, every, places)})"
                ),
            )
        name = lambda j: _column_name(columns, j, places)  # noqa: E731
        drop = lambda spell, js: _drop(spell, columns, js, places)  # noqa: E731
        warn_misleading(x, observed, name, drop, at, lines)
        return cls(tuple(mean.tolist()), tuple(scale.tolist()))

    @property
    def dim(self) -> int:
        """D, the number of columns."""
        return len(self.mean)

    def _params(self, like: Tensor) -> tuple[Tensor, Tensor]:
        if like.shape[-1] != self.dim:
            raise DataError(
                f"data have {like.shape[-1]} columns but the standardization was fitted on "
                f"{self.dim}; pass a file with the run's columns"
            )
        mean = torch.tensor(self.mean, dtype=torch.float64).to(like.device)
        scale = torch.tensor(self.scale, dtype=torch.float64).to(like.device)
        return mean, scale

    def transform(self, x: Tensor) -> Tensor:
        """``(x − mean) / scale`` for ``x`` ``(..., D)`` in the user's units; NaN stays NaN."""
        mean, scale = self._params(x)
        return ((x.to(torch.float64) - mean) / scale).to(x.dtype)

    def inverse(self, x: Tensor) -> Tensor:
        """``x · scale + mean``: standardized ``(..., D)`` back to the user's units."""
        mean, scale = self._params(x)
        return (x.to(torch.float64) * scale + mean).to(x.dtype)

    def log_jacobian(self, observed: Tensor | None = None) -> Tensor:
        """−Σ_d log scale_d over each row's observed columns: add it to log p(x') for log p(x).

        Args:
            observed: bool ``(N, D)``, True where a cell is observed; None means every cell.

        Returns:
            A 0-d tensor (every cell observed) or ``(N,)``, in nats, float64.
        """
        log_scale = torch.tensor(self.scale, dtype=torch.float64).log()
        if observed is None:
            return -log_scale.sum()
        return -(observed.to(torch.float64).cpu() * log_scale).sum(-1)

    def first_difference(self, other: Standardizer) -> int | None:
        """The first column whose mean or scale differs from ``other``'s beyond float rounding
        (a file refitted after an edit), or None when they agree."""
        pairs = zip(self.mean, other.mean, self.scale, other.scale, strict=True)
        for j, (a, b, c, d) in enumerate(pairs):
            near = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            if not (near and math.isclose(c, d, rel_tol=1e-9, abs_tol=1e-12)):
                return j
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record ``{"mean": [...], "scale": [...]}``."""
        return {"mean": list(self.mean), "scale": list(self.scale)}

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Standardizer:
        """The inverse of :meth:`to_dict`.

        Raises:
            DataError: if the record is damaged.
        """
        try:
            mean = tuple(float(v) for v in record["mean"])
            scale = tuple(float(v) for v in record["scale"])
        except (KeyError, TypeError, ValueError):
            raise DataError(
                "the run's recorded standardization is damaged (needs mean and scale lists); "
                "re-create the run"
            ) from None
        return cls(mean, scale)


_CHUNK = 1 << 22  # values read at a time by data_scale (16 MiB of float32)


def data_scale(x: Any) -> float:
    """The data's own scale: the root mean square of the standard deviations of the columns of
    ``x`` ``(N, D)`` (a tensor, or a memory-mapped file's rows; NaN cells left out), the σ of
    a Gaussian p(x | z) that explains none of x's variance. A deep model's learned σ starts
    there by default (the command line's ``train`` off tables, the estimators'
    ``scale="auto"``): σ = 1 on digits / 16, whose pixels vary by 0.38 at most, learned
    nothing (no active latent unit); from x's own scale, 8 of 8 (userE). 1 for x that does not
    vary. Read in chunks of rows, summed in float64, so a file larger than memory streams."""
    n, d = x.shape[0], x.shape[1]
    step = max(1, _CHUNK // max(d, 1))
    total, count = torch.zeros(d, dtype=torch.float64), torch.zeros(d, dtype=torch.float64)
    for start in range(0, n, step):
        chunk = x[start : start + step].double()  # (B, D)
        total += chunk.nan_to_num(0.0).sum(0)
        count += (~chunk.isnan()).sum(0)
    mean = total / count  # (D,), NaN for a column of NaN
    squares = torch.zeros(d, dtype=torch.float64)
    for start in range(0, n, step):
        chunk = x[start : start + step].double()
        squares += (chunk - mean).square().nan_to_num(0.0).sum(0)
    sigma = float(torch.nanmean(squares / count).sqrt())
    return sigma if sigma > 0 and math.isfinite(sigma) else 1.0


LARGEST = 10.0
"""A feature's root mean square above which data are far from the unit scale that a deep
model with a Gaussian p(x | z) is made for (:func:`off_scale`)."""
SMALLEST = 0.1
"""The fraction of a fixed σ below which every feature's spread reads as noise."""


def off_scale(x: Tensor, sigma: float) -> tuple[str, int, float] | None:
    """How ``x`` ``(N, D)`` (NaN: missing) is far from the scale a deep model's Gaussian
    p(x | z) of initial σ ``sigma`` is made for (its network is initialized for inputs of about
    unit size, its prior is N(0, I)): ``("large", j, rms)``, feature ``j``'s root mean square
    above :data:`LARGEST` (``load_wine()``: 810; a VAE then reconstructs most features no
    better than their mean); ``("small", j, std)``, every feature's standard deviation below
    :data:`SMALLEST` of ``sigma`` (``j`` the widest; its posterior collapses); else None.
    Measured and explained in :mod:`torchlvm.estimators.scale`, whose warning uses it."""
    x = x.double()
    rms = torch.nanmean(x.square(), dim=0).sqrt().nan_to_num(0.0)  # (D,)
    if float(rms.max()) > LARGEST:
        j = int(rms.argmax())
        return "large", j, float(rms[j])
    spread = (x - torch.nanmean(x, dim=0)).square().nanmean(dim=0).sqrt().nan_to_num(0.0)
    if float(spread.max()) < SMALLEST * sigma:
        j = int(spread.argmax())
        return "small", j, float(spread[j])
    return None


def scale_warning(
    x: Tensor,
    sigma: float,
    columns: Sequence[str] | None,
    source: str,
    places: Sequence[int] = (),
) -> str | None:
    """The warning for a table ``x`` ``(N, D)`` read from ``source`` unstandardized, where a
    deep model of Gaussian σ ``sigma`` trains on it and it is :func:`off_scale`; None where it
    is not (the command line prints it; the fix, ``--standardize``, is the default there).
    ``places``: a file without a header's index of each column, by which it is named
    (``column 14 (index 13)``, as the other warnings here name it; it said ``column 'column
    14'``)."""
    found = off_scale(x, sigma)
    if found is None:
        return None
    kind, j, value = found
    fix = "leave out --no-standardize (a table file is standardized by default)"
    if kind == "large":
        return (
            f"{source}: {_column_name(columns, j, places)} has root mean square {value:.3g}, far "
            f"from the unit scale the model's network and its N(0, I) prior are made for, so "
            f"it may learn little of the data (its ELBO in these units is no guide); {fix}"
        )
    return (
        f"{source}: every column varies by less than {SMALLEST:g} of the likelihood's σ = "
        f"{sigma:g} (the widest, {_column_name(columns, j, places)}, by {value:.3g}), so the model "
        f"reads the data as noise around its mean; {fix}"
    )


def warn_of_scale(train: Any, config: Any) -> None:
    """Warn (:func:`scale_warning`) where a model of ``config`` with a Gaussian p(x | z)
    trains on ``train``, the train split of a table read unstandardized, far from unit scale;
    where a table is standardized (the command line's default), or the model is another, not."""
    if getattr(config, "likelihood", None) != "gaussian" or train.standardizer is not None:
        return
    if train.is_table:
        places = _headerless_places(train)
        said = scale_warning(train.x, float(config.scale), train.columns, train.name, places)
        if said is not None:
            warnings.warn(said, stacklevel=2)


def _headerless_places(table: Any) -> tuple[int, ...]:
    """The file index of each feature of ``table`` where its file has no header (its features
    are named by place, ``column 14``), else ``()`` (a header's names, ``'column 3'`` among
    them, are names: readE E1)."""
    from pathlib import Path

    from torchlvm.data.columns import is_default, position_of
    from torchlvm.data.csv_dialect import Dialect
    from torchlvm.data.csv_layout import first_rows

    columns = tuple(table.columns or ())
    if not columns or not is_default(columns):
        return ()
    try:
        first = first_rows(Path(table.name), table.dialect or Dialect())
    except (OSError, ValueError):
        return ()
    if first is None or first[0] is not None:
        return ()
    places = [position_of(name, len(first[1][0]) if first[1] else 0) for name in columns]
    return () if None in places else tuple(p for p in places if p is not None)
