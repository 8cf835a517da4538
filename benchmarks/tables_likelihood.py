"""Test log-likelihood of a VAE against PPCA with the same K on scikit-learn's tables, both
trained through the command line with its defaults (issue 11).

For breast_cancer (569 × 30), wine (178 × 13) and diabetes (442 × 10), the features are written
to a .csv with a header, then, for each K:

- ``torchlvm fit ppca --data FILE.csv --latent-dim K`` (closed form on the train split; exact
  test log p(x) from its metrics.json);
- ``torchlvm train vae --data FILE.csv --latent-dim K`` with every other option at its table
  default (standardized columns, two tanh layers of 128, a Gaussian p(x | z) with a learned σ per
  feature, batches of 64, the ELBO, up to 300 epochs with early stopping on the validation ELBO
  after 30 epochs without improvement, the best epoch's weights kept), then
  ``torchlvm evaluate RUN --no-figures`` with its defaults: test log p(x) importance-sampled with
  1,000 samples from q(z | x), with its standard error.

Both commands split the rows the same seeded way (80/10/10) and standardize with the train
split's mean and standard deviation, so both are scored on the same test rows in the same
standardized units (the Jacobian of the standardization, −Σ_d log σ_d, is the same for both and
left out). ``--seeds`` repeats everything with other split/initialization seeds.

Run: ``.venv/bin/python benchmarks/tables_likelihood.py`` (writes
benchmarks/results/tables_likelihood.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path

from _tables import TABLES, cli_quietly, load_table, one_thread, result_header


def write_csv(name: str, folder: Path) -> Path:
    """The table's features as ``folder/NAME.csv`` with a header (what a user would bring)."""
    x, _ = load_table(name)
    names = [f"f{j + 1}" for j in range(x.shape[1])]
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(names)
        writer.writerows([repr(float(v)) for v in row] for row in x)
    return path


def one(path: Path, k: int, seed: int, folder: Path) -> dict[str, float]:
    """PPCA and the VAE with K = ``k`` on the table at ``path``, through the command line."""
    tag = f"{path.stem}-{k}-{seed}"
    ppca_dir, vae_dir = folder / f"ppca-{tag}", folder / f"vae-{tag}"
    common = ["--data", str(path), "--latent-dim", str(k), "--seed", str(seed)]
    cli_quietly(["fit", "ppca", *common, "--out", str(ppca_dir)])
    ppca = json.loads((ppca_dir / "metrics.json").read_text())
    start = time.perf_counter()
    cli_quietly(["train", "vae", *common, "--out", str(vae_dir), "--quiet"])
    seconds = time.perf_counter() - start
    cli_quietly(["evaluate", str(vae_dir), "--no-figures", "--quiet"])
    metrics = json.loads((vae_dir / "metrics.json").read_text())
    estimate = metrics["likelihood"]["log_marginal"]["nats"]
    result = json.loads((vae_dir / "config.json").read_text())["result"]
    return {
        "ppca": ppca["test_log_likelihood"],
        "vae": estimate["value"],
        "vae_se": estimate["stderr"],  # of the average over the test rows
        "n_test": metrics["protocol"]["n"],
        "epochs": result["epochs"],
        "best_epoch": result["best_epoch"],
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latent-dims", type=int, nargs="+", default=[2, 5])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/tables_likelihood.md"
    )
    args = parser.parse_args()
    start = one_thread()
    rows, results = [], []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for name in args.tables:
            path = write_csv(name, folder)
            for k in args.latent_dims:
                for seed in args.seeds:
                    r = one(path, k, seed, folder)
                    print(name, k, seed, r, flush=True)
                    results.append(r["vae"] - r["ppca"])
                    verdict = "≥ PPCA" if r["vae"] >= r["ppca"] else "< PPCA"
                    rows.append(
                        f"| {name} | {k} | {seed} | {r['n_test']} | {r['ppca']:.3f} | "
                        f"{r['vae']:.3f} ± {r['vae_se']:.3f} | {r['vae'] - r['ppca']:+.3f} | "
                        f"{verdict} | {r['epochs']} ({r['best_epoch']}) | {r['seconds']:.0f} |"
                    )
    lines = [
        *result_header(
            "VAE against PPCA with the same K: test log-likelihood on tables, through the "
            "command line with its defaults (issue 11)",
            __doc__,
            time.perf_counter() - start,
        ),
        "Average test log p(x), nats per row in standardized units (higher is better); ± is the "
        "standard error of the average from the importance sampling; epochs: how many the VAE "
        "trained (at most 300; early stopping after 30 without a better validation ELBO), and "
        "in brackets the best one, whose weights are kept; s: its training time on this shared "
        "machine.",
        "",
        "| table | K | seed | test rows | PPCA (exact) | VAE (IS, 1,000) | VAE − PPCA | verdict "
        "| epochs | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"VAE − PPCA: median {statistics.median(results):+.3f} nats per row, "
        f"{sum(d >= 0 for d in results)} of {len(results)} rows ≥ 0.",
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
