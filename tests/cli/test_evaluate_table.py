"""The table ``torchlvm evaluate`` prints (cli/_evaluate_table.py), row by row."""

from __future__ import annotations

from torchlvm.cli._evaluate_table import WIDTH, _outlier_rows
from torchlvm.evaluation.records import Outliers


def test_a_skipped_sets_reason_is_printed_whole_wrapped_at_words() -> None:
    """A skip reason was cut at 80 characters, mid-word, losing its fix: it is wrapped."""
    reason = (
        "OOD set 'fashion-mnist' was not found (looked in /usr/share/datasets/fashion-mnist and "
        "$TORCHLVM_DATA/fashion-mnist); install dataset-fashion-mnist or pass --ood noise,flip"
    )
    rows = _outlier_rows(Outliers(skipped={"fashion-mnist": reason}))
    lines = "\n".join(rows[1:]).splitlines()
    assert len(lines) > 1 and all(len(line) <= WIDTH for line in lines)
    assert lines[0].startswith("  fashion-mnist: skipped")
    assert all(line.startswith(" " * 47) for line in lines[1:])  # under the first line's text
    assert " ".join(line.strip() for line in lines).endswith(reason)  # every word, in order
