"""The rows an evaluation scores: of a split streamed from a ``.npy`` file (``mmap=True``, a run
trained with ``--mmap``) only those rows are read, and they are the rows, and give the numbers,
of the same split read into memory; more rows than memory holds are refused before any is read."""

import numpy as np
import pytest
import torch

from torchlvm import _memory
from torchlvm.data import load_dataset
from torchlvm.data.dataset import Dataset
from torchlvm.data.memmap import MemmapRows
from torchlvm.errors import OptionError
from torchlvm.evaluation import EvalConfig, evaluate
from torchlvm.evaluation.rows import evaluated_rows, subsample_index
from torchlvm.models import VAE, VAEConfig


@pytest.fixture
def npy(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "grey.npy"
    np.save(path, rng.integers(0, 256, (300, 4, 4), dtype=np.uint8))
    return path


@pytest.fixture
def read_rows(monkeypatch):
    """How many file rows each read of a streamed split asks for."""
    asked: list[int] = []
    original = MemmapRows._read

    def counted(self, rows):
        asked.append(len(rows))
        return original(self, rows)

    monkeypatch.setattr(MemmapRows, "_read", counted)
    return asked


@pytest.mark.parametrize(
    ("length", "n", "expected"),
    [(10, None, None), (10, 10, None), (10, 99, None), (10, 3, 3)],
    ids=["all", "n=length", "n>length", "n<length"],
)
def test_subsample_index_is_sorted_seeded_and_none_for_every_row(length, n, expected):
    index = subsample_index(length, n, seed=4)
    if expected is None:
        assert index is None
        return
    assert len(index) == expected and bool((index.diff() > 0).all())
    assert torch.equal(index, subsample_index(length, n, seed=4))
    assert not torch.equal(index, subsample_index(length, n, seed=5))


def test_only_the_evaluated_rows_of_a_streamed_split_are_read(npy, read_rows):
    streamed = load_dataset(str(npy), "test", mmap=True)  # 30 rows
    whole = streamed.in_memory()
    read_rows.clear()
    rows = evaluated_rows(streamed, 7, seed=3)
    assert read_rows == [7]
    assert isinstance(rows, Dataset) and len(rows) == 7
    assert rows.shape == whole.shape and rows.split == "test" and rows.name == whole.name
    torch.testing.assert_close(rows.x, whole.x[subsample_index(30, 7, 3)], rtol=0, atol=0)
    assert evaluated_rows(whole, 7, seed=3) is whole  # in memory: subsampled where scored
    assert len(evaluated_rows(streamed, None, seed=3)) == 30


@pytest.mark.parametrize("binarize", ["none", "threshold"])
def test_a_streamed_split_evaluates_to_the_numbers_of_the_split_in_memory(npy, binarize):
    """Under "dynamic" the draws differ (one per row in the file, one tensor in memory)."""
    torch.manual_seed(0)
    likelihood = "gaussian" if binarize == "none" else "bernoulli"
    model = VAE(VAEConfig(input_dim=16, latent_dim=2, hidden=(8,), likelihood=likelihood)).eval()
    streamed = load_dataset(str(npy), "test", mmap=True, binarize=binarize)
    config = EvalConfig(k=5, ks=(1,), n=9, ood=(), sample_quality=False, separability=False)
    a = evaluate(model, streamed, config).to_json()
    b = evaluate(model, streamed.in_memory(), config).to_json()
    for section in ("likelihood", "reconstruction", "latent"):
        assert a[section] == b[section], section
    assert a["protocol"]["n"] == 9
    # userM #18: the 9 rows read were recorded as the whole split ("n all" later)
    assert a["protocol"]["split_rows"] == b["protocol"]["split_rows"] == 30


def test_a_streamed_rows_draw_under_dynamic_binarization_does_not_depend_on_n(npy):
    """evaluated_rows drew the n rows it read as one tensor, so a row scored at --n 5 and at
    --n 10 had other 0s and 1s; the draw is now the file's per-row one."""
    streamed = load_dataset(str(npy), "test", mmap=True, binarize="dynamic")  # 30 rows
    drawn = streamed.fixed_binarized(4)[np.arange(30)]  # (30, D): each row's own draw
    for n in (5, 10, None):
        rows = evaluated_rows(streamed, n, seed=4)
        index = subsample_index(30, n, 4)
        expected = drawn if index is None else drawn[index]
        torch.testing.assert_close(rows.fixed_binarized(4), expected, rtol=0, atol=0)
        assert set(rows.fixed_binarized(4).unique().tolist()) <= {0.0, 1.0}
        assert not torch.equal(rows.fixed_binarized(5), rows.fixed_binarized(4))  # another seed


def test_more_evaluated_rows_than_memory_holds_are_refused_before_any_is_read(
    npy, read_rows, monkeypatch
):
    streamed = load_dataset(str(npy), "all", mmap=True)  # 300 rows of 16 values
    monkeypatch.setattr(
        _memory, "available", lambda: _memory.Available(100 * 2 * 16 * 4 + 1, "here")
    )
    read_rows.clear()
    with pytest.raises(OptionError, match=r"300 rows of the all split .* that fits: n=25$") as err:
        evaluated_rows(streamed, None, seed=0)  # (a quarter of the memory: 100 rows would fill it)
    assert err.value.on_command_line.endswith("that fits: --n 25")
    assert read_rows == []
    assert len(evaluated_rows(streamed, 25, seed=0)) == 25  # the fix it names fits
