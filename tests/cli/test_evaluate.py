"""``torchlvm evaluate DIR``: metrics.json, figures and a table whose IWAE bounds increase with
k on a trained VAE; bad input (no model, --k 0, an OOD set of another shape) is one clear line and
exit status 2."""

import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm.cli import COMMANDS, main
from torchlvm.data import load_dataset
from torchlvm.evaluation import features
from torchlvm.inference import elbo
from torchlvm.models import VAE, VAEConfig

DATA = {"name": "digits", "binarize": "dynamic", "seed": 0, "condition": "none"}
FAST = ["--n", "120", "--k", "300", "--ood-k", "10", "--quiet"]


@pytest.fixture(scope="module", autouse=True)
def small_world(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on a shared machine: threads only contend
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(COMMANDS, "evaluate", "evaluate")
        patch.setenv("TORCHLVM_CACHE", str(tmp_path_factory.mktemp("cache")))
        patch.setattr(features, "TRAIN_STEPS", 400)  # a quick classifier is enough here
        yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder holding a VAE trained for a few seconds on binarized digits."""
    torch.manual_seed(0)
    train = load_dataset("digits", "train").x
    model = VAE(VAEConfig(input_dim=64, latent_dim=8, hidden=(64,)))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    for _ in range(600):
        xb = torch.bernoulli(train[torch.randint(len(train), (128,), generator=generator)])
        loss = -elbo(model, xb).elbo.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    folder = tmp_path_factory.mktemp("run")
    model.save_pretrained(folder, data=DATA)
    return folder


def test_evaluate_writes_metrics_figures_and_an_increasing_iwae_table(run_dir, capsys):
    assert main(["evaluate", str(run_dir), *FAST, "--ood", "noise,flip"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]  # (userS #9: the probes, 53 s there, were not named)
    leaves = " probe); not counting the separability probes, the sample quality and the figures"
    assert first.startswith("expected time of the importance sampling: ")
    assert first.endswith(leaves)
    bounds = [float(v) for v in re.findall(r"IWAE bound L_\d+\s+(-?[\d.]+) nats", out)]
    assert len(bounds) == 3 and bounds[0] < bounds[1] < bounds[2]
    assert "importance-sampled" in out and "bits/dim" in out and "ESS" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["protocol"]["k"] == 300 and metrics["protocol"]["binarize"] == "dynamic"
    assert [metrics["likelihood"]["iwae"][k]["nats"]["value"] for k in ("1", "10", "100")] == (
        pytest.approx(bounds, abs=1e-3)
    )
    assert metrics["outliers"]["sets"]["noise"]["score"]["auroc"]["value"] > 0.95
    written = set(metrics["figures"]["written"])
    assert {"samples.png", "reconstructions.png", "traversals.png", "latent_scatter.png"} <= written
    assert all((run_dir / "figures" / name).is_file() for name in written)


def test_a_second_evaluate_of_a_run_is_refused_naming_the_first(tmp_path, capsys):
    """Two evaluates of one run at once: the last to finish replaced metrics.json whole (a
    section only the first computed, --ais say, was lost) and the figures were a mixture."""
    from torchlvm.run.layout import LOCK_NAME
    from torchlvm.run.lock import EVALUATED, acquire

    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    (tmp_path / "metrics.json").write_text('{"ais": "of the first evaluate"}')
    before = sorted(p.name for p in tmp_path.iterdir())
    with acquire(tmp_path, "torchlvm evaluate", what=str(tmp_path), doing=EVALUATED):
        assert main(["evaluate", str(tmp_path), *FAST]) == 2
        assert capsys.readouterr().err == (
            f"torchlvm: error: {tmp_path} is being evaluated by pid {os.getpid()} (torchlvm "
            "evaluate); wait for it to finish\n"
        )
        assert (tmp_path / "metrics.json").read_text() == '{"ais": "of the first evaluate"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert LOCK_NAME not in before


def test_a_folder_without_a_model_is_refused(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no model in" in err and "config.json is missing" in err
    assert "Traceback" not in err


def test_a_config_without_weights_is_refused(run_dir, tmp_path, capsys):
    (tmp_path / "config.json").write_text((run_dir / "config.json").read_text())
    assert main(["evaluate", str(tmp_path), "--quiet"]) == 2
    assert "model.safetensors is missing" in capsys.readouterr().err


def test_k_zero_is_refused(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(run_dir), "--k", "0"])
    assert exit_info.value.code == 2
    assert "--k: must be a positive integer, got 0" in capsys.readouterr().err


def test_an_ood_set_of_another_shape_needs_an_explicit_resize(run_dir, capsys):
    args = ["evaluate", str(run_dir), *FAST, "--no-figures", "--ood", "shapes"]
    assert main([*args, "--ood-resize", "none"]) == 2
    err = capsys.readouterr().err
    assert "shape (1, 16, 16)" in err and "(1, 8, 8)" in err and "--ood-resize" in err
    assert main([*args, "--ood-resize", "area"]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    description = metrics["outliers"]["sets"]["shapes"]["description"]
    assert "resized from (1, 16, 16) to (1, 8, 8) (area)" in description


def test_evaluate_merges_into_metrics_json_and_keeps_what_fit_wrote(run_dir, capsys):
    fit = {"train_log_likelihood": -20.5, "noise_variance": 0.1, "fit_seconds": 1.5}
    (run_dir / "metrics.json").write_text(json.dumps({**fit, "outliers": {"stale": True}}))
    args = ["evaluate", str(run_dir), *FAST, "--no-figures", "--ood", "none"]
    assert main([*args, "--accelerator", "cpu"]) == 0
    out = capsys.readouterr().out
    expected = r"expected time of the importance sampling: (<1|\d+) s \(\d[\d,]* image-samples"
    assert re.search(expected, out)
    assert " probe); not counting the separability probes and the sample quality\n" in out
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {key: metrics[key] for key in fit} == fit
    assert "outliers" not in metrics  # an earlier evaluation's section, not recomputed now
    assert metrics["protocol"]["device"] == "cpu" and metrics["protocol"]["chunk"] >= 1
    assert "--n 120" in metrics["protocol"]["command"]


def test_a_damaged_metrics_json_is_refused_before_any_sampling(run_dir, tmp_path, capsys):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    (folder / "metrics.json").write_text('{"train_log_likelihood": -20.5,')
    assert main(["evaluate", str(folder), *FAST, "--no-figures", "--ood", "none"]) == 2
    captured = capsys.readouterr()
    assert "metrics.json is damaged" in captured.err and "expected time" not in captured.out
    assert (folder / "metrics.json").read_text() == '{"train_log_likelihood": -20.5,'


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--n", "0"], "--n must be an integer of at least 2 or 'all', got '0'"),
        (["--n", "1"], "--n must be an integer of at least 2 or 'all', got '1'"),
        (["--n", "many"], "--n must be an integer of at least 2 or 'all', got 'many'"),
        (["--accelerator", "gpu"], "none visible (no CUDA device); run on the CPU"),
        (["--ks", "10", "x"], "--ks must be positive integers, by spaces or commas (--ks 10 100)"),
        (["--ks", "0,10"], "--ks must be positive integers, by spaces or commas (--ks 10 100)"),
    ],
    ids=["n-zero", "n-one", "n-word", "gpu-without-one", "ks-word", "ks-zero"],
)
def test_bad_settings_are_one_line(run_dir, capsys, monkeypatch, argv, message):
    from torchlvm.cli import _accelerator

    monkeypatch.setattr(_accelerator, "gpu_count", lambda: 0)
    assert main(["evaluate", str(run_dir), "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "ood, message",
    [
        ("foo", "'foo'"),
        ("none,noise", "--ood 'none' means no OOD set, so it cannot be listed with others"),
        ("noise,missing.npy", "--ood: missing.npy does not exist; check the path"),
        ("t10k-images-idx3-ubyte", "--ood: t10k-images-idx3-ubyte does not exist"),  # a file
    ],
    ids=["unknown-name", "none-among-others", "missing-file", "missing-idx-file"],
)
def test_a_bad_ood_set_is_refused_before_any_sampling(run_dir, capsys, monkeypatch, ood, message):
    from torchlvm.evaluation import timing

    def not_reached(*args, **kwargs):
        raise AssertionError("the sampling's probe ran before --ood was checked")

    monkeypatch.setattr(timing, "expected_time", not_reached)
    assert main(["evaluate", str(run_dir), *FAST, "--no-figures", "--ood", ood]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1 and message in err


def test_an_ood_file_of_8_bit_pixels_is_refused_before_any_sampling(
    run_dir, tmp_path, capsys, monkeypatch
):
    """--ood FILE with 0..255 values beside a binarized run was refused only after the sampling,
    offering binarize='none' (a Python keyword, and no option of evaluate): it is refused when
    the options are read, naming the rescaling, as are a file with a NaN and one of another
    image size; the rescaled file is then scored."""
    from torchlvm.evaluation import timing

    pixels = (load_dataset("digits", "test").x[:30] * 255).round().to(torch.uint8).numpy()
    np.save(tmp_path / "u8.npy", pixels.astype(np.float32))  # (a uint8 file is divided by 255)
    np.save(tmp_path / "grey.npy", pixels / 255)
    probe = timing.expected_time

    def not_reached(*args, **kwargs):
        raise AssertionError("the sampling's probe ran before --ood was checked")

    monkeypatch.setattr(timing, "expected_time", not_reached)
    argv = ["evaluate", str(run_dir), *FAST, "--no-figures", "--ood"]
    assert main([*argv, f"noise,{tmp_path / 'u8.npy'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1, err
    assert f"OOD set {str(tmp_path / 'u8.npy')!r}" in err and "0..255" in err
    assert "divided by 255" in err and "binarize=" not in err
    holes = pixels / 255
    holes[2, 7] = np.nan
    np.save(tmp_path / "holes.npy", holes)  # a NaN: it offered --allow-missing, not evaluate's
    np.save(tmp_path / "small.npy", (pixels / 255)[:, :16].reshape(-1, 1, 4, 4))
    for name, message in [
        ("holes.npy", "has missing values (NaN) in 1 of its 30 images"),
        ("small.npy", "has per-example shape (1, 4, 4)"),  # (read after the probe before)
    ]:
        assert main([*argv, str(tmp_path / name), "--ood-resize", "none"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and "--allow-missing" not in err, err
    monkeypatch.setattr(timing, "expected_time", probe)
    assert main([*argv, str(tmp_path / "grey.npy")]) == 0
    sets = json.loads((run_dir / "metrics.json").read_text())["outliers"]["sets"]
    assert str(tmp_path / "grey.npy") in sets


def test_the_cli_and_the_library_default_to_the_same_k():
    from torchlvm.cli import evaluate as command
    from torchlvm.evaluation import EvalConfig

    assert EvalConfig().k == command.DEFAULT_K


def test_a_folder_it_cannot_write_fails_before_the_work(run_dir, capsys, monkeypatch):
    """The run's lock file, the first thing evaluate writes there, is refused: before any
    work, in one line that names a copy of the run to evaluate instead."""
    import importlib

    from torchlvm.run import lock

    evaluation = importlib.import_module("torchlvm.evaluation.evaluate")  # the module

    def refused(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    def not_reached(*args, **kwargs):
        raise AssertionError("evaluate ran before checking that it can write its results")

    monkeypatch.setattr(lock, "_create", refused)
    monkeypatch.setattr(evaluation, "evaluate", not_reached)
    assert main(["evaluate", str(run_dir), *FAST]) == 1
    err = capsys.readouterr().err
    copy = f"{run_dir.name}-copy"
    assert err == (
        f"torchlvm: error: Permission denied (this command writes in the run folder {run_dir}; "
        f"copy the run where you can write, e.g. 'cp -r {run_dir} {copy}', and run the command "
        f"on the copy; or evaluate it with --out {run_dir.name}-metrics.json, which writes "
        f"nothing there): {run_dir / '.torchlvm.lock'}; check the path, its permissions and the "
        "free disk space (files written before stay as they were)\n"
    )


def test_out_evaluates_a_run_it_leaves_as_it_was(run_dir, tmp_path, capsys, monkeypatch):
    """userV #10: a read-only run (an archived artifact, a read-only mount) could not be
    evaluated at all: --out FILE.json writes the numbers there and nothing in the run, not even
    its lock; a user's own file there, or a run's own file, is refused; --figures-only is not
    taken with it."""
    from torchlvm.run import lock

    def refused(path, *args, **kwargs):  # (the run folder cannot be written)
        raise OSError(30, "Read-only file system", str(path))

    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")}
    monkeypatch.setattr(lock, "_create", refused)
    out = tmp_path / "vae-metrics.json"
    assert main(["evaluate", str(run_dir), *FAST, "--ood", "noise", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[-1] == (
        f"wrote {out} (nothing of this evaluation in {run_dir}: no metrics.json or figures)"
    )
    assert "IWAE bound L_100" in printed
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*")} == before
    metrics = json.loads(out.read_text())
    assert metrics["meta"]["run"] == str(run_dir) and len(metrics["meta"]["weights_sha256"]) == 64
    assert metrics["likelihood"]["log_marginal"]["nats"]["k"] == 300
    assert metrics["protocol"]["command"].startswith("torchlvm evaluate ")
    assert main(["evaluate", str(run_dir), *FAST, "--ood", "none", "--out", str(out)]) == 0
    capsys.readouterr()
    mine = tmp_path / "mine.json"
    mine.write_text("{}")
    for argv, said in (
        (["--out", str(mine)], f"{mine} already exists and is not a file this command wrote"),
        (["--out", str(out), "--figures-only"], "--figures-only draws the figures into the run"),
    ):
        assert main(["evaluate", str(run_dir), *FAST, *argv]) == 2
        assert said in capsys.readouterr().err


def test_sample_quality_on_the_train_split_takes_its_floor_from_other_images(run_dir, capsys):
    argv = ["evaluate", str(run_dir), *FAST, "--split", "train", "--no-figures", "--ood", "none"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "generated vs train" in out and "real test vs train (reference at this n)" in out
    reference = json.loads((run_dir / "metrics.json").read_text())["sample_quality"]
    reference = reference["frechet_real_reference"]
    assert reference["splits"] == ["train", "test"] and reference["value"] > 0


@pytest.mark.parametrize(
    ("conditional", "kl_title"),
    [(False, "KL(q(z|x) ‖ p(z))"), (True, "KL(q(z|x,c) ‖ p(z|c))")],
    ids=["vae", "cvae"],
)
def test_a_cvaes_training_curves_figure_names_c_as_the_report_does(tmp_path, conditional, kl_title):
    """evaluate's figures/training_curves.png (which the report embeds) titled a CVAE's terms
    E_q[log p(x|z)] and KL(q(z|x) ‖ p(z)) while the report's own drawing named c and p(z|c)."""
    from types import SimpleNamespace

    from torchlvm.cli._evaluate_figures import _figure_jobs

    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,train/elbo,train/log_lik,train/kl\n0,-90.0,-80.0,10.0\n")
    result = SimpleNamespace(latent=None, protocol=SimpleNamespace(noun="example"))
    figures = SimpleNamespace(shape=(1, 8, 8), condition=None)
    jobs = _figure_jobs(figures, result, csv, None, conditional)
    titles = [ax.get_title() for ax in jobs["training_curves"]().axes]
    assert titles[-1] == kl_title and ("p(x|z,c)" in titles[1]) == conditional


def test_an_autoencoders_training_curves_name_its_loss_as_the_report_does(tmp_path):
    from types import SimpleNamespace

    from torchlvm.cli._evaluate_figures import _figure_jobs

    csv = tmp_path / "metrics.csv"
    csv.write_text("epoch,train/reconstruction\n0,30.0\n1,25.0\n")
    result = SimpleNamespace(latent=None, protocol=SimpleNamespace(noun="example"))
    figures = SimpleNamespace(shape=(1, 8, 8), condition=None)
    jobs = _figure_jobs(figures, result, csv, None, False, "bernoulli")
    labels = [ax.get_ylabel() for ax in jobs["training_curves"]().axes]
    assert labels == ["−log p(x | x̂) [nats per example]"]


@pytest.mark.parametrize(
    "deterministic, conditional, centre",
    [(False, False, "p(z)"), (False, True, "p(z | c)"), (True, False, "the codes f(x)")],
    ids=["vae", "cvae", "autoencoder"],
)
def test_the_traversal_axis_names_its_centre(deterministic, conditional, centre):
    from types import SimpleNamespace

    from torchlvm.cli._evaluate_figures import _figure_jobs
    from torchlvm.evaluation.records import ModelInfo

    model = ModelInfo("x", 2, deterministic)
    result = SimpleNamespace(latent=None, protocol=SimpleNamespace(noun="example"), model=model)
    images = torch.rand(2 * 3, 64)
    figures = SimpleNamespace(
        shape=(1, 8, 8), condition=None, traversal=images, traversal_dims=[0, 1],
        traversal_values=[-1.0, 0.0, 1.0],
    )  # fmt: skip
    fig = _figure_jobs(figures, result, Path("none.csv"), None, conditional)["traversals"]()
    assert f"standard deviations from the centre of {centre} " in fig.axes[-1].get_xlabel()


def test_the_default_ood_list_leaves_out_the_runs_own_dataset(tmp_path, capsys):
    """An mnist run's evaluate printed 'mnist: skipped  OOD set 'mnist' is the in-distribution
    dataset itself; choose another' though the user had named no OOD set."""
    import gzip

    import numpy as np

    rng = np.random.default_rng(0)
    for prefix, n in (("train", 60), ("t10k", 30)):
        parts = {
            "images-idx3-ubyte": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
            "labels-idx1-ubyte": (np.arange(n) % 10).astype(np.uint8),
        }
        for suffix, array in parts.items():
            idx = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, ">u4").tobytes()
            idx += array.tobytes()
            (tmp_path / f"{prefix}-{suffix}.gz").write_bytes(gzip.compress(idx))
    run = tmp_path / "run"
    VAE(VAEConfig(input_dim=784, latent_dim=2, hidden=(8,))).save_pretrained(
        run, data={**DATA, "name": "mnist", "data_dir": str(tmp_path)}
    )
    argv = ["evaluate", str(run), "--n", "20", "--k", "5", "--ood-k", "5", "--no-figures"]
    assert main([*argv, "--quiet"]) == 0
    sets = json.loads((run / "metrics.json").read_text())["outliers"]
    assert sorted(sets["sets"]) == ["flip", "noise", "other"] and not sets.get("skipped")
    assert "itself" not in capsys.readouterr().out


def test_a_users_file_among_the_figures_is_left_as_it_was(tmp_path, capsys):
    """evaluate rewrote every figures/*.png it draws, whoever had put a file of that name there;
    one it did not draw is the user's: kept, and said so."""
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "reconstructions.png").write_bytes(b"my own picture")
    assert main(["evaluate", str(tmp_path), *FAST, "--ood", "none"]) == 0
    assert (tmp_path / "figures" / "reconstructions.png").read_bytes() == b"my own picture"
    assert "left " + str(tmp_path / "figures" / "reconstructions.png") in capsys.readouterr().out
    figures = json.loads((tmp_path / "metrics.json").read_text())["figures"]
    assert "reconstructions.png" not in figures["written"] and "samples.png" in figures["written"]
    assert "reconstructions" in figures["skipped"]


def _outputs(folder: Path) -> dict[str, bytes]:
    """metrics.json and every file in figures/ (hidden ones too), by name."""
    files = [folder / "metrics.json", *(folder / "figures").iterdir()]
    return {p.name: p.read_bytes() for p in files}


def test_a_ctrl_c_at_evaluates_end_leaves_the_old_set_or_the_new_one(
    tmp_path, capsys, monkeypatch, ctrl_c_inside_commit
):
    """A Ctrl-C after evaluate drew its figures, before metrics.json was merged, left the new
    figures beside the old metrics. The figures are drawn aside and put in place with the
    merge, Ctrl-C held over those milliseconds: a failure or Ctrl-C before the renames leaves
    the old set, a Ctrl-C during them the new one (then exit 130)."""
    import signal

    from torchlvm.run import metrics as run_metrics

    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    argv = ["evaluate", str(tmp_path), *FAST, "--ood", "none"]
    assert main([*argv, "--seed", "0"]) == 0
    old = _outputs(tmp_path)

    def failing(*args, **kwargs):
        raise KeyboardInterrupt  # raised where the merge runs (a full disk fails there too)

    with monkeypatch.context() as patch:
        patch.setattr(run_metrics, "merge_metrics", failing)
        assert main([*argv, "--seed", "1"]) == 130
    assert _outputs(tmp_path) == old

    ctrl_c_inside_commit()  # Ctrl-C while the files are put in place
    assert main([*argv, "--seed", "1"]) == 130
    new = _outputs(tmp_path)
    assert json.loads(new["metrics.json"])["protocol"]["seed"] == 1
    assert new.keys() == old.keys() and new["samples.png"] != old["samples.png"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_k_below_100_draws_no_default_bound_above_it(tmp_path, capsys):
    """evaluate --k 50 still drew 100 samples per image for the default --ks 1,10,100's L_100,
    twice the estimate's own: the default bounds stop at --k; one asked for is drawn."""
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    argv = ["evaluate", str(tmp_path), "--n", "20", "--ood", "none", "--no-figures", "--quiet"]
    assert main([*argv, "--k", "50"]) == 0
    assert "L_100" not in capsys.readouterr().out
    assert json.loads((tmp_path / "metrics.json").read_text())["likelihood"]["iwae"].keys() == {
        "1",
        "10",
    }
    assert main([*argv, "--k", "50", "--ks", "1,100"]) == 0
    assert "a weaker bound than L_100" in capsys.readouterr().out
    iwae = json.loads((tmp_path / "metrics.json").read_text())["likelihood"]["iwae"]
    # userN #11: '--ks 1 100' was 'unrecognized arguments: 100'
    assert main([*argv, "--k", "50", "--ks", "1", "100"]) == 0
    assert "a weaker bound than L_100" in capsys.readouterr().out
    assert json.loads((tmp_path / "metrics.json").read_text())["likelihood"]["iwae"] == iwae


def test_a_moved_data_file_given_once_is_recorded_for_later_commands(tmp_path, capsys):
    """evaluate --data NEW (the run's file, moved) was needed on every call: the checked new
    place is recorded in config.json, so later commands without --data read it there."""
    import numpy as np

    x = np.random.default_rng(0).normal(size=(60, 3))
    data = tmp_path / "t.csv"
    data.write_text("a,b,c\n" + "\n".join(",".join(f"{v:.5f}" for v in row) for row in x) + "\n")
    run = tmp_path / "run"
    train = ["train", "vae", "--data", str(data), "--latent-dim", "1", "--hidden", "4"]
    assert main([*train, "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    moved = data.rename(tmp_path / "moved.csv")
    fast = ["--k", "5", "--ks", "1", "--no-figures", "--quiet"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--data", str(moved), *fast]) == 0
    assert f"the run's data file is now {moved} (it holds the data of {data})" in (
        capsys.readouterr().out
    )
    record = json.loads((run / "config.json").read_text())
    assert record["data"]["name"] == str(moved) and record["model_type"] == "vae"
    assert main(["evaluate", str(run), *fast]) == 0
    assert "data file is now" not in capsys.readouterr().out  # recorded: nothing to say
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "s.csv")]) == 0
    assert main(["report", str(run)]) == 0
    import torchlvm

    assert torchlvm.load(run).config.latent_dim == 1  # the weights still match the record
    # gaps reads the run's data too: it names --data when the file is gone, and takes it
    again = moved.rename(tmp_path / "again.csv")
    gaps = ["gaps", str(run), "--n", "4", "--k", "5", "--steps", "1", "--elbo-samples", "4"]
    capsys.readouterr()
    assert main(gaps) == 2
    assert "if the file moved, pass its new place with --data FILE" in capsys.readouterr().err
    assert main([*gaps, "--data", str(again)]) == 0
    assert f"the run's data file is now {again}" in capsys.readouterr().out
    assert main(["evaluate", str(run), *fast]) == 0


def test_figures_left_by_an_earlier_evaluate_are_recorded_as_its(tmp_path, capsys, monkeypatch):
    """evaluate --no-figures after an evaluate that drew figures removed metrics.json's figures
    entry and left the figures, which then read as this evaluation's. Nothing is deleted: the
    entry says this one drew none, and which evaluation (command, time) drew those still there;
    a figure not redrawn (it failed) is recorded the same way, and a later drawing clears it."""
    from torchlvm import plots

    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    argv = ["evaluate", str(tmp_path), *FAST, "--ood", "none"]

    def figures() -> dict:
        return json.loads((tmp_path / "metrics.json").read_text())["figures"]

    assert main([*argv, "--seed", "0"]) == 0
    drawn = figures()
    assert drawn["written"] and "earlier" not in drawn and drawn["drawn_at"].endswith("+00:00")
    assert main([*argv, "--seed", "1", "--no-figures"]) == 0
    earlier = {"written": drawn["written"], "drawn_at": drawn["drawn_at"]}
    by = f"torchlvm evaluate {tmp_path} --k 300 --split test --seed 0 --n 120 --ood none --ood-k 10"
    none = {"folder": "figures", "written": []}  # this evaluation drew none
    assert figures() == {**none, "earlier": [{**earlier, "drawn_by": by}]}
    (tmp_path / "figures" / "samples.png").unlink()  # the user's choice: no longer recorded
    assert main([*argv, "--seed", "2", "--no-figures"]) == 0
    left = [name for name in drawn["written"] if name != "samples.png"]
    assert figures()["earlier"] == [{**earlier, "written": left, "drawn_by": by}]
    from torchlvm.run.outputs import torchlvm_figure

    assert all(torchlvm_figure(tmp_path / "figures" / name) for name in left)

    def failing(*args, **kwargs):
        raise ValueError("no scatter today")

    monkeypatch.setattr(plots, "latent_scatter", failing)
    assert main([*argv, "--seed", "3"]) == 0
    assert figures()["earlier"] == [{**earlier, "written": ["latent_scatter.png"], "drawn_by": by}]
    monkeypatch.undo()
    assert main([*argv, "--seed", "4"]) == 0
    assert "earlier" not in figures() and "latent_scatter.png" in figures()["written"]


def test_a_run_on_flat_rows_gets_no_image_ood_sets_and_an_image_one_is_refused_first(
    tmp_path, capsys
):
    """evaluate on a PPCA fitted on a flat .npy (N, 64) ran its importance sampling, then failed
    at the end: 'x.npy has per-example shape (64,), not an image (C, H, W); this OOD set needs
    image data', for default OOD sets (flip, other) nobody asked for. Rows get no default OOD set,
    as a table's do, and an image set named for them is refused before any work."""
    rows = tmp_path / "x.npy"
    np.save(rows, load_dataset("digits", split="all").x.numpy().reshape(-1, 64))
    run = tmp_path / "run"
    assert main(["fit", "ppca", "--data", str(rows), "--latent-dim", "3", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "20", "--k", "5", "--no-figures"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert "likelihood" in metrics and "noise" not in json.dumps(metrics.get("outliers"))
    capsys.readouterr()
    for name in ("flip", "other", "fashion-mnist"):
        args = ["evaluate", str(run), "--n", "20", "--k", "5", "--no-figures", "--ood", name]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "expected time" not in err
        assert re.search(
            f"--ood {name} needs images, and \\S*x.npy holds rows of shape \\(64,\\); "
            "pass a file of rows \\(--ood FILE.npy\\), --ood none, or --ood noise for rows of "
            "values in \\[0, 1\\]",
            err,
        ), err


def test_a_run_that_streamed_its_file_reads_only_the_evaluated_rows(tmp_path, capsys, monkeypatch):
    """evaluate read the whole split of a run trained with --mmap into memory (and the whole
    validation split), however few rows --n scored: a file larger than memory could not be
    evaluated. It reads the --n rows; --n all beyond the memory here is one line naming an --n
    that fits, before a row is read."""
    from torchlvm import _memory
    from torchlvm.data.memmap import MemmapRows

    rng = np.random.default_rng(0)
    np.save(tmp_path / "u8.npy", rng.integers(0, 256, (400, 8, 8), dtype=np.uint8))
    run = str(tmp_path / "run")
    tiny = ["--epochs", "1", "--latent-dim", "2", "--hidden", "8", "--quiet"]
    assert (
        main(["train", "vae", "--data", str(tmp_path / "u8.npy"), "--mmap", *tiny, "--out", run])
        == 0
    )
    asked: list[int] = []
    original = MemmapRows._read
    monkeypatch.setattr(
        MemmapRows, "_read", lambda rows, at: asked.append(len(at)) or original(rows, at)
    )
    argv = ["evaluate", run, "--k", "2", "--ood", "none", "--no-figures", "--quiet"]
    assert main([*argv, "--n", "9"]) == 0
    assert sorted(asked) == [9, 9]  # the test split's 9 rows and as many of the val split
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["protocol"]["n"] == 9
    capsys.readouterr()
    room = _memory.Available(20 * 2 * 64 * 4, "available here")  # room for 20 rows
    monkeypatch.setattr(_memory, "available", lambda: room)
    asked.clear()
    assert main([*argv, "--n", "all"]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("torchlvm: error: the 40 rows of the test split of ")
        and err.count("\n") == 1
    )
    assert err.endswith("of them that fits: --n 5\n"), err  # (their rows in a quarter of it)
    assert asked == []


def _figure_step_fails(error: BaseException):
    def failing(*args, **kwargs):
        raise error

    return failing


@pytest.mark.parametrize(
    "where, error, said, status",
    [
        ("_figure_data", ImportError("cannot import name 'x'"), "ImportError: cannot import", 2),
        ("save_figure", OSError(28, "No space left on device"), "No space left on device", 2),
        ("_figure_data", KeyboardInterrupt(), "torchlvm: error: interrupted (Ctrl-C)", 130),
    ],
    ids=["an-import", "a-full-disk", "ctrl-c"],
)
def test_a_failure_while_drawing_the_figures_keeps_the_numbers(
    tmp_path, capsys, monkeypatch, where, error, said, status
):
    """userH #4: evaluate wrote metrics.json only with its figures, so an ImportError while
    drawing them lost a 29-minute evaluation and printed a traceback. The numbers are written
    first; the failure is one line naming them and the command that draws the figures, which
    draws those a whole evaluate draws (the same bytes)."""
    from torchlvm import plots
    from torchlvm.cli import _evaluate_figures

    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    argv = ["evaluate", str(tmp_path), *FAST, "--ood", "none"]
    assert main([*argv, "--seed", "0"]) == 0
    old = {p.name: p.read_bytes() for p in (tmp_path / "figures").iterdir()}
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.setattr(plots if where == "save_figure" else _evaluate_figures, where,
                      _figure_step_fails(error))  # fmt: skip
        assert main([*argv, "--seed", "1"]) == status
    err = capsys.readouterr().err
    redraw = f"torchlvm evaluate {tmp_path} --figures-only"
    assert said in err and f"draw the figures with: {redraw}" in err and "Traceback" not in err
    assert err.count("\n") == (2 if status == 130 else 1)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["protocol"]["seed"] == 1 and metrics["likelihood"]["iwae"]
    assert metrics["figures"]["written"] == [] and metrics["figures"]["earlier"][0]["written"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "figures").iterdir()} == old
    assert main(redraw.split()[1:]) == 0
    redrawn = {p.name: p.read_bytes() for p in (tmp_path / "figures").iterdir()}
    assert "earlier" not in json.loads((tmp_path / "metrics.json").read_text())["figures"]
    assert main([*argv, "--seed", "1"]) == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "figures").iterdir()} == redrawn != old


def test_figures_only_refuses_a_run_with_no_evaluation_to_draw(tmp_path, capsys):
    """--figures-only draws the evaluation metrics.json holds: none there, or one measured on
    weights the run no longer holds, is one line naming evaluate."""
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    assert main(["evaluate", str(tmp_path), "--figures-only"]) == 2
    err = capsys.readouterr().err
    assert "holds no evaluation whose figures --figures-only could draw" in err
    assert f"run torchlvm evaluate {tmp_path}" in err and not (tmp_path / "figures").exists()
    assert main(["evaluate", str(tmp_path), *FAST, "--ood", "none", "--no-figures"]) == 0
    capsys.readouterr()  # userI #10: rows other than the evaluation's were ignored unsaid
    assert main(["evaluate", str(tmp_path), "--figures-only", "--seed", "3", "--n", "120"]) == 2
    assert capsys.readouterr().err == (
        f"torchlvm: error: --figures-only draws the figures of the evaluation in {tmp_path}/"
        "metrics.json (test split, n 120, seed 0), not --seed 3; leave it out, or evaluate those "
        f"rows: torchlvm evaluate {tmp_path} --seed 3\n"
    )
    assert not (tmp_path / "figures").exists()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    metrics["meta"]["weights_sha256"] = "0" * 64  # measured on others, as before a train --resume
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path), "--figures-only"]) == 2
    assert "was measured on other weights than" in capsys.readouterr().err
    assert not (tmp_path / "figures").exists()
    with pytest.raises(SystemExit):
        main(["evaluate", str(tmp_path), "--figures-only", "--no-figures"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_ood_path_that_holds_commas_is_one_name(tmp_path, monkeypatch):
    """userJ #3: --ood was split at every comma, so a file or folder whose path holds one could
    not be given at all; the longest run of parts that exists is one name."""
    from torchlvm.cli.evaluate import _ood_names

    monkeypatch.chdir(tmp_path)
    (tmp_path / "d ä" / "sub,x").mkdir(parents=True)
    (tmp_path / "d ä" / "sub,x" / "Größe, daten.csv").write_text("a,b\n1,2\n")
    assert _ood_names("noise, flip") == ("noise", "flip")
    assert _ood_names("noise,d ä/sub,x/Größe, daten.csv, flip") == (
        "noise",
        "d ä/sub,x/Größe, daten.csv",
        "flip",
    )
    assert _ood_names("d ä/sub,x") == ("d ä/sub,x",)
    assert _ood_names("d ä/sub,y") == ("d ä/sub", "y")  # (no such path: named as it was split)


def test_an_ood_set_of_the_runs_own_test_images_is_said_to_be_them(run_dir, tmp_path, capsys):
    """userH #15: a folder holding the run's own test images, byte for byte, was reported as
    an OOD set (AUROC 0.551) without a word: each set says how many of its rows the evaluated
    split holds."""
    own = tmp_path / "own.npy"
    test, train = load_dataset("digits", "test").x, load_dataset("digits", "train").x
    rows = [test[:30].numpy(), train[:7].numpy(), np.full((3, 64), 0.5, np.float32)]
    np.save(own, np.concatenate(rows))
    argv = ["evaluate", str(run_dir), *FAST, "--no-figures", "--ood", f"{own},noise"]
    assert main(argv) == 0
    sets = json.loads((run_dir / "metrics.json").read_text())["outliers"]["sets"]
    said = (
        "of its 40 examples, 7 are examples the model was trained on, 30 examples of the run's "
        "test split (the same values): not out of distribution"
    )  # userJ #14: the train split's rows too
    assert said in sets[str(own)]["description"]
    assert "own test split" not in sets["noise"]["description"]
    assert said in capsys.readouterr().out


def test_an_ood_set_wholly_of_the_runs_own_rows_is_skipped_saying_so(run_dir, tmp_path, capsys):
    """review12 #12: the first 39 rows of the training file, every one a row of the run's own
    data, had their AUROC (0.362) printed as a result. Such a set is skipped, as a set too small
    is, saying why; a set with one row of its own is still scored."""
    test, train = load_dataset("digits", "test").x, load_dataset("digits", "train").x
    np.save(tmp_path / "own.npy", np.concatenate([test[:30].numpy(), train[:7].numpy()]))
    np.save(tmp_path / "one.npy", np.concatenate([train[:1].numpy(), np.full((3, 64), 0.5)]))
    ood = f"{tmp_path / 'own.npy'},{tmp_path / 'one.npy'}"
    assert main(["evaluate", str(run_dir), *FAST, "--no-figures", "--ood", ood]) == 0
    outliers = json.loads((run_dir / "metrics.json").read_text())["outliers"]
    assert list(outliers["sets"]) == [str(tmp_path / "one.npy")]
    assert outliers["skipped"] == {
        str(tmp_path / "own.npy"): "every one of its 37 examples is one of the run's own (7 are "
        "examples the model was trained on, 30 examples of the run's test split; the same "
        "values): not out of distribution, so it is not told from test data; pass examples "
        "from outside the run's data"
    }
    assert "own.npy: skipped" in capsys.readouterr().out


@pytest.mark.parametrize("figures_only", [False, True], ids=["evaluate", "figures-only"])
def test_a_file_where_the_figures_folder_goes_is_named_to_move_before_the_redraw(
    tmp_path, capsys, figures_only
):
    """review12 #8: with a file of the user's named RUN/figures, the line offered
    'draw the figures with: torchlvm evaluate RUN --figures-only', the command that had just
    failed, and said the figures there were as they were. It names the file to move first; the
    file is untouched, and the offered command then draws the figures."""
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    argv = ["evaluate", str(tmp_path), *FAST, "--ood", "none"]
    assert main([*argv, *([] if figures_only else ["--no-figures"])]) == 0
    shutil.rmtree(tmp_path / "figures", ignore_errors=True)  # (the user's file in its place)
    (tmp_path / "figures").write_text("my notes\n")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path), "--figures-only"] if figures_only else argv) == 2
    redraw = f"torchlvm evaluate {tmp_path} --figures-only"
    assert capsys.readouterr().err == (
        f"torchlvm: error: the figures could not be drawn: {tmp_path}/figures is a file, where "
        f"evaluate puts its figures folder; the evaluation's numbers are in {tmp_path}/"
        f"metrics.json; move or rename {tmp_path}/figures, then: {redraw}\n"
    )
    assert (tmp_path / "figures").read_text() == "my notes\n"
    (tmp_path / "figures").rename(tmp_path / "notes.txt")
    assert main(redraw.split()[1:]) == 0 and any((tmp_path / "figures").glob("*.png"))


def test_a_link_to_nothing_where_the_figures_folder_goes_is_named_so(tmp_path, capsys):
    """review13 #20c: a dangling symlink RUN/figures was called "a file". It is named a link
    to what does not exist; making that folder lets the offered command draw into it."""
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(tmp_path, data=DATA)
    assert main(["evaluate", str(tmp_path), *FAST, "--ood", "none", "--no-figures"]) == 0
    target = tmp_path.parent / f"{tmp_path.name}-figs"
    (tmp_path / "figures").symlink_to(target)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path), "--figures-only"]) == 2
    redraw = f"torchlvm evaluate {tmp_path} --figures-only"
    assert capsys.readouterr().err == (
        f"torchlvm: error: the figures could not be drawn: {tmp_path}/figures is a link to "
        f"{target}, which does not exist, where evaluate puts its figures folder; the "
        f"evaluation's numbers are in {tmp_path}/metrics.json; make that folder (mkdir -p "
        f"{target}) or move the link away, then: {redraw}\n"
    )
    target.mkdir()
    assert main(redraw.split()[1:]) == 0 and any(target.glob("*.png"))


def test_a_relative_link_to_nothing_is_named_by_where_it_points_from_its_folder(
    tmp_path, capsys, monkeypatch
):
    """readB #2: a relative link RUN/figures -> gone offered 'mkdir -p gone', which made a
    folder beside the user's working folder, not the run's: the path is the link's target as
    seen from its own folder, and the offered mkdir (run from anywhere) makes the right one."""
    import shlex
    import subprocess

    run = tmp_path / "run"
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(run, data=DATA)
    assert main(["evaluate", str(run), *FAST, "--ood", "none", "--no-figures"]) == 0
    (run / "figures").symlink_to("gone")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["evaluate", str(run), "--figures-only"]) == 2
    err = capsys.readouterr().err
    assert f"{run}/figures is a link to {run}/gone, which does not exist" in err
    mkdir = re.search(r"\((mkdir -p [^)]*)\)", err).group(1)
    subprocess.run(shlex.split(mkdir), check=True)
    assert (run / "gone").is_dir() and not (tmp_path / "elsewhere" / "gone").exists()


def test_every_offered_evaluate_command_keeps_a_folder_with_a_space_one_word(tmp_path, capsys):
    """review13 #12: the --figures-only refusals offered 'torchlvm evaluate my run --seed 5',
    which a shell reads as two folders. Each offered command, split as a shell splits it,
    names the run folder as one word."""
    import shlex

    folder = tmp_path / "my run"
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(folder, data=DATA)

    def offered(argv: list[str]) -> list[str]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        command = err[err.index("torchlvm evaluate") :].split(" (")[0].strip()
        return shlex.split(command)

    words = offered(["evaluate", str(folder), "--figures-only"])
    assert words == ["torchlvm", "evaluate", str(folder)]
    assert main(["evaluate", str(folder), *FAST, "--ood", "none", "--no-figures"]) == 0
    capsys.readouterr()
    words = offered(["evaluate", str(folder), "--figures-only", "--seed", "3"])
    assert words == ["torchlvm", "evaluate", str(folder), "--seed", "3"]
    (folder / "figures").write_text("mine\n")
    words = offered(["evaluate", str(folder), "--figures-only"])
    assert words == ["torchlvm", "evaluate", str(folder), "--figures-only"]


def test_an_ood_file_in_other_units_is_warned_of_before_the_work(tmp_path, capsys):
    """review13 #7b: a float copy of a uint8-trained run's images (levels 0..240, the model's
    [0, 1]) scored AUROC 1.000 as an OOD set without a word: it is scored, as a user may mean,
    and a warning names the units and the rescaling line; the uint8 file itself draws none."""
    from sklearn.datasets import load_digits

    levels = load_digits().images * 15
    np.save(tmp_path / "u.npy", levels.astype(np.uint8))
    np.save(tmp_path / "f.npy", levels[:50].astype(np.float32))
    np.save(tmp_path / "u50.npy", (levels[:50] + 1).clip(0, 255).astype(np.uint8))
    run = tmp_path / "run"
    assert main(["fit", "ppca", "--data", str(tmp_path / "u.npy"), "--latent-dim", "3",
                 "--out", str(run)]) == 0  # fmt: skip
    argv = ["evaluate", str(run), "--no-figures", "--n", "60", "--k", "10", "--ood"]
    with pytest.warns(UserWarning, match=r"f\.npy holds values up to 240 .*divide them by 255"):
        assert main([*argv, str(tmp_path / "f.npy")]) == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (none for a file in the run's units)
        assert main([*argv, str(tmp_path / "u50.npy")]) == 0


def test_evaluates_samples_grid_is_drawn_on_the_trained_range_as_samples_is(
    tmp_path, capsys, monkeypatch
):
    """readD D6: sample drew its grid on the run's trained range (faab15e) while evaluate drew
    the same samples.png on the samples' own extremes: a Gaussian decoder's means outside
    [0, 1] drew the data's black as grey in one and not the other."""
    from torchlvm import plots

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    folder = tmp_path / "gauss"
    model.save_pretrained(folder, data={**DATA, "binarize": "none"})
    scales, real = [], plots.image_grid

    def grid(*args, **kwargs):
        scales.append(kwargs.get("scale"))
        return real(*args, **kwargs)

    monkeypatch.setattr(plots, "image_grid", grid)
    argv = ["evaluate", str(folder), "--n", "20", "--k", "5", "--ood", "none", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    assert scales and scales[0] == (0.0, 1.0)  # (digits, read by name: [0, 1])


def test_every_image_figure_is_drawn_on_the_trained_range_so_faint_decodings_look_faint(
    tmp_path, capsys, monkeypatch
):
    """readD D6: evaluate drew its samples on the run's trained range (7721be2) but scaled its
    reconstructions, traversals, interpolation and manifold to their own extremes, so decodings
    of at most 0.3 of the trained range (here 0..255 levels, a float file's) were stretched to
    full contrast: their brightest pixel drawn white. On the trained range it is 0.3 grey."""
    from torchlvm.plots import images

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    with torch.no_grad():  # every decoding: the same faint ramp, 0 to 0.3 × 255
        model.decoder[-1].weight.zero_()
        model.decoder[-1].bias.copy_(torch.linspace(0.0, 0.3 * 255, 64))
    folder = tmp_path / "faint"
    model.save_pretrained(folder, data={**DATA, "binarize": "none", "value_range": [0.0, 255.0]})
    brightest, real = [], images._rgb

    def rgb(array, lo, hi):
        tiles, nan = real(array, lo, hi)
        brightest.append(float(tiles.max()))
        return tiles, nan

    monkeypatch.setattr(images, "_rgb", rgb)
    argv = ["evaluate", str(folder), "--n", "20", "--k", "5", "--ood", "none", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    drawn = json.loads((folder / "metrics.json").read_text())["figures"]["written"]
    assert {"reconstructions.png", "traversals.png", "interpolation.png"} <= set(drawn)
    assert "manifold.png" in drawn and len(brightest) >= 6  # (samples; input, reconstruction...)
    assert max(brightest) == pytest.approx(0.3, abs=1e-3)


def test_refine_of_a_ppca_run_is_refused_before_the_timing_probe(tmp_path, capsys):
    """userN #10: evaluate --refine 10 of a PPCA run ran its timing probe (5 s) and printed an
    expected time (57 s), then refused: PPCA's q is its exact posterior. It refuses first."""
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", "digits", "--latent-dim", "4", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), "--refine", "10", "--n", "20"]) == 2
    captured = capsys.readouterr()
    assert "exact posterior p(z | x)" in captured.err and "leave it at --refine 0" in captured.err
    assert "expected time" not in captured.out + captured.err


def test_a_section_an_evaluation_did_not_measure_again_is_said_to_be_removed(tmp_path, capsys):
    """userS #7: evaluate with --ood, then again with --ood none, took the outlier section (and
    the report's AUROC card) out of metrics.json with nothing but 'wrote metrics.json'; it was
    right to (it would describe another protocol) but says so, naming what it was measured on."""
    torch.manual_seed(0)
    folder = tmp_path / "run"
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(folder, data=DATA)
    argv = ["evaluate", str(folder), "--n", "20", "--k", "5", "--no-figures", "--quiet"]
    assert main([*argv, "--ood", "noise", "--ood-k", "5"]) == 0
    assert "removed" not in capsys.readouterr().out
    assert main([*argv, "--ood", "none"]) == 0
    out = capsys.readouterr().out
    assert (
        "removed the earlier evaluation's outliers from metrics.json (of n = 20, k = 5, seed = 0)"
        ": this evaluation did not measure it" in out
    )
    assert "outliers" not in json.loads((folder / "metrics.json").read_text())
    assert main([*argv, "--ood", "none"]) == 0
    assert "removed" not in capsys.readouterr().out  # (nothing measured before and not now)


def test_the_recorded_command_holds_the_options_that_made_the_numbers(tmp_path, capsys):
    """metrics.json's command (the report's, a figure's 'drawn by') left out --ks, --ood and
    --ood-k (and --data): 'torchlvm evaluate RUN --k 5 --split test --seed 0 --n 20' stood
    beside numbers of other IWAE ks and outlier sets; run again, it gave others."""
    torch.manual_seed(0)
    folder = tmp_path / "run"
    VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(folder, data=DATA)
    argv = ["evaluate", str(folder), "--n", "20", "--k", "5", "--ks", "1", "2", "--ood", "noise"]
    argv += ["--ood-k", "5", "--no-figures", "--quiet"]
    assert main(argv) == 0, capsys.readouterr().err
    command = json.loads((folder / "metrics.json").read_text())["protocol"]["command"]
    assert command == (
        f"torchlvm evaluate {folder} --k 5 --split test --seed 0 --n 20 --ks 1 2 --ood noise "
        "--ood-k 5"
    )


def test_a_link_flipped_to_another_run_mid_evaluation_does_not_move_the_numbers(
    run_dir, tmp_path, monkeypatch, capsys
):
    """userV #4: 'evaluate runs/current' while a deploy flipped the link to run B wrote run A's
    numbers into B's metrics.json, stamped with B's weights, exit 0; the report showed them as
    B's. The link is resolved once: A's numbers go to A, B is left as it was."""
    import importlib

    evaluation = importlib.import_module("torchlvm.evaluation.evaluate")
    a, b = tmp_path / "A", tmp_path / "B"
    shutil.copytree(run_dir, a)
    shutil.copytree(run_dir, b)
    (a / "metrics.json").unlink(missing_ok=True)
    (b / "metrics.json").unlink(missing_ok=True)
    current = tmp_path / "current"
    current.symlink_to(a)
    real = evaluation.evaluate

    def flipped_while_evaluating(*args, **kwargs):
        current.unlink()
        current.symlink_to(b)  # (the deploy's flip)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", flipped_while_evaluating)
    assert main(["evaluate", str(current), *FAST, "--no-figures", "--ood", "none"]) == 0
    assert f"wrote {a}/metrics.json" in capsys.readouterr().out
    assert (a / "metrics.json").is_file() and not (b / "metrics.json").exists()


def test_rows_of_a_class_no_train_row_has_are_named(tmp_path, capsys):
    """userU #9: a class whose rows all fell outside the train split: sample refuses it, and
    evaluate averaged its test rows into log p(x | c) without a word."""
    from torchlvm.models import CVAE, CVAEConfig

    torch.manual_seed(0)
    names = tuple(str(j) for j in range(10))
    model = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(16,), num_classes=10, class_names=names))
    counts = {name: 0 if name == "3" else 120 for name in names}
    data = {**DATA, "condition": "label", "num_classes": 10, "class_names": list(names)}
    folder = tmp_path / "cvae"
    model.save_pretrained(folder, data={**data, "class_counts": counts})
    assert main(["evaluate", str(folder), *FAST, "--no-figures", "--ood", "none"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "the test split holds rows of a class no row of the train split has, '3' (37 rows): the "
        "model learned nothing of it, and these numbers count those rows as given it"
    ) in out


@pytest.mark.parametrize("replaced", [True, False], ids=["replaced", "moved-away"])
def test_a_run_moved_or_replaced_mid_evaluation_gets_no_numbers(
    run_dir, tmp_path, monkeypatch, capsys, replaced
):
    """userV #4, its folder half: 'mv runs/cur runs/old && cp -a runs/B runs/cur' during an
    evaluation wrote its numbers into B's metrics.json, stamped with B's weights, exit 0; a
    folder moved away was made again, holding only metrics.json. The lock the evaluation holds
    is not in the folder now at that path: nothing is written, one error line."""
    import importlib

    evaluation = importlib.import_module("torchlvm.evaluation.evaluate")
    current, old, b = tmp_path / "cur", tmp_path / "old", tmp_path / "B"
    shutil.copytree(run_dir, current)
    shutil.copytree(run_dir, b)
    for folder in (current, b):
        (folder / "metrics.json").unlink(missing_ok=True)
    real = evaluation.evaluate

    def moved_while_evaluating(*args, **kwargs):
        current.rename(old)
        if replaced:
            shutil.copytree(b, current)  # (another run put in its place)
        return real(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", moved_while_evaluating)
    assert main(["evaluate", str(current), *FAST, "--no-figures", "--ood", "none"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: {current} is no longer the run this command read")
    assert not (old / "metrics.json").exists()
    assert current.exists() is replaced and not (current / "metrics.json").exists()


def test_the_figures_are_of_the_examples_the_numbers_are_of(run_dir, capsys, monkeypatch):
    """userW #6: evaluate --n 300 drew its latent scatter of the split's first 500 examples
    ("Latent codes of 500 data points") beside numbers of a seeded 300: the figures are of the
    evaluated subsample."""
    from torchlvm.evaluation import figure_data

    shown, drawn = [], figure_data.figure_data

    def recorded(model, x, *args, **kwargs):
        shown.append(len(x))
        return drawn(model, x, *args, **kwargs)

    monkeypatch.setattr(figure_data, "figure_data", recorded)
    assert main(["evaluate", str(run_dir), *FAST, "--ood", "none"]) == 0
    capsys.readouterr()
    assert shown == [120]  # (--n 120 of the 359 test digits)
