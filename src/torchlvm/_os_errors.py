"""The system's refusals (``OSError``: a full disk, a read-only place, permissions) reworded for
the user, in one way: the same errno (so the same ``OSError`` subclass, ``PermissionError`` and
the like), the path the user knows in place of a hidden one of torchlvm's, and what to do in
parentheses after the system's own words. The command line prints the result as one line
(:func:`torchlvm.cli.main`). numpy's short write, which has no errno ('1568000 requested and
524256 written'), is named for what it is: a full disk or a quota reached.
"""

from __future__ import annotations

import errno
import os
import re

UNWRITABLE = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
"""The errnos of a place this process may not write: a read-only file system or folder, a
folder of another user's."""


def unwritable(err: OSError) -> bool:
    """Whether ``err`` says that its place may not be written (:data:`UNWRITABLE`), which a
    copy elsewhere or another output path gets round, unlike a full disk."""
    return err.errno in UNWRITABLE


def reworded(
    err: OSError, filename: str | os.PathLike[str] | None, fix: str | None = None
) -> OSError:
    """``err`` naming ``filename`` (None: no file) and, where given, ``fix`` after the
    system's words: ``[Errno 30] Read-only file system (FIX): FILENAME``."""
    code, what = err.errno, err.strerror or str(err) or type(err).__name__
    where = None if filename is None else os.fspath(filename)
    if code is None and (short := _SHORT_WRITE.fullmatch(what)) is not None:
        code, what = _short_write(int(short[1]), int(short[2]))
    return OSError(code, what if fix is None else f"{what} ({fix})", where)


_SHORT_WRITE = re.compile(r"(\d+) requested and (\d+) written")
"""numpy's words for a write to a file that stopped short (``ndarray.tofile``, under
``np.save``), with no errno."""


def _short_write(requested: int, wrote: int) -> tuple[int, str]:
    """The errno and words of a write to a file of ``requested`` bytes that stopped at ``wrote``
    (userF: '1568000 requested and 524256 written' on a full tmpfs). A write to a file stops
    short on a full disk or a disk quota reached (a file size limit kills the process with
    SIGXFSZ instead); which one, numpy does not say, and the space is free again once the
    unfinished file is removed, so both are named."""
    counts = f"{requested:,} bytes to write, {wrote:,} written"
    return errno.ENOSPC, f"{os.strerror(errno.ENOSPC)}, or a disk quota reached ({counts})"
