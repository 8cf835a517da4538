"""The HTML report of a run (or several side by side): metrics, figures, config, protocol.

:func:`build_report` gathers ``config.json``, ``metrics.json``, ``metrics.csv`` and
``figures/*.png`` from run folders into one self-contained page (figures embedded, inline CSS, no
scripts, nothing fetched), stating whatever is missing instead of failing.
"""

from torchlvm.report.build import REPORT_NAME, build_report
from torchlvm.report.run import FIGURE_CAPTIONS, collect_run

__all__ = ["FIGURE_CAPTIONS", "REPORT_NAME", "build_report", "collect_run"]
