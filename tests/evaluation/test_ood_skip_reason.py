"""A missing OOD dataset is skipped with a reason the report shows to a command-line user: its
fix names --data-dir, not the Python keyword data_dir."""

from types import SimpleNamespace

import torch

from torchlvm.data import load_dataset
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.outlier_section import ood_sets


def test_a_missing_ood_sets_reason_names_the_flag(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHLVM_DATA", str(tmp_path / "none"))
    digits = load_dataset("digits", "test")
    data = SimpleNamespace(x=digits.x[:4], grey=digits.x[:4], y=torch.as_tensor(digits.y[:4]))
    config = EvalConfig(ood=("mnist",), data_dir=str(tmp_path / "empty"))
    sets, skipped = ood_sets(digits, data, config)
    assert sets == [] and "--data-dir" in skipped["mnist"]
    assert "data_dir" not in skipped["mnist"]
