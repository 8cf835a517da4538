"""The table VAE's default latent size: 20 whatever the width, against one tied to the number of
columns, K = min(20, max(2, D // 2)), in held-out log p(x) and training time (issue: a 5-column
table got a 20-dimensional z, bigger than the data).

For each table, written to a .csv with a header as a user would bring it, and each seed, the two
arms train back to back, in alternating order from seed to seed (interleaved, so that a slow
patch of the shared machine hits both alike):

- ``torchlvm train vae --data FILE.csv --latent-dim K --seed S`` with every other option at its
  table default (standardized columns, two tanh layers of 128, a Gaussian p(x | z) with a learned
  σ per feature, batches of 64, the ELBO, up to 300 epochs, early stopping after 30 epochs
  without a better validation ELBO, the best epoch's weights kept), timed;
- ``torchlvm evaluate RUN --no-figures``: test log p(x) importance-sampled with 1,000 samples
  from q(z | x), with its standard error.

Tables: scikit-learn's breast_cancer (569 × 30), wine (178 × 13), diabetes (442 × 10), iris
(150 × 4), and wine's first 6 columns (178 × 6, a narrow table of another kind than iris). Both
arms of a table and seed split and standardize the rows alike (the same seed), so they are
scored on the same test rows in the same units.

Run: ``.venv/bin/python benchmarks/tables_latent.py`` (writes
benchmarks/results/tables_latent.md).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _tables import cli_quietly, load_table, one_thread, result_header
from sklearn.datasets import load_iris

TABLES: dict[str, Callable[[], np.ndarray]] = {
    "breast_cancer": lambda: load_table("breast_cancer")[0],
    "wine": lambda: load_table("wine")[0],
    "diabetes": lambda: load_table("diabetes")[0],
    "iris": lambda: np.asarray(load_iris().data, dtype=np.float64),
    "wine6": lambda: load_table("wine")[0][:, :6],
}


def tied(columns: int) -> int:
    """The candidate default: half the columns, at least 2, at most the current 20."""
    return min(20, max(2, columns // 2))


def write_csv(name: str, folder: Path) -> tuple[Path, int]:
    """The table as ``folder/NAME.csv`` with a header, and its number of columns."""
    x = TABLES[name]()
    path = folder / f"{name}.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"f{j + 1}" for j in range(x.shape[1])])
        writer.writerows([repr(float(v)) for v in row] for row in x)
    return path, x.shape[1]


def one(path: Path, k: int, seed: int, folder: Path) -> dict[str, float]:
    """Train the table VAE with K = ``k`` through the command line, timed, and evaluate it."""
    run = folder / f"vae-{path.stem}-{k}-{seed}"
    common = ["--data", str(path), "--latent-dim", str(k), "--seed", str(seed)]
    start = time.perf_counter()
    cli_quietly(["train", "vae", *common, "--out", str(run), "--quiet"])
    seconds = time.perf_counter() - start
    cli_quietly(["evaluate", str(run), "--no-figures", "--quiet"])
    metrics = json.loads((run / "metrics.json").read_text())
    estimate = metrics["likelihood"]["log_marginal"]["nats"]
    result = json.loads((run / "config.json").read_text())["result"]
    active = metrics["latent"]["active_units"]["value"]
    return {
        "log_p": estimate["value"],
        "se": estimate["stderr"],
        "n_test": metrics["protocol"]["n"],
        "epochs": result["epochs"],
        "best_epoch": result["best_epoch"],
        "seconds": seconds,
        "active": active,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(TABLES))
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results/tables_latent.md"
    )
    args = parser.parse_args()
    start = one_thread()
    rows: list[str] = []
    gains: dict[str, list[float]] = {name: [] for name in args.tables}
    ratios: dict[str, list[float]] = {name: [] for name in args.tables}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = {name: write_csv(name, folder) for name in args.tables}
        for i, seed in enumerate(args.seeds):
            for name, (path, columns) in files.items():
                arms = [20, tied(columns)]
                results = {
                    k: one(path, k, seed, folder) for k in (arms if i % 2 == 0 else arms[::-1])
                }
                old, new = results[20], results[tied(columns)]
                print(name, seed, results, flush=True)
                gains[name].append(new["log_p"] - old["log_p"])
                ratios[name].append(new["seconds"] / old["seconds"])
                rows.append(
                    f"| {name} | {columns} | {seed} | {old['n_test']} | "
                    f"{old['log_p']:.3f} ± {old['se']:.3f} | {old['active']} | "
                    f"{old['epochs']} ({old['best_epoch']}) | {old['seconds']:.0f} | "
                    f"{tied(columns)} | {new['log_p']:.3f} ± {new['se']:.3f} | {new['active']} | "
                    f"{new['epochs']} ({new['best_epoch']}) | {new['seconds']:.0f} | "
                    f"{new['log_p'] - old['log_p']:+.3f} |"
                )
    summary = [
        f"| {name} | {statistics.median(gains[name]):+.3f} | "
        f"{sum(g >= 0 for g in gains[name])} of {len(gains[name])} | "
        f"{statistics.median(ratios[name]):.2f} |"
        for name in args.tables
    ]
    lines = [
        *result_header(
            "The table VAE's default latent size: 20 against min(20, max(2, D // 2))",
            __doc__,
            time.perf_counter() - start,
        ),
        "Average test log p(x), nats per row in standardized units (higher is better), ± the "
        "standard error of the average from the importance sampling; active: latent units "
        "with Cov_x(E_q[z_j | x]) > 0.01 (evaluate's count); epochs: how many trained (best "
        "in brackets); s: training seconds on this shared machine.",
        "",
        "| table | D | seed | test rows | K = 20 | active | epochs | s | tied K | tied | active "
        "| epochs | s | tied − 20 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Per table, medians over the seeds: the gain in test log p(x) of the tied K (nats per "
        "row), how many seeds it was ≥ K = 20, and its training time over K = 20's.",
        "",
        "| table | median gain | seeds ≥ | median time ratio |",
        "|---|---|---|---|",
        *summary,
    ]
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
