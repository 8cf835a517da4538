"""A table run's split rule: random, or stratified by class for a CVAE on a table's label column
(notes15/runs15.md "Item 8 design"), recorded in its data options and read by every command."""

import csv
import json

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm import run as _run
from torchlvm.data.files import FRACTIONS, load_file
from torchlvm.data.splits import split_indices

KINDS = ["a"] * 140 + ["b"] * 44 + ["c"] * 16


@pytest.fixture
def table(tmp_path):
    """200 rows of three classes (70/22/8 %), each row's id its place (0..199)."""
    rng = np.random.default_rng(1)
    kinds = rng.permutation(KINDS)
    x = rng.normal(size=(200, 2))
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "x1", "x2", "kind"])
        writer.writerows([[f"r{i}", *map(repr, x[i].tolist()), k] for i, k in enumerate(kinds)])
    return path, kinds, x


def _ids(codes) -> list[int]:
    rows = list(csv.reader(codes.open()))
    at = rows[0].index("id")
    return [int(r[at][1:]) for r in rows[1:]]


def test_a_record_without_the_rule_splits_a_table_as_before(table):
    """An old run's record has no "stratify": its table is split at random, the rows it was
    trained and tested on (split_indices without labels), labels or not."""
    path, _, x = table
    options = {"drop_columns": ["id"], "label_column": "kind"}
    for seed in (0, 7):
        test = load_file(path, "test", seed=seed, dtype="float64", **options)
        rows = split_indices(200, FRACTIONS, seed)[2]
        np.testing.assert_array_equal(test.x.numpy(), x[rows])


def test_a_cvae_on_a_tables_labels_is_split_by_class_and_its_commands_read_its_rows(
    table, tmp_path
):
    """Table splits were random for a CVAE: a class of 16 rows in 200 could leave the 20 test
    rows with none. A new CVAE run records "stratify": each class's share of the test rows is
    within one row of its share of the file; its standardization was fitted on those train
    rows, and evaluate's split and encode's row ids are those rows. A run without the record
    (an old run) reads its random rows."""
    path, kinds, x = table
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--drop-columns", "id", "--label-column"]
    argv += ["kind", "--latent-dim", "1", "--hidden", "4", "--epochs", "1", "--quiet"]
    assert cli.main([*argv, "--out", str(run)]) == 0
    resume = ["train", "cvae", "--resume", "--out", str(run), "--epochs", "2", "--quiet"]
    assert cli.main(resume) == 0  # (its rows: the record's options, and num_train checked)
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["options"]["stratify"] is True and config["result"]["epochs"] == 2
    seed = config["data"]["seed"]
    labels = np.searchsorted(["a", "b", "c"], kinds)
    for stratify, rows in ((True, split_indices(200, FRACTIONS, seed, labels)),
                           (False, split_indices(200, FRACTIONS, seed))):  # fmt: skip
        if not stratify:  # (as a run made before the rule)
            config["data"]["options"].pop("stratify")
            (run / "config.json").write_text(json.dumps(config))
        test = _run.load_split(_run.load_run(run), None, "test")
        assert len(test) == len(rows[2]) == 20
        mean = torch.tensor(config["data"]["table"]["standardize"]["mean"], dtype=torch.float64)
        user = test.standardizer.inverse(test.x.double())
        np.testing.assert_allclose(user.numpy(), x[rows[2]], rtol=1e-5, atol=1e-5)
        codes = tmp_path / f"codes-{stratify}.csv"
        argv = ["encode", str(run), "--split", "test", "--out", str(codes)]
        assert cli.main(argv) == 0
        assert _ids(codes) == rows[2].tolist()
    np.testing.assert_allclose(mean.numpy(), x[split_indices(200, FRACTIONS, seed, labels)[0]]
                               .mean(0), rtol=1e-6)  # fmt: skip
    shares = np.bincount(labels) / 200
    counts = np.bincount(labels[split_indices(200, FRACTIONS, seed, labels)[2]], minlength=3)
    assert (np.abs(counts - 20 * shares) <= 1).all(), counts


def test_a_vae_and_a_cvae_of_one_table_and_seed_test_on_the_same_rows(table, tmp_path):
    """readG G3: a VAE of a table with a label column was split at random, a CVAE of it by
    class, so the pair that compare's refusal tells a user to report side by side shared 1 of
    18 wine test rows. A run given the label column records "stratify", whatever its model
    (PPCA's fit too); one without a label column records no rule (random rows)."""
    path, kinds, _ = table
    common = ["--data", str(path), "--seed", "3", "--drop-columns", "id"]
    labelled = [*common, "--label-column", "kind"]
    small = ["--latent-dim", "1", "--hidden", "4", "--epochs", "1", "--quiet"]
    argv = {
        "vae": ["train", "vae", *labelled, *small],
        "cvae": ["train", "cvae", *labelled, *small],
        "ppca": ["fit", "ppca", *labelled, "--latent-dim", "1"],
        "bare": ["train", "vae", *common, "kind", *small],
    }
    ids = {}
    for name, words in argv.items():
        assert cli.main([*words, "--out", str(tmp_path / name)]) == 0
        codes = tmp_path / f"codes-{name}.csv"
        assert (
            cli.main(["encode", str(tmp_path / name), "--split", "test", "--out", str(codes)]) == 0
        )
        ids[name] = _ids(codes)
        options = json.loads((tmp_path / name / "config.json").read_text())["data"]["options"]
        assert options.get("stratify") is (None if name == "bare" else True), name
    labels = np.searchsorted(["a", "b", "c"], kinds)
    assert (
        ids["vae"]
        == ids["cvae"]
        == ids["ppca"]
        == split_indices(200, FRACTIONS, 3, labels)[2].tolist()
    )
    assert ids["bare"] == split_indices(200, FRACTIONS, 3)[2].tolist()


def test_a_split_of_the_runs_own_file_given_with_data_is_the_runs_split(table, tmp_path):
    """`encode RUN --data ITS_OWN.csv --split test` read seed 0's split of the file, not the
    run's: for a run of --seed 3, other rows, some of them trained on, named "the test split"
    (and R11's refusal in score offered that very command). It reads the run's rows, by its
    seed and classes, as encode without --data does; score --split takes the same rows."""
    path, kinds, _ = table
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--seed", "3", "--drop-columns", "id"]
    argv += ["--label-column", "kind", "--latent-dim", "1", "--hidden", "4", "--epochs", "1"]
    assert cli.main([*argv, "--quiet", "--out", str(run)]) == 0
    own, given, scored = (tmp_path / f"{n}.csv" for n in ("own", "given", "scored"))
    assert cli.main(["encode", str(run), "--split", "test", "--out", str(own)]) == 0
    argv = ["encode", str(run), "--data", str(path), "--split", "test", "--out", str(given)]
    assert cli.main(argv) == 0
    labels = np.searchsorted(["a", "b", "c"], kinds)
    assert _ids(own) == _ids(given) == split_indices(200, FRACTIONS, 3, labels)[2].tolist()
    argv = ["score", str(run), "--data", str(path), "--split", "test", "--samples", "2"]
    assert cli.main([*argv, "--out", str(scored)]) == 0
    assert _ids(scored) == _ids(own)


def test_a_copy_of_the_runs_own_file_is_split_as_the_run_split_it(table, tmp_path):
    """readI I1: a byte-identical copy of the run's file was 'another file', split by seed 0:
    `encode RUN --data copy.csv --split test` of a --seed 3 run named rows of the run's train
    split 'the test split', and score refused the copy's --split. A copy of the bytes the run
    recorded is the run's file; a file of other bytes is still seed 0's (encode) or refused
    (score)."""
    import shutil

    path, _, _ = table
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--seed", "3", "--drop-columns", "id"]
    argv += ["--label-column", "kind", "--latent-dim", "1", "--hidden", "4", "--epochs", "1"]
    assert cli.main([*argv, "--quiet", "--out", str(run)]) == 0
    copy = tmp_path / "elsewhere" / "copy.csv"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    own, given, scored = (tmp_path / f"{n}.csv" for n in ("own", "given", "scored"))
    assert cli.main(["encode", str(run), "--split", "test", "--out", str(own)]) == 0
    argv = ["encode", str(run), "--data", str(copy), "--split", "test", "--out", str(given)]
    assert cli.main(argv) == 0
    assert _ids(given) == _ids(own)
    argv = ["score", str(run), "--data", str(copy), "--split", "test", "--samples", "2"]
    assert cli.main([*argv, "--out", str(scored)]) == 0
    assert _ids(scored) == _ids(own)
    with copy.open("a") as f:  # (other bytes: another file)
        f.write("r200,0.5,0.5,a\n")
    other = tmp_path / "other.csv"
    argv = ["encode", str(run), "--data", str(copy), "--split", "test", "--out", str(other)]
    assert cli.main(argv) == 0
    assert _ids(other) != _ids(own)
