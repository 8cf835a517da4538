"""``--accelerator`` on every command that runs a model (issue 15, item 3).

On any machine: every such command takes the option; ``--accelerator cpu`` gives exactly what the
default gives on a machine without a GPU (the device is a parameter all the way down, so this runs
the code a GPU runs); ``--accelerator gpu`` without a GPU is one error line and writes nothing.

Marked ``cuda`` (skipped without a CUDA GPU): ``--accelerator gpu`` equals ``--accelerator cpu``,
within float rounding where the output is deterministic (encoder means, reconstructions, PPCA,
style transfer) and within Monte Carlo error where it is drawn (samples, imputations, importance
sampled scores): the GPU draws its own random numbers, so only their distribution can agree.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm import cli
from torchlvm.cli import _accelerator
from torchlvm.models import CVAE, VAE, CVAEConfig, VAEConfig

DIGITS = {"name": "digits", "binarize": "threshold", "seed": 0}
LABELS = {"name": "digits", "binarize": "none", "seed": 0, "condition": "label",
          "shape": [1, 8, 8], "num_classes": 10}  # fmt: skip
RUNS_A_MODEL = ("evaluate", "gaps", "sample", "reconstruct", "encode", "impute", "transfer",
                "compare", "score")  # fmt: skip
cuda = pytest.mark.cuda
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _table(path: Path, holes: bool) -> Path:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 2)) @ rng.normal(size=(2, 4)) * [1, 10, 100, 0.1] + [0, 5, 50, 7]
    x = x + 0.05 * rng.normal(size=x.shape)
    gaps = rng.random(x.shape) < (0.2 if holes else 0.0)
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "c", "d"])
        for row, gap in zip(x, gaps, strict=True):
            writer.writerow(["" if g else f"{v:.4f}" for v, g in zip(row, gap, strict=True)])
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Untrained VAE and class-conditional CVAE on digits, PPCA fitted to digits, and PPCA and a
    VAE for a table (the VAE carries the PPCA run's table record)."""
    root = tmp_path_factory.mktemp("accelerator")
    torch.manual_seed(0)
    VAE(VAEConfig(64, latent_dim=2, hidden=(8,))).save_pretrained(root / "vae", data=DIGITS)
    cvae = CVAE(CVAEConfig(64, 10, latent_dim=2, hidden=(8,), num_classes=10))
    cvae.save_pretrained(root / "cvae", data=LABELS)
    fit = ["fit", "ppca", "--latent-dim", "2"]
    assert cli.main([*fit, "--data", "digits", "--out", str(root / "ppca")]) == 0
    _table(root / "full.csv", holes=False)
    _table(root / "holes.csv", holes=True)
    table = [*fit, "--data", str(root / "full.csv"), "--out", str(root / "ppca-table")]
    assert cli.main(table) == 0
    record = json.loads((root / "ppca-table" / "config.json").read_text())["data"]
    vae = VAE(VAEConfig(4, latent_dim=2, hidden=(8,), likelihood="gaussian", variance="diagonal"))
    vae.save_pretrained(root / "vae-table", data=record)
    return root


# name → argv for the run folders under w, writing under o
COMMANDS: dict[str, Callable[[Path, Path], list]] = {
    "sample": lambda w, o: ["sample", w / "vae", "--n", "16", "--out", o / "s.png",
                            "--npy", o / "s.npy"],
    "sample-class": lambda w, o: ["sample", w / "cvae", "--condition", "all", "--n", "2",
                                  "--out", o / "c.png", "--npy", o / "c.npy"],
    "sample-ppca": lambda w, o: ["sample", w / "ppca", "--n", "16", "--out", o / "p.png",
                                 "--npy", o / "p.npy"],
    "sample-table": lambda w, o: ["sample", w / "vae-table", "--n", "20", "--out", o / "s.csv"],
    "reconstruct": lambda w, o: ["reconstruct", w / "vae", "--out", o / "r.png"],
    "reconstruct-table": lambda w, o: ["reconstruct", w / "ppca-table", "--data", w / "full.csv",
                                       "--out", o / "r.csv"],
    "encode": lambda w, o: ["encode", w / "vae", "--out", o / "z.npy"],
    "impute": lambda w, o: ["impute", w / "vae", "--mask", "top", "--eval-n", "50",
                            "--out", o / "i.png"],
    "impute-ppca": lambda w, o: ["impute", w / "ppca", "--mask", "left", "--eval-n", "50",
                                 "--out", o / "i.png"],
    "impute-table": lambda w, o: ["impute", w / "vae-table", "--data", w / "holes.csv",
                                  "--out", o / "f.csv", "--samples", "50"],
    "transfer": lambda w, o: ["transfer", w / "cvae", "--from-condition", "3", "--to-condition",
                              "all", "--n", "4", "--out", o / "t.png"],
    "score": lambda w, o: ["score", w / "vae-table", "--data", w / "full.csv", "--out",
                           o / "s.csv", "--samples", "50"],
    "score-ppca": lambda w, o: ["score", w / "ppca-table", "--data", w / "full.csv", "--out",
                                o / "s.csv"],
}  # fmt: skip


def run(argv: list, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_accelerator, "gpu_count", lambda: 0)


def test_every_command_that_runs_a_model_takes_the_option() -> None:
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in RUNS_A_MODEL:
        option = commands.choices[name]._option_string_actions.get("--accelerator")
        assert option is not None, name
        assert tuple(option.choices) == ("auto", "cpu", "gpu") and option.default == "auto"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_cpu_gives_what_the_default_gives_without_a_gpu(world, tmp_path, capsys, no_gpu, name):
    (tmp_path / "cpu").mkdir(), (tmp_path / "auto").mkdir()
    status, printed_cpu, err = run(
        [*COMMANDS[name](world, tmp_path / "cpu"), "--accelerator", "cpu"], capsys
    )
    assert status == 0, err
    status, printed_auto, err = run(COMMANDS[name](world, tmp_path / "auto"), capsys)
    assert status == 0, err
    assert printed_cpu.replace(str(tmp_path / "cpu"), "OUT") == printed_auto.replace(
        str(tmp_path / "auto"), "OUT"
    )
    cpu, auto = outputs(tmp_path / "cpu"), outputs(tmp_path / "auto")
    assert cpu and cpu == auto


GPU_ARGV = {
    **COMMANDS,
    "evaluate": lambda w, o: ["evaluate", w / "vae", "--k", "2", "--n", "10", "--no-figures"],
    "gaps": lambda w, o: ["gaps", w / "vae", "--n", "2", "--k", "2", "--steps", "1"],
    "compare": lambda w, o: ["compare", "--data", "digits", "--epochs", "1", "--out", o / "c"],
}


@pytest.mark.parametrize("name", list(GPU_ARGV))
def test_gpu_without_one_is_one_error_line_and_writes_nothing(
    world, tmp_path, capsys, no_gpu, name
):
    before = {p: p.stat().st_mtime_ns for p in world.rglob("*")}
    status, printed, err = run([*GPU_ARGV[name](world, tmp_path), "--accelerator", "gpu"], capsys)
    assert status == 2 and printed == ""
    assert err.startswith("torchlvm: error: --accelerator gpu") and err.count("\n") == 1
    assert "--accelerator cpu" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert {p: p.stat().st_mtime_ns for p in world.rglob("*")} == before


def test_compare_trains_where_the_device_says(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The device reaches Lightning's accelerator (a GPU's name is checked without one: the
    training itself is replaced)."""
    import torchlvm.training
    from torchlvm.evaluation.compare import CONTENDERS, Budget, train_contender

    seen = {}

    class Stop(Exception):
        pass

    def fake_fit(*args, **kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(torchlvm.training, "fit", fake_fit)
    for device, accelerator in (("cpu", "cpu"), (torch.device("cuda", 0), "gpu")):
        with pytest.raises(Stop):
            train_contender(CONTENDERS[1], "digits", tmp_path, Budget(epochs=1), device=device)
        assert seen["accelerator"] == accelerator


def test_a_run_loads_onto_the_device_asked_for_and_draws_there(world) -> None:
    from torchlvm.run import load_run

    run_ = load_run(world / "vae", device="cpu")
    assert run_.device == torch.device("cpu")
    assert run_.generator(3).device == torch.device("cpu")
    assert torch.equal(
        torch.rand(4, generator=run_.generator(3)),
        torch.rand(4, generator=torch.Generator().manual_seed(3)),
    )


# -- on a GPU: --accelerator gpu equals --accelerator cpu ----------------------------------------


@pytest.fixture
def exact_float32() -> None:
    """No TF32 on the GPU here: deterministic outputs must agree to float32 rounding."""
    precision = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(precision)


def on_both(world: Path, tmp: Path, capsys, argv: Callable, seed: int = 0) -> dict[str, tuple]:
    """``{"cpu": (printed, folder), "gpu": (printed, folder)}`` of one command."""
    results = {}
    for accelerator in ("cpu", "gpu"):
        out = tmp / f"{accelerator}-{seed}"
        out.mkdir()
        argv_ = [*argv(world, out), "--accelerator", accelerator, "--seed", str(seed)]
        status, printed, err = run(argv_, capsys)
        assert status == 0, err
        results[accelerator] = (printed.replace(str(out), "OUT"), out)
    return results


def numbers(text: str) -> np.ndarray:
    return np.array([float(v) for v in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)])


def table_values(path: Path) -> np.ndarray:
    with path.open(newline="") as f:
        rows = list(csv.reader(f))[1:]
    return np.array([[float(v) for v in row] for row in rows])


def same_distribution(a: np.ndarray, b: np.ndarray) -> None:
    """Draws ``a`` and ``b`` ``(N, D)``: each column's mean within 5.5 standard errors (and a
    rounding floor), and the columns' variances within 20% of each other on average (about 5%
    is usual at N = 2000)."""
    n = len(a)
    se = np.sqrt((a.var(0) + b.var(0)) / n)
    assert np.all(np.abs(a.mean(0) - b.mean(0)) <= 5.5 * se + 1e-5)
    spread = np.abs(a.var(0) - b.var(0)).mean() / max(a.var(0).mean(), 1e-12)
    assert spread < 0.2


DETERMINISTIC = ("reconstruct", "reconstruct-table", "encode", "impute-ppca", "transfer",
                 "score-ppca")  # fmt: skip


@cuda
@needs_cuda
@pytest.mark.parametrize("name", DETERMINISTIC)
def test_gpu_equals_cpu_to_float_rounding(world, tmp_path, capsys, exact_float32, name):
    from matplotlib.image import imread

    both = on_both(world, tmp_path, capsys, COMMANDS[name])
    (printed_cpu, cpu), (printed_gpu, gpu) = both["cpu"], both["gpu"]
    np.testing.assert_allclose(numbers(printed_gpu), numbers(printed_cpu), rtol=1e-4, atol=1e-6)
    for path in sorted(cpu.iterdir()):
        other = gpu / path.name
        if path.suffix == ".npy":
            np.testing.assert_allclose(np.load(other), np.load(path), rtol=1e-4, atol=1e-5)
        elif path.suffix == ".csv":
            np.testing.assert_allclose(table_values(other), table_values(path), rtol=1e-4)
        elif path.suffix == ".png":
            assert np.abs(imread(other) - imread(path)).max() <= 2 / 255


@cuda
@needs_cuda
@pytest.mark.parametrize("name", ["sample", "sample-class", "sample-ppca", "sample-table"])
def test_gpu_samples_are_distributed_as_the_cpus(world, tmp_path, capsys, name):
    def many(w, o):
        argv = [str(a) for a in COMMANDS[name](w, o)]
        argv[argv.index("--n") + 1] = "200" if name == "sample-class" else "2000"
        return argv

    both = on_both(world, tmp_path, capsys, many)
    (_, cpu), (_, gpu) = both["cpu"], both["gpu"]
    for path in cpu.iterdir():
        if path.suffix == ".npy" and not path.name.endswith(".labels.npy"):
            same_distribution(np.load(gpu / path.name), np.load(path))
        elif path.suffix == ".csv":
            same_distribution(table_values(gpu / path.name), table_values(path))


@cuda
@needs_cuda
def test_gpu_pseudo_gibbs_imputation_error_is_the_cpus(world, tmp_path, capsys):
    """The printed error, over seeds: the means of 4 seeds per device within 6 of their
    standard errors (Welch)."""

    def error(printed: str) -> float:
        return float(re.search(r"missing pixel: ([\d.e-]+) \(model\)", printed).group(1))

    errors = {"cpu": [], "gpu": []}
    for seed in range(4):
        both = on_both(world, tmp_path, capsys, COMMANDS["impute"], seed=seed)
        for accelerator, (printed, _) in both.items():
            errors[accelerator].append(error(printed))
    cpu, gpu = np.array(errors["cpu"]), np.array(errors["gpu"])
    se = np.sqrt(cpu.var(ddof=1) / 4 + gpu.var(ddof=1) / 4)
    assert abs(cpu.mean() - gpu.mean()) <= 6 * se + 1e-6 * cpu.mean()


@cuda
@needs_cuda
def test_gpu_table_imputation_differs_from_the_cpus_as_another_seed_does(world, tmp_path, capsys):
    seed0 = on_both(world, tmp_path, capsys, COMMANDS["impute-table"], seed=0)
    seed1 = on_both(world, tmp_path, capsys, COMMANDS["impute-table"], seed=1)
    cpu0, gpu0 = (table_values(seed0[a][1] / "f.csv") for a in ("cpu", "gpu"))
    cpu1 = table_values(seed1["cpu"][1] / "f.csv")
    across_devices = np.abs(gpu0 - cpu0).mean()
    across_seeds = np.abs(cpu1 - cpu0).mean()
    assert across_seeds > 0 and across_devices <= 2.5 * across_seeds


@cuda
@needs_cuda
def test_gpu_scores_are_the_cpus_within_their_standard_errors(world, tmp_path, capsys):
    both = on_both(world, tmp_path, capsys, COMMANDS["score"])
    cpu, gpu = (np.genfromtxt(both[a][1] / "s.csv", delimiter=",", names=True) for a in both)
    se = np.sqrt(cpu["stderr"] ** 2 + gpu["stderr"] ** 2) + 1e-9
    z = np.abs(cpu["neg_log_p"] - gpu["neg_log_p"]) / se
    assert np.median(z) < 1.5 and np.mean(z > 4) < 0.05


@cuda
@needs_cuda
def test_gpu_evaluation_and_gaps_are_the_cpus_within_their_standard_errors(world, tmp_path, capsys):
    runs = {}
    for accelerator in ("cpu", "gpu"):
        folder = tmp_path / accelerator
        shutil.copytree(world / "vae", folder)
        evaluate = ["evaluate", folder, "--k", "200", "--n", "200", "--no-figures", "--quiet"]
        assert run([*evaluate, "--ood", "none", "--accelerator", accelerator], capsys)[0] == 0
        gaps = ["gaps", folder, "--n", "20", "--k", "100", "--steps", "5"]
        assert run([*gaps, "--accelerator", accelerator], capsys)[0] == 0
        metrics = json.loads((folder / "metrics.json").read_text())
        runs[accelerator] = (metrics, json.loads((folder / "gaps.json").read_text()))
    (cpu, cpu_gaps), (gpu, gpu_gaps) = runs["cpu"], runs["gpu"]
    assert gpu["protocol"]["device"].startswith("cuda") and gpu_gaps["device"].startswith("cuda")
    a, b = cpu["likelihood"]["log_marginal"]["nats"], gpu["likelihood"]["log_marginal"]["nats"]
    assert abs(a["value"] - b["value"]) <= 5 * np.hypot(a["stderr"], b["stderr"])
    a, b = cpu_gaps["mean"], gpu_gaps["mean"]
    assert abs(a["log_px"] - b["log_px"]) <= 5 * np.hypot(a["log_px_stderr"], b["log_px_stderr"])


@cuda
@needs_cuda
def test_compare_trains_and_evaluates_on_the_gpu(tmp_path, capsys, monkeypatch):
    """Trained on the GPU; its runs evaluated again on the CPU: the same interpretability (the
    posterior means agree to rounding, up to a point crossing a bin edge) and log-likelihoods
    within their standard errors."""
    from torchlvm.evaluation import features

    monkeypatch.setenv("TORCHLVM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(features, "TRAIN_STEPS", 300)
    argv = ["compare", "--data", "shapes", "--epochs", "1", "--latent-dim", "4", "--hidden", "32",
            "--k", "50", "--n", "200", "--quiet", "--out", tmp_path / "c"]  # fmt: skip
    assert run([*argv, "--accelerator", "gpu"], capsys)[0] == 0
    gpu = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert run([*argv, "--accelerator", "cpu", "--reuse"], capsys)[0] == 0
    cpu = json.loads((tmp_path / "c" / "compare.json").read_text())
    for key, model in gpu["models"].items():
        other = cpu["models"][key]
        assert model["metrics"]["protocol"]["device"].startswith("cuda")
        mig, again = (m["interpretability"]["mig"]["value"] for m in (model, other))
        assert abs(mig - again) < 0.02  # (a point may cross a bin edge of the discretization)
        a = model["metrics"]["likelihood"].get("log_marginal")
        if a:  # (an autoencoder has none)
            b = other["metrics"]["likelihood"]["log_marginal"]
            a, b = a["nats"], b["nats"]
            assert abs(a["value"] - b["value"]) <= 6 * np.hypot(a["stderr"], b["stderr"])
