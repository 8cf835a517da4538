"""Fixtures for the data tests: IDX files written on the fly and an isolated search path."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from torchlvm.data import locate

IdxWriter = Callable[..., Path]


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: magic, big-endian dimensions, values."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def write_idx() -> IdxWriter:
    """``write_idx(path, array_or_bytes, gz=False)`` writes an IDX file and returns its path."""

    def write(path: Path, content: np.ndarray | bytes, gz: bool = False) -> Path:
        data = content if isinstance(content, bytes) else idx_bytes(content)
        if gz:
            path = path.with_name(path.name + ".gz")
            data = gzip.compress(data)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    return write


def small_mnist(n_train: int = 50, n_test: int = 20, side: int = 4, seed: int = 0):
    """Random images ``(N, side, side)`` and labels cycling 0..9 for a tiny MNIST-format set."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }


@pytest.fixture
def write_mnist(write_idx: IdxWriter) -> Callable[..., Path]:
    """``write_mnist(folder, gz=False, **sizes)`` writes the four files of a tiny dataset."""

    def write(folder: Path, gz: bool = False, **sizes: int) -> Path:
        for name, array in small_mnist(**sizes).items():
            write_idx(folder / name, array, gz=gz)
        return folder

    return write


@pytest.fixture
def isolated_search(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every search root (env, cache, system) at empty folders under ``tmp_path``."""
    roots = {
        "env": tmp_path / "env",
        "cache": tmp_path / "cache",
        "system": tmp_path / "system",
    }
    monkeypatch.setenv("TORCHLVM_DATA", str(roots["env"]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(roots["cache"]))
    monkeypatch.setattr(locate, "SYSTEM_DIR", roots["system"])
    return roots
