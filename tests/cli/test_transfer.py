"""``torchlvm transfer DIR --from-condition A --to-condition B [--data] [--n] [--out]``."""

import pytest
import torch
from matplotlib.image import imread

from torchlvm import cli
from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "label", "shape": [1, 8, 8],
        "num_classes": 10, "class_names": [str(i) for i in range(10)]}  # fmt: skip
NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@pytest.fixture
def cvae_run(tmp_path):
    torch.manual_seed(0)
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10, class_names=NAMES))
    return cvae.save_pretrained(tmp_path / "cvae", data=DATA)


def fails(capsys, argv):
    """Run ``argv``; it must exit 2 with one line on stderr and no traceback."""
    assert cli.main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("torchlvm: error: ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


def test_transfer_writes_originals_above_transfers(cvae_run, capsys):
    argv = ["transfer", str(cvae_run), "--from-condition", "3", "--to-condition", "eight"]
    assert cli.main([*argv, "--n", "5"]) == 0
    image = imread(cvae_run / "figures" / "transfer.png")
    assert image.ndim == 3 and image.shape[1] > image.shape[0]  # two rows of five
    out = capsys.readouterr().out
    assert "transferred 5 digits test images of class three to class eight" in out
    assert "z = E_q[z | x, three], then the decoder mean E[x | z, eight]" in out


def test_the_offered_cvae_command_finds_the_run_s_data(tmp_path, capsys):
    """userB: the offered 'train cvae --data mnist' lacked the run's --data-dir: not found."""
    vae = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    data = {**DATA, "condition": "none", "data_dir": str(tmp_path / "my data")}
    folder = vae.save_pretrained(tmp_path / "vae", data=data)
    err = fails(capsys, ["transfer", folder, "--from-condition", "1", "--to-condition", "2"])
    folder = tmp_path / "my data"
    assert f'\'torchlvm train cvae --data digits --data-dir "{folder}" --condition' in err


def test_vae_is_refused(tmp_path, capsys):
    vae = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    folder = vae.save_pretrained(tmp_path / "vae", data={**DATA, "condition": "none"})
    err = fails(capsys, ["transfer", folder, "--from-condition", "1", "--to-condition", "2"])
    assert "needs a CVAE conditioned on class labels" in err and "holds a VAE" in err
    assert f"train one with 'torchlvm train cvae --data {DATA['name']} --condition label" in err


@pytest.mark.parametrize("flag", ["--from-condition", "--to-condition"])
def test_label_out_of_range_lists_the_valid_ones(cvae_run, capsys, flag):
    argv = ["transfer", cvae_run, "--from-condition", "1", "--to-condition", "2", flag, "12"]
    err = fails(capsys, argv)
    assert f"{flag} 12 is out of range; valid labels are 0..9 or a class name (zero, one" in err
    # the same words as an unknown name's: 'all' is valid too (userE)
    assert err.rstrip().endswith(", or 'all'")
    unknown = fails(capsys, [*argv[:-1], "twelve"])
    assert unknown.split("known class; ")[1] == err.split("out of range; ")[1]


def test_n_zero_is_refused(cvae_run, capsys):
    argv = ["transfer", cvae_run, "--from-condition", "1", "--to-condition", "2", "--n", "0"]
    assert "--n must be a positive integer, got 0" in fails(capsys, argv)


def test_existing_output_is_kept_without_overwrite(cvae_run, tmp_path, capsys):
    out = tmp_path / "t.png"
    out.write_bytes(b"keep me")
    argv = ["transfer", cvae_run, "--from-condition", "1", "--to-condition", "2", "--out", out]
    assert "is not a file torchlvm wrote there" in fails(capsys, argv)
    assert out.read_bytes() == b"keep me"
    assert "so --overwrite does not replace it" in fails(capsys, [*argv, "--overwrite"])
    assert out.read_bytes() == b"keep me"
    out.unlink()
    assert cli.main([str(a) for a in argv]) == 0
    assert cli.main([str(a) for a in argv] + ["--overwrite"]) == 0
    assert imread(out).ndim == 3


def test_folder_without_model(tmp_path, capsys):
    argv = ["transfer", tmp_path, "--from-condition", "1", "--to-condition", "2"]
    assert f"no model in {tmp_path}" in fails(capsys, argv)


def test_to_every_class_draws_one_row_per_class(cvae_run, capsys):
    argv = ["transfer", cvae_run, "--from-condition", "3", "--to-condition", "all", "--n", "4"]
    assert cli.main([str(a) for a in argv]) == 0
    image = imread(cvae_run / "figures" / "transfer.png")
    assert image.shape[0] > image.shape[1]  # 11 rows of 4
    assert "of class three to every class" in capsys.readouterr().out


def test_from_every_class_encodes_each_image_under_its_own_class(cvae_run, capsys):
    argv = ["transfer", cvae_run, "--from-condition", "all", "--to-condition", "Two", "--n", "6"]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "transferred 6 digits test images of every class to class two" in out
    assert "z = E_q[z | x, its own class]" in out


def test_an_unknown_class_suggests_all_which_works(cvae_run, capsys):
    argv = ["transfer", cvae_run, "--from-condition", "1", "--to-condition", "ten"]
    assert "is not a known class; valid labels are 0..9" in fails(capsys, argv)


def _table_cvae(tmp_path):
    """A CVAE saved as if trained on t.csv (columns a, b, standardized; text classes in 'kind')
    and that file."""
    from torchlvm.data.standardize import Standardizer
    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    names = ("high", "low")
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=names)  # fmt: skip
    scaler = Standardizer(mean=(1.0, 10.0), scale=(2.0, 5.0))
    table = TableSchema(("a", "b"), standardizer=scaler, label_column="kind")
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": list(names), "table": table.to_dict()}  # fmt: skip
    model = CVAE(config)
    model.save_pretrained(tmp_path / "cvae", data=data)
    path = tmp_path / "t.csv"
    path.write_text("a,b,kind\n1.5,2.5,high\n-1.5,-2.5,low\n0.5,1.0,high\n")
    return model, scaler, path


def test_a_cvae_trained_on_a_table_transfers_rows_in_the_files_units(tmp_path, capsys):
    """transfer on a table CVAE refused ("the data are not images ... this command needs a run
    trained on images") and had no rows output: it writes the rows of class A, each encoded
    under A and decoded under B, in the file's units, with the run's label column naming B (it
    was 'label', so the file did not read back into the run)."""
    import csv

    import numpy as np

    model, scaler, path = _table_cvae(tmp_path)
    out = tmp_path / "as_low.csv"
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "high"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "low", "--out", out]]) == 0
    printed = capsys.readouterr().out
    assert "transferred 2 rows of" in printed and "of class high to class low" in printed
    rows = list(csv.reader(out.open()))
    originals = ["original a", "original b", "original kind"]
    assert rows[0] == ["row", "line", "a", "b", "kind", *originals]
    assert [r[4] for r in rows[1:]] == ["low", "low"]
    assert "column 'kind': the target class" in printed
    # userA #26: which of the file's rows each is (row, line), and the row as read beside it
    assert [r[:2] for r in rows[1:]] == [["1", "2"], ["3", "4"]]
    originals = np.array([r[5:7] for r in rows[1:]], dtype=float)  # (float32, as the model read)
    np.testing.assert_allclose(originals, [[1.5, 2.5], [0.5, 1.0]], rtol=1e-6)
    assert [r[7] for r in rows[1:]] == ["high", "high"]
    back = tmp_path / "back.csv"  # the rows read back into the run, their classes too
    argv = ["transfer", tmp_path / "cvae", "--data", out, "--from-condition", "low"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "high", "--out", back]]) == 0
    assert "transferred 2 rows of" in capsys.readouterr().out
    x = scaler.transform(torch.tensor([[1.5, 2.5], [0.5, 1.0]]))
    c_from = model.condition_from_labels(["high", "high"])
    c_to = model.condition_from_labels(["low", "low"])
    expected = scaler.inverse(model.transfer(x, c_from, c_to).double()).detach().numpy()
    got = np.array([r[2:4] for r in rows[1:]], dtype=float)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert all(str(np.float32(c)) == c for r in rows[1:] for c in r[2:4])  # float32's digits
    # every class: one block of rows per target class, --n the first rows of class A
    every = tmp_path / "every.csv"
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "all", "--n", "2"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "all", "--out", every]]) == 0
    written = list(csv.reader(every.open()))[1:]
    assert [r[4] for r in written] == ["high", "high", "low", "low"]
    assert [r[1] for r in written] == ["2", "3", "2", "3"]  # each block: the same rows


def test_a_table_says_its_transfer_is_not_measured(tmp_path, capsys):
    """Images are classified after their transfer (test_transfer_check.py); rows are not."""
    _, _, path = _table_cvae(tmp_path)
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "high"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "low"]]) == 0
    said = "  not measured whether the transfers are of their target class: torchlvm has no "
    assert said + "classifier of a table's classes\n" in capsys.readouterr().out


def test_a_table_without_its_label_column_cannot_be_transferred(tmp_path, capsys):
    _, _, path = _table_cvae(tmp_path)
    bare = tmp_path / "bare.csv"
    bare.write_text("a,b\n1.5,2.5\n")
    argv = ["transfer", tmp_path / "cvae", "--data", bare, "--from-condition", "high"]
    err = fails(capsys, [*argv, "--to-condition", "low", "--out", tmp_path / "o.csv"])
    assert "has no class labels, so its rows of a class cannot be found" in err
    assert "pass --data with a file that has the run's label column 'kind'" in err
    assert not (tmp_path / "o.csv").exists()


def test_a_users_file_is_read_whole(cvae_run, tmp_path, capsys):
    """transfer RUN --data mine.npz --from-condition 3 on 40 images holding four 3s said 'the test
    split of mine.npz has no image of class 3': it read the 4 images of an 80/10/10 test split
    of the user's file. A --data file is read whole unless --split names a part."""
    import numpy as np

    from torchlvm.data import load_dataset

    digits = load_dataset("digits", "train")
    mine = tmp_path / "mine.npz"
    np.savez(mine, x=digits.x[:40].numpy(), y=digits.y[:40].numpy())
    threes = int((digits.y[:40] == 3).sum())
    argv = ["transfer", str(cvae_run), "--data", str(mine), "--from-condition", "3"]
    assert cli.main([*argv, "--to-condition", "8", "--out", str(tmp_path / "t.png")]) == 0
    assert f"transferred {threes} {mine} all images of class three" in capsys.readouterr().out


def test_originals_of_any_class_are_each_named_by_their_class(cvae_run, monkeypatch):
    """--from-condition all labelled every original 'original (any)': each column is named by
    its original's own class."""
    import warnings

    from torchlvm import plots
    from torchlvm.data import load_dataset

    drawn = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: drawn.append(fig))
    argv = ["transfer", str(cvae_run), "--from-condition", "all", "--to-condition", "two"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert cli.main([*argv, "--n", "6"]) == 0
    assert not [w for w in caught if "ignores its class" in str(w.message)]  # (it uses c)
    ax = drawn[0].axes[0]
    classes = load_dataset("digits", "test").y[:6].tolist()
    assert [t.get_text() for t in ax.get_xticklabels()] == [NAMES[k] for k in classes]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original", "as two"]
    assert ax.get_title().endswith(": each original's class → class two")


@pytest.mark.parametrize("flag", ["3", "all"], ids=["one-class", "any-class"])
def test_a_cvae_that_ignores_its_condition_is_told_so(tmp_path, capsys, flag):
    """A decoder that does not read c draws every transfer as the reconstruction: one warning
    line says so, naming evaluate's conditional accuracy."""
    torch.manual_seed(0)
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10))
    first = next(m for m in cvae.decoder.modules() if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        first.weight[:, 4:] = 0  # the columns of c in the decoder's input (z, c)
    run = cvae.save_pretrained(tmp_path / "deaf", data=DATA)
    argv = ["transfer", str(run), "--from-condition", flag, "--to-condition", "all"]
    with pytest.warns(UserWarning, match="ignores its class condition") as caught:
        assert cli.main([*argv, "--n", "4"]) == 0
    said = str(caught[0].message)
    assert f"'torchlvm evaluate {run}' (conditional accuracy)" in said and "--latent-dim" in said
    assert len(caught) == 1  # (not a second warning that the transfers keep their class)
    assert (run / "figures" / "transfer.png").is_file()


def test_fewer_rows_than_asked_are_said_with_where_more_are(tmp_path, capsys):
    """userC: `transfer ... --n 4` on a table transferred 1 row with no word why ('1 rows'): the
    split held one row of the class. The output says how many there are and where more are."""
    _, _, path = _table_cvae(tmp_path)
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "low", "--n", "4"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "high"]]) == 0
    printed = capsys.readouterr().out
    assert "transferred 1 row of " in printed
    assert "  the file holds 1 row of class low (asked --n 4)\n" in printed


def test_a_binarizing_runs_figure_says_its_originals_are_grey_levels(tmp_path, capsys):
    """userD: transfer.png's 'original' row shows grey levels where the encoder was given a
    Bernoulli draw of them, with no word; the output says so (and not for a grey-level run)."""
    torch.manual_seed(0)
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(8,), num_classes=10))
    run = cvae.save_pretrained(tmp_path / "cvae", data={**DATA, "binarize": "dynamic"})
    argv = ["transfer", str(run), "--from-condition", "3", "--to-condition", "8", "--n", "2"]
    assert cli.main(argv) == 0
    said = "  the originals are shown as grey levels; the encoder was given their 0/1 view "
    assert said + "(binarize=dynamic)\n" in capsys.readouterr().out


def test_the_offered_cvae_on_a_table_reads_it_as_the_run_did(tmp_path, capsys):
    """review9: transfer on a table run offered 'train cvae --data t.csv --condition label',
    which drops the run's --drop-columns and fails at once: the offer is sample's (one helper),
    with the run's table flags and --label-column."""
    import shlex

    import numpy as np

    rng = np.random.default_rng(2)
    path = tmp_path / "t.csv"
    rows = rng.normal(size=(60, 3)).tolist()
    path.write_text(
        "id,a,b,c\n" + "".join(f"r{i}," + ",".join(map(repr, r)) + "\n" for i, r in enumerate(rows))
    )
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--drop-columns", "id", "--latent-dim", "1"]
    assert cli.main([*argv, "--out", str(run)]) == 0
    err = fails(capsys, ["transfer", run, "--from-condition", "1", "--to-condition", "2"])
    offered = shlex.split(err.split("train one with '")[1].rsplit("'", 1)[0])
    assert offered == [
        "torchlvm", "train", "cvae", "--data", str(path), "--drop-columns", "id",
        "--label-column", "COLUMN", "--out", "RUN",
    ]  # fmt: skip


def test_rows_of_a_class_the_run_lacks_are_left_out_and_named(tmp_path, capsys):
    """One row of a class the run never saw refused the whole file: transfer takes the rows of
    the classes asked for, and with --from-condition all names the rows it leaves out."""
    import csv

    _table_cvae(tmp_path)
    path = tmp_path / "later.csv"
    path.write_text("a,b,kind\n1.5,2.5,high\n0.0,0.0,mid\n-1.5,-2.5,low\n")
    out = tmp_path / "all.csv"
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "all"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "low", "--out", out]]) == 0
    printed = capsys.readouterr().out
    assert "transferred 2 rows of" in printed
    assert "1 row of a class the run was not trained on ('mid'; line 3) is left out" in printed
    assert [r[:2] for r in list(csv.reader(out.open()))[1:]] == [["1", "2"], ["3", "4"]]
    one = tmp_path / "high.csv"
    argv = ["transfer", tmp_path / "cvae", "--data", path, "--from-condition", "high"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "low", "--out", one]]) == 0
    assert "not trained on" not in capsys.readouterr().out  # (no row of 'high' was left out)


def test_a_tables_transfers_are_written_finer_than_its_columns(tmp_path, capsys):
    """userJ #8 (table12's write_rows(means=True)): transfers are decoder means; rounded to a
    column's own step (whole ages, a 1.0/2.0 code) they lost what the model gave. They are
    written 2 decimals finer than each column, and the line says so."""
    import numpy as np

    rng = np.random.default_rng(0)
    kind = rng.integers(0, 2, size=80)
    age = np.round(40 + 10 * rng.normal(size=80) + 5 * kind)
    rows = [
        f"{a:.0f},{b:.1f},{'ab'[k]}" for a, b, k in zip(age, rng.normal(size=80), kind, strict=True)
    ]
    path = tmp_path / "t.csv"
    path.write_text("age,b,kind\n" + "\n".join(rows) + "\n")
    train = ["train", "cvae", "--data", path, "--label-column", "kind", "--epochs", "2"]
    assert cli.main([str(a) for a in [*train, "--out", tmp_path / "run"]]) == 0
    out = tmp_path / "as_b.csv"
    argv = ["transfer", tmp_path / "run", "--data", path, "--from-condition", "a"]
    assert cli.main([str(a) for a in [*argv, "--to-condition", "b", "--out", out]]) == 0
    said = "(the decoder means in the data's units, 2 decimals finer than each column of the file"
    assert said in capsys.readouterr().out
    written = [line.split(",") for line in out.read_text().splitlines()[1:]]
    decimals = [[len((r[j] + ".").split(".")[1]) for r in written] for j in (2, 3)]
    assert max(decimals[0]) == 2  # age: whole numbers in the file (45.00 is written 45)
    assert max(decimals[1]) == 3  # b: one decimal in the file (a trailing 0 is not written)


def test_a_tables_transfer_writes_both_blocks_in_the_files_column_order(tmp_path, capsys):
    """The transferred rows followed the training file's column order (fe270be), while their
    'original ...' columns still put the label last."""
    import csv

    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame
    path = tmp_path / "wine.csv"
    wine[["target", *wine.columns[:4]]].to_csv(path, index=False)  # the label first
    run = tmp_path / "run"
    train = ["train", "cvae", "--data", path, "--label-column", "target", "--epochs", "1"]
    assert cli.main([str(a) for a in [*train, "--quiet", "--out", run]]) == 0
    out = tmp_path / "t.csv"
    argv = ["transfer", run, "--from-condition", "0", "--to-condition", "1", "--out", out]
    assert cli.main([str(a) for a in argv]) == 0
    capsys.readouterr()
    header = next(csv.reader(out.open()))
    features = list(wine.columns[:4])
    assert header[-10:] == ["target", *features, *[f"original {c}" for c in ["target", *features]]]


def test_a_run_on_an_unlabelled_npy_is_told_to_label_it_first(tmp_path, capsys):
    """userM #19: a mask CVAE (or a VAE) of an unlabelled .npy was offered 'train cvae --data
    f.npy --condition label', which is refused for want of labels and points back to a mask
    CVAE. The refusal gives the labelling line first, which writes a file that trains."""
    import numpy as np

    np.save(tmp_path / "f.npy", np.zeros((20, 8, 8), np.float32))
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    record = {**DATA, "name": str(tmp_path / "f.npy"), "condition": "none", "num_classes": None}
    vae.save_pretrained(tmp_path / "vae", data=record)
    err = fails(
        capsys, ["transfer", tmp_path / "vae", "--from-condition", "0", "--to-condition", "1"]
    )
    assert f"holds a VAE, and {tmp_path / 'f.npy'} holds no class labels to train one on: " in err
    line = err.split("labels: an array of N integers or names): ", 1)[1].split(", then pass", 1)[0]
    exec(line, {"np": np, "labels": np.arange(20) % 2})  # the line writes the labelled file
    assert np.load(tmp_path / "f-labelled.npz")["y"].tolist() == [0, 1] * 10
    assert err.endswith("to 'torchlvm train cvae --condition label --out RUN'\n")
