"""``build_report``: one self-contained HTML page for one run, or side by side for several."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from torchlvm._files import write_atomic
from torchlvm.errors import ConfigError, spelled
from torchlvm.report.comparison import comparison_body
from torchlvm.report.html import page, run_body
from torchlvm.report.run import collect_run
from torchlvm.report.style import stacked_below

REPORT_NAME = "report.html"


def build_report(
    run_dirs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the HTML report of one or several run folders.

    Each folder needs ``config.json``; ``metrics.json``, ``metrics.csv`` and ``figures/*.png``
    are shown when present and named as missing otherwise.

    Args:
        run_dirs: run folders written by ``torchlvm train``, or one such folder.
        out: the HTML file to write (a folder means ``folder/report.html``). Optional for one
            run (default ``DIR/report.html``), required for several.

    Returns:
        The path of the report, written atomically.

    Raises:
        ConfigError: for no folders, or several without ``out``.
        RunDirectoryError: for a folder without ``config.json``.
    """
    # one folder as a string is one folder, not a sequence of one-letter folders
    one = isinstance(run_dirs, (str, os.PathLike))
    folders = [Path(run_dirs)] if one else [Path(d) for d in run_dirs]  # type: ignore[arg-type]
    if not folders:
        raise ConfigError("build_report needs at least one run folder, got none")
    if len(folders) > 1 and out is None:
        raise spelled(
            ConfigError,
            lambda spell: (
                f"a report on {len(folders)} run folders needs an output file: pass "
                f"{spell('out', 'comparison.html')} (or another name)"
            ),
        )
    runs = [collect_run(folder) for folder in folders]
    if len(runs) == 1:
        text = page(f"{runs[0].name} · torchlvm report", run_body(runs[0]))
    else:
        title = f"{len(runs)} runs · torchlvm report"
        text = page(title, comparison_body(runs), stacked_below(len(runs)))
    path = Path(out) if out is not None else folders[0] / REPORT_NAME
    if path.is_dir():
        path = path / REPORT_NAME
    # (a folder name that is not UTF-8 is shown with replacement characters)
    write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8", errors="replace"))
    return path
