"""``torchlvm impute`` of a run trained with ``--mmap``: the --eval-n rows imputed are read,
and the training split's mean (the baseline) is summed a block at a time; nothing is read
whole."""

from torchlvm import cli
from torchlvm.data import load_dataset

ROWS = 1200  # the conftest's streamed_run: a test split of 120 rows, three batches in all


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
