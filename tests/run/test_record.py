"""The run record: config.json once finished, checkpoints/run.json while training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import torchlvm
from torchlvm.errors import DataError, NonFiniteError, RunDirectoryError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.run.record import (
    SECTIONS,
    ordered,
    read_record,
    write_finished,
    write_training_record,
)


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


def test_the_training_record_then_the_finished_run_are_written_here(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(4,)))
    record = {"cli": {"argv": ["train"]}, "data": {"name": "X"}, "model_type": "vae"}
    write_training_record(tmp_path, record)
    assert read_record(tmp_path) == record  # checkpoints/run.json, while training
    assert list(json.loads((tmp_path / "checkpoints" / "run.json").read_text())) == [
        "model_type",
        "data",
        "cli",
    ]
    write_finished(tmp_path, model, {**record, "result": {"epochs": 1}})
    done = read_record(tmp_path)  # config.json, once finished
    assert list(done) == ["model_type", "model", "torchlvm_version", "data", "result", "cli"]
    assert done["model"]["latent_dim"] == 2 and done["result"] == {"epochs": 1}
    x = torch.randn(5, 3)
    torch.testing.assert_close(torchlvm.load(tmp_path).encode(x).mean, model.encode(x).mean)


def test_a_finished_run_with_non_finite_weights_writes_nothing(tmp_path: Path) -> None:
    model = VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(4,)))
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteError, match="refusing to save non-finite weights"):
        write_finished(tmp_path, model, {"data": {}})
    assert list(tmp_path.iterdir()) == []
