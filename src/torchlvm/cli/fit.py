"""Fit probabilistic PCA (closed form or EM) and write config.json, model.safetensors and
metrics.json (average exact log-likelihood on the train and test splits, in nats per example).

Example: torchlvm fit ppca --data digits --latent-dim 10 --out runs/ppca
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from torchlvm.cli import _tables, _types
from torchlvm.cli._accelerator import add_threads, apply_threads
from torchlvm.errors import ConfigError

HELP = "fit probabilistic PCA in closed form or by EM; writes the model and its exact log p(x)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=["ppca"], help="the model to fit")
    parser.add_argument(
        "--data",
        type=_types.data_source,
        required=True,
        help="dataset name (see 'torchlvm datasets') or a .npy, .npz, .csv or .tsv file "
        "(tables may be gzipped: .csv.gz, .tsv.gz)",
    )
    parser.add_argument("--data-dir", help=_types.SEARCH_DATA_DIR_HELP)
    parser.add_argument(
        "--latent-dim",
        type=_types.positive_int,
        help="K, the size of z (default for a table: train's, half its columns, 2 to 20; "
        "other data: give it)",
    )
    parser.add_argument(
        "--method",
        choices=["closed_form", "em"],
        default="closed_form",
        help="the eigendecomposition of the covariance, or EM (which fits missing values)",
    )
    parser.add_argument(
        "--max-iter", type=_types.positive_int, default=1000, help="EM iterations at most"
    )
    parser.add_argument(
        "--seed", type=_types.seed, default=0, help="seed of the splits and of EM's start"
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="keep NaN cells of a user file as missing values (needs --method em)",
    )
    _tables.add_options(parser)
    add_threads(parser, table_default=True)
    parser.add_argument("--out", type=_types.given_path, required=True, help="output folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    from torchlvm.data import load_dataset
    from torchlvm.data.csv_once import parsed_once
    from torchlvm.models.ppca import PPCA
    from torchlvm.run import check_new_target, staged_run
    from torchlvm.run.metrics import merge_metrics
    from torchlvm.run.record import write_finished

    # a table's rows, as train takes them: small linear algebra that a second thread slows
    apply_threads(args.threads or (1 if _tables.is_table(str(args.data)) else None))
    if args.allow_missing and args.method != "em":
        raise ConfigError(
            "--allow-missing needs --method em: the closed form needs complete data, EM fits "
            "around the missing values"
        )
    check_new_target(args.out, overwrite=args.overwrite, resumable=False)  # before reading
    options = _tables.load_options(args)
    if _tables.is_table(str(args.data)):  # every digit PPCA computes with, recorded for later reads
        options["dtype"] = DTYPE
    with parsed_once():  # a table's file is read once for its three splits
        train, val, test = (
            load_dataset(args.data, split, data_dir=args.data_dir, seed=args.seed, **options)
            for split in ("train", "val", "test")
        )
    args.latent_dim = _latent_dim(train, args.latent_dim)
    _check_sizes(train, len(train) + len(val) + len(test), args)
    _warn_few(test, len(train) + len(val) + len(test))
    model = PPCA(
        latent_dim=args.latent_dim,
        method=args.method,
        max_iter=args.max_iter,
        seed=args.seed,
        dtype=DTYPE,
        threads=None,  # (apply_threads above set --threads, or a table's one thread)
    )
    # the lock is held from the fit on, as train holds it while it trains: a second fit or
    # train into --out meanwhile is refused, not left to replace this run (userO #5)
    with staged_run(args.out, overwrite=args.overwrite, resumable=False) as stage:
        start = time.perf_counter()
        with _em_lines():  # (EM's progress every 10 s: a long fit is not taken for hung)
            model.fit(train.x)
        metrics = _metrics(model, train, test, args, time.perf_counter() - start)
        report = _em_report(model, train, args)
        if report is not None:
            metrics["em"] = report.to_dict()
        write_finished(stage.folder, model, {"data": _data_record(train, options, args)})
        merge_metrics(stage.folder, metrics)
    _print(metrics, model, train, args)
    for line in report.lines() if report is not None else []:
        print(f"  {line}")
    print(f"wrote {args.out}/config.json, model.safetensors, metrics.json")
    return 0


@contextmanager
def _em_lines() -> Iterator[None]:
    """Show EM's progress lines (:data:`~torchlvm.models.ppca_em.PROGRESS_EVERY`) on stderr,
    as ``torchlvm: EM iteration ...``, while the block runs (userR #4: 15 minutes without a
    line), once: not passed on to the handlers of a caller that set logging up (a root handler
    on stderr printed each line again; review15)."""
    import logging
    import sys

    logger = logging.getLogger("torchlvm.models.ppca_em")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("torchlvm: %(message)s"))
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)  # (setLevel: the logger's cache of levels is cleared)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


DTYPE = "float64"
"""The precision fit's PPCA computes in, and reads a table in: a table read in float32 kept
about 7 digits of each cell, and log p(x) moved by up to 2.7e-5 nats a row (userG #3)."""


def _metrics(model, train, test, args: argparse.Namespace, seconds: float) -> dict:
    """What metrics.json records of the fit. Where cells are missing (EM, ``--allow-missing``)
    a row's log-likelihood is log p(x_o) over its observed cells, the others integrated out:
    no bits/dim then, since an average over rows of different cell counts is per no one
    dimension count."""
    from torchlvm.evaluation.records import example_noun

    dim, observed = train.dim, _observed_only(train, test)
    metrics = {
        "model": "ppca",
        "method": args.method,
        "data": train.name,
        "latent_dim": args.latent_dim,
        "unit": _unit(train, observed),
        "example": example_noun(train.is_table),
        "train_log_likelihood": model.score(train.x),
        "test_log_likelihood": model.score(test.x),
        "n_train": len(train),
        "n_test": len(test),
        "dim": dim,
        "noise_variance": model.noise_variance_,
        "fit_seconds": seconds,
    }
    if not observed:
        metrics["test_bits_per_dim"] = -metrics["test_log_likelihood"] / (dim * math.log(2))
    return metrics


def _print(metrics: dict, model, train, args: argparse.Namespace) -> None:
    """fit's lines: what was fitted, its train and test log-likelihoods, σ²."""
    from torchlvm.evaluation.records import nats_per

    seconds, dim = metrics["fit_seconds"], metrics["dim"]
    print(f"PPCA (K={args.latent_dim}, {args.method}) on {train.name}, D={dim}, {seconds:.2f} s")
    bits = metrics.get("test_bits_per_dim")
    quantity, how = ("log p(x)", "exact") if bits is not None else ("log p(x_o)", OBSERVED)
    per, units = nats_per(train.is_table), _standardized(train)
    for split in ("train", "test"):
        value = metrics[f"{split}_log_likelihood"]
        line = f"  {split:<5} {quantity}: {value:.3f} {per} ({how}{units})"
        print(line + (f", {bits:.4f} bits/dim" if split == "test" and bits is not None else ""))
    print(f"  noise variance σ²: {model.noise_variance_:.4g}")


def _latent_dim(train, given: int | None) -> int:
    """``--latent-dim``, or a table's default: train's (:func:`table_latent_dim`), below its
    number of columns (PPCA leaves one for the noise), said in one line.

    Raises:
        ConfigError: for data other than a table without ``--latent-dim``.
    """
    from torchlvm.data.table_schema import table_latent_dim

    if given is not None:
        return given
    if not train.is_table:
        raise ConfigError(
            f"--latent-dim is needed for {train.name} (it has a default for tables only); "
            f"pass --latent-dim K, from 1 to {train.dim - 1}"
        )
    k = max(1, min(table_latent_dim(train.dim), train.dim - 1))
    print(
        f"--latent-dim {k}: a table's default for its {train.dim} columns, as train's (half the "
        "columns, 2 to 20, and fewer than the columns for PPCA); pass --latent-dim to choose"
    )
    return k


FEW_TEST_ROWS = 10
"""Below this many test rows, fit's test log p(x) is said to be of few rows."""


def _check_sizes(train, rows: int, args: argparse.Namespace) -> None:
    """Refuse, in the file's words, what PPCA cannot fit (the rules are the model's:
    :func:`~torchlvm.models.ppca_fit.check_rows`): one feature column, ``--latent-dim`` not
    below the number of columns, or not below the train split's rows less one.

    Raises:
        DataError, ConfigError: naming the file, its columns or its train split, and the fix.
    """
    from torchlvm.errors import DataError
    from torchlvm.models.ppca_fit import check_rows

    name, D, K, N = train.name, train.dim, args.latent_dim, len(train)
    columns = "columns" if train.is_table else "values per example"
    named = f" ({', '.join(map(repr, train.columns))})" if train.columns and D < 6 else ""
    if D == 1:
        raise DataError(
            f"{name} has 1 feature column{named}{_after_options(args)}; PPCA needs 2 or more "
            "(its latent dimensions must be fewer than the columns, to leave one for the "
            "noise): fit a table with more numeric columns"
        )
    if K >= D:  # (the most offered also obeys the rows' rule below: one bound, not two)
        most = min(D - 1, N - 2) if N > 2 else D - 1
        rows_too = f", its train split's {N} rows allowing {most}" if most < D - 1 else ""
        raise ConfigError(
            f"--latent-dim {K}: {name} has {D} {columns}{named}, and PPCA's latent dimensions "
            f"must be fewer, to leave some for the noise{rows_too}; choose --latent-dim from 1 "
            f"to {most}"
        )
    try:
        check_rows(N, K)
    except DataError:
        fix = f"choose --latent-dim at most {N - 2}, or " if N > 2 else ""
        raise DataError(
            f"--latent-dim {K}: the train split of {name} has {N} of its {rows} rows "
            f"({100 * N / rows:.0f}%), which span at most {N - 1} directions around their "
            f"mean, leaving no variance for the noise; {fix}fit a file with more rows"
        ) from None


def _after_options(args: argparse.Namespace) -> str:
    """`` after --drop-columns and --label-column`` where they were given."""
    flags = ("--drop-columns", "--label-column")
    given = [flag for flag in flags if getattr(args, flag[2:].replace("-", "_"), None)]
    return f" after {' and '.join(given)}" if given else ""


def _warn_few(test, rows: int) -> None:
    """Warn once where the test split holds so few rows that its log p(x) says little."""
    import warnings

    from torchlvm.evaluation.records import example_noun

    n, noun = len(test), example_noun(test.is_table)
    if n >= FEW_TEST_ROWS:
        return
    warnings.warn(
        f"{test.name} has {rows} {noun}s, and its test split {n} of them: fit's test log "
        f"p(x) is the mean of {n} {noun}{'' if n == 1 else 's'}, which another split could "
        "move far; fit a file with more rows for a number that says how well PPCA fits",
        stacklevel=2,
    )


def _em_report(model, train, args):
    """What the EM fit did (missing cells, iterations, convergence), or None for the closed form."""
    from torchlvm.models import ppca_em

    if args.method != "em":
        return None
    history = model.log_likelihood_history_
    return ppca_em.em_report(train.x, history, max_iter=args.max_iter, tol=model.config.tol)


def _data_record(train, options: dict, args: argparse.Namespace) -> dict:
    """The run's ``data`` record (a file by its absolute path); for a table also its options
    and schema."""
    from torchlvm.data.dataset_copy import copy_record
    from torchlvm.data.fingerprint import file_record
    from torchlvm.data.load import data_reference
    from torchlvm.data.pixels import reading_record
    from torchlvm.data.value_range import range_record

    data_dir = None if args.data_dir is None else os.path.abspath(args.data_dir)
    data = {
        "name": data_reference(train.name),
        "data_dir": data_dir,
        "binarize": train.binarize,
        "seed": args.seed,
        "shape": list(train.shape),
        "num_train": len(train),
        "num_classes": train.num_classes,  # (None: no labels, and the report says no classes)
        **file_record(train.name),
        **copy_record(train.name, data_dir),  # which copy of a dataset read by name
        **reading_record(train.name),  # how its pixels were read (evaluate checks it)
        **range_record(train),  # the values it learned: a later file in other units is told
    }
    table = _tables.record(train, options)
    if table is not None:
        data.update(options=options, table=table)
    return data


def _standardized(train) -> str:
    """ ", in the run's standardized units" for a standardized table (whose density it is)."""
    from torchlvm.evaluation.records import table_units

    return f", {table_units(True)}" if train.standardizer is not None else ""


OBSERVED = "exact, over each row's observed cells, the missing ones integrated out"
"""How fit's log p(x_o) is measured where cells are missing."""


def _observed_only(train, test) -> bool:
    """Whether a split holds missing cells (NaN: ``--allow-missing``)."""
    import torch

    return bool(torch.isnan(train.x).any() or torch.isnan(test.x).any())


def _unit(train, observed: bool = False) -> str:
    """The unit of fit's log-likelihoods in metrics.json: per row of a table, and whose."""
    from torchlvm.evaluation.records import example_noun

    what = f"log p(x_o), {OBSERVED}" if observed else "exact log p(x)"
    return f"nats per {example_noun(train.is_table)} ({what}{_standardized(train)})"
