"""The system's refusals (``OSError``: a full disk, a read-only place, permissions) reworded for
the user, in one way: the same errno (so the same ``OSError`` subclass, ``PermissionError`` and
the like), the path the user knows in place of a hidden one of torchlvm's, and what to do in
parentheses after the system's own words. The command line prints the result as one line
(:func:`torchlvm.cli.main`).
"""

from __future__ import annotations

import errno
import os

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
    what = err.strerror or str(err) or type(err).__name__
    where = None if filename is None else os.fspath(filename)
    return OSError(err.errno, what if fix is None else f"{what} ({fix})", where)
