"""Publishing a run folder without losing anything that was there.

A command that creates an output folder builds it under a temporary name beside the destination
and renames it into place only when everything is written, so a failure leaves nothing partial.
An existing folder that holds a run is refused unless the user asks to overwrite it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torchlvm.errors import RunDirectoryError


def check_out_dir(out: Path, *, overwrite: bool = False) -> None:
    """Refuse an output path that is a file, or a non-empty folder unless ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise RunDirectoryError(f"--out {out} is a file; pass a folder path")
    blocking = next((p for p in out.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise RunDirectoryError(
            f"--out {out} lies inside {blocking}, which is a file; pass a folder path"
        )
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise RunDirectoryError(
            f"--out {out} already exists and is not empty; pass --overwrite to replace it "
            "or choose another folder"
        )


@contextmanager
def staged_dir(out: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success it replaces ``out``, on failure it vanishes."""
    check_out_dir(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield stage
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(trash / "old")
            stage.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            stage.rename(out)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
