"""Write a self-contained HTML report of a run: metrics, figures, config and data protocol.

With one run folder the report goes to DIR/report.html; with several, --out names the file that
holds them side by side, and says when their numbers cannot be ranked: other data or data
protocol, another likelihood (a CVAE's log p(x | c) is not log p(x)), or another evaluation
split. Missing metrics or figures are stated in the report, not an error.
A report replaces an earlier torchlvm report; another file torchlvm wrote there, unchanged since,
only with --overwrite; a file of yours, or a run's own files (config.json, model.safetensors,
metrics, checkpoints), never.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm._os_errors import reworded, unwritable
from torchlvm._shell import quoted

HELP = "write an HTML report of one run, or of several side by side"


def configure(parser: argparse.ArgumentParser) -> None:
    from torchlvm.cli import _types

    parser.add_argument(
        "dirs", nargs="+", metavar="DIR", type=_types.given_path, help="run folder(s)"
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        type=_types.given_path,
        help="HTML file to write (default: DIR/report.html; required with several DIRs)",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --out that torchlvm wrote, unchanged since, that is not a "
        "report (a report is replaced without it; a file of yours never is)",
    )


def run(args: argparse.Namespace) -> int:
    from torchlvm.report import REPORT_NAME, build_report
    from torchlvm.report.run import check_run_folder
    from torchlvm.run import check_not_busy, output_file
    from torchlvm.run.layout import resolved_folder

    args.dirs = [resolved_folder(Path(folder)) for folder in args.dirs]  # (read once: R16)
    for folder in args.dirs:
        check_not_busy(folder)
        check_run_folder(folder)  # before --out is checked: a file or a run's subfolder is named
    out = args.out
    if out is None and len(args.dirs) == 1:
        out = Path(args.dirs[0]) / REPORT_NAME
    if out is not None:
        out = out / REPORT_NAME if out.is_dir() else out
        out = output_file(
            out, out, suffix=(".html", ".htm"), overwrite=args.overwrite, ours=_is_report
        )
    try:
        path = build_report(args.dirs, out=out)
    except OSError as err:
        raise _elsewhere(err) if args.out is None else err from None
    print(f"report written to {path}")
    return 0


def _elsewhere(err: OSError) -> OSError:
    """``err``, a run folder's refusal of the report written into it by default (a read-only
    place, another user's run), naming --out, the way to write it where the user can."""
    if not unwritable(err):
        return err
    example = quoted(Path(err.filename or "run/x").parent.name + "-report.html")
    return reworded(
        err,
        err.filename,
        "the report goes into the run folder by default; write it where you can with --out "
        f"FILE.html, e.g. --out {example}",
    )


def _is_report(path: Path) -> bool:
    """Whether ``path`` is an HTML report that torchlvm wrote (its title says so)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return head.startswith(b"<!DOCTYPE html>") and b"torchlvm report</title>" in head
