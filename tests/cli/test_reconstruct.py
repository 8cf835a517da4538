"""``torchlvm reconstruct DIR [--data] [--split] [--n] [--out]``."""

import json
import re

import numpy as np
import pytest
import torch
from matplotlib.image import imread

import torchlvm
from torchlvm import cli
from torchlvm.data import load_dataset
from torchlvm.data.pixels import READING
from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "none", "shape": [1, 8, 8],
        "num_classes": 10, "class_names": [str(i) for i in range(10)]}  # fmt: skip


@pytest.fixture(autouse=True)
def reconstruct_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "reconstruct", "reconstruct")


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


def test_writes_pairs_and_prints_the_error_per_pixel(vae_run, capsys):
    assert cli.main(["reconstruct", str(vae_run)]) == 0
    assert imread(vae_run / "figures" / "reconstructions-test.png").ndim == 3
    out = capsys.readouterr().out
    assert "digits test split, 359 images (binarize=none)" in out
    found = re.search(r"reconstruction error: (\S+) ± (\S+) mean squared error per pixel", out)
    assert found and "(± s.e. over the 359 images)" in out
    model = torchlvm.load(vae_run)
    x = load_dataset("digits", "test").x
    per_image = (model.reconstruct(x) - x).double().pow(2).mean(-1)
    se = (per_image.std() / 359**0.5).item()
    # the mean to the digit of its error's second significant digit (was 6 digits, no error)
    assert float(found[1]) == pytest.approx(per_image.mean().item(), abs=se / 10)
    assert float(found[2]) == pytest.approx(se, rel=0.05)
    assert len(found[1].split(".")[1]) == len(found[2].split(".")[1])  # 0.17561 ± 0.00046


def test_out_npy_writes_every_images_reconstruction(vae_run, tmp_path, capsys):
    """userM #5: an image run's reconstructions were a picture only ('--out must name a .png
    file, got rec.npy'): --out FILE.npy holds each image's, in the images' shape."""
    out = tmp_path / "rec.npy"
    assert cli.main(["reconstruct", str(vae_run), "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "shape (359, 8, 8): N, H, W, in the units the model was trained on" in said
    x = load_dataset("digits", "test").x
    expected = torchlvm.load(vae_run).reconstruct(x).reshape(359, 8, 8)
    np.testing.assert_allclose(np.load(out), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert not (vae_run / "figures" / "reconstructions.png").exists()


def test_out_npy_of_a_channels_last_file_is_in_its_axes_and_its_error(tmp_path, capsys):
    """userM #7: reconstructions of an (N, H, W, C) file were written (N, C, H, W); they take
    the file's axes, so that the printed error is the mean of (recon - x)² on the file as is."""
    x = np.random.default_rng(0).random((6, 4, 4, 3)).astype(np.float32)  # (N, H, W, C)
    np.save(tmp_path / "rgb.npy", x)
    torch.manual_seed(0)
    record = {**DATA, "name": str(tmp_path / "rgb.npy"), "shape": [3, 4, 4], "num_classes": None,
              "pixels": READING}  # fmt: skip
    run = VAE(VAEConfig(input_dim=48, latent_dim=2, hidden=(8,)))
    run.save_pretrained(tmp_path / "rgb", data=record)
    argv = ["reconstruct", tmp_path / "rgb", "--data", tmp_path / "rgb.npy", "--out"]
    assert cli.main([str(a) for a in [*argv, tmp_path / "r.npy"]]) == 0
    said = capsys.readouterr().out
    assert "shape (6, 4, 4, 3): N, H, W, C, as rgb.npy, in the units" in said
    error = float(re.search(r"reconstruction error: (\S+) ±", said)[1])
    assert error == pytest.approx(((np.load(tmp_path / "r.npy") - x) ** 2).mean(), rel=1e-2)


def test_out_npy_of_a_run_on_rows_writes_rows_and_n_takes_the_first(tmp_path, capsys):
    """readA #11: a run on an array of rows asking --out FILE.npy was refused with a message about
    pictures (encode and impute of it write .npy), and --n was ignored with .npy."""
    x = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    np.save(tmp_path / "rows.npy", x)
    torch.manual_seed(0)
    record = {**DATA, "name": str(tmp_path / "rows.npy"), "shape": [5], "num_classes": None}
    model = VAE(VAEConfig(input_dim=5, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    run = model.save_pretrained(tmp_path / "rows", data=record)
    argv = ["reconstruct", run, "--data", tmp_path / "rows.npy", "--out"]
    assert cli.main([str(a) for a in [*argv, tmp_path / "r.npy"]]) == 0
    said = capsys.readouterr().out
    assert "40 rows" in said and "mean squared error per value (± s.e. over the 40 rows)" in said
    assert "(the decoder mean of each row, shape (40, 5): N, D, in the units" in said
    expected = torchlvm.load(run).reconstruct(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(np.load(tmp_path / "r.npy"), expected, rtol=1e-5, atol=1e-6)
    assert cli.main([str(a) for a in [*argv, tmp_path / "r3.npy", "--n", "3"]]) == 0
    assert "(the decoder mean of the first 3 rows, shape (3, 5): N, D" in capsys.readouterr().out
    np.testing.assert_allclose(np.load(tmp_path / "r3.npy"), expected[:3], rtol=1e-5, atol=1e-6)
    err = fails(capsys, ["reconstruct", run, "--out", tmp_path / "r.png"])
    assert err.endswith("write the reconstructions as rows with --out FILE.csv or FILE.npy\n")


def test_an_autoencoder_reconstructs_at_its_code_not_a_posterior_mean(tmp_path, capsys):
    from torchlvm.models import Autoencoder, AutoencoderConfig

    folder = Autoencoder(AutoencoderConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    folder = folder.save_pretrained(tmp_path / "ae", data=DATA)
    assert cli.main(["reconstruct", str(folder), "--n", "4"]) == 0
    out = capsys.readouterr().out
    assert "input vs decoder mean at the code f(x)" in out and "posterior" not in out
    # on a table's rows too (the rows writer said "at the posterior mean")
    from torchlvm.data.table_schema import TableSchema

    table = {"name": "t.csv", "binarize": "none", "seed": 0,
             "table": TableSchema(("a", "b")).to_dict()}  # fmt: skip
    rows = Autoencoder(AutoencoderConfig(input_dim=2, latent_dim=1, hidden=(4,)))
    rows = rows.save_pretrained(tmp_path / "ae_rows", data=table)
    data = tmp_path / "t.csv"
    data.write_text("a,b\n1.5,2.5\n-1.5,-2.5\n")
    argv = ["reconstruct", str(rows), "--data", str(data), "--out", str(tmp_path / "r.csv")]
    assert cli.main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "input vs decoder mean at the code f(x)" in out and "posterior" not in out


def test_class_cvae_reconstructs_under_the_true_labels(tmp_path, capsys):
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10))
    folder = cvae.save_pretrained(tmp_path / "cvae", data={**DATA, "condition": "label"})
    out = tmp_path / "r.png"
    argv = ["reconstruct", str(folder), "--split", "val", "--n", "4", "--out", str(out)]
    assert cli.main(argv) == 0
    assert imread(out).ndim == 3
    assert "its condition: the true class" in capsys.readouterr().out


def test_data_of_another_dimension_names_both(vae_run, tmp_path, capsys):
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(0).random((50, 10)))
    err = fails(capsys, ["reconstruct", vae_run, "--data", other])
    assert "has 10 values per example" in err and "takes 64" in err


def test_its_pictures_have_names_of_their_own_and_keep_evaluates(vae_run, tmp_path, capsys):
    """userS #1: reconstruct --data OTHER replaced evaluate's figures/reconstructions.png, which
    the report then showed as the run's test inputs. reconstruct writes reconstructions-SPLIT
    .png, or -NAME.png for --data NAME, and evaluate's figure is kept."""
    figures = vae_run / "figures"
    figures.mkdir()
    (figures / "reconstructions.png").write_bytes(b"evaluate's figure")
    other = tmp_path / "mine.npy"
    np.save(other, load_dataset("digits", "train").x[:20].reshape(20, 8, 8).numpy())
    for argv, name in [([], "test"), (["--split", "train"], "train"), (["--data", other], "mine")]:
        assert cli.main([str(a) for a in ["reconstruct", vae_run, "--n", "4", *argv]]) == 0
        assert (
            f"wrote {figures / f'reconstructions-{name}.png'} (4 inputs" in capsys.readouterr().out
        )
    assert (figures / "reconstructions.png").read_bytes() == b"evaluate's figure"


def test_its_picture_is_drawn_on_the_trained_range(tmp_path, monkeypatch):
    """readD D6 for reconstruct: its pairs were scaled to the inputs' own extremes; they are drawn
    on the range the run was trained on, as evaluate's and sample's figures are."""
    from torchlvm import plots

    drawn = {}
    real = plots.reconstruction_pairs
    monkeypatch.setattr(
        plots, "reconstruction_pairs", lambda *a, **k: drawn.update(k) or real(*a, **k)
    )
    torch.manual_seed(0)
    record = {**DATA, "value_range": [0.0, 16.0]}
    run = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    assert cli.main(["reconstruct", str(run.save_pretrained(tmp_path / "g", data=record))]) == 0
    assert drawn["scale"] == (0.0, 16.0)


@pytest.mark.parametrize("given", [False, True], ids=["its-file", "data"])
def test_out_npy_of_a_run_on_8_bit_levels_is_on_their_scale(tmp_path, capsys, given):
    """readD D5 for reconstruct (fig15 #2): a run on a uint8 file (0..255, read divided by 255)
    wrote its reconstructions in [0, 1] beside a file of 0..255. They are the decoder means
    times 255, on the file's scale, and said to be."""
    data = tmp_path / "d255.npy"
    levels = np.random.default_rng(0).integers(0, 256, (5, 4, 4), dtype=np.uint8)
    np.save(data, levels)
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=16, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    record = {**DATA, "name": str(data), "shape": [1, 4, 4], "num_classes": None, "pixels": 4}
    record |= {"stored_shape": [4, 4], "value_range": [0.0, 1.0], "divided_by": 255}
    run = vae.save_pretrained(tmp_path / "run", data=record)
    argv = ["reconstruct", run, *(["--data", data] if given else ["--split", "all"])]
    assert cli.main([str(a) for a in [*argv, "--out", tmp_path / "r.npy"]]) == 0
    out = capsys.readouterr().out
    assert "shape (5, 4, 4): N, H, W, as d255.npy, on its 0..255 scale (float32))" in out
    x = torch.from_numpy(levels.reshape(5, 16) / 255.0).float()
    expected = 255 * vae.reconstruct(x).detach().reshape(5, 4, 4)
    np.testing.assert_allclose(np.load(tmp_path / "r.npy"), expected, rtol=1e-4, atol=1e-3)


def test_n_zero_is_refused(vae_run, capsys):
    assert "--n must be a positive integer, got 0" in fails(
        capsys, ["reconstruct", vae_run, "--n", "0"]
    )


def test_existing_output_is_kept_without_overwrite(vae_run, capsys):
    out = vae_run / "figures" / "reconstructions-test.png"
    out.parent.mkdir()
    out.write_bytes(b"keep me")
    assert "is not a file torchlvm wrote there" in fails(capsys, ["reconstruct", vae_run])
    assert out.read_bytes() == b"keep me"


def test_folder_without_model(tmp_path, capsys):
    assert f"no model in {tmp_path}" in fails(capsys, ["reconstruct", tmp_path])


def test_a_cvae_trained_on_a_table_reconstructs_under_each_rows_class(tmp_path, capsys):
    """The table path encoded and decoded without a condition: a Python-API error ("CVAE needs a
    condition c ... pass c (e.g. model.condition_from_labels(labels)"). Each row is now
    reconstructed under its own class, read from the file's label column."""
    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    names = ("high", "low")
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=names)  # fmt: skip
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": list(names),
            "table": TableSchema(("a", "b"), label_column="kind").to_dict()}  # fmt: skip
    model = CVAE(config)
    model.save_pretrained(tmp_path / "cvae", data=data)
    table = tmp_path / "t.csv"
    table.write_text("a,b,kind\n1.5,2.5,high\n-1.5,-2.5,low\n0.5,1.0,high\n")
    out = tmp_path / "r.csv"
    argv = ["reconstruct", str(tmp_path / "cvae"), "--data", str(table), "--out", str(out)]
    assert cli.main(argv) == 0, capsys.readouterr().err
    header = out.read_text().splitlines()[0]
    assert header == "row,line,kind,a,b"  # userA #16: which row, its class as the file has it
    rows = np.loadtxt(out, delimiter=",", skiprows=1, usecols=(3, 4))
    assert np.loadtxt(out, delimiter=",", skiprows=1, usecols=1).tolist() == [2, 3, 4]
    x = torch.tensor([[1.5, 2.5], [-1.5, -2.5], [0.5, 1.0]])
    c = model.condition_from_labels(["high", "low", "high"])
    expected = model.decode(model.encode(x, c).mean, c).mean.detach().numpy()
    np.testing.assert_allclose(rows, expected, rtol=1e-5, atol=1e-6)
    # a file holding only the run's second class: its rows keep that class (a file's text
    # classes were numbered by its own sorted names, so "low" became class 0, "high")
    only_low = tmp_path / "low.csv"
    only_low.write_text("a,b,kind\n-1.5,-2.5,low\n")
    argv = ["reconstruct", str(tmp_path / "cvae"), "--data", str(only_low), "--out"]
    assert cli.main([*argv, str(tmp_path / "low_r.csv")]) == 0, capsys.readouterr().err
    low = np.loadtxt(tmp_path / "low_r.csv", delimiter=",", skiprows=1, usecols=(3, 4))
    np.testing.assert_allclose(low, expected[1], rtol=1e-5, atol=1e-6)
    unknown = tmp_path / "mid.csv"
    unknown.write_text("a,b,kind\n0.0,0.0,mid\n")
    argv = ["reconstruct", str(tmp_path / "cvae"), "--data", str(unknown), "--out"]
    assert cli.main([*argv, str(tmp_path / "mid_r.csv")]) == 2
    err = capsys.readouterr().err
    assert "holds class 'mid', which the run was not trained on; its classes are high, low" in err
    assert not (tmp_path / "mid_r.csv").exists()
    scores = tmp_path / "s.csv"  # (cvae12: score takes a label CVAE, by each row's class)
    argv = ["score", str(tmp_path / "cvae"), "--data", str(table), "--out", str(scores)]
    assert cli.main([*argv]) == 0
    assert scores.read_text().splitlines()[0].startswith("row,line,kind,neg_log_p_given_kind,")


def test_a_users_file_is_reconstructed_whole(vae_run, tmp_path, capsys):
    """reconstruct RUN --data my10.npy showed 1 of the user's 10 images: the test split of an
    80/10/10 split of their file. A --data file is read whole (as encode and score read it),
    unless --split names a part."""
    images = tmp_path / "my images.npy"
    np.save(images, load_dataset("digits", "test").x[:10].numpy())
    argv = ["reconstruct", str(vae_run), "--data", str(images), "--out", str(tmp_path / "r.png")]
    assert cli.main(argv) == 0
    assert "my images.npy all split, 10 images" in capsys.readouterr().out
    assert cli.main([*argv, "--split", "test", "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "my images.npy test split, 1 image " in out and "(1 input and its reconstruction)" in out


@pytest.mark.parametrize("drop", ["0", "column 1"], ids=["by-index", "by-its-name"])
def test_a_headerless_files_columns_are_named_by_their_place(tmp_path, capsys, drop):
    """A file with no header named its features 'column 1'.. after the dropped ID, which was
    named 'column 1' too (two columns of one name), then '--drop-columns 0' (userK #16: score
    wrote '--label-column 13'). Every column is named by its place in the file, as the README
    says, and that name is taken by --drop-columns."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 2)) @ rng.normal(size=(2, 3))
    path = tmp_path / "nohdr.csv"
    path.write_text(
        "".join(f"id{i}," + ",".join(f"{v:.4f}" for v in r) + "\n" for i, r in enumerate(x))
    )
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--drop-columns", drop, "--latent-dim", "1"]
    assert cli.main([*argv, "--out", str(run)]) == 0
    out = tmp_path / "r.csv"
    assert cli.main(["reconstruct", str(run), "--data", str(path), "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == "row,line,column 1,column 2,column 3,column 4"
    assert lines[1].startswith("1,1,id0,") and lines[-1].startswith("40,40,id39,")


@pytest.mark.parametrize("standardize", [True, False], ids=["train-sd", "rows-sd"])
def test_a_wide_tables_rmse_lines_rank_columns_of_mixed_units_by_their_spread(
    tmp_path, capsys, standardize
):
    """reconstruct ranked columns by their RMSE in their own units and printed the mean of
    those RMSEs ('mean over all: 7.733' on breast_cancer: areas in hundreds beside smoothness
    in hundredths; worst_area first, 27th of 30 by RMSE / sd; userG #14). It ranks them by
    RMSE over the column's standard deviation, the train split's (the run's recorded
    standardization), else the rows' own, worst first, the 20 worst of more, with the mean
    of that unit-free ratio and each column's RMSE in its units beside it."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(80, 3)) @ rng.normal(size=(3, 30)) + rng.normal(size=(80, 30)) * 0.3
    x *= 10.0 ** rng.uniform(-3, 3, size=30)  # (N, D) columns in units 1e-3 .. 1e3 apart
    path = tmp_path / "wide.csv"
    names = [f"g{j}" for j in range(30)]
    path.write_text(
        ",".join(names) + "\n" + "".join(",".join(map(repr, r)) + "\n" for r in x.tolist())
    )
    run, out = tmp_path / "ppca", tmp_path / "r.csv"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--out", str(run)]
    assert cli.main(argv if standardize else [*argv, "--no-standardize"]) == 0
    capsys.readouterr()
    assert cli.main(["reconstruct", str(run), "--data", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(printed) if "RMSE per feature" in line)
    written = np.loadtxt(out, delimiter=",", skiprows=1)[:, 2:]
    rmse = np.sqrt(((written - x) ** 2).mean(0))
    if standardize:
        record = json.loads((run / "config.json").read_text())["data"]["table"]
        sd = np.array(record["standardize"]["scale"])
        assert "standard deviation in the run's train split" in printed[head]
    else:
        sd = x.std(0)
        assert "standard deviation in these rows" in printed[head]
    ratio = rmse / sd
    mean = float(
        re.search(r"the 20 worst of 30 columns, mean over all 30: (\S+):$", printed[head])[1]
    )
    assert mean == pytest.approx(ratio.mean(), rel=2e-3)
    shown = [re.fullmatch(r"    (\w+): (\S+) \(RMSE (\S+) in its units\)", line).groups()
             for line in printed[head + 1 : head + 21]]  # fmt: skip
    top = np.argsort(-ratio)[:20]
    assert [name for name, _, _ in shown] == [names[j] for j in top]
    np.testing.assert_allclose([float(r) for _, r, _ in shown], ratio[top], rtol=3e-3)
    np.testing.assert_allclose([float(v) for _, _, v in shown], rmse[top], rtol=2e-3)
    assert printed[head + 21].startswith("wrote ")


def test_reconstructions_are_written_finer_than_a_columns_step(tmp_path, capsys):
    """userJ #8: reconstruct wrote its decoder means rounded to each column's own step (a
    1.0/2.0 column as 1 or 2 in every row, ages whole), so the file's RMSE against the input
    (0.483) was not the one printed (0.414). Means are written 2 decimals finer than their
    column, as impute writes its means; the file's RMSE is the printed one."""
    rng = np.random.default_rng(6)
    z = rng.normal(size=(300, 2))
    x = z @ rng.normal(size=(2, 4)) + 0.5 * rng.normal(size=(300, 4))
    sex = 1.0 + (x[:, 0] + 0.5 * rng.normal(size=300) > 0)  # 1.0 / 2.0
    age = np.round(50 + 10 * x[:, 1])
    rows = zip(sex, age, x[:, 2], x[:, 3], strict=True)
    cells = [f"{s:.1f},{a:.1f},{b:.3f},{c:.3f}" for s, a, b, c in rows]
    path = tmp_path / "t.csv"
    path.write_text("sex,age,b,c\n" + "\n".join(cells) + "\n")
    run, out = tmp_path / "ppca", tmp_path / "r.csv"
    assert (
        cli.main(["fit", "ppca", "--data", str(path), "--latent-dim", "2", "--out", str(run)]) == 0
    )
    capsys.readouterr()
    assert cli.main(["reconstruct", str(run), "--data", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "(the decoder means, 2 decimals finer than each column of the file)" in printed
    written = np.loadtxt(out, delimiter=",", skiprows=1)[:, 2:]  # (N, D) after row, line
    assert len(np.unique(written[:, 0])) > 10  # not 1 or 2 in every row
    for j, name in enumerate(["sex", "age"]):
        said = float(re.search(rf"{name}: \S+ \(RMSE (\S+) in its units\)", printed)[1])
        given = np.column_stack([sex, age])[:, j]
        assert np.sqrt(((written[:, j] - given) ** 2).mean()) == pytest.approx(said, rel=2e-3)


def test_a_later_file_with_an_empty_column_is_read_as_missing_cells(tmp_path, capsys):
    """reconstruct and encode of a later file whose column is empty in every row offered
    '--drop-columns c', which neither takes, and the run's model reads the column (review12
    #11), while score and impute read the file. A PPCA reads the observed cells; a VAE that
    reads complete rows names impute, whose output it then reads."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2)) @ rng.normal(size=(2, 4)) + 0.2 * rng.normal(size=(150, 4))
    rows = lambda cells: "".join(",".join(r) + "\n" for r in cells)  # noqa: E731
    (tmp_path / "t.csv").write_text("a,b,c,d\n" + rows([[f"{v:.3f}" for v in r] for r in x]))
    few = [[f"{v:.3f}" for v in r[:2]] + [""] + [f"{r[3]:.3f}"] for r in x[:5]]
    (tmp_path / "few.csv").write_text("a,b,c,d\n" + rows(few))
    for model in ("ppca", "vae"):
        fit = ["fit", "ppca", "--latent-dim", "2"] if model == "ppca" else ["train", "vae"]
        extra = [] if model == "ppca" else ["--epochs", "1"]
        argv = [*fit, "--data", str(tmp_path / "t.csv"), *extra, "--out", str(tmp_path / model)]
        assert cli.main(argv) == 0
    capsys.readouterr()
    for command in ("reconstruct", "encode"):
        out = str(tmp_path / f"{command}.csv")
        argv = [command, str(tmp_path / "ppca"), "--data", str(tmp_path / "few.csv")]
        assert cli.main([*argv, "--out", out]) == 0, capsys.readouterr().err
    capsys.readouterr()
    argv = ["reconstruct", str(tmp_path / "vae"), "--data", str(tmp_path / "few.csv")]
    assert cli.main([*argv, "--out", str(tmp_path / "v.csv")]) == 2
    err = capsys.readouterr().err
    assert "torchlvm impute" in err and "--drop-columns" not in err


def test_a_link_flipped_to_another_run_does_not_move_the_figure(vae_run, tmp_path, monkeypatch):
    """review16 R16 (userV #4's rest): 'reconstruct runs/current' wrote its default figure into
    whichever run the link named when it wrote, not the run it read."""
    import shutil

    from torchlvm.cli import reconstruct

    other = tmp_path / "other"
    shutil.copytree(vae_run, other)
    current = tmp_path / "current"
    current.symlink_to(vae_run)
    real = reconstruct.open_run

    def flipped_after_reading(args):
        run_ = real(args)
        current.unlink()
        current.symlink_to(other)  # (a deploy's flip)
        return run_

    monkeypatch.setattr(reconstruct, "open_run", flipped_after_reading)
    assert cli.main(["reconstruct", str(current)]) == 0
    assert (vae_run / "figures" / "reconstructions-test.png").is_file()
    assert not (other / "figures" / "reconstructions-test.png").exists()


def test_rows_of_a_class_no_train_row_has_are_named(tmp_path, capsys):
    """readH H1 (userU #9): 'reconstruct RUN --out rec.csv' of a table CVAE whose class has no
    train row wrote that class's reconstructions without a word, where sample refuses it."""
    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = CVAEConfig(2, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=("high", "solo"))  # fmt: skip
    table = TableSchema(("a", "b"), label_column="segment")
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": ["high", "solo"], "table": table.to_dict(),
            "class_counts": {"high": 3, "solo": 0}}  # fmt: skip
    CVAE(config).save_pretrained(tmp_path / "cvae", data=data)
    path = tmp_path / "t.csv"
    path.write_text("a,segment,b\n1.5,high,2.5\n-1.5,solo,-2.5\n0.5,high,1.0\n")
    out = tmp_path / "rec.csv"
    argv = ["reconstruct", str(tmp_path / "cvae"), "--data", str(path), "--out", str(out)]
    assert cli.main(argv) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        "1 row of a class the run was not trained on ('solo'; line 3) is reconstructed" in printed
    )
