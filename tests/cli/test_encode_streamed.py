"""``torchlvm encode`` of a run trained with ``--mmap``: the split is read a batch of rows at a
time, each row once, and encoded as the same rows read into memory are."""

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.io import load
from torchlvm.run.split import BATCH

ROWS = 1200  # the conftest's streamed_run: a test split of 120 rows, three batches in all


@pytest.mark.parametrize("split, count", [("test", 120), ("all", ROWS)], ids=["test", "all"])
def test_encode_reads_each_row_once_a_batch_at_a_time(streamed_run, reads, split, count):
    """encode read a --mmap run's split into memory whole before encoding it."""
    run, path = streamed_run
    assert cli.main(["encode", str(run), "--split", split, "--out", str(run / "z.npy")]) == 0
    assert sum(reads) == count and max(reads) <= BATCH  # every row once, a batch at a time
    means = np.load(run / "z.npy")
    model = load(run)
    with torch.no_grad():
        expected = model.encode(load_dataset(path, split).x).mean.numpy()
    np.testing.assert_allclose(means, expected, rtol=1e-5, atol=1e-6)


def test_a_streamed_file_that_changed_length_is_refused(streamed_run, capsys):
    """Rows appended to a --mmap run's file reshuffle its seeded splits (its test split would
    hold training rows) and were encoded silently; a file of the recorded size is read."""
    import json

    run, path = streamed_run
    record = json.loads((run / "config.json").read_text())
    record["data"]["file"] = {"bytes": path.stat().st_size}  # (as train records it)
    (run / "config.json").write_text(json.dumps(record))
    images = np.load(path)
    np.save(path, np.concatenate([images, images[:3]]))
    assert cli.main(["encode", str(run), "--out", str(run / "z.npy")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: {path} has changed since the run in ")
    assert err.count("\n") == 1 and "bytes; the run recorded" in err
    assert "put back the file the run was trained on" in err and not (run / "z.npy").exists()
    np.save(path, images)
    assert cli.main(["encode", str(run), "--out", str(run / "z.npy")]) == 0
