"""The Python estimators' torch threads: one source tree against another, interleaved.

Each measurement is a fresh process that imports torchlvm from one tree (``--src NAME=PATH``),
standardizes a scikit-learn table and times, on its wall clock:

- ``vae``: ``VAEEstimator(latent_dim=2, epochs=20, random_state=0).fit(X)`` on wine (178 rows,
  13 columns), then ``score(X)``;
- ``cvae``: ``CVAEEstimator(latent_dim=2, epochs=20, random_state=0).fit(X, y)`` on wine and
  its classes, then ``score(X, y)``;
- ``ppca-em``: ``PPCA(latent_dim=15, method="em").fit(X)`` on standardized breast_cancer (569
  rows, 30 columns) with 8 % of its cells emptied (seeded), then ``score(X)`` (userG #19's case);
- ``ppca-images``: ``PPCA(latent_dim=20).fit(X)`` (exact) on the first 20,000 Fashion-MNIST
  training images as float64 in [0, 1] (784 values each, /usr/share/datasets/fashion-mnist),
  then ``score(X)``; ``ppca-images-em``: ``PPCA(latent_dim=20, method="em", max_iter=50)`` on
  the first 5,000 (review12 #10: does an image-sized PPCA want torch's count, as image training
  does?).

The estimators run with their default parameters, so the trees' defaults are what is compared
(before a ``threads`` parameter, torch's count: one per core). ``--threads-none`` adds an arm
of the last tree with ``threads=None`` (the count torch has, here its default; not for
``ppca-em``, whose slow rounds would double the script's time). The 1-minute
load average is read before each process.

Run: ``.venv/bin/python benchmarks/estimator_threads.py --src before=/tmp/main --src after=.
--out benchmarks/results/estimator_threads.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _machine import (
    command_line,
    emit,
    interleaved,
    machine_lines,
    median,
    run_worker,
    source_commit,
    tree_options,
    trees,
    write_results,
)

WHAT = ("vae", "cvae", "ppca-em", "ppca-images", "ppca-images-em")
SCORE_NOTE = (
    "score: the estimator's `score`, the mean log-density per row of the standardized table, "
    "nats (vae: log p(x), importance-sampled with the default k = 100 draws from q; cvae: "
    "log p(x | y), likewise; ppca-em: exact log p(x) over each row's observed cells; "
    "ppca-images*: exact log p(x) of the images, nats per image), from the "
    "first round's process; equal across arms where the fitted models are."
)


def _data(what: str):
    """Standardized wine (X, y); for ``ppca-em``, breast_cancer with 8 % of its cells empty;
    for ``ppca-images*``, Fashion-MNIST's first training images in [0, 1] (and their labels)."""
    import numpy as np

    if what.startswith("ppca-images"):
        import gzip

        folder = "/usr/share/datasets/fashion-mnist"
        n = 20_000 if what == "ppca-images" else 5_000
        with gzip.open(f"{folder}/train-images-idx3-ubyte.gz") as f:
            pixels = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:n]
        with gzip.open(f"{folder}/train-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
        return pixels.astype(np.float64) / 255, labels
    from sklearn.datasets import load_breast_cancer, load_wine
    from sklearn.preprocessing import StandardScaler

    bunch = load_breast_cancer() if what == "ppca-em" else load_wine()
    x = StandardScaler().fit_transform(bunch.data)
    if what == "ppca-em":
        x[np.random.default_rng(0).random(x.shape) < 0.08] = np.nan
    return x, bunch.target


def worker(what: str, threads: str) -> None:
    """Time one fit and one score of ``what`` in this process; emit the seconds."""
    import torch

    from torchlvm.estimators import CVAEEstimator, VAEEstimator
    from torchlvm.models.ppca import PPCA

    x, y = _data(what)
    extra = {} if threads == "default" else {"threads": None}
    if what == "ppca-em":
        est, args = PPCA(latent_dim=15, method="em", **extra), (x,)
    elif what == "ppca-images":
        est, args = PPCA(latent_dim=20, **extra), (x,)
    elif what == "ppca-images-em":
        est, args = PPCA(latent_dim=20, method="em", max_iter=50, **extra), (x,)
    else:
        cls = VAEEstimator if what == "vae" else CVAEEstimator
        est = cls(latent_dim=2, epochs=20, random_state=0, **extra)
        args = (x,) if what == "vae" else (x, y)
    start = time.perf_counter()
    est.fit(*args)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    score = est.score(*args)
    emit(
        {
            "fit_s": fit,
            "score_s": time.perf_counter() - start,
            "score": float(score),
            "threads_after": torch.get_num_threads(),
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tree_options(parser, rounds=3)
    parser.add_argument("--what", nargs="+", choices=WHAT, default=list(WHAT))
    parser.add_argument("--threads-none", action="store_true")
    args = parser.parse_args(argv)
    sources = trees(args)
    last = list(sources)[-1]
    arms = [(name, "default") for name in sources]
    arms += [(last, "none")] if args.threads_none else []
    names = [
        f"{w}|{tree}|{t}" for w in args.what for tree, t in arms if (w, t) != ("ppca-em", "none")
    ]
    loads: list[float] = []

    def one(name: str, _: int) -> dict:
        what, tree, threads = name.split("|")
        loads.append(os.getloadavg()[0])
        script = str(Path(__file__).resolve())
        env = {"PYTHONPATH": os.path.join(sources[tree], "src")}
        return run_worker([script, "--worker", what, threads], env=env)

    started = time.perf_counter()
    results = interleaved(names, args.rounds, one)
    lines = [
        "# The Python estimators' torch threads, one tree against another",
        "",
        __doc__.split("\n\n", 1)[1].split("\n\nRun:")[0],
        "",
        *machine_lines(interleaved=True),
        "- trees: " + ", ".join(f"{k}={v} ({source_commit(v)})" for k, v in sources.items()),
        f"- 1-minute load average when each process started: min {min(loads):.1f}, median "
        f"{median(loads):.1f}, max {max(loads):.1f}",
        f"- {args.rounds} interleaved rounds; whole script {time.perf_counter() - started:.0f} s",
        f"- command: `{command_line('benchmarks/estimator_threads.py', argv or sys.argv[1:])}`",
        "",
        "| estimator | tree | threads | fit (s), each round | median fit (s) | median score (s) "
        "| score (nats/row) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        what, tree, threads = name.split("|")
        runs = results[name]
        fits = ", ".join(f"{r['fit_s']:.2f}" for r in runs)
        lines.append(
            f"| {what} | {tree} | {'default' if threads == 'default' else 'None'} | {fits} | "
            f"{median([r['fit_s'] for r in runs]):.2f} | "
            f"{median([r['score_s'] for r in runs]):.3f} | {runs[0]['score']:.6f} |"
        )
    lines += ["", SCORE_NOTE, ""]
    write_results(args.out, lines)
    print(json.dumps({n: [r["fit_s"] for r in results[n]] for n in names}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:  # one measurement, in its own process
        worker(*sys.argv[2:4])
    else:
        main()
