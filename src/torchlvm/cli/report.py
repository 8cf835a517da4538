"""Write a self-contained HTML report of a run: metrics, figures, config and data protocol.

With one run folder the report goes to DIR/report.html; with several, --out names the file that
holds them side by side. Missing metrics or figures are stated in the report, not an error.
"""

from __future__ import annotations

import argparse

HELP = "write an HTML report of one run, or of several side by side"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="run folder(s)")
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="HTML file to write (default DIR/report.html; required with several DIRs)",
    )


def run(args: argparse.Namespace) -> int:
    from torchlvm.report import build_report

    path = build_report(args.dirs, out=args.out)
    print(f"report written to {path}")
    return 0
