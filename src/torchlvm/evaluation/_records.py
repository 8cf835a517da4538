"""How every number in ``metrics.json`` is written: a value with what it is.

A metric is a dict ``{"value", "unit", "kind", ...}`` (read back as a
:class:`~torchlvm.evaluation.quantity.Quantity`): ``unit`` says what the number counts
(``"nats/example"``, ``"bits/dim"``, ``"accuracy"``, ...), ``kind`` says how it was obtained —
``"exact"``, ``"bound"`` (a lower bound on the quantity named) or ``"estimate"`` (a stochastic
estimate) — and further keys (``k``, ``stderr``, ``ess``, ``note``) say with how many samples and
how precisely.
"""

from __future__ import annotations

import math
from typing import Any, Literal

Kind = Literal["exact", "bound", "estimate", "approximation", "measured"]


def metric(value: Any, unit: str, kind: Kind, **extra: Any) -> dict[str, Any]:
    """A labelled number: ``{"value": value, "unit": unit, "kind": kind, **extra}``.

    Floats are converted to Python floats (NaN and inf stay; ``json`` writes them as such).
    ``None`` entries of ``extra`` are dropped.
    """
    record: dict[str, Any] = {"value": _plain(value), "unit": unit, "kind": kind}
    record.update({key: _plain(v) for key, v in extra.items() if v is not None})
    return record


def undefined(reason: str) -> dict[str, Any]:
    """A metric that does not exist for this model, with the reason."""
    return {"value": None, "kind": "undefined", "note": reason}


def bits_per_dim(nats_per_example: float, dim: int) -> float:
    """−log p(x) in bits per dimension: ``−nats / (D · ln 2)``."""
    return -nats_per_example / (dim * math.log(2))


def _plain(value: Any) -> Any:
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
