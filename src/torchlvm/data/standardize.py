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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm.errors import DataError, Spell, spelled

# relative to a column's mean magnitude; below it a column counts as constant (a spread of
# rounding error, which standardizing would blow up to unit variance)
_CONSTANT = 1e-12


def _column_name(columns: Sequence[str] | None, j: int) -> str:
    return repr(columns[j]) if columns else f"{j} (counting from 0)"


def _drop(spell: Spell, columns: Sequence[str] | None, indices: Sequence[int]) -> str:
    """``drop_columns`` set to feature columns ``indices`` as ``spell`` writes it, when they have
    names, else the bare option (an index among the features is not the file's index)."""
    if not columns:
        return spell("drop_columns", None)
    return spell("drop_columns", [columns[j] for j in indices])


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
    def fit(cls, x: Tensor, columns: Sequence[str] | None = None) -> Standardizer:
        """Mean and standard deviation of each column of ``x`` ``(N, D)``, NaN cells left out.

        Args:
            x: the train split, in the user's units; NaN marks a missing cell.
            columns: column names, for the error message.

        Raises:
            DataError: for a column with no observed value or a constant column (its standard
                deviation is 0, so standardizing would divide by zero), naming the first.
        """
        x = x.to(torch.float64)
        observed = ~torch.isnan(x)
        count = observed.sum(0)
        if (count == 0).any():
            j = int((count == 0).nonzero()[0])
            raise spelled(
                DataError,
                lambda spell: (
                    f"column {_column_name(columns, j)} has no observed value in the train "
                    f"split; drop it ({_drop(spell, columns, [j])})"
                ),
            )
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
                    f"column {_column_name(columns, j)} is constant ({mean[j].item():g} in every "
                    f"row of the train split){more}, so standardizing divides by zero; drop "
                    f"{'it' if len(every) == 1 else 'them'} ({_drop(spell, columns, every)}) or "
                    f"pass {spell('standardize', False)}"
                ),
            )
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
