"""``torchlvm sample DIR [--n] [--condition LABEL ...] [--source] [--seed] [--out] [--npy]``."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from torchlvm import cli
from torchlvm.models import CVAE, VAE, Autoencoder, AutoencoderConfig, CVAEConfig, VAEConfig

FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot")  # fmt: skip
DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "none", "shape": [1, 8, 8],
        "num_classes": 10, "class_names": [str(i) for i in range(10)]}  # fmt: skip


@pytest.fixture(autouse=True)
def sample_command(monkeypatch):
    monkeypatch.setitem(cli.COMMANDS, "sample", "sample")


@pytest.fixture
def runs(tmp_path):
    """Small untrained models saved as run folders (sampling needs no data)."""
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10, class_names=FASHION))
    ae = Autoencoder(AutoencoderConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    return {
        "vae": vae.save_pretrained(tmp_path / "vae", data=DATA),
        "cvae": cvae.save_pretrained(tmp_path / "cvae", data={**DATA, "condition": "label"}),
        "ae": ae.save_pretrained(tmp_path / "ae", data=DATA),
    }


def fails(capsys, argv):
    """Run ``argv``; it must exit 2 with one line on stderr and no traceback."""
    assert cli.main([str(a) for a in argv]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("torchlvm: error: ")
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err


def test_vae_samples_written_as_png_grid(runs, capsys):
    assert cli.main(["sample", str(runs["vae"])]) == 0
    image = imread(runs["vae"] / "figures" / "samples-seed0.png")
    assert image.ndim == 3 and image.shape[0] > 100
    out = capsys.readouterr().out
    assert "64 samples" in out and "decoder means E[x | z] at z ~ p(z)" in out and "seed 0" in out


def test_npy_holds_images_in_the_runs_shape(runs, tmp_path, capsys):
    """shell8 item 5: --npy saved image samples as (N, D) rows, which a user reshapes by hand
    and can get wrong (a colour image's channels). Grey images are saved (N, H, W), colour ones
    (N, C, H, W), pixel for pixel the rows drawn; a table's rows stay (N, D)."""
    argv = ["sample", str(runs["vae"]), "--n", "3", "--seed", "1", "--npy", str(tmp_path / "g.npy")]
    assert cli.main([*argv, "--out", str(tmp_path / "g.png")]) == 0
    assert "g.npy (samples, shape (3, 8, 8): N, H, W)" in capsys.readouterr().out
    torch.manual_seed(0)
    rgb = VAE(VAEConfig(input_dim=48, latent_dim=2, hidden=(8,)))
    rgb.save_pretrained(tmp_path / "rgb", data={**DATA, "shape": [3, 4, 4], "num_classes": None})
    argv = ["sample", str(tmp_path / "rgb"), "--n", "2", "--npy", str(tmp_path / "c.npy")]
    assert cli.main([*argv, "--out", str(tmp_path / "c.png")]) == 0
    assert "(samples, shape (2, 3, 4, 4): N, C, H, W)" in capsys.readouterr().out
    drawn = rgb.sample(2, generator=torch.Generator().manual_seed(0)).detach()
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), drawn.reshape(2, 3, 4, 4), rtol=1e-6)


def test_npy_of_a_channels_last_run_is_written_channels_last(tmp_path, capsys):
    """userM #7, review13 #13: a run trained on an (N, H, W, C) file wrote its samples
    (N, C, H, W), so np.concatenate([x, samples]) failed; they take the file's axes, say so,
    and are the rows drawn, channels moved last."""
    data = tmp_path / "rgb.npy"
    np.save(data, np.zeros((5, 4, 4, 3), np.uint8))
    torch.manual_seed(0)
    rgb = VAE(VAEConfig(input_dim=48, latent_dim=2, hidden=(8,)))
    record = {**DATA, "name": str(data), "shape": [3, 4, 4], "num_classes": None}
    rgb.save_pretrained(tmp_path / "rgb", data=record)
    argv = ["sample", tmp_path / "rgb", "--n", "2", "--npy", tmp_path / "c.npy"]
    assert cli.main([str(a) for a in argv]) == 0
    assert "(samples, shape (2, 4, 4, 3): N, H, W, C, as rgb.npy)" in capsys.readouterr().out
    drawn = rgb.sample(2, generator=torch.Generator().manual_seed(0)).detach()
    expected = drawn.reshape(2, 3, 4, 4).permute(0, 2, 3, 1)  # (N, H, W, C)
    np.testing.assert_allclose(np.load(tmp_path / "c.npy"), expected, rtol=1e-6)


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "run-before-the-record"])
def test_npy_of_a_run_on_8_bit_levels_is_written_on_their_scale(tmp_path, capsys, recorded):
    """readD D5: a run trained on a uint8 file (0..255, read divided by 255) wrote its samples
    in [0, 1] while saying they were written "as d255.npy". They are the draws times 255, on
    the file's scale, and said to be; a run made before the record says so from the file."""
    data = tmp_path / "d255.npy"
    np.save(data, np.random.default_rng(0).integers(0, 256, (5, 4, 4), dtype=np.uint8))
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=16, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    record = {**DATA, "name": str(data), "shape": [1, 4, 4], "num_classes": None, "pixels": 4}
    record |= {"stored_shape": [4, 4], "value_range": [0.0, 1.0]}
    vae.save_pretrained(
        tmp_path / "run", data={**record, "divided_by": 255} if recorded else record
    )
    argv = ["sample", tmp_path / "run", "--n", "50", "--npy", tmp_path / "s.npy"]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "(samples, shape (50, 4, 4): N, H, W, as d255.npy, on its 0..255 scale (float32))" in out
    drawn = vae.sample(50, generator=torch.Generator().manual_seed(0)).detach()
    np.testing.assert_allclose(
        np.load(tmp_path / "s.npy"), 255 * drawn.reshape(50, 4, 4), rtol=1e-5
    )
    assert "values lie outside the [0, 1] the model was trained on" in out
    assert out.rstrip().endswith("the .npy keeps them as drawn, times 255")
    np.save(data, np.random.default_rng(0).uniform(size=(5, 4, 4)))  # (floats: read as stored)
    if not recorded:  # the file now says its values were read as stored
        assert cli.main([str(a) for a in argv] + ["--overwrite"]) == 0
        assert "(samples, shape (50, 4, 4): N, H, W, as d255.npy)" in capsys.readouterr().out


def test_same_seed_same_samples(runs, tmp_path):
    for name in ("a", "b"):
        argv = ["sample", str(runs["vae"]), "--n", "5", "--seed", "3"]
        argv += ["--out", str(tmp_path / f"{name}.png"), "--npy", str(tmp_path / f"{name}.npy")]
        assert cli.main(argv) == 0
    a, b = np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    assert a.shape == (5, 8, 8)
    np.testing.assert_array_equal(a, b)


def test_cvae_rows_per_condition_from_labels_and_names(runs, tmp_path, capsys):
    npy = tmp_path / "s.npy"
    argv = [
        "sample",
        str(runs["cvae"]),
        "--condition",
        "7",
        "Sandal",
        "--n",
        "3",
        "--npy",
        str(npy),
    ]
    assert cli.main(argv) == 0
    assert imread(runs["cvae"] / "figures" / "conditional-seed0.png").ndim == 3
    assert np.load(npy).shape == (6, 8, 8)
    np.testing.assert_array_equal(np.load(tmp_path / "s.labels.npy"), [7, 7, 7, 5, 5, 5])
    assert "3 samples for each of 2 classes (Sneaker, Sandal)" in capsys.readouterr().out


def test_cvae_condition_all_gives_every_class(runs, tmp_path):
    npy = tmp_path / "all.npy"
    argv = ["sample", str(runs["cvae"]), "--condition", "all", "--n", "2", "--npy", str(npy)]
    assert cli.main(argv) == 0
    assert np.load(npy).shape == (20, 8, 8)
    np.testing.assert_array_equal(np.load(tmp_path / "all.labels.npy"), np.repeat(range(10), 2))


def test_a_classs_samples_of_a_seed_do_not_depend_on_the_other_classes_asked(runs, tmp_path):
    """userU #10: the seed-0 Sandals of '--condition Sandal', of 'all' and of 'Sneaker Sandal'
    differed by up to 0.88: one source drew every class in turn."""
    drawn = {}
    for name, condition in [("one", ["Sandal"]), ("all", ["all"]), ("two", ["Sneaker", "5"])]:
        npy = tmp_path / f"{name}.npy"
        argv = ["sample", str(runs["cvae"]), "--condition", *condition, "--n", "3"]
        assert cli.main([*argv, "--npy", str(npy), "--out", str(tmp_path / f"{name}.png")]) == 0
        drawn[name] = np.load(npy)
    np.testing.assert_array_equal(drawn["one"], drawn["all"][15:18])
    np.testing.assert_array_equal(drawn["one"], drawn["two"][3:6])
    assert not np.array_equal(drawn["two"][:3], drawn["two"][3:6])  # (classes differ)


def test_cvae_class_name_matches_case_insensitively(runs, tmp_path):
    argv = ["sample", str(runs["cvae"]), "--condition", "ankle boot", "--n", "1"]
    assert cli.main([*argv, "--out", str(tmp_path / "boot.png")]) == 0


def test_cvae_without_condition_names_the_flag_and_labels(runs, capsys):
    """A run that records no class frequencies (written before they were recorded) cannot
    draw its classes as often as they occur: refused, naming --condition."""
    err = fails(capsys, ["sample", runs["cvae"]])
    assert "records no class frequencies" in err
    assert "--condition" in err and "0..9" in err and "Sandal" in err


COUNTS = dict(zip(FASHION, (600, 300, 0, 0, 0, 100, 0, 0, 0, 0), strict=True))  # π .6, .3, .1


def test_cvae_without_condition_draws_each_class_by_its_train_frequency(runs, tmp_path, capsys):
    """p(x) = Σ_c π_c p(x | c), as CVAEEstimator.sample: classes c ~ π (the recorded train
    counts), then x given c; the labels are written as for --condition all."""
    from scipy.stats import chisquare

    data = {**DATA, "condition": "label", "class_counts": COUNTS}
    model = CVAE(
        CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10, class_names=FASHION)
    )
    run = model.save_pretrained(tmp_path / "counted", data=data)
    npy = tmp_path / "mix.npy"
    argv = ["sample", run, "--n", "3000", "--npy", npy]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    assert "3000 samples from cvae" in out and "z ~ p(z | c), c ~ π" in out
    assert "T-shirt/top 0.600 (" in out and "Sandal 0.100 (" in out
    labels = np.load(tmp_path / "mix.labels.npy")
    assert np.load(npy).shape == (3000, 8, 8) and set(labels) == {0, 1, 5}  # never a 0-count one
    drawn = np.bincount(labels, minlength=10)[[0, 1, 5]]
    assert chisquare(drawn, [1800, 900, 300]).pvalue > 1e-3
    assert f"({drawn[0]} drawn)" in out
    again = tmp_path / "again.npy"
    assert cli.main([str(a) for a in [*argv[:-1], again, "--out", tmp_path / "a.png"]]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "again.labels.npy"), labels)  # seeded


@pytest.mark.parametrize("n", [20, 150], ids=["every-tile", "first-of-each-class"])
def test_drawn_classes_are_captioned_on_the_grid(tmp_path, monkeypatch, capsys, n):
    """review11 #16: the grid of samples of classes drawn by π named no image's class (only the
    console line counted them): each tile is captioned with its class (a large grid: the first
    tile of each class, the samples being sorted by class)."""
    from torchlvm import plots

    drawn, grid = [], plots.image_grid
    monkeypatch.setattr(
        plots, "image_grid", lambda *a, **k: drawn.append(grid(*a, **k)) or drawn[-1]
    )
    data = {**DATA, "condition": "label", "class_counts": COUNTS}
    model = CVAE(
        CVAEConfig(64, 10, latent_dim=4, hidden=(32,), num_classes=10, class_names=FASHION)
    )
    run = model.save_pretrained(tmp_path / "counted", data=data)
    npy = tmp_path / "s.npy"
    assert cli.main([str(a) for a in ["sample", run, "--n", n, "--npy", npy]]) == 0
    classes = [FASHION[k] for k in np.load(tmp_path / "s.labels.npy")]
    captions = [t.get_text() for t in drawn[0].axes[0].texts]
    if n <= 100:
        assert captions == classes
    else:
        assert captions == list(dict.fromkeys(classes))  # (sorted: each class once, in order)
        assert len(set(classes)) > 1


@pytest.mark.parametrize("label", ["10", "-1", "Boot"], ids=["too-big", "negative", "unknown-name"])
def test_condition_outside_the_classes_lists_the_valid_ones(runs, capsys, label):
    err = fails(capsys, ["sample", runs["cvae"], "--condition", label])
    assert "valid labels are 0..9 or a class name (T-shirt/top, Trouser" in err
    assert not (runs["cvae"] / "figures").exists()


def test_condition_on_unconditional_model_is_refused(runs, capsys):
    """It named the problem but no fix: the run's own data in the command that trains one."""
    err = fails(capsys, ["sample", runs["vae"], "--condition", "3"])
    assert "class-conditional CVAE" in err
    data = DATA["name"]
    assert err.rstrip().endswith(
        f"leave out --condition, or train one with 'torchlvm train cvae --data {data} "
        "--condition label --out RUN'"
    )


def test_autoencoder_sources(runs, capsys):
    err = fails(capsys, ["sample", runs["ae"]])
    assert "--source standard" in err
    assert cli.main(["sample", str(runs["ae"]), "--source", "standard"]) == 0
    assert "z ~ N(0, I)" in capsys.readouterr().out
    assert "autoencoders only" in fails(capsys, ["sample", runs["vae"], "--source", "standard"])


def test_n_zero_is_refused(runs, capsys):
    assert "--n must be a positive integer, got 0" in fails(
        capsys, ["sample", runs["vae"], "--n", "0"]
    )


def test_existing_output_is_kept_without_overwrite(runs, tmp_path, capsys):
    out = tmp_path / "samples.png"
    out.write_bytes(b"keep me")
    err = fails(capsys, ["sample", runs["vae"], "--out", out])
    assert "already exists and is not a file torchlvm wrote there" in err
    assert out.read_bytes() == b"keep me"
    err = fails(capsys, ["sample", runs["vae"], "--out", out, "--overwrite"])  # (not torchlvm's)
    assert "so --overwrite does not replace it" in err and out.read_bytes() == b"keep me"
    out.unlink()
    assert cli.main(["sample", str(runs["vae"]), "--out", str(out)]) == 0
    assert cli.main(["sample", str(runs["vae"]), "--out", str(out), "--overwrite"]) == 0
    assert imread(out).ndim == 3


def test_out_must_be_png(runs, tmp_path, capsys):
    assert "--out must name a .png file" in fails(
        capsys, ["sample", runs["vae"], "--out", tmp_path / "s.jpg"]
    )


def test_folder_without_model(tmp_path, capsys):
    err = fails(capsys, ["sample", tmp_path])
    assert f"no model in {tmp_path}" in err


def test_more_samples_than_a_grid_shows_need_npy(runs, capsys):
    err = fails(capsys, ["sample", runs["vae"], "--n", "4097"])
    assert "--n asks for 4097 samples, more than the 4096 a PNG grid shows; pass --npy" in err
    err = fails(capsys, ["sample", runs["cvae"], "--condition", "all", "--n", "410"])
    assert "4100 samples" in err


def test_samples_beyond_a_chunk_are_drawn_in_chunks_and_all_saved(runs, tmp_path, monkeypatch):
    from torchlvm.cli import _sample_images

    monkeypatch.setattr(_sample_images, "CHUNK", 7)
    npy = tmp_path / "s.npy"
    argv = ["sample", str(runs["cvae"]), "--condition", "0", "1", "--n", "10", "--npy", str(npy)]
    assert cli.main([*argv, "--out", str(tmp_path / "s.png")]) == 0
    assert np.load(npy).shape == (20, 8, 8) and np.isfinite(np.load(npy)).all()
    assert (
        cli.main(["sample", str(runs["vae"]), "--n", "15", "--npy", str(tmp_path / "v.npy")]) == 0
    )
    assert np.load(tmp_path / "v.npy").shape == (15, 8, 8)


def test_samples_that_cannot_fit_in_memory_are_refused_naming_the_limit(runs, tmp_path, capsys):
    argv = ["sample", runs["vae"], "--n", "10000000000000", "--npy", tmp_path / "s.npy"]
    err = fails(capsys, argv)
    assert "10000000000000 samples of 64 values (float32) need 2560.0 TB of memory" in err
    assert "available here; pass a smaller --n" in err
    assert not (tmp_path / "s.npy").exists()


def test_a_cvae_trained_on_a_table_samples_rows_per_class(tmp_path, capsys):
    """``sample --condition`` on a CVAE trained on a CSV with a text label column was a
    Python-API error ("pass c (e.g. model.condition_from_labels(labels) ..."): the table path
    ignored --condition. It writes n rows per class, in the file's units, with a label column."""
    import csv

    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "kind"])
        for i in range(300):
            kind = ("low", "high")[i % 2]
            centre = 10.0 if kind == "high" else -10.0
            writer.writerow([repr(centre + rng.normal()), repr(2 * centre + rng.normal()), kind])
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(path), "--label-column", "kind", "--latent-dim", "2"]
    assert cli.main([*argv, "--hidden", "16", "--epochs", "30", "--quiet", "--out", str(run)]) == 0
    out = tmp_path / "s.csv"
    argv = ["sample", str(run), "--condition", "high", "low", "--n", "50", "--out", str(out)]
    assert cli.main(argv) == 0
    assert "100 rows drawn from cvae" in capsys.readouterr().out
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["a", "b", "kind"] and len(rows) == 101
    labels = [r[2] for r in rows[1:]]
    assert labels == ["high"] * 50 + ["low"] * 50
    values = np.array([r[:2] for r in rows[1:]], dtype=float)
    assert values[:50, 0].mean() > 2 and values[50:, 0].mean() < -2  # the class's own rows
    # without --condition, each row's class is drawn by its train frequency (half each here)
    assert cli.main(["sample", str(run), "--n", "400", "--out", str(tmp_path / "mix.csv")]) == 0
    assert "c ~ π, then z ~ p(z | c)" in capsys.readouterr().out
    drawn = [r[2] for r in list(csv.reader((tmp_path / "mix.csv").open()))[1:]]
    assert len(drawn) == 400 and 150 < drawn.count("high") < 250


def test_a_table_cvaes_rows_are_draws_of_p_x_given_c_not_decoder_means(tmp_path, capsys):
    """userC: a table CVAE's sample wrote decoder means E[x | z, c], rows that hug the class's
    mean, while a table VAE's sample draws x ~ p(x | z). Its rows are now draws of p(x | c) too:
    their variance per column is Var E[x | z, c] + E Var[x | z, c] (the law of total variance,
    computed from the model), far above the means' alone."""
    import csv

    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    config = CVAEConfig(3, 2, latent_dim=2, hidden=(8,), likelihood="gaussian", num_classes=2,
                        class_names=("a", "b"))  # fmt: skip
    model = CVAE(config)
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "condition": "label",
            "num_classes": 2, "class_names": ["a", "b"],
            "table": TableSchema(("x", "y", "z"), label_column="kind").to_dict()}  # fmt: skip
    model.save_pretrained(tmp_path / "cvae", data=data)
    out = tmp_path / "s.csv"
    argv = ["sample", str(tmp_path / "cvae"), "--condition", "b", "--n", "4000", "--out"]
    assert cli.main([*argv, str(out), "--npy", str(tmp_path / "s.npy")]) == 0
    printed = capsys.readouterr().out
    assert "z ~ p(z | c), then x ~ p(x | z, c), per class" in printed
    values = np.array([r[:3] for r in list(csv.reader(out.open()))[1:]], dtype=float)
    # --npy: the rows (N, D) and, as for images, each row's class beside them (none was written)
    assert "s.npy (samples, shape (4000, 3): N, D) and " in printed
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), values, rtol=1e-3, atol=1e-3)
    assert np.load(tmp_path / "s.labels.npy").tolist() == ["b"] * 4000
    with torch.no_grad():
        c = model.condition_from_labels(["b"] * 20000)
        p = model.decode(model.prior(c).sample(), c)
        means, expected = p.mean.var(0).numpy(), (p.mean.var(0) + p.variance.mean(0)).numpy()
    np.testing.assert_allclose(values.var(0), expected, rtol=0.1)
    assert (values.var(0) > 3 * means).all()


def test_table_rows_of_a_float32_model_carry_no_rounding_noise(tmp_path, capsys):
    """A VAE computes in float32: 12.826254, not 12.826253890991211."""
    import csv

    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    schema = TableSchema(("a", "b", "c"))
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "table": schema.to_dict()}
    vae.save_pretrained(tmp_path / "vae", data=data)
    out = tmp_path / "s.csv"
    assert cli.main(["sample", str(tmp_path / "vae"), "--n", "1", "--out", str(out)]) == 0
    assert "1 row drawn" in capsys.readouterr().out
    cells = list(csv.reader(out.open()))[1]
    assert all(str(np.float32(c)) == c for c in cells), cells


def test_source_on_a_vae_table_run_is_refused_as_for_images(tmp_path, capsys):
    """`sample VAE_RUN --source standard --out s.csv` wrote the VAE's prior samples as if the
    option applied; --source chooses an autoencoder's codes and is refused for a VAE."""
    from torchlvm.data.table_schema import TableSchema

    vae = VAE(VAEConfig(input_dim=3, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "table": TableSchema(("a", "b", "c"))}
    vae.save_pretrained(tmp_path / "vae", data={**data, "table": data["table"].to_dict()})
    out = tmp_path / "s.csv"
    argv = ["sample", str(tmp_path / "vae"), "--source", "standard", "--out", str(out)]
    assert cli.main(argv) == 2
    assert "--source applies to autoencoders only" in capsys.readouterr().err
    assert not out.exists()


def test_one_sample_is_counted_in_the_singular(runs, tmp_path, capsys):
    """`sample RUN --n 1` printed '1 samples from ...'."""
    out = tmp_path / "one.png"
    assert cli.main(["sample", str(runs["vae"]), "--n", "1", "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("1 sample from ")


def test_evaluates_recorded_figure_is_kept_and_samples_own_is_redrawn(runs, capsys):
    """README's order, evaluate RUN then sample RUN, failed on the first sample call (evaluate
    had drawn figures/samples.png); then sample replaced it, so the report showed sample's
    5-image grid as evaluate's Figure 1 (userD). sample draws under its own name, per seed,
    which it redraws; evaluate's figure and a user's file of that name are left alone."""
    from matplotlib.figure import Figure

    from torchlvm import plots

    figures = runs["vae"] / "figures"
    figures.mkdir()
    plots.save_figure(plots.kl_per_dimension([0.5, 0.1]), figures / "samples.png")  # evaluate's
    drawn = (figures / "samples.png").read_bytes()
    assert cli.main(["sample", str(runs["vae"]), "--n", "5"]) == 0
    assert "wrote " + str(figures / "samples-seed0.png") in capsys.readouterr().out
    assert (figures / "samples.png").read_bytes() == drawn
    first = (figures / "samples-seed0.png").read_bytes()
    assert cli.main(["sample", str(runs["vae"]), "--n", "6"]) == 0  # its own: redrawn
    assert (figures / "samples-seed0.png").read_bytes() != first
    assert cli.main(["sample", str(runs["vae"]), "--seed", "1"]) == 0
    assert (figures / "samples-seed1.png").exists()
    Figure().savefig(figures / "samples-seed2.png", format="png")  # the user's own file
    mine = (figures / "samples-seed2.png").read_bytes()
    err = fails(capsys, ["sample", runs["vae"], "--seed", "2"])
    assert "samples-seed2.png already exists and is not a file torchlvm wrote there" in err
    assert (figures / "samples-seed2.png").read_bytes() == mine


def test_an_autoencoder_trained_on_a_table_samples_as_for_images(tmp_path, capsys):
    """`sample AE_RUN --out s.csv` drew 'z ~ p(z), then x ~ p(x | z)' from an autoencoder, which
    has neither: its rows are now the decoder outputs at codes from the Gaussian fitted to its
    training codes (or N(0, I) with --source standard), as its image samples are, and say so."""
    import csv

    from torchlvm.data.table_schema import TableSchema

    torch.manual_seed(0)
    ae = Autoencoder(AutoencoderConfig(input_dim=3, latent_dim=2, hidden=(8,)))
    ae.fit_code_distribution(torch.randn(50, 3))
    data = {"name": "t.csv", "binarize": "none", "seed": 0, "table": TableSchema(("a", "b", "c"))}
    ae.save_pretrained(tmp_path / "ae", data={**data, "table": data["table"].to_dict()})
    for source in ("fitted", "standard"):
        out = tmp_path / f"{source}.csv"
        argv = ["sample", str(tmp_path / "ae"), "--n", "4", "--out", str(out), "--seed", "3"]
        assert cli.main([*argv, "--source", source]) == 0
        printed = capsys.readouterr().out
        assert "p(z)" not in printed and "p(x | z)" not in printed
        assert "decoder outputs at codes" in printed
        rows = np.array(list(csv.reader(out.open()))[1:], dtype=float)
        expected = ae.sample(4, source=source, generator=torch.Generator().manual_seed(3))
        np.testing.assert_allclose(rows, expected.numpy(), rtol=1e-6)


def test_a_class_asked_twice_is_one_class(runs, tmp_path, capsys):
    npy = tmp_path / "twice.npy"
    argv = ["sample", runs["cvae"], "--condition", "7", "Sneaker", "--n", "2", "--npy", npy]
    assert cli.main([str(a) for a in argv]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "twice.labels.npy"), [7, 7])
    assert "2 samples of class Sneaker" in capsys.readouterr().out
    argv = ["sample", runs["cvae"], "--condition", "all", "3", "--n", "1", "--npy", npy]
    argv.append("--overwrite")
    assert cli.main([str(a) for a in argv]) == 0
    assert "each of 10 classes" in capsys.readouterr().out


def test_class_is_another_name_for_condition(runs, tmp_path):
    """'give me a 7': `sample RUN --class 7` is what a newcomer types first, and it said
    'unrecognized arguments: --class 7'. --class is --condition's other name: same rows, same
    pixels."""
    drawn = {}
    for flag in ("--condition", "--class"):
        npy = tmp_path / f"{flag.strip('-')}.npy"
        argv = ["sample", str(runs["cvae"]), flag, "7", "Sandal", "--n", "2", "--npy", str(npy)]
        assert cli.main([*argv, "--out", str(tmp_path / f"{flag.strip('-')}.png")]) == 0
        drawn[flag] = np.load(npy)
    assert drawn["--class"].shape == (4, 8, 8)
    np.testing.assert_array_equal(drawn["--class"], drawn["--condition"])


def test_a_class_name_with_a_space_is_shown_as_one_word_and_its_split_is_named(runs, capsys):
    """`--condition Ankle boot`, typed as the list of valid classes showed it (unquoted), said
    "'Ankle' is not a known class; valid ... (..., Bag, Ankle boot)": copying the name failed
    again. The list quotes a name with a space, and a name split in two is named whole."""
    err = fails(capsys, ["sample", runs["cvae"], "--condition", "Ankle", "boot"])
    assert (
        "--condition 'Ankle' is not a known class, but 'Ankle boot' is: a name with a space is "
        'one argument, --condition "Ankle boot"'
    ) in err
    err = fails(capsys, ["sample", runs["cvae"], "--condition", "boots"])
    assert "Sneaker, Bag, \"Ankle boot\"), or 'all'" in err


def test_many_samples_of_one_class_are_a_square_grid_and_of_several_a_row_of_32_each(
    runs, tmp_path
):
    """--condition 7 --n 5000 laid all 4096 shown samples in one row: a PNG of 124,352 × 5,012
    pixels that PIL refuses to open as a decompression bomb."""
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    argv = ["sample", str(runs["cvae"]), "--n", "400", "--npy", str(tmp_path / "s.npy")]
    assert cli.main([*argv, "--condition", "7", "--out", str(one)]) == 0
    height, width = imread(one).shape[:2]
    assert 0.5 < width / height < 2, (height, width)  # 20 × 20
    assert cli.main([*argv, "--condition", "7", "5", "--out", str(two), "--overwrite"]) == 0
    height, width = imread(two).shape[:2]
    assert width < 2000, (height, width)  # two rows of 32 tiles (a row of 400 was 16,000 wide)


def test_more_per_class_than_a_row_shows_needs_npy(runs, tmp_path, capsys):
    """sample --condition 3 7 --n 100 printed '100 samples for each of 2 classes' and drew a
    grid of 32 of each, saying nothing of the rest."""
    argv = ["sample", str(runs["cvae"]), "--condition", "7", "5", "--n", "33"]
    assert cli.main([*argv, "--out", str(tmp_path / "a.png")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: --n 33 per class is more than the 32 of each class")
    assert "pass --npy FILE.npy to save them all" in err and "or --n 32" in err
    assert not (tmp_path / "a.png").exists()
    assert cli.main([*argv[:-1], "32", "--out", str(tmp_path / "a.png")]) == 0


@pytest.mark.parametrize(
    "names, given, meant",
    [(["3", "7", "9"], "1", "7"), (["bag", "boot", "coat"], "0", "bag")],
    ids=["digit-strings", "words"],
)
def test_a_files_text_classes_are_given_by_name_not_position(tmp_path, capsys, names, given, meant):
    """A file's text labels are numbered by their sorted order, which the user never saw:
    with classes '3', '7', '9', --condition 1 drew '7'; with 'bag', 'boot', 'coat', --condition 0
    drew 'bag' (userB). A number that is not a name is refused, naming the names; a name works."""
    rng = np.random.default_rng(0)
    images = rng.random((60, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "t.npz", x=images, y=np.array(names * 20))
    run = tmp_path / "cvae"
    argv = ["train", "cvae", "--data", str(tmp_path / "t.npz"), "--condition", "label"]
    assert cli.main([*argv, "--epochs", "1", "--hidden", "8", "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    out = tmp_path / "s.png"
    assert cli.main(["sample", str(run), "--condition", given, "--n", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--condition {given!r} is not a known class" in err
    assert f"valid labels are a class name ({', '.join(names)})" in err and not out.exists()
    assert cli.main(["sample", str(run), "--condition", meant, "--n", "2", "--out", str(out)]) == 0
    npy = tmp_path / "s.npy"  # its labels file names the classes as the file did (userB)
    argv = ["sample", str(run), "--condition", meant, "--n", "2", "--npy", str(npy)]
    assert cli.main([*argv, "--out", str(tmp_path / "s2.png")]) == 0
    assert np.load(tmp_path / "s.labels.npy").tolist() == [meant, meant]


def test_values_outside_the_pixels_range_are_counted(tmp_path, capsys):
    """userD: `sample --npy` of a Gaussian run wrote means in -0.55..1.77 with no word (the grid
    clips them). The output counts the values outside [0, 1], as the .npy holds them."""
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    run = vae.save_pretrained(tmp_path / "g", data={**DATA, "num_classes": None})
    npy = tmp_path / "s.npy"
    argv = ["sample", str(run), "--n", "20", "--npy", str(npy), "--out", str(tmp_path / "s.png")]
    assert cli.main(argv) == 0
    drawn = np.load(npy)
    out = int(((drawn < 0) | (drawn > 1)).sum())
    assert out > 0
    printed = capsys.readouterr().out
    assert f"  {out:,} of 1,280 values lie outside the [0, 1] the model was trained on (" in printed
    assert printed.rstrip().endswith("the grid clips them to it, the .npy keeps them as drawn")
    # userI #14: without --npy there is no .npy to keep them: the line names the option
    assert cli.main(argv[:4] + ["--out", str(tmp_path / "t.png")]) == 0
    printed = capsys.readouterr().out
    assert printed.rstrip().endswith("clips them to it, --npy FILE.npy keeps them as drawn")


def test_values_outside_a_runs_own_range_are_counted_against_it(tmp_path, capsys, monkeypatch):
    """review14 R1: a run trained on 0..16 values was told its samples lay outside 'the pixels'
    [0, 1]', and 'the grid clips them' where it was scaled to their own -6.6..20.8. The line
    and the grid take the recorded range: the grid is drawn on it, clipping, and says so."""
    from torchlvm import plots

    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    last = [m for m in vae.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.bias += 0.8  # (means about 0.8: many above 1, some below 0)
    record = {**DATA, "name": "d16.npy", "num_classes": None, "value_range": [0.0, 16.0]}
    run = vae.save_pretrained(tmp_path / "g", data=record)
    grids = []
    monkeypatch.setattr(plots, "save_figure", lambda fig, out: grids.append(fig))
    assert cli.main(["sample", str(run), "--n", "20", "--out", str(tmp_path / "s.png")]) == 0
    drawn = vae.sample(20, generator=torch.Generator().manual_seed(0)).detach().numpy()
    out = int(((drawn < 0) | (drawn > 16)).sum())
    assert 0 < out < int(((drawn < 0) | (drawn > 1)).sum())
    said = f"  {out:,} of 1,280 values lie outside the [0, 16] the model was trained on ("
    assert said in capsys.readouterr().out
    xlabel = grids[0].axes[0].get_xlabel()
    assert xlabel == f"samples shown clipped to the data's range [0, 16]: {out / 1280:.1%} of " + (
        "their values lie outside"
    )


def test_table_values_outside_the_train_range_are_counted(tmp_path, capsys):
    """userC: a table CVAE's sampled rows held ages -11 and 104 on a file of 18..79 with no
    word. After the rows are written, one line counts the values outside the range their column
    has in the train split, naming the columns (at least those outside the whole file's)."""
    import csv

    rng = np.random.default_rng(5)
    age = rng.uniform(18, 79, size=400)
    spend = 3 * age + rng.normal(0, 20, size=400)
    path = tmp_path / "t.csv"
    path.write_text(
        "age,spend\n" + "".join(f"{a:.0f},{s:.2f}\n" for a, s in zip(age, spend, strict=True))
    )
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--out", str(run)]
    assert cli.main(argv) == 0
    out = tmp_path / "s.csv"
    assert cli.main(["sample", str(run), "--n", "2000", "--seed", "1", "--out", str(out)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "lie outside" in x)
    drawn = np.array([r for r in list(csv.reader(out.open()))[1:]], dtype=float)
    beyond = int(((drawn[:, 0] < age.min()) | (drawn[:, 0] > age.max())).sum())
    total = int(line.split(" of 4,000 drawn values")[0].replace(",", ""))
    assert beyond > 0 and total >= beyond and "'age' " in line
    assert "training data (the model's p(x | z) is not bounded): " in line


def test_the_train_range_is_said_and_compared_as_the_file_writes_it(tmp_path, capsys):
    """review9: a count column whose train minimum is 0 was said as 'count: 8 below -3.183e-07'
    (the bound came back through float32 standardization), and draws were counted before they
    were rounded as written (a -0.03 written '0' counted below 0). The bound is the file's, and
    the count is that of the written cells below it."""
    import csv
    import re

    rng = np.random.default_rng(3)
    count = rng.integers(0, 20, size=10000).astype(float)
    count[7000] = 0.5  # (a column of one decimal)
    other = count + rng.normal(0, 3, size=10000)
    path = tmp_path / "t.csv"
    path.write_text(
        "count,other\n" + "".join(f"{c:g},{o:.2f}\n" for c, o in zip(count, other, strict=True))
    )
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--latent-dim", "1", "--out", str(run)]
    assert cli.main(argv) == 0
    out = tmp_path / "s.csv"
    assert cli.main(["sample", str(run), "--n", "200", "--seed", "1", "--out", str(out)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "lie outside" in x)
    said = re.search(r"'count' (\d+) \([^;]+; trained ([^ ]+) to ([^)]+)\)", line)
    assert said is not None and said.group(2) == "0" and said.group(3) == "19", line
    written = np.array([r[0] for r in list(csv.reader(out.open()))[1:]], dtype=float)
    assert int(said.group(1)) == int(((written < 0) | (written > 19)).sum()) > 0


def test_the_offered_cvae_on_a_table_reads_it_as_the_run_did(tmp_path, capsys):
    """userC: `sample --condition` on a table run offered 'train cvae --data t.csv --condition
    label', which drops the run's --drop-columns and conditions on nothing a table has: the
    offer carries the run's table flags and asks for the label column."""
    import shlex

    rng = np.random.default_rng(2)
    x = rng.normal(size=(60, 3))
    path = tmp_path / "t.csv"
    path.write_text("id,a,b,c\n" + "".join(f"r{i}," + ",".join(map(repr, r)) + "\n"
                                          for i, r in enumerate(x.tolist())))  # fmt: skip
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(path), "--drop-columns", "id", "--latent-dim", "1"]
    assert cli.main([*argv, "--out", str(run)]) == 0
    err = fails(capsys, ["sample", run, "--condition", "a"])
    offered = shlex.split(err.split("train one with '")[1].rsplit("'", 1)[0])
    assert offered[:5] == ["torchlvm", "train", "cvae", "--data", str(path)]
    assert offered[5:] == ["--drop-columns", "id", "--label-column", "COLUMN", "--out", "RUN"]


def test_a_bernoulli_tables_draws_outside_a_column_are_not_blamed_on_a_gaussian(tmp_path, capsys):
    """review11 #21: the outside-range line said 'a Gaussian per column knows no bounds' of a
    Bernoulli model's 0/1 draws in a column the train split holds only 0s of."""
    rng = np.random.default_rng(0)
    x = (rng.random((300, 4)) < 0.5).astype(int)
    x[:, 3] = 0
    path = tmp_path / "bin.csv"
    np.savetxt(path, x, fmt="%d", delimiter=",", header="a,b,c,d", comments="")
    run = tmp_path / "bin"
    argv = ["train", "vae", "--data", path, "--no-standardize", "--likelihood", "bernoulli"]
    assert cli.main([str(a) for a in [*argv, "--epochs", "1", "--quiet", "--out", run]]) == 0
    capsys.readouterr()
    argv = ["sample", run, "--n", "500", "--out", tmp_path / "s.csv"]
    assert cli.main([str(a) for a in argv]) == 0
    out = capsys.readouterr().out
    said = "(a Bernoulli draws 0 or 1, and the column's training data hold one of them only): 'd' "
    assert said in out
    assert "Gaussian" not in out


def test_a_bernoulli_models_draws_are_compared_with_the_range_it_sees(tmp_path, capsys):
    """review11 #22: a Bernoulli model of grey levels (binarized) had its 0/1 draws compared with
    the grey levels' range: every 1 in a column of greys up to 0.3 read as outside its range."""
    rng = np.random.default_rng(0)
    x = rng.random((300, 4)) * 0.3
    x[:, 3] = 0
    path = tmp_path / "grey.csv"
    np.savetxt(path, x, fmt="%.4f", delimiter=",", header="a,b,c,d", comments="")
    run = tmp_path / "grey"
    argv = ["train", "vae", "--data", path, "--no-standardize", "--likelihood", "bernoulli"]
    argv += ["--binarize", "dynamic", "--epochs", "1", "--quiet", "--out", run]
    assert cli.main([str(a) for a in argv]) == 0
    capsys.readouterr()
    sample = ["sample", run, "--n", "500", "--out", tmp_path / "s.csv"]
    assert cli.main([str(a) for a in sample]) == 0
    out = capsys.readouterr().out
    drawn = np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1)
    assert (drawn[:, :3] == 1).any()  # ones drawn in the grey columns: inside their 0/1 range
    assert "trained 0 to 0.3" not in out and "'a' " not in out


def test_table_rows_that_would_not_fit_in_memory_are_refused_before_drawing(
    tmp_path, capsys, monkeypatch
):
    """userJ: `sample RUN --n 100000000 --out big.csv` on a table ran 2 min and was killed by
    the kernel with no line (only images were checked). Refused first, naming an --n that fits."""
    import torchlvm._memory as memory
    from torchlvm.data.table_schema import TableSchema

    model = VAE(VAEConfig(input_dim=3, latent_dim=1, hidden=(4,), likelihood="gaussian"))
    table = TableSchema(("x", "y", "z")).to_dict()
    run = model.save_pretrained(tmp_path / "vae", data={"name": "t.csv", "table": table})
    room = memory.Available(6_000_000, "available here")  # 6 MB: 13,333 rows
    monkeypatch.setattr(memory, "available", lambda: room)
    import torchlvm.cli._sample_table as table_sample

    drawn, draw = [], table_sample._draws
    monkeypatch.setattr(table_sample, "_draws", lambda *a, **k: drawn.append(1) or draw(*a, **k))
    err = fails(capsys, ["sample", run, "--n", "100000", "--out", tmp_path / "big.csv"])
    said = "100,000 rows of 3 cells (their draws, values and text until written) need 45.0 MB"
    assert said in err and err.rstrip().endswith("pass --n 13333 or fewer")
    assert not drawn and not (tmp_path / "big.csv").exists()  # (refused before any draw)
    assert cli.main(["sample", str(run), "--n", "13333", "--out", str(tmp_path / "ok.csv")]) == 0
    assert drawn and len((tmp_path / "ok.csv").read_text().splitlines()) == 13334


def test_a_link_flipped_to_another_run_does_not_move_the_figure(runs, tmp_path, monkeypatch):
    """readG/out16 (userV #4's rest): sample (and encode, transfer, score) opened 'runs/current'
    and read it again later, following a link a deploy flipped meanwhile: sample wrote its
    default figure into the other run. The one opening of a run (open_run) resolves it once."""
    import shutil

    from torchlvm.cli import _accelerator, sample

    other = tmp_path / "other"
    shutil.copytree(runs["vae"], other)
    current = tmp_path / "current"
    current.symlink_to(runs["vae"])
    real = _accelerator.open_run

    def flipped_after_reading(args):
        run_ = real(args)
        current.unlink()
        current.symlink_to(other)  # (a deploy's flip)
        return run_

    monkeypatch.setattr(sample, "open_run", flipped_after_reading)
    assert cli.main(["sample", str(current)]) == 0
    assert (runs["vae"] / "figures" / "samples-seed0.png").is_file()
    assert not (other / "figures" / "samples-seed0.png").exists()
