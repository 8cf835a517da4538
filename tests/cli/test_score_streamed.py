"""``torchlvm score`` of a .npy file with a run trained with ``--mmap``: the file is scored a
block of rows at a time, each row read once, with the scores of the rows read into memory; a
row with missing values is scored on the others, and one with none is refused as a full read
refuses it."""

import csv

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm.cli import score
from torchlvm.data.files import read_rows
from torchlvm.inference.row_scores import ROWS, score_rows
from torchlvm.io import load

N = 1100  # five blocks of ROWS rows with BLOCKS = 1


@pytest.fixture
def streamed_run(streamed_run_of):
    """The conftest's run, of N images of which two have missing pixels, and the file."""
    images = np.random.default_rng(0).random((N, 8, 8)).astype(np.float32)
    images[[3, 700], 2, :5] = np.nan  # two rows scored on their other pixels
    return streamed_run_of(images)


def test_a_streamed_file_is_scored_a_block_at_a_time(streamed_run, reads, monkeypatch):
    """score read the whole file into memory (read_rows) whatever the run."""
    monkeypatch.setattr(score, "BLOCKS", 1)
    run, path = streamed_run
    argv = ["score", str(run), "--data", str(path), "--out", str(run / "s.csv"), "--samples", "20"]
    assert cli.main(argv) == 0
    assert sum(reads) == N and max(reads) <= ROWS  # every row once, a block at a time
    with open(run / "s.csv", newline="") as f:
        written = list(csv.DictReader(f))
    x = read_rows(path, allow_missing=True, allow_empty="columns").data.x
    model = load(run)
    torch.manual_seed(0)  # (as score seeds its draws)
    expected = score_rows(model, x, samples=20)
    got = np.array([float(row["neg_log_p"]) for row in written])
    np.testing.assert_allclose(got, expected.neg_log_p, rtol=1e-5)
    assert [int(row["observed"]) for row in written] == expected.observed.tolist()
    assert int(written[3]["observed"]) == 59


@pytest.mark.parametrize("value", [np.nan, np.inf], ids=["empty-image", "inf"])
def test_a_streamed_file_is_refused_as_a_full_read_refuses_it(streamed_run, capsys, value):
    """An image with no value, or an infinite one, in one line that says what a full read says
    (read_rows, which scored such files whole)."""
    from torchlvm.errors import DataError

    run, path = streamed_run
    images = np.load(path)
    images[5] = np.nan if np.isnan(value) else images[5]
    images[5, 0, 0] = value
    np.save(path, images)
    with pytest.raises(DataError) as full:
        read_rows(path, allow_missing=True, allow_empty="columns")
    argv = ["score", str(run), "--data", str(path), "--out", str(run / "s.csv")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1
    said = str(full.value).split("; ")[0]  # (the fix of an infinity names no streaming)
    assert said in err and "image 5" in said, (said, err)
    assert not (run / "s.csv").exists()
