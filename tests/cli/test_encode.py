"""``torchlvm encode DIR [--data NAME] [--split] [--out FILE.npy]``."""

import re

import numpy as np
import pytest
import torch

import torchlvm
from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "none", "shape": [1, 8, 8],
        "num_classes": 10, "class_names": [str(i) for i in range(10)]}  # fmt: skip


@pytest.fixture(autouse=True)
def encode_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "encode", "encode")


@pytest.fixture
def vae_run(tmp_path):
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,))).save_pretrained(
        tmp_path / "vae", data=DATA
    )


def fails(capsys, argv):
    """Run ``argv``; it must exit 2 with one line on stderr and no traceback."""
    assert cli.main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("torchlvm: error: ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


def test_posterior_means_and_labels_written(vae_run, capsys):
    assert cli.main(["encode", str(vae_run), "--data", "digits"]) == 0
    means = np.load(vae_run / "latents.npy")
    test = load_dataset("digits", "test")
    expected = torchlvm.load(vae_run).posterior_mean(test.x).numpy()
    np.testing.assert_allclose(means, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(np.load(vae_run / "latents.labels.npy"), test.y.numpy())
    out = capsys.readouterr().out
    assert "posterior means E_q[z | x], shape (359, 4) (examples, latent dimensions)" in out
    assert out.startswith("encoded the test split of digits (")


def test_a_whole_file_is_every_row_not_an_all_split(vae_run, tmp_path, capsys):
    """A file given with --data was 'encoded mine.npy all split', which reads as a typo."""
    data = tmp_path / "mine.npy"
    np.save(data, np.random.default_rng(0).random((40, 64)).astype(np.float32))
    assert (
        cli.main(["encode", str(vae_run), "--data", str(data), "--out", str(tmp_path / "z.npy")])
        == 0
    )
    assert re.match(
        rf"encoded the [\d,]+ (rows|examples) read from {re.escape(str(data))} \(",
        (capsys.readouterr().out),
    )  # (it said "every row", also when rows with an empty label cell were left out)


def test_cvae_encodes_under_each_examples_class(tmp_path, capsys):
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=3, hidden=(32,), num_classes=10))
    folder = cvae.save_pretrained(tmp_path / "cvae", data={**DATA, "condition": "label"})
    out = tmp_path / "z.npy"
    assert cli.main(["encode", str(folder), "--split", "train", "--out", str(out)]) == 0
    assert np.load(out).shape == (1258, 3)
    assert np.load(tmp_path / "z.labels.npy").shape == (1258,)


def test_unlabelled_file_gives_no_labels_file(vae_run, tmp_path):
    data = tmp_path / "mine.npy"
    np.save(data, np.random.default_rng(0).random((40, 64)).astype(np.float32))
    out = tmp_path / "z.npy"
    assert cli.main(["encode", str(vae_run), "--data", str(data), "--out", str(out)]) == 0
    assert np.load(out).shape[1] == 4
    assert not (tmp_path / "z.labels.npy").exists()


def test_data_of_another_dimension_names_both(vae_run, tmp_path, capsys):
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(0).random((50, 10)))
    err = fails(capsys, ["encode", vae_run, "--data", other])
    assert "has 10 values per example" in err and "takes 64" in err
    assert not (vae_run / "latents.npy").exists()


@pytest.mark.parametrize("existing", ["latents.npy", "latents.labels.npy"])
def test_existing_output_is_kept_without_overwrite(vae_run, capsys, existing):
    (vae_run / existing).write_bytes(b"keep me")
    assert "is not a file torchlvm wrote there" in fails(capsys, ["encode", vae_run])
    assert (vae_run / existing).read_bytes() == b"keep me"
    err = fails(capsys, ["encode", vae_run, "--overwrite"])  # (the user's: even with it)
    assert "so --overwrite does not replace it" in err
    assert (vae_run / existing).read_bytes() == b"keep me"
    (vae_run / existing).unlink()
    assert cli.main(["encode", str(vae_run)]) == 0
    assert cli.main(["encode", str(vae_run), "--overwrite"]) == 0
    assert np.load(vae_run / existing).shape[0] == 359


def test_out_must_be_npy(vae_run, tmp_path, capsys):
    assert "--out must name a .npy file" in fails(
        capsys, ["encode", vae_run, "--out", tmp_path / "z.txt"]
    )


def test_folder_without_model(tmp_path, capsys):
    assert f"no model in {tmp_path}" in fails(capsys, ["encode", tmp_path, "--data", "digits"])


def test_a_table_run_given_a_dataset_name_says_it_reads_its_table(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "fit", "fit")
    rng = np.random.default_rng(0)
    table = tmp_path / "t.csv"
    np.savetxt(table, rng.normal(size=(40, 3)), delimiter=",", header="a,b,c", comments="")
    run = tmp_path / "ppca"
    assert (
        cli.main(["fit", "ppca", "--data", str(table), "--latent-dim", "1", "--out", str(run)]) == 0
    )
    capsys.readouterr()
    err = fails(capsys, ["encode", run, "--data", "digits", "--out", tmp_path / "z.npy"])
    assert "was trained on a table of 3 columns (a, b, c), not on the dataset 'digits'" in err
    assert "--data must be a table file (.csv or .tsv) with those columns" in err


def test_a_file_s_text_labels_are_written_by_name(tmp_path, capsys):
    """userB: labels.npy of a run on text labels held positions in the sorted names (0 for
    'nine'), which the user never saw; it holds the names, loadable without pickle."""
    x = np.random.default_rng(0).random((30, 8)).astype("float32")
    y = np.array(["nine", "seven", "three"] * 10)
    np.savez(tmp_path / "t.npz", x=x, y=y)
    run, out = tmp_path / "run", tmp_path / "z.npy"
    argv = ["train", "vae", "--data", tmp_path / "t.npz", "--latent-dim", "2", "--hidden", "4"]
    assert cli.main([str(a) for a in [*argv, "--epochs", "1", "--quiet", "--out", run]]) == 0
    argv = ["encode", run, "--data", tmp_path / "t.npz", "--out", out]
    assert cli.main([str(a) for a in argv]) == 0
    labels = np.load(tmp_path / "z.labels.npy")
    assert labels.dtype.kind == "U" and labels.tolist() == y.tolist()


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_impute_with_a_mask_of_a_file_with_missing_pixels_names_impute_without_it(
    vae_run, tmp_path, capsys, monkeypatch, suffix
):
    """userS #6: impute --mask of a file with NaN pixels said "fill the missing values in first",
    while impute itself fills them without --mask; it names that line, which runs (for an
    archive, after the line that saves its images as an .npy: review15 R7)."""
    monkeypatch.setitem(cli.COMMANDS, "impute", "impute")
    monkeypatch.chdir(tmp_path)
    x = load_dataset("digits", "test").x[:20].numpy().copy()
    x[:, :8] = np.nan  # every image's top row
    data = tmp_path / f"holes{suffix}"
    images = x.reshape(20, 8, 8)
    np.save(data, images) if suffix == ".npy" else np.savez(data, x=images)
    err = fails(capsys, ["impute", vae_run, "--mask", "top", "--data", data])
    npy = data if suffix == ".npy" else tmp_path / "holes-data.npy"
    offered = f"torchlvm impute {vae_run} --data {npy} --out filled.npy"
    assert f"leave out --mask: '{offered}'" in err
    if suffix == ".npz":
        line = err.split("save its images as an .npy (")[1].split(") and leave out")[0]
        exec(f"import numpy as np; {line}", {})
    assert cli.main([*offered.split()[1:], "--samples", "4"]) == 0
    assert not np.isnan(np.load(tmp_path / "filled.npy")).any()
    assert "4 samples from the defensive mixture ½ q(z | x̃) + ½ q" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["encode", "reconstruct"])
def test_missing_pixels_name_a_fix_the_command_has(vae_run, tmp_path, capsys, command):
    """userB: an image file with NaN pixels was told to 'pass --allow-missing', which encode and
    reconstruct do not take; the message names fixes that exist, and score's works."""
    x = load_dataset("digits", "test").x[:20].numpy().copy()
    x[3, 5] = np.nan
    np.save(tmp_path / "holes.npy", x)
    err = fails(capsys, [command, vae_run, "--data", tmp_path / "holes.npy"])
    assert "holds 1 missing (NaN) value" in err and "--allow-missing" not in err
    offered = f"torchlvm score {vae_run} --data {tmp_path / 'holes.npy'} --out scores.csv"
    assert f"{command} reads complete rows: fill the missing values in first" in err
    assert f"'{offered}'" in err
    argv = offered.split()[1:-1] + [str(tmp_path / "scores.csv"), "--samples", "2"]
    assert cli.main(argv) == 0


def test_a_table_runs_codes_name_its_label_column_and_each_rows_place(tmp_path, capsys):
    """userA #17: encode --out codes.csv of a run trained with --label-column segment named the
    class column `label` and gave no row id. The class column is the run's own name for it, and
    each row is led by row and line (where it is in the file) and the column the run dropped."""
    import csv

    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=("high", "low"))  # fmt: skip
    table = TableSchema(("a", "b"), drop_columns=("id",), label_column="segment")
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": ["high", "low"], "table": table.to_dict()}  # fmt: skip
    CVAE(config).save_pretrained(tmp_path / "cvae", data=data)
    path = tmp_path / "t.csv"
    path.write_text("id,a,segment,b\nu1,1.5,high,2.5\n\nu2,-1.5,low,-2.5\nu3,0.5,high,1.0\n")
    out = tmp_path / "codes.csv"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--data", str(path), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["row", "line", "id", "z1", "z2", "segment"]
    assert [r[:3] + r[-1:] for r in rows[1:]] == [
        ["1", "2", "u1", "high"], ["2", "4", "u2", "low"], ["3", "5", "u3", "high"]
    ]  # fmt: skip


def test_a_table_vae_trained_on_missing_cells_encodes_and_reconstructs_them(tmp_path, capsys):
    """userP #7: encode and reconstruct of a table VAE trained --allow-missing (MIWAE) refused
    rows with empty cells, offering impute (made-up cells encoded as observed), while score,
    impute and the Python estimator read them through x̃, the row with its empty cells at 0 in
    the model's units. Each row with holes is read so: exactly as the same row with its holes
    at the column's train mean (0 once standardized), and reconstruct measures observed cells."""
    import json

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)) @ rng.normal(size=(2, 4)) + 0.3 * rng.normal(size=(200, 4))
    holes = rng.random(x.shape) < 0.15
    x[holes] = np.nan

    def write(path, rows):  # every value as Python writes it, an empty cell for NaN
        cells = (["" if np.isnan(v) else repr(float(v)) for v in row] for row in rows)
        path.write_text("a,b,c,d\n" + "".join(",".join(c) + "\n" for c in cells))

    path = tmp_path / "holes.csv"
    write(path, x)
    run = tmp_path / "vae"
    argv = ["train", "vae", "--data", str(path), "--allow-missing", "--epochs", "2", "--quiet"]
    assert cli.main([*argv, "--latent-dim", "2", "--hidden", "8", "--out", str(run)]) == 0
    mean = json.loads((run / "config.json").read_text())["data"]["table"]["standardize"]["mean"]
    filled = tmp_path / "at_mean.csv"
    write(filled, np.where(holes, np.asarray(mean), x))
    written = {}
    for command in ("encode", "reconstruct"):
        for data in (path, filled):
            out = tmp_path / f"{command}-{data.stem}.csv"
            assert cli.main([command, str(run), "--data", str(data), "--out", str(out)]) == 0
            written[command, data] = np.genfromtxt(out, delimiter=",", skip_header=1)[:, 2:]
    printed = capsys.readouterr().out
    rows = int(holes.any(1).sum())
    assert f"(x̃ for the {rows} with empty cells: those set to the train mean)" in printed
    assert "RMSE per feature on the observed cells" in printed
    for command in ("encode", "reconstruct"):
        got, expected = written[command, path], written[command, filled]
        assert got.shape[0] == 200 and not np.isnan(got).any()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    raw = tmp_path / "raw"  # (not standardized: an empty cell is 0 in the file's units)
    argv = ["train", "vae", "--data", str(path), "--allow-missing", "--no-standardize"]
    assert cli.main([*argv, "--epochs", "1", "--quiet", "--out", str(raw)]) == 0
    zeros = tmp_path / "at_zero.csv"
    write(zeros, np.where(holes, 0.0, x))
    for data in (path, zeros):
        out = tmp_path / f"raw-{data.stem}.csv"
        assert cli.main(["encode", str(raw), "--data", str(data), "--out", str(out)]) == 0
        written["raw", data] = np.genfromtxt(out, delimiter=",", skip_header=1)[:, 2:]
    assert "with empty cells: those set to 0, as in training)" in capsys.readouterr().out
    np.testing.assert_allclose(written["raw", path], written["raw", zeros], rtol=1e-5, atol=1e-5)


def _high_low_cvae(tmp_path):
    """A CVAE saved as if trained on a table with columns a, b and text classes high, low in
    'kind'."""
    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=("high", "low"))  # fmt: skip
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": ["high", "low"],
            "table": TableSchema(("a", "b"), label_column="kind").to_dict()}  # fmt: skip
    model = CVAE(config)
    model.save_pretrained(tmp_path / "cvae", data=data)
    return model


def test_rows_of_a_class_the_run_lacks_are_written_empty_and_named(tmp_path, capsys):
    """One row of a class the run never saw refused the whole file: the other rows are encoded,
    that row's codes are empty (NaN in a .npy, its class kept), and one line names its line."""
    import csv

    model = _high_low_cvae(tmp_path)
    path = tmp_path / "later.csv"
    path.write_text("a,b,kind\n1.5,2.5,high\n0.0,0.0,mid\n-1.5,-2.5,low\n0.5,1.0,mid\n")
    out = tmp_path / "codes.csv"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--data", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 rows of a class the run was not trained on ('mid'; lines 3, 5) are written with " \
           "empty cells" in printed  # fmt: skip
    rows = list(csv.reader(out.open()))
    assert [r[:2] + r[-1:] for r in rows[1:]] == [
        ["1", "2", "high"], ["2", "3", "mid"], ["3", "4", "low"], ["4", "5", "mid"]
    ]  # fmt: skip
    assert rows[2][2:4] == ["", ""] and rows[4][2:4] == ["", ""]
    x = torch.tensor([[1.5, 2.5], [-1.5, -2.5]])
    expected = model.encode(x, model.condition_from_labels(["high", "low"])).mean.detach()
    got = np.array([rows[1][2:4], rows[3][2:4]], dtype=float)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-6)
    npy = tmp_path / "codes.npy"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--data", str(path), "--out", str(npy)]) == 0
    assert "are given NaN codes" in capsys.readouterr().out
    codes = np.load(npy)
    assert np.isnan(codes[[1, 3]]).all() and not np.isnan(codes[[0, 2]]).any()
    np.testing.assert_allclose(codes[[0, 2]], expected.numpy(), rtol=1e-6)
    assert np.load(tmp_path / "codes.labels.npy").tolist() == ["high", "mid", "low", "mid"]


def test_a_code_the_run_lacks_is_an_empty_row_too(tmp_path, capsys):
    """A run on 0-based codes 0, 1: a later file's code 5 is a class it lacks, said so."""
    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2)
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": None,
            "table": TableSchema(("a", "b"), label_column="kind").to_dict()}  # fmt: skip
    CVAE(config).save_pretrained(tmp_path / "cvae", data=data)
    path = tmp_path / "later.csv"
    path.write_text("a,b,kind\n1.5,2.5,0\n0.0,0.0,5\n-1.5,-2.5,1\n")
    npy = tmp_path / "codes.npy"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--data", str(path), "--out", str(npy)]) == 0
    assert "1 row of a class the run was not trained on ('5'; line 3) is given" in (
        capsys.readouterr().out
    )
    assert np.isnan(np.load(npy)[1]).all()
    assert np.load(tmp_path / "codes.labels.npy").tolist() == [0, 5, 1]


def test_a_row_of_no_label_left_out_keeps_the_other_rows_ids(tmp_path, capsys):
    """A file whose label cell is empty on one row (left out, with a warning) lost every row's
    row, line and ID in encode's codes: the rows with a label were told from the label cells
    only where the label column was among the columns written, and encode writes the class
    apart. Each row keeps its place and its ID; the row of no label is not among them."""
    import csv

    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = VAEConfig(2, latent_dim=2, hidden=(8,), likelihood="gaussian")
    table = TableSchema(("a", "b"), drop_columns=("id",), label_column="segment")
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "none",
            "table": table.to_dict()}  # fmt: skip
    VAE(config).save_pretrained(tmp_path / "vae", data=data)
    path = tmp_path / "t.csv"
    path.write_text("id,a,segment,b\nu1,1.5,high,2.5\nu2,-1.5,,-2.5\nu3,0.5,low,1.0\n")
    out = tmp_path / "codes.csv"
    with pytest.warns(UserWarning, match=r"1 row has no label in .*\(line 3\)"):
        argv = ["encode", str(tmp_path / "vae"), "--data", str(path), "--out", str(out)]
        assert cli.main(argv) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0][:3] == ["row", "line", "id"]
    assert [r[:3] for r in rows[1:]] == [["1", "2", "u1"], ["3", "4", "u3"]]


def test_rows_of_an_array_with_empty_cells_reconstruct_to_npy_through_x_tilde(tmp_path, capsys):
    """readC C6: reconstruct --out FILE.npy of a VAE trained --allow-missing on an .npy of rows
    refused the rows it was trained on with the model's Python-API message, while encode and
    reconstruct --out FILE.csv read them through x̃. It writes the decoder mean at q(z | x̃)'s
    mean, and its error is over the observed cells."""
    import torch

    from torchlvm import load
    from torchlvm.inference.miwae import zero_filled

    rng = np.random.default_rng(4)
    x = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(150, 5))
    x[rng.random(x.shape) < 0.1] = np.nan
    path = tmp_path / "rows.npy"
    np.save(path, x)
    run = tmp_path / "vae"
    argv = ["train", "vae", "--data", str(path), "--allow-missing", "--epochs", "1", "--quiet"]
    assert cli.main([*argv, "--latent-dim", "2", "--hidden", "8", "--out", str(run)]) == 0
    out = tmp_path / "rec.npy"
    argv = ["reconstruct", str(run), "--split", "all", "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert "mean squared error per value observed" in capsys.readouterr().out
    model = load(run).eval()
    rows = torch.as_tensor(x, dtype=torch.float32)
    with torch.no_grad():
        z = model.encode(zero_filled(rows, ~rows.isnan())).mean
        expected = model.decode(z).mean.numpy()
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-5, atol=1e-6)


def test_a_table_runs_zero_padded_class_codes_are_written_as_its_file_writes_them(tmp_path, capsys):
    """userU #1 / table16: encode --out codes.csv of a CVAE on wine with cultivar 01, 02, 10
    wrote 1, 2, 10, which join to no row of the file."""
    import csv

    rng = np.random.default_rng(0)
    path = tmp_path / "w.csv"
    lines = ["a,b,cultivar"] + [
        f"{rng.normal():.3f},{rng.normal():.3f},{code}" for code in ("01", "02", "10") * 12
    ]
    path.write_text("\n".join(lines) + "\n")
    train = ["train", "cvae", "--data", str(path), "--label-column", "cultivar", "--condition"]
    run = tmp_path / "run"
    assert cli.main([*train, "label", "--epochs", "1", "--out", str(run), "--quiet"]) == 0
    out = tmp_path / "codes.csv"
    assert cli.main(["encode", str(run), "--data", str(path), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0][-1] == "cultivar"
    assert [r[-1] for r in rows[1:4]] == ["01", "02", "10"]


def test_rows_of_a_class_no_train_row_has_get_no_codes_and_are_named(tmp_path, capsys):
    """userU #9 / readH H1: an old (random-split) run's class with no train row: encode wrote
    its rows' codes without a word, where sample refuses the class and score leaves it empty."""
    names = tuple(str(j) for j in range(10))
    torch.manual_seed(0)
    model = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(16,), num_classes=10, class_names=names))
    data = {"name": "digits", "binarize": "dynamic", "seed": 0, "condition": "label",
            "num_classes": 10, "class_names": list(names),
            "class_counts": {name: 0 if name == "3" else 120 for name in names}}  # fmt: skip
    model.save_pretrained(tmp_path / "cvae", data=data)
    out = tmp_path / "codes.npy"
    assert cli.main(["encode", str(tmp_path / "cvae"), "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    codes, labels = np.load(out), np.load(tmp_path / "codes.labels.npy")
    assert np.isnan(codes[labels == 3]).all() and not np.isnan(codes[labels != 3]).any()
    assert "37 rows of a class the run was not trained on ('3';" in printed
