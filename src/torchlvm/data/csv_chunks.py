"""A table of clean numbers read a chunk of rows at a time, each chunk's cells let go once read.

The reader (:mod:`torchlvm.data.csv_table`) holds every cell's text while it checks the rows,
about 70 bytes a cell as Python strings: 15 times a file of floats. A file that needs none of
its checks' messages (every row as wide as the header, or one empty cell wider, as a separator
at the end of a line makes it; no row repeating the header; every feature cell a number or a
missing marker) is read here instead, :data:`CHUNK` rows at a time, with the reader's own rules
(:func:`~torchlvm.data.csv_column.numbers`); where a row is anything else, :func:`chunked`
returns None and the reader reads the text whole, naming what it finds.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from torchlvm.data.csv_column import numbers
from torchlvm.data.csv_dialect import Dialect

CHUNK = 4096
"""Rows read at a time."""

KEPT = 64
"""After the first chunk, every this many rows is kept to tell the columns' forms
(:func:`~torchlvm.data.csv_form.forms_of`)."""


class Chunked(NamedTuple):
    """What :func:`chunked` read: the file line of each row, ``(N, K)`` float64 values, the
    label column's cells (or None), some rows as read (the first chunk, then every
    :data:`KEPT`-th), and the cells of each column it was asked to carry, as read."""

    lines: list[int]
    values: np.ndarray
    labels: list[str] | None
    some: list[list[str]]
    carried: list[list[str]]


def chunked(
    body: Iterator[tuple[int, list[str]]],
    header: Sequence[str],
    keep: Sequence[int],
    label: int | None,
    dialect: Dialect,
    carry: Sequence[int] = (),
) -> Chunked | None:
    """The rows of ``body`` (file line, cells; blank lines left out) under ``header``, their
    ``keep`` columns as numbers and their ``label`` column and ``carry`` columns as read (an ID
    a command writes beside its results: only those cells kept); None where a row is not a
    plain row of numbers (see the module docstring)."""
    width, first = len(header), header[0]
    lines: list[int] = []
    parts: list[np.ndarray] = []
    labels: list[str] | None = None if label is None else []
    carried: list[list[str]] = [[] for _ in carry]
    some: list[list[str]] = []
    chunk: list[list[str]] = []
    try:
        for line, row in body:
            if len(row) != width:
                if len(row) != width + 1 or row[-1].strip():
                    return None
                row = row[:-1]
            if row[0].strip() == first and [c.strip() for c in row] == list(header):
                return None
            lines.append(line)
            chunk.append(row)
            if len(lines) <= CHUNK or len(lines) % KEPT == 0:
                some.append(row)
            if len(chunk) == CHUNK:
                if not _taken(chunk, keep, label, dialect, parts, labels):
                    return None
                _carried(chunk, carry, carried)
                chunk = []
    except csv.Error:
        return None
    if chunk and not _taken(chunk, keep, label, dialect, parts, labels):
        return None
    _carried(chunk, carry, carried)
    if not lines:
        return None
    return Chunked(lines, np.concatenate(parts), labels, some, carried)


def _carried(chunk: list[list[str]], carry: Sequence[int], carried: list[list[str]]) -> None:
    """Append ``chunk``'s cells of each ``carry`` column to its list in ``carried``."""
    for cells, j in zip(carried, carry, strict=True):
        cells.extend(row[j] for row in chunk)


def _taken(
    chunk: list[list[str]],
    keep: Sequence[int],
    label: int | None,
    dialect: Dialect,
    parts: list[np.ndarray],
    labels: list[str] | None,
) -> bool:
    """Append ``chunk``'s ``keep`` columns as numbers to ``parts`` and its label cells to
    ``labels``; False where a cell is neither a number nor a missing marker."""
    values = np.empty((len(chunk), len(keep)))
    for k, j in enumerate(keep):
        column = numbers([row[j] for row in chunk], dialect)
        if column is None:
            return False
        values[:, k] = column
    parts.append(values)
    if labels is not None:
        labels.extend(row[label] for row in chunk)
    return True
