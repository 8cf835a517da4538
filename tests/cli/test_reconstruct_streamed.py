"""``torchlvm reconstruct`` of a run trained with ``--mmap``: the split is read a batch of rows
at a time, each row once; the error is that of the same rows read into memory."""

import torch

from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.io import load
from torchlvm.run.split import BATCH

ROWS = 1200  # the conftest's streamed_run: a test split of 120 rows, three batches in all


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
