"""Writing tables as CSV, atomically (a half-written file never replaces anything).

Numbers are written with :func:`number_text`, the shortest text that reads back to the same
float64 (``repr``), so a value survives a round trip bit for bit; values a float32 model computed
are written with float32's shortest text.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from torchlvm._files import atomic_path
from torchlvm.data.csv_dialect import MARK, UTF16, Dialect


def number_text(value: float, *, single: bool = False) -> str:
    """The shortest text of ``value`` that reads back to the same float64 (``single``: to the
    same float32, for a value a float32 model computed: its further digits are rounding noise,
    ``2.5052406787872314`` for ``2.5052407``); NaN is empty."""
    if math.isnan(value):
        return ""
    return str(np.float32(value)) if single else repr(float(value))


def write_csv(
    path: str | os.PathLike[str],
    header: Sequence[str] | None,
    rows: Iterable[Sequence[str]],
    *,
    dialect: Dialect | None = None,
) -> None:
    """Write ``header`` (if any) and ``rows`` of cell texts to ``path`` atomically, with
    ``dialect``'s delimiter, line end and encoding (a file read with semicolons, LF line ends,
    or in Windows-1252, is written back so). A text the encoding cannot hold (a class named in
    another script, from a training file in UTF-8) is written in UTF-8 after a byte-order mark,
    which spreadsheets read as UTF-8, not refused. ``dialect`` None: commas, UTF-8, CRLF."""
    dialect = dialect or Dialect()
    text = io.StringIO(newline="")
    text.write(MARK if dialect.encoding in UTF16 else "")  # its byte order, for readers
    writer = csv.writer(text, delimiter=dialect.delimiter, lineterminator=dialect.newline)
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    write_encoded(path, text.getvalue(), dialect.encoding)


def write_encoded(path: str | os.PathLike[str], text: str, encoding: str) -> None:
    """Write a table's ``text`` to ``path`` atomically in ``encoding``, or in UTF-8 after a
    byte-order mark where ``encoding`` cannot hold it (see :func:`write_csv`); for text in
    UTF-8 whatever it holds, :func:`torchlvm._files.write_text`. A name ending in ``.gz`` is
    written gzipped."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8-sig")
    if str(path).lower().endswith(".gz"):  # (.csv.gz, .tsv.gz: read so too)
        data = gzip.compress(data, mtime=0)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)
