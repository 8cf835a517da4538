"""A PPCA that ``torchlvm fit`` made from a table reads rows standardized with the train split's
statistics, x' = (x − mean) / scale, which the commands apply and undo and the model does not.
Loaded by :func:`torchlvm.load` into Python, its scikit-learn methods took a DataFrame of the
file's own rows without a word: diabetes in its units scored −27,762 nats a row where the right
number, in the file's units, is −30.1 (userT #13). :func:`remember` gives such a model its run's
standardization; :func:`warn_if_in_file_units` names rows that are plainly in the file's units.

Rows are "plainly in the file's units" when their column means are far from the standardized
rows' 0 (beyond :data:`FAR` for the median column; one standardized row's median is about 0.67)
and several times (:data:`RATIO`) nearer the train split's means, measured in their scales:
standardized rows average 0 with a spread of 1, and the file's rows average the recorded means.
Columns whose recorded mean is near 0 tell the two apart only where others do not, so the median
over columns decides. Wine's raw column means lie a median 2.4 from 0 (hue 0.96, ash 2.4, ...)
and 0.03 scales from the recorded means (readH H8: a rule of 3 units from 0 missed them).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from torchlvm._callers import callers_level

FAR = 1.5
"""Beyond this many (standardized) units from 0, for the median column: rows that do not
average 0."""

RATIO = 3.0
"""How many times nearer the recorded means than 0 rows' column means are, for the median
column, to be the file's rows."""


def remember(model: Any, record: dict[str, Any]) -> None:
    """Give a loaded ``model`` with a scikit-learn face (``n_features_in_``) the standardization
    its run ``record`` holds (``data.table.standardize``, with ``data.table.columns``), which
    :func:`warn_if_in_file_units` reads; nothing for other runs."""
    table = (record.get("data") or {}).get("table") if isinstance(record, dict) else None
    if not isinstance(table, dict) or not isinstance(table.get("standardize"), dict):
        return
    if getattr(model, "n_features_in_", None) is None:
        return
    from torchlvm.data.standardize import Standardizer

    units = Standardizer.from_dict(table["standardize"])
    columns = table.get("columns")
    if len(units.mean) != model.n_features_in_:
        return
    if not isinstance(columns, list) or len(columns) != len(units.mean):
        columns = [f"column {j}" for j in range(len(units.mean))]
    model._file_units = (units, [str(name) for name in columns])


def warn_if_in_file_units(x: Tensor, units: Any, columns: list[str]) -> None:
    """Warn where rows ``x`` ``(N, D)``, given to a model that reads standardized rows, are
    plainly in the file's units (see the module docstring)."""
    mean = torch.tensor(units.mean, dtype=x.dtype, device=x.device)
    scale = torch.tensor(units.scale, dtype=x.dtype, device=x.device)
    averages = x.nanmean(0)
    if torch.isnan(averages).any():  # (a column of missing cells only)
        return
    as_file = ((averages - mean) / scale).abs().median()
    as_standardized = averages.abs().median()
    if not (as_standardized > FAR and RATIO * as_file < as_standardized):
        return
    j = int((mean / scale).abs().argmax())
    warnings.warn(
        f"X looks to be in its file's units (column {columns[j]!r} averages "
        f"{float(averages[j]):.4g}, the train split's mean {units.mean[j]:.4g}), but this model, "
        "fitted by torchlvm on a standardized table, reads rows as (x − mean) / scale with the "
        "means and scales of its config.json's data.table.standardize; standardize X first "
        "(help(torchlvm.load) shows how), or score the file with 'torchlvm score RUN --data FILE'",
        UserWarning,
        stacklevel=callers_level(),
    )
