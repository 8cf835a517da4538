"""A table file parsed once per command, each read still given arrays of its own.

A command reads its table once per split (``fit``: train, then test; ``train``: train, then
val; ``impute``: the rows to fill, then their cells to copy), and parsing the text is the cost:
about 3.8 s for 200,000 rows of 10 cells on two loaded cores, each time. Within
:func:`parsed_once` (the CLI wraps every command in it, the training data module its loads) the
last table parsed is kept, and a read of the same file, unchanged, with the same options is
served from it. Every read gets copies of the arrays (values, labels, lines), so a caller that
changes its split in place changes no other read; the kept cells' texts (``keep_cells``) are
shared and read only. Outside a block nothing is kept: a Python session that reads a file, edits
it and reads it again, or reads one large table, holds no copy of it.

The same block keeps what a streamed read learned of a whole file (:func:`kept`: the summary of
a ``.npy`` file's values that :mod:`torchlvm.data.memmap` makes in one pass), so the splits of
one command share one pass.

A file is the same file while its device, inode, size, modification and change times are
(``os.stat``): an edit, or a copy over it, changes one of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from torchlvm.data.csv_table import CSVTable

_depth = 0  # how many parsed_once blocks are open
_last: tuple[tuple[Any, ...], CSVTable] | None = None  # (file and options, the parse)
_facts: dict[tuple[Any, ...], Any] = {}  # (file, what) -> a fact learned by reading it whole

T = TypeVar("T")


@contextmanager
def parsed_once() -> Iterator[None]:
    """Keep the last table parsed, and the facts of :func:`kept`, until the outermost block
    ends (blocks nest)."""
    global _depth, _last
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            _last = None
            _facts.clear()


def kept(path: Path, what: tuple[Any, ...], learn: Callable[[], T]) -> T:
    """``learn()``'s fact ``what`` of the file at ``path``, or inside :func:`parsed_once` the
    one learned before of the same file, unchanged (facts are small: every one is kept)."""
    if _depth == 0:
        return learn()
    key = (_identity(path), what)  # before learning: a file changed meanwhile is read again
    if key not in _facts:
        _facts[key] = learn()
    return _facts[key]


def known(path: Path, what: tuple[Any, ...]) -> bool:
    """Whether inside :func:`parsed_once` a fact ``what`` of the file at ``path``, unchanged,
    was kept (:func:`kept`); False outside a block, or where the file cannot be read."""
    if _depth == 0:
        return False
    try:
        return (_identity(path), what) in _facts
    except OSError:
        return False


def _identity(path: Path) -> tuple[int, ...]:
    status = os.stat(path)
    return (
        status.st_dev,
        status.st_ino,
        status.st_size,
        status.st_mtime_ns,
        status.st_ctime_ns,
    )


def shared(
    path: Path, options: tuple[Any, ...], keep_cells: Any, parse: Callable[[], CSVTable]
) -> CSVTable:
    """``parse()``'s table of ``path`` read with ``options``, or inside :func:`parsed_once` the
    one kept from an earlier read of the same file with them (one that kept the cells where
    ``keep_cells``: every cell for True, the other columns' for ``"others"``); copies of its
    arrays either way."""
    global _last
    if _depth == 0:
        return parse()
    key = (_identity(path), options)  # before the parse: a file changed meanwhile is read again
    fewer = _last is not None and (
        (keep_cells is True and _last[1].cells is None)
        or (keep_cells == "others" and _last[1].carried is None)
    )
    if _last is None or _last[0] != key or fewer:
        _last = None  # the earlier parse is freed before this one is made
        _last = (key, parse())
    return _copied(_last[1])


def _copied(table: CSVTable) -> CSVTable:
    labels = None if table.labels is None else table.labels.copy()
    header = None if table.header is None else list(table.header)
    return replace(
        table, values=table.values.copy(), labels=labels, lines=table.lines.copy(), header=header
    )
