"""The run record: config.json once finished, checkpoints/run.json while training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from torchlvm.errors import DataError, RunDirectoryError
from torchlvm.run.record import SECTIONS, ordered, read_record


def test_config_json_is_read_before_the_training_record(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "run.json").write_text('{"model_type": "vae", "phase": "train"}')
    assert read_record(tmp_path)["phase"] == "train"
    (tmp_path / "config.json").write_text('{"model_type": "vae", "phase": "done"}')
    assert read_record(tmp_path)["phase"] == "done"


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (None, RunDirectoryError, r"holds no torchlvm run \(config.json and checkpoints/run.json"),
        (b"{half", DataError, "is not valid JSON"),
        (b"\xff\xfe", DataError, "is not valid JSON"),
        (b"[1, 2]", DataError, "is not a JSON object"),
    ],
    ids=["missing", "truncated", "not-utf8", "not-an-object"],
)
def test_a_missing_or_damaged_record_is_named(tmp_path: Path, text, error, match) -> None:
    if text is not None:
        (tmp_path / "config.json").write_bytes(text)
    with pytest.raises(error, match=match):
        read_record(tmp_path)


def test_sections_come_in_the_schema_order() -> None:
    record = {"cli": {}, "extra": 1, "data": {}, "model": {}, "model_type": "vae"}
    assert list(ordered(record)) == ["model_type", "model", "data", "cli", "extra"]
    assert SECTIONS[:2] == ("model_type", "model")
    assert json.loads(json.dumps(ordered(record))) == record
