"""Which models have a closed form: the one rule by which a model's log p(x) is exact.

A model with a ``log_marginal`` method (PPCA) has an exact log p(x), and log p(x_o) of a row's
observed cells; its ``encode`` is then its exact posterior p(z | x), or p(z | x_o) of a row with
NaN cells. Scoring, imputation, the gaps, evaluation and the defensive proposal all ask this
one question, here.
"""

from __future__ import annotations

from typing import Any


def exact_log_px(model: Any) -> bool:
    """True for a model with an exact ``log_marginal`` (PPCA), whose ``encode`` is its exact
    posterior."""
    return callable(getattr(model, "log_marginal", None))
