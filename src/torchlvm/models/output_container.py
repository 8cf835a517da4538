"""``impute``'s output in the container ``set_output`` asks for.

scikit-learn wraps the output of ``transform`` and ``fit_transform`` in the container that
``set_output(transform="pandas")`` (or ``sklearn.set_config(transform_output=...)``) names, and
no other method's: ``impute`` returned a bare array for a DataFrame in, its column names and
index gone, where scikit-learn's imputers return a DataFrame (userT #3). Here the filled X is
put in that container with X's own columns (not ``get_feature_names_out``'s, which name the
latents) and index.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_configured(estimator: Any, filled: np.ndarray, X: Any) -> Any:
    """``filled`` ``(N, D)``, X with its missing cells filled, as the container
    ``estimator``'s transform output is configured to be: a DataFrame (pandas or polars) with
    the columns fit saw (``feature_names_in_``, else x0, x1, ... as scikit-learn names them)
    and, for pandas, X's index; else ``filled`` itself, as is a stack of draws ``(M, N, D)``."""
    from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config

    dense = _get_output_config("transform", estimator)["dense"]
    if dense == "default" or filled.ndim != 2:
        return filled
    names = getattr(estimator, "feature_names_in_", None)
    columns = [f"x{i}" for i in range(filled.shape[1])] if names is None else list(names)
    return ADAPTERS_MANAGER.adapters[dense].create_container(filled, X, columns=columns)
