"""Where a command keeps its per-user files when the user's home cannot hold them.

A container run as a uid without a home (``HOME=/``, a read-only or absent home, or an
``XDG_CACHE_HOME`` that cannot be written) left matplotlib's two multi-line complaints on stderr
("mkdir -p failed for path /.config/matplotlib", "Matplotlib created a temporary cache
directory ...; it is highly recommended to set the MPLCONFIGDIR environment variable") and
torchlvm's warning that it could not record the file it wrote (userV #12). There, a command uses
:func:`kept_folder`, a folder of the user's own under the system's temporary folder:

- :func:`quiet_matplotlib` points ``MPLCONFIGDIR`` there (where it is unset), before anything
  imports matplotlib;
- :mod:`torchlvm.run.written` keeps its record of written files there.

It imports no torchlvm package (README's layer order for ``_*.py`` modules).
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path


def can_hold(path: Path) -> bool:
    """Whether ``path`` is a folder this process can write in, or can be made as one: a folder
    can be made in it, or in its nearest existing parent, and is removed at once (a probe, as
    the permission bits do not say it: root may write anywhere by them, but not in /proc or on
    a read-only file system)."""
    for folder in (path, *path.parents):
        if os.path.lexists(folder):
            try:
                os.rmdir(tempfile.mkdtemp(prefix=".torchlvm-probe-", dir=folder))
            except OSError:
                return False
            return True
    return False


def _home() -> Path | None:
    try:
        return Path.home()
    except (RuntimeError, KeyError, OSError):  # (no HOME and no entry in the password file)
        return None


def _base(variable: str, default: str) -> Path | None:
    """``$variable`` (an XDG base folder), else ``~/default``; None where neither is known."""
    given = os.environ.get(variable)
    if given:
        return Path(given)
    home = _home()
    return None if home is None else home / default


def _ours(folder: Path) -> bool:
    """Whether ``folder`` is a real folder (no link) of this user that no one else may write."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.getuid()
        and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def kept_folder(name: str) -> Path | None:
    """``torchlvm-UID/name`` in the system's temporary folder, made for this user alone (mode
    0700) and kept for the next command; None where it is not this user's own folder (another
    user made it, a link) or cannot be made."""
    if not hasattr(os, "getuid"):
        return None
    root = Path(tempfile.gettempdir()) / f"torchlvm-{os.getuid()}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        if not _ours(root):
            return None
        (root / name).mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return root / name if _ours(root / name) else None


def private_folder(name: str) -> Path:
    """:func:`kept_folder`, or where there is none a new temporary folder that goes when this
    process ends.

    Raises:
        OSError: no temporary folder can be made."""
    folder = kept_folder(name)
    if folder is None:
        folder = Path(tempfile.mkdtemp(prefix=f"torchlvm-{name}-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def quiet_matplotlib() -> None:
    """Point ``MPLCONFIGDIR`` at :func:`private_folder` where it is unset and matplotlib could
    not write its own folders (``$XDG_CONFIG_HOME/matplotlib`` or ``~/.config/matplotlib``,
    and the same under the cache folder), as its warning asks; else leave it. Call it before
    matplotlib's import, which settles those folders."""
    if os.environ.get("MPLCONFIGDIR") or "matplotlib" in sys.modules:
        return
    if not sys.platform.startswith(("linux", "freebsd")):
        home = _home()
        wanted = [None if home is None else home / ".matplotlib"]
    else:
        wanted = [_base("XDG_CONFIG_HOME", ".config"), _base("XDG_CACHE_HOME", ".cache")]
        wanted = [None if base is None else base / "matplotlib" for base in wanted]
    if all(path is not None and can_hold(path) for path in wanted):
        return
    try:
        os.environ["MPLCONFIGDIR"] = str(private_folder("matplotlib"))
    except OSError:  # (no temporary folder either: matplotlib says so itself)
        pass
