"""``torchlvm impute`` of a run trained with ``--mmap``: the --eval-n rows imputed are read,
and the training split's mean (the baseline) is summed a block at a time; nothing is read
whole."""

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.data.memmap import MemmapRows
from torchlvm.models import VAE, VAEConfig

ROWS = 1200  # the test split's 120 rows; every row (--split all) is three batches of BATCH


@pytest.fixture
def streamed_run(tmp_path):
    """A VAE run that records a float32 .npy of 8x8 images read with --mmap."""
    images = np.random.default_rng(0).random((ROWS, 8, 8)).astype(np.float32)
    np.save(tmp_path / "big.npy", images)
    data = {"name": str(tmp_path / "big.npy"), "binarize": "none", "seed": 0,
            "condition": "none", "shape": [1, 8, 8], "options": {"mmap": True}}  # fmt: skip
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=3, hidden=(16,), likelihood="gaussian"))
    return model.save_pretrained(tmp_path / "run", data=data), tmp_path / "big.npy"


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The rows of each positioned read of a streamed file."""
    made: list[int] = []
    through = MemmapRows._read
    monkeypatch.setattr(MemmapRows, "_read", lambda self, rows: made.append(len(rows)) or
                        through(self, rows))  # fmt: skip
    return made


def test_impute_reads_the_rows_it_imputes_and_sums_the_baseline(streamed_run, reads, capsys):
    """impute read a --mmap run's test and training splits into memory whole."""
    run, path = streamed_run
    argv = ["impute", str(run), "--mask", "top", "--eval-n", "50", "--iterations", "2",
            "--out", str(run / "i.png")]  # fmt: skip
    assert cli.main(argv) == 0
    assert sorted(reads) == [50, 960]  # the rows imputed; the training split, in one block
    x = load_dataset(path, "test").x[:50].double()
    mean = load_dataset(path, "train").x.double().mean(0)
    baseline = float((x[:, :32] - mean[:32]).pow(2).mean())  # the top half of an 8x8 image
    out = capsys.readouterr().out
    said = out.split("(model), ")[1].split(" (baseline")[0]
    assert abs(float(said) - baseline) < 10 ** -(len(said.split(".")[1]) - 1), (said, baseline)
