"""One number of the evaluation record, labelled: a :class:`Quantity` is a value with its
``unit``, its ``kind`` (``"exact"``, ``"bound"`` — a lower bound on the quantity named —,
``"estimate"`` — stochastic —, ``"measured"`` or ``"undefined"``) and, where they apply, the
samples ``k``, the Monte Carlo ``stderr``, the spread over examples ``data_stderr`` and the
effective sample size ``ess``: no number without what it is and how it was got. A likelihood is a
:class:`Pair` (nats per example and bits per dimension); a number or section that does not exist
for a model is :class:`Undefined`, with the reason. The names of the per-data-point units
(:func:`example_noun`, :func:`nats_per`, :func:`table_units`, :func:`complete_rows`) are here too.

Reading is lenient: ``from_json`` takes any JSON and returns None for what is not a quantity,
never an exception. The ``_number``, ``_int``, ``_str``, ``_dict``, ``_q``, ``_pair`` and
``_drop_none`` helpers are the record modules' own (:mod:`.sections`, :mod:`.records`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["exact", "bound", "estimate", "approximation", "measured", "undefined"]
_LABELS = ("k", "stderr", "data_stderr", "ess")  # the labels a Quantity names as fields
_NOT_EXTRA = ("value", "unit", "kind", *_LABELS, "note")


def example_noun(table: bool) -> str:
    """What one data point is called in every unit and label of a run: a ``"row"`` of a table
    (a run whose data record holds a ``table``), else an ``"example"``. The one place the
    per-data-point units are named: metrics.json, the report and the CLI all take them from
    here (``"nats/row"``, ``"squared error/row"``, ...)."""
    return "row" if table else "example"


def nats_per(table: bool) -> str:
    """The unit of a likelihood per data point: ``"nats/row"`` for a table, else
    ``"nats/example"``."""
    return f"nats/{example_noun(table)}"


def table_units(standardized: bool) -> str:
    """Which values a table's numbers are of: the one place that says it for the likelihood,
    the observed-cell likelihood and the reconstruction error (metrics.json, the report, the
    CLI) and ``torchlvm fit``'s summary. A standardized run's densities are of the standardized
    columns (log p(x') = log p(x) + Σ_j log scale_j), not of the file's values."""
    return "in the run's standardized units" if standardized else "in the data's units"


def complete_rows(n: int, rows: int) -> str:
    """What the full-row sections of a split with missing cells cover: its ``n`` complete rows
    of ``rows``; every row's observed cells are in ``observed_likelihood``."""
    every = "the observed-cell likelihood covers every row"
    return f"on the {n} complete rows of {rows} only ({every})"


def _number(x: Any) -> float | None:
    """``x`` as a finite float, else None (booleans are not numbers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def is_quantity(x: Any) -> bool:
    """A dict with a scalar (or list of numbers) ``"value"``: ``{"value": -93.4, "unit": ...}``."""
    if not isinstance(x, dict) or "value" not in x:
        return False
    value = x["value"]
    if isinstance(value, list):
        return all(_number(v) is not None or isinstance(v, float) for v in value)
    return not isinstance(value, dict)


@dataclass(frozen=True)
class Quantity:
    """One labelled number (or list of numbers, e.g. per latent dimension)."""

    value: Any  # a number, a list of numbers, or None when undefined
    unit: str | None = None  # what it counts: "nats/example", "bits/dim", "accuracy", ...
    kind: Kind = "measured"  # how it was obtained
    k: int | None = None  # samples per example behind it
    stderr: float | None = None  # Monte Carlo standard error of value
    data_stderr: float | None = None  # spread over examples / sqrt(n)
    ess: float | None = None  # mean effective sample size of the importance weights
    note: str | None = None  # one sentence on what it is
    extra: Mapping[str, Any] = field(default_factory=dict)  # threshold, folds, n, chance, ...

    @property
    def number(self) -> float | None:
        """The value as a finite float, or None (undefined, a list, NaN or ±∞)."""
        return _number(self.value)

    @property
    def defined(self) -> bool:
        return self.kind != "undefined"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.unit is not None:
            out["unit"] = self.unit
        out["kind"] = self.kind
        for key in _LABELS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.extra)
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, x: Any) -> Quantity | None:
        """The quantity in ``x``, or None if ``x`` is not one."""
        if not is_quantity(x):
            return None
        kind = x.get("kind")
        return cls(
            value=x["value"],
            unit=_str(x.get("unit")),
            kind=kind
            if kind in ("exact", "bound", "estimate", "approximation", "measured", "undefined")
            else "measured",
            k=_int(x.get("k")),
            stderr=_number(x.get("stderr")),
            data_stderr=_number(x.get("data_stderr")),
            ess=_number(x.get("ess")),
            note=_str(x.get("note")),
            extra={key: v for key, v in x.items() if key not in _NOT_EXTRA},
        )


@dataclass(frozen=True)
class Undefined:
    """A section or number that does not exist for this model, and why."""

    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"value": None, "kind": "undefined", "note": self.reason}

    @classmethod
    def from_json(cls, x: Any) -> Undefined | None:
        if isinstance(x, dict) and x.get("kind") == "undefined":
            return cls(_str(x.get("note")) or "undefined for this model")
        return None


def _q(x: Any, key: str) -> Quantity | None:
    return Quantity.from_json(_dict(x).get(key))


@dataclass(frozen=True)
class Pair:
    """A likelihood in nats per example with its twin in bits per dimension."""

    nats: Quantity
    bits_per_dim: Quantity | None = None

    def to_json(self) -> dict[str, Any]:
        if self.bits_per_dim is None:
            return self.nats.to_json()
        return {"nats": self.nats.to_json(), "bits_per_dim": self.bits_per_dim.to_json()}

    @classmethod
    def from_json(cls, x: Any) -> Pair | None:
        """A ``{"nats", "bits_per_dim"}`` pair, or a bare quantity (files before the pair)."""
        bare = Quantity.from_json(x)
        if bare is not None:
            return cls(bare)
        nats = _q(x, "nats")
        return None if nats is None else cls(nats, _q(x, "bits_per_dim"))


def _pair(x: Any, key: str) -> Pair | None:
    return Pair.from_json(_dict(x).get(key))


def _json(record: Any) -> Any:
    return record.to_json() if hasattr(record, "to_json") else record


def _drop_none(items: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _json(value) for key, value in items.items() if value is not None}
