"""Cells that hold dates, as tables write them: one test for the command line's table reader
(:func:`torchlvm.data.csv_cells.column_kind`) and the Python API's check of a DataFrame's columns
(:mod:`torchlvm._sklearn`), where a frame read from a CSV holds its dates as strings (userP #6)."""

from __future__ import annotations

import re
from collections.abc import Iterable

DATE = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?)?"
    r"|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}(?: \d{1,2}:\d{2}(?::\d{2})?)?"
)
"""A date, with or without its time: ISO (2020-01-31, 2020-01-31T08:00) or day and month
either way round (31.01.2020, 1/31/20)."""


def all_dates(cells: Iterable[str]) -> bool:
    """Whether every non-blank cell of ``cells`` is a date (:data:`DATE`), and there is one."""
    given = [c.strip() for c in cells if c.strip()]
    return bool(given) and all(DATE.fullmatch(c) for c in given)
