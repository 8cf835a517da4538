"""benchmarks/_machine.py: the result-file tail every benchmark script shares."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _machine import write_results  # noqa: E402


def test_write_results_makes_the_folder_writes_one_final_newline_and_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results" / "x.md"
    assert write_results(path, ["# X", "", "| a |", ""]) == "# X\n\n| a |\n"
    assert path.read_text(encoding="utf-8") == "# X\n\n| a |\n"
    assert capsys.readouterr().out == "# X\n\n| a |\n"
    write_results(path, ["", "second"], append=True)
    assert path.read_text(encoding="utf-8") == "# X\n\n| a |\n\nsecond\n"
    write_results(path, ["replaced"])
    assert path.read_text(encoding="utf-8") == "replaced\n"
