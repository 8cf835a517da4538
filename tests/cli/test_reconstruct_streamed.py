"""``torchlvm reconstruct`` of a run trained with ``--mmap``: the split is read a batch of rows
at a time, each row once; the error is that of the same rows read into memory."""

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.data.memmap import MemmapRows
from torchlvm.io import load
from torchlvm.models import VAE, VAEConfig
from torchlvm.run.loaded import BATCH

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


def test_reconstruct_reads_each_row_once_a_batch_at_a_time(streamed_run, reads, capsys):
    run, path = streamed_run
    argv = ["reconstruct", str(run), "--split", "all", "--n", "5", "--out", str(run / "r.png")]
    assert cli.main(argv) == 0
    assert sum(reads) == ROWS and max(reads) <= BATCH
    model = load(run)
    x = load_dataset(path, "all").x
    with torch.no_grad():
        recon = model.decode(model.encode(x).mean).mean
    mse = float((recon.double() - x.double()).pow(2).mean())
    out = capsys.readouterr().out
    assert f"{ROWS} images" in out and "wrote" in out and "(5 inputs and" in out
    said = out.split("reconstruction error: ")[1].split(" ± ")[0]
    assert abs(float(said) - mse) < 10 ** -(len(said.split(".")[1]) - 1)  # its last digit
