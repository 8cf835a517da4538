"""Score every row of a file as an outlier: −log p(x) per row, its rank, and a CSV to act on.

PPCA gives the exact −log p(x); a VAE an importance-sampled estimate (S samples from q(z | x))
with its standard error. A row with missing cells (NaN, empty) is scored on its observed cells
(the missing ones integrated out: exact for PPCA, the MIWAE view for a VAE). For a table the
density is in the file's own units (the run's standardization is applied, and its Jacobian
added), in nats per row.

Writes a CSV with one line per data row, in file order, with the columns row (1-based), line (in
the file, for a CSV), neg_log_p, stderr (VAE; 0 for the exact PPCA), observed (cells), rank
(1 = most outlying), where rows have unlike numbers of observed cells rank_within_observed (the
rank among rows with as many: fewer cells give a smaller −log p for that alone, so `rank` puts
rows with holes last) and, with --threshold T, outlier (1 when neg_log_p > T). --top N prints
the N most outlying rows.

Examples:
  torchlvm score runs/ppca --data new.csv --out scores.csv
  torchlvm score runs/vae --data new.csv --out scores.csv --top 10 --samples 2000
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _types
from torchlvm.cli._accelerator import add_accelerator, open_run
from torchlvm.cli._progress import add_progress_options, show_progress
from torchlvm.cli._tables import add_encoding, fit_ppca_command
from torchlvm.errors import ConfigError

HELP = "write −log p(x) and the outlier rank of every row of a file to a .csv"

BLOCKS = 16  # batches of row_scores.ROWS rows scored at a time (whole batches: the same draws)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", type=_types.given_path, metavar="DIR", help="run or export folder"
    )
    parser.add_argument(
        "--data",
        required=True,
        help="file to score (.csv, .tsv, .csv.gz, .tsv.gz, .npy or .npz), or a dataset name",
    )
    parser.add_argument(
        "--out", type=_types.given_path, required=True, metavar="FILE.csv", help="scores file"
    )
    parser.add_argument(
        "--threshold", type=float, metavar="T",
        help="mark rows whose −log p(x) exceeds T nats (the file's units, as in the "
        "neg_log_p column)",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=_types.positive_int, metavar="N", help="print the N most outlying rows"
    )
    parser.add_argument(
        "--samples", type=_types.positive_int, default=1000, help="importance samples (VAE)"
    )
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of the samples")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_accelerator(parser)
    add_progress_options(parser)
    add_encoding(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm import run as _run
    from torchlvm.cli._table_rows import dialect_of, single_precision

    run_ = open_run(args)
    why = {
        "cvae": "a CVAE, whose p(x | c) depends on each row's condition",
        "ae": "an autoencoder, which defines no p(x) (its codes have no prior)",
    }.get(run_.model_type)
    if why is not None:
        raise ConfigError(
            f"score ranks rows by log p(x) under PPCA or a VAE; {run_.folder} holds {why}: "
            f"fit PPCA on its data with '{fit_ppca_command(run_)}', and score with RUN"
        )
    out = _run.output_file(
        args.out, args.out, suffix=".csv", overwrite=args.overwrite, reads=args.data
    )
    x, lines, jacobian, units, read = _rows(run_, args.data, args.seed, args.encoding)
    torch.manual_seed(args.seed)
    scores = _scored(run_.model, x, jacobian, args)
    within = _ranks_within_observed(scores.neg_log_p, scores.observed)
    dialect = dialect_of(run_, read).for_csv(len(_header(lines, args.threshold, within)))
    _write(out, scores, args.threshold, lines, dialect, within, single=single_precision(run_))
    exact = "exact" if scores.exact else f"importance-sampled with {args.samples} samples"
    print(f"scored {len(x)} rows of {args.data} with {run_.describe()}")
    error = "" if scores.exact else ", ± its standard error"
    print(f"  −log p(x): nats per row ({exact}{error}), {units}")
    print("  the higher, the less likely the row under the model: rank 1 is the most outlying")
    empty = int((scores.observed == 0).sum())
    if scores.partial_rows - empty:
        partial = scores.partial_rows - empty
        rows = "1 row" if partial == 1 else f"{partial} rows"
        print(f"  {rows} with missing cells: scored on their observed cells")
    if empty:
        print(f"  {_empty_rows(scores.observed, lines)}: written with empty scores and ranks")
    if within is not None:
        print(
            "  rows scored on fewer cells have a smaller −log p(x) for that alone, so `rank` "
            "compares unlike rows; `rank_within_observed` ranks each row among the rows with "
            "as many observed cells (which cells are missing still weighs in)"
        )
    if args.threshold is not None:
        above = int((scores.neg_log_p > args.threshold).sum())
        print(f"  {above} of {len(x) - empty} scored rows above the threshold {args.threshold:g}")
    for i in scores.order[: min(args.top or 0, len(x) - empty)]:  # (empty rows come last)
        where = f"row {i + 1}" + ("" if lines is None else f" (line {lines[i]})")
        among = "" if within is None else f", rank {within[i]} among rows on as many cells"
        print(f"  rank {scores.rank[i]}: {where}, {_score_text(scores, i)}{among}")
    print(f"wrote {out}: {', '.join(_header(lines, args.threshold, within))}")
    return 0


def _scored(model, x, jacobian, args: argparse.Namespace):
    """:func:`score_rows` of every row under a progress bar; an importance-sampled score of more
    than one batch of rows prints the expected time of the rest from the first batch's before it
    (Fashion-MNIST's 70,000 images at 1,000 samples take hours on a CPU)."""
    import sys
    import time

    import torch
    from tqdm.auto import tqdm

    from torchlvm.evaluation.timing import duration
    from torchlvm.inference.row_scores import ROWS, score_rows

    start, bar = time.perf_counter(), None

    def advance(rows: int) -> None:  # after each batch of importance-sampled rows
        nonlocal bar
        if bar is not None:
            bar.update(rows)
            return
        took, rest = time.perf_counter() - start, len(x) - rows
        if rest:
            print(
                f"expected time of the importance sampling: {duration(took * rest / rows)} more "
                f"for {rest:,} rows ({args.samples} samples each; the first {rows} rows took "
                f"{took:.1f} s)",
                flush=True,
            )
        bar = tqdm(total=len(x), initial=rows, desc="score", unit="row", leave=False,
                   disable=not show_progress(args) or not rest, file=sys.stderr)  # fmt: skip

    parts = []
    try:
        for first in range(0, len(x), BLOCKS * ROWS):
            block = slice(first, first + BLOCKS * ROWS)
            rows = x[block]  # (B, D); of a streamed file, only these rows are read
            seen = ~torch.isnan(rows).all(-1)  # (B,) a row with no value has no score
            jacobian_rows = None if jacobian is None else jacobian[block][seen]
            scored = None
            if bool(seen.any()):
                scored = score_rows(model, rows[seen], samples=args.samples,
                                    log_jacobian=jacobian_rows, advance=advance)  # fmt: skip
            parts.append((seen.cpu().numpy(), scored))
    finally:
        if bar is not None:
            bar.close()
    return _joined(parts, exact=hasattr(model, "log_marginal"), cells=x.shape[-1])


def _joined(parts, *, exact: bool, cells: int):
    """One :class:`~torchlvm.inference.row_scores.RowScores` of the blocks ``parts`` (which of a
    block's rows have a value, the scores of those), NaN scores and 0 cells for an empty row."""
    import numpy as np

    from torchlvm.inference.row_scores import RowScores

    seen = np.concatenate([p[0] for p in parts])  # (N,)
    joined = {"neg_log_p": np.full(len(seen), np.nan), "stderr": np.full(len(seen), np.nan),
              "observed": np.zeros(len(seen), dtype=np.int64)}  # fmt: skip
    for name, values in joined.items():
        scored = [getattr(p[1], name) for p in parts if p[1] is not None]
        if scored:
            values[seen] = np.concatenate(scored)
    return RowScores(**joined, exact=exact, cells=cells)


def _streamed(run_, data: str) -> bool:
    """Whether ``data`` is a ``.npy`` file given to a run trained on a file it streamed
    (``--mmap``): scored a block of rows at a time, never read whole."""
    from torchlvm.run.loaded import streams

    return str(data).lower().endswith(".npy") and streams(run_)


def _score_text(scores, i: int) -> str:
    """Row ``i``'s score as ``--top`` prints it: ``−log p(x) = −2.040 nats`` (one minus sign,
    the label's) for an exact score, to 4 significant digits; an importance-sampled one to the
    digit its standard error justifies, with that error (the CSV's ``stderr``); the cells it
    was scored on where the row has empty ones."""
    from torchlvm.report.headline import num  # (the report's measured number, typographic minus)

    err = None if scores.exact else float(scores.stderr[i])  # num drops a non-positive or NaN one
    seen = int(scores.observed[i])
    cells = "" if seen == scores.cells else f" (on {seen} of {scores.cells} cells)"
    return f"−log p(x) = {num(float(scores.neg_log_p[i]), err)} nats{cells}"


def _rows(run_, data: str, seed: int, encoding: str | None):
    """The file's rows in the model's units (read once; a row with no observed cell kept, to be
    written with no score: its log p(x_o) is 0 under every model), a CSV's file line of
    each row (None for an array), the Jacobian to the file's units, what they are, and the
    dataset read from the file (None for a dataset by name, taken whole, as the model sees it,
    under the run's binarization)."""
    import torch

    from torchlvm import run as _run
    from torchlvm.cli._tables import is_file, table_schema
    from torchlvm.data.files import read_rows
    from torchlvm.data.memmap import load_memmap
    from torchlvm.errors import DataError

    schema = table_schema(run_, data, encoding)
    if schema is not None and not is_file(data):
        raise DataError(
            f"{run_.folder} was trained on the table {run_.data.get('name')}; score reads a "
            f"file with its columns ({', '.join(schema.columns)}), not {data}"
        )
    if schema is not None:
        dataset, lines = schema.rows(data, allow_empty=True)
    elif _streamed(run_, data):  # read a block at a time as it is scored
        dataset, lines = load_memmap(data, "all", allow_missing=True), None
    elif is_file(data):
        dataset, lines = read_rows(data, allow_missing=True, allow_empty=True)
    else:  # a dataset by name: every example, as the model sees it
        dataset = _run.load_split(run_, data, "all")
        of = "probability" if dataset.binarize != "none" else "density"  # of 0/1 pixels: a mass
        seen = f"{of} of {data} as the model sees it ({_run.protocol_note(dataset, seed)})"
        return _run.model_view(dataset, run_, seed), None, None, seen, None
    if dataset.dim != run_.input_dim:
        raise DataError(
            f"{data} has {dataset.dim} values per row but the model in {run_.folder} takes "
            f"{run_.input_dim}; pass a file with the run's columns"
        )
    lines = None if lines is None else lines.tolist()
    protocol = str(run_.data.get("binarize") or "none")
    if schema is None and protocol != "none":  # the model's pixels are 0s and 1s, not grey
        x = _drawn(dataset, protocol, seed)
        seen = f"probability of {data} as the model sees it (binarize={protocol}"
        seen += f", one Bernoulli draw with seed {seed})" if protocol == "dynamic" else ")"
        return x, lines, None, seen, dataset
    if schema is None or schema.standardizer is None:
        return dataset.x, lines, None, "density in the file's units", dataset
    jacobian = schema.standardizer.log_jacobian(~torch.isnan(dataset.x))
    units = "density in the file's units (the run's standardization undone)"
    return dataset.x, lines, jacobian, units, dataset


def _drawn(dataset, protocol: str, seed: int):
    """The file's grey levels as a binarizing run sees them: under ``"dynamic"`` one seeded
    Bernoulli draw of the whole file (the draw a dataset by name gets in memory: a row's 0s and
    1s depend on the rows before it, so they are the draw ``evaluate`` makes only of the same
    rows in the same order), under ``"threshold"`` each pixel above 1/2; a missing (NaN) pixel
    stays missing. A streamed file takes each row's own draw, a block of rows at a time
    (:meth:`~torchlvm.data.memmap.MemmapDataset.fixed_binarized`)."""
    import torch

    from torchlvm.data.binarize import binarize
    from torchlvm.data.memmap import MemmapDataset

    if isinstance(dataset, MemmapDataset):
        return dataset.with_protocol(protocol).fixed_binarized(seed)
    x = dataset.x
    missing = torch.isnan(x)
    generator = torch.Generator().manual_seed(seed)
    drawn = binarize(torch.where(missing, 0.0, x), protocol, generator=generator)
    return torch.where(missing, torch.nan, drawn)


def _empty_rows(observed, lines: list[int] | None) -> str:
    """The rows with no value in any column, by their file lines (else 1-based rows): ``1 row
    has no value in any column (line 5)``, ``2 rows have ... (lines 5, 12)``."""
    import numpy as np

    empty = np.flatnonzero(observed == 0)
    where = [str(i + 1 if lines is None else lines[i]) for i in empty[:5]]
    more = f" and {len(empty) - 5} more" if len(empty) > 5 else ""
    noun = "1 row has" if len(empty) == 1 else f"{len(empty)} rows have"
    kind = ("row" if lines is None else "line") + ("s" if len(empty) > 1 else "")
    return f"{noun} no value in any column ({kind} {', '.join(where)}{more})"


def _ranks_within_observed(neg_log_p, observed):
    """Each row's rank (1: the highest −log p) among the rows with as many observed cells, or
    None when every row has as many. −log p(x_o) of fewer cells is smaller for that alone (a
    density over fewer dimensions), so one ranking of rows with unlike counts puts rows with
    holes last whatever their values. Rows of one count may still miss different columns, whose
    densities differ in scale too: this ranking removes the count's effect, not the columns'."""
    import numpy as np

    counts = np.unique(observed[observed > 0])  # (an empty row has no score: rank 0, unwritten)
    if len(counts) < 2:
        return None
    ranks = np.zeros(len(observed), dtype=np.int64)
    for count in counts:
        rows = np.flatnonzero(observed == count)
        ranks[rows[np.argsort(-neg_log_p[rows], kind="stable")]] = np.arange(1, len(rows) + 1)
    return ranks


def _header(lines: list[int] | None, threshold: float | None, within=None) -> list[str]:
    """The columns of the scores file: ``line`` for a CSV, ``rank_within_observed`` where rows
    have unlike numbers of observed cells, ``outlier`` with a threshold."""
    line = ["line"] if lines is not None else []
    ranks = ["rank"] + (["rank_within_observed"] if within is not None else [])
    return ["row", *line, "neg_log_p", "stderr", "observed", *ranks] + (
        ["outlier"] if threshold is not None else []
    )


def _write(
    out: Path,
    scores,
    threshold: float | None,
    lines: list[int] | None,
    dialect,
    within=None,
    *,
    single: bool,
) -> None:
    """The scores file (:func:`_header`), at the model's precision (float32's digits when
    ``single``), in ``dialect`` (the scored file's separator and decimal point); ``within``:
    :func:`_ranks_within_observed`. A row with no value (observed 0) has empty scores and
    ranks."""
    from torchlvm.data.csv_write import number_text, write_csv

    rows = []
    for i, (score, err, seen, rank) in enumerate(
        zip(scores.neg_log_p, scores.stderr, scores.observed, scores.rank, strict=True)
    ):
        row = [str(i + 1)] + ([str(lines[i])] if lines is not None else [])
        if not seen:
            rows.append(
                row
                + ["", "", "0", ""]
                + [""] * (within is not None, threshold is not None).count(True)
            )
            continue
        row += [dialect.text(number_text(v, single=single)) for v in (score, err)]
        row += [str(seen), str(rank)] + ([str(within[i])] if within is not None else [])
        rows.append(row + ([str(int(score > threshold))] if threshold is not None else []))
    write_csv(out, _header(lines, threshold, within), rows, dialect=dialect)
