"""Fixtures shared by the tests of the commands that stream a ``--mmap`` run's file (encode,
impute, reconstruct, score): a run that records such a file, and a count of the rows each
positioned read of it takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm.data.memmap import MemmapRows
from torchlvm.models import VAE, VAEConfig

STREAMED_ROWS = 1200  # the test split's 120 rows; every row (--split all) is three batches


@pytest.fixture
def streamed_run(streamed_run_of) -> tuple[Path, Path]:
    """A VAE run that records a float32 .npy of 8x8 images read with --mmap, and the file."""
    return streamed_run_of(np.random.default_rng(0).random((STREAMED_ROWS, 8, 8)), np.float32)


@pytest.fixture
def streamed_run_of(tmp_path: Path):
    """``(images, dtype) -> (run folder, file)``: ``images`` saved as ``big.npy`` and a
    Gaussian VAE run recording it as read with --mmap."""

    def save(images: np.ndarray, dtype: type = np.float32) -> tuple[Path, Path]:
        np.save(tmp_path / "big.npy", images.astype(dtype))
        data = {"name": str(tmp_path / "big.npy"), "binarize": "none", "seed": 0,
                "condition": "none", "shape": [1, 8, 8], "options": {"mmap": True}}  # fmt: skip
        torch.manual_seed(0)
        model = VAE(VAEConfig(input_dim=64, latent_dim=3, hidden=(16,), likelihood="gaussian"))
        return model.save_pretrained(tmp_path / "run", data=data), tmp_path / "big.npy"

    return save


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each positioned read of a streamed file."""
    made: list[int] = []
    through = MemmapRows._read
    monkeypatch.setattr(MemmapRows, "_read", lambda self, rows: made.append(len(rows)) or
                        through(self, rows))  # fmt: skip
    return made
