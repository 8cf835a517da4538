"""A missing OOD dataset is skipped with a reason the report shows to a command-line user: its
fix is --ood with the dataset's folder, named as the command line spells it. Not --data-dir:
on evaluate that flag also moves where the run's own data are read, and MNIST and
Fashion-MNIST share their IDX file names, so a Fashion-MNIST run would be evaluated on MNIST."""

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
    reason = skipped["mnist"]
    assert sets == [] and "(--ood FOLDER)" in reason and "$TORCHLVM_DATA/mnist" in reason
    assert "data-dir" not in reason and "ood=" not in reason
    assert f"looked in {tmp_path / 'none' / 'mnist'}" in reason  # by its name: not in data_dir
