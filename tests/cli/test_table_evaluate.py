"""`torchlvm evaluate` on a run trained on a table: --ood FILE reads every row of the file with
the run's columns and standardization; every row of a split with missing cells is scored on its
observed cells (log p(x_o)), the other sections on its complete rows (undefined, with the reason,
when it has none); the printed units are rows and features."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm.cli import main
from torchlvm.run.loaded import load_run
from torchlvm.run.split import load_split

FAST = ["--k", "50", "--ks", "1", "--ood-k", "20", "--no-figures"]
SCALE = np.array([1.0, 10.0, 100.0, 0.1])
SHIFT = np.array([0.0, 5.0, 50.0, 3.0])


def _rows(rng: np.random.Generator, n: int) -> np.ndarray:
    """Rank-2 rows with columns of very different scales (standardizing matters)."""
    mixing = np.random.default_rng(0).normal(size=(2, 4))
    x = rng.normal(size=(n, 2)) @ mixing + 0.3 * rng.normal(size=(n, 4))
    return x * SCALE + SHIFT


def _write(path: Path, x: np.ndarray, columns: list[str]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(["" if np.isnan(v) else repr(float(v)) for v in row] for row in x)
    return path


@pytest.fixture(scope="module")
def ppca_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("table-evaluate")
    data = _write(folder / "train.csv", _rows(np.random.default_rng(1), 300), list("abcd"))
    run = folder / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "2", "--out", str(run)]
    assert main(argv) == 0
    return run, folder


def _outliers(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())["outliers"]["sets"]


def test_ood_file_is_read_whole_with_the_runs_columns_and_standardization(ppca_run, capsys):
    run, folder = ppca_run
    same = _rows(np.random.default_rng(2), 80)[:, [3, 1, 0, 2]]  # columns in another order
    _write(folder / "same.csv", same, list("dbac"))
    shifted = _rows(np.random.default_rng(3), 70)
    shifted[:, 1] += 60.0  # six standard deviations of column b
    _write(folder / "shifted.csv", shifted, list("abcd"))
    ood = f"{folder / 'same.csv'},{folder / 'shifted.csv'}"
    assert main(["evaluate", str(run), *FAST, "--ood", ood, "--quiet"]) == 0
    sets = _outliers(run)
    same_set, shifted_set = sets[str(folder / "same.csv")], sets[str(folder / "shifted.csv")]
    assert same_set["n_out"] == 80 and shifted_set["n_out"] == 70  # every row, not a split
    assert "all 80 rows" in same_set["description"]
    # rows from the training distribution, read in the run's units, look like the test split;
    # read without the standardization (column c in hundreds) they would all be outliers
    assert 0.25 < same_set["score"]["auroc"]["value"] < 0.75
    assert shifted_set["score"]["auroc"]["value"] > 0.95
    out = capsys.readouterr().out
    assert "row-samples" in out and "image" not in out
    assert "squared error per row / per feature" in out
    reconstruction = json.loads((run / "metrics.json").read_text())["reconstruction"]
    assert reconstruction["mse_per_pixel"]["unit"] == "squared error/feature"
    assert reconstruction["mse_per_example"]["unit"] == "squared error/row"
    assert main(["report", str(run), "--out", str(folder / "report.html")]) == 0
    page = (folder / "report.html").read_text()
    assert "squared error per feature" in page and "per pixel" not in page


def test_a_run_on_incomplete_rows_evaluates_its_complete_rows(tmp_path, capsys):
    x = _rows(np.random.default_rng(4), 300)
    x[np.random.default_rng(5).random(x.shape) < 0.1] = np.nan  # about a third of rows hit
    data = _write(tmp_path / "holes.csv", x, list("abcd"))
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "2", "--method", "em"]
    assert main([*argv, "--allow-missing", "--out", str(run)]) == 0
    fitted = capsys.readouterr().out  # (62bd2fb: a split with holes says log p(x_o))
    assert "test  log p(x_o): " in fitted and "in the run's standardized units)" in fitted
    assert main(["evaluate", str(run), *FAST, "--quiet"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("evaluating the"))
    kept, left = int(line.split()[2]), int(line.split("(")[1].split()[0])
    assert kept + left == 30 and left > 0  # the test split: 10% of 300 rows
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["protocol"]["n"] == kept
    # the full-row likelihood says whose density it is and which rows, as the fit summary does
    rows = f"on the {kept} complete rows of 30 only"
    assert "likelihood (per row, in the run's standardized units;" in out
    assert any(line.startswith(rows) for line in out.splitlines())
    likelihood = metrics["likelihood"]  # said once for the section, not in every note
    assert likelihood["units"] == "in the run's standardized units"
    assert likelihood["rows"].startswith(rows)
    for quantity in likelihood["exact"].values():
        assert "standardized units" not in quantity["note"] and rows not in quantity["note"]


def _every_row_misses_a_cell(folder: Path) -> Path:
    x = _rows(np.random.default_rng(6), 200)
    x[np.arange(200), np.arange(200) % 4] = np.nan  # every row misses one cell
    return _write(folder / "holes.csv", x, list("abcd"))


def _observed(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())["observed_likelihood"]


def _evaluated_em_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    """A PPCA fitted by EM on rows that each miss a cell, evaluated; its folder and output."""
    data = _every_row_misses_a_cell(tmp_path)
    run = tmp_path / "ppca"
    argv = ["fit", "ppca", "--data", str(data), "--latent-dim", "1", "--method", "em"]
    assert main([*argv, "--allow-missing", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run), *FAST]) == 0
    return run, capsys.readouterr().out


def test_a_split_without_complete_rows_is_scored_on_its_observed_cells(tmp_path, capsys):
    run, out = _evaluated_em_run(tmp_path, capsys)
    assert "observed cells only (every row; 20 of 20 rows have missing cells, 20 of 80" in out
    observed = _observed(run)
    assert observed["rows"] == observed["incomplete_rows"] == 20
    assert observed["nats"]["kind"] == "exact" and observed["nats"]["unit"] == "nats/row"
    # the exact log p(x_o) of PPCA (missing cells integrated out), on the same test rows
    loaded = load_run(run)
    x = load_split(loaded, None, "test").x
    exact = loaded.model.log_marginal(x.to(loaded.model.W.dtype)).double().mean().item()
    assert observed["nats"]["value"] == pytest.approx(exact, abs=1e-6)
    metrics = json.loads((run / "metrics.json").read_text())
    for section in ("likelihood", "reconstruction", "latent"):
        assert metrics[section]["kind"] == "undefined", section
        assert "every row of the split has a missing cell" in metrics[section]["note"]
    assert metrics["protocol"]["n"] == 0


def test_a_miwae_run_without_complete_rows_evaluates_with_the_defaults(tmp_path, capsys):
    torch.manual_seed(0)
    data = _every_row_misses_a_cell(tmp_path)
    run = tmp_path / "vae"
    argv = ["train", "vae", "--data", str(data), "--allow-missing", "--epochs", "2"]
    assert main([*argv, "--latent-dim", "2", "--quiet", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "mean log p(x_o) per row" in out and "importance-sampled, k=" in out
    nats = _observed(run)["nats"]
    assert nats["kind"] == "estimate" and math.isfinite(nats["value"]) and nats["k"] > 1
    assert math.isfinite(nats["stderr"]) and math.isfinite(nats["data_stderr"])
    figures = json.loads((run / "metrics.json").read_text())["figures"]
    assert figures["written"] == [] and "missing cell" in figures["skipped"]["all"]


def _units(record: object) -> set[str]:
    """Every likelihood-like unit (``nats/...``) anywhere in a metrics.json record."""
    if isinstance(record, dict):
        found = {record["unit"]} if str(record.get("unit", "")).startswith("nats/") else set()
        return found.union(*(_units(v) for v in record.values()))
    if isinstance(record, list):
        return set().union(*(_units(v) for v in record))
    return set()


def test_a_table_runs_likelihoods_are_per_row_in_metrics_report_and_cli(tmp_path, capsys):
    """One unit per run, wherever it is shown: metrics.json, the report (from fit's record and
    from evaluate's) and the CLI say nats/row on a table, never nats/example."""
    data = _write(tmp_path / "t.csv", _rows(np.random.default_rng(8), 200), list("abcd"))
    run = tmp_path / "ppca"
    assert main(["fit", "ppca", "--data", str(data), "--latent-dim", "2", "--out", str(run)]) == 0
    assert main(["report", str(run), "--out", str(tmp_path / "fit.html")]) == 0
    page = (tmp_path / "fit.html").read_text()
    assert "nats/row" in page and "nats/example" not in page
    capsys.readouterr()
    assert main(["evaluate", str(run), *FAST, "--ood", "none", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "likelihood (per row" in out and "per example" not in out and "nats/example" not in out
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["protocol"]["example"] == "row"
    assert _units(metrics) == {"nats/row"}
    assert metrics["likelihood"]["exact"]["nats"]["unit"] == "nats/row"
    assert metrics["latent"]["rate"]["unit"] == "nats/row"
    assert main(["report", str(run), "--out", str(tmp_path / "evaluated.html")]) == 0
    page = (tmp_path / "evaluated.html").read_text()
    assert "nats/row" in page and "nats/example" not in page


def _exact_in_file_units(run: Path, x_file: torch.Tensor) -> torch.Tensor:
    """log p(x_o) ``(N,)`` of rows in the file's units under the run's PPCA, from its Gaussian in
    those units: fitted on standardized columns z = (x − m) / s with mean μ and covariance
    C = WWᵀ + σ²I, it is N(μ·s + m, diag(s) C diag(s)) in x; each row's observed marginal."""
    from torchlvm.data.table_schema import TableSchema

    model = load_run(run).model
    schema = TableSchema.from_dict(json.loads((run / "config.json").read_text())["data"]["table"])
    m = torch.tensor(schema.standardizer.mean, dtype=torch.float64)
    s = torch.tensor(schema.standardizer.scale, dtype=torch.float64)
    W, mu = model.W.double(), model.mu.double()
    C = W @ W.T + model.sigma2.double() * torch.eye(len(mu), dtype=torch.float64)
    mean, cov = mu * s + m, s[:, None] * C * s[None, :]
    out = []
    for row in x_file.double():
        o = ~torch.isnan(row)
        gauss = torch.distributions.MultivariateNormal(mean[o], cov[o][:, o])
        out.append(gauss.log_prob(row[o]))
    return torch.stack(out)


def test_the_observed_cell_likelihood_is_also_in_the_files_units(tmp_path, capsys):
    """log p(x_o) in the file's units = log p(x'_o) − Σ_{j observed} log s_j: against PPCA's
    exact density of the unstandardized rows; metrics.json, the CLI and score agree on it."""
    run, out = _evaluated_em_run(tmp_path, capsys)
    observed = _observed(run)
    in_file = observed["nats_file_units"]
    assert in_file["unit"] == "nats/row" and in_file["kind"] == "exact"
    assert "in the file's units" in in_file["note"]
    assert "standardized units" in observed["nats"]["note"]
    loaded = load_run(run)
    schema_x = load_split(loaded, None, "test").x  # the test rows, standardized
    from torchlvm.data.table_schema import TableSchema

    schema = TableSchema.from_dict(loaded.data["table"])
    x_file = schema.standardizer.inverse(schema_x.double())
    exact = _exact_in_file_units(run, x_file)
    assert in_file["value"] == pytest.approx(exact.mean().item(), abs=1e-6)
    assert observed["nats"]["value"] != pytest.approx(in_file["value"], abs=1.0)  # σ matters
    printed = next(ln for ln in out.splitlines() if "per row, the file's units" in ln)
    assert f"{in_file['value']:.3f} nats/row  (exact" in printed
    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Likelihood of the observed cells" in page and "nats, in the file&#x27;s units" in page
    _write(tmp_path / "test-rows.csv", x_file.numpy(), list("abcd"))
    scores = tmp_path / "scores.csv"
    argv = ["score", str(run), "--data", str(tmp_path / "test-rows.csv"), "--out", str(scores)]
    assert main(argv) == 0
    with scores.open() as f:
        neg_log_p = [float(row["neg_log_p"]) for row in csv.DictReader(f)]
    np.testing.assert_allclose(neg_log_p, -exact.numpy(), rtol=1e-6, atol=1e-6)


def test_a_table_vae_runs_training_curves_are_per_row(tmp_path, capsys):
    """The training curves' caption in the report (and their axes) say nats per row on a table,
    like every other unit of the run."""
    from torchlvm.plots.curves import training_curves

    data = _write(tmp_path / "t.csv", _rows(np.random.default_rng(9), 200), list("abcd"))
    run = tmp_path / "vae"
    argv = ["train", "vae", "--data", str(data), "--epochs", "2", "--latent-dim", "2"]
    assert main([*argv, "--hidden", "8", "--quiet", "--out", str(run)]) == 0
    assert main(["report", str(run), "--out", str(tmp_path / "report.html")]) == 0
    page = (tmp_path / "report.html").read_text()
    assert "Training curves per epoch, in nats per row" in page
    assert "in nats per example" not in page
    figure = training_curves(run / "metrics.csv", per="row")
    assert all("nats per row" in ax.get_ylabel() for ax in figure.axes if "nats" in ax.get_ylabel())
