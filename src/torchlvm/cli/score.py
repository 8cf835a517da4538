"""Score every row of a file as an outlier: −log p(x) per row, its rank, and a CSV to act on.

PPCA gives the exact −log p(x); a VAE an importance-sampled estimate (S samples from q(z | x);
for a row with missing cells from a defensive mixture of q(z | x̃) and a 5× wider copy)
with its standard error. A CVAE of class labels gives −log p(x | c) of each row's own class where
the file has the run's label column (column neg_log_p_given_<label>: is the row odd for its
class?), else, or with --mixture, −log p(x) = −log Σ_c π_c p(x | c) with π the train split's
class frequencies, as evaluate --ood scores rows. A row with missing cells (NaN, empty) is scored
on its observed cells (the missing ones integrated out: exact for PPCA, the MIWAE view for a
VAE). For a table the density is in the file's own units (the run's standardization is applied,
and its Jacobian added), in nats per row.

Writes a CSV with one line per data row, in file order, with the columns row (1-based), line (in
the file, for a CSV), the columns the run dropped or took labels from where the file has them
(an ID, to find the row by) or, of data with labels of their own (a dataset, a labelled .npz),
class, neg_log_p, stderr (VAE; 0 for the exact PPCA), observed (cells),
rank (1 = most outlying), where rows miss unlike cells rank_within_pattern (the rank among rows
missing the same cells: −log p of other cells is a density over other dimensions, so `rank`
compares unlike rows) and, with --threshold T, outlier (1 when neg_log_p > T). A row with no
value is written with empty scores. --top N prints the N most outlying rows. A dataset given by
name, or a table run's own file, is scored whole, or the split --split names, as the run split
it (--split test: held-out scores, per class by the class column; of a file, with each row's row
and line in it).

Examples:
  torchlvm score runs/ppca --data new.csv --out scores.csv
  torchlvm score runs/vae --data new.csv --out scores.csv --top 10 --samples 2000
  torchlvm score runs/cvae-wine --data wine_labelled.csv --out scores.csv --top 5
  torchlvm score runs/cvae-digits --data digits --split test --out held_out.csv
"""

from __future__ import annotations

import argparse

from torchlvm.cli import _types
from torchlvm.cli._accelerator import add_accelerator, open_run
from torchlvm.cli._progress import add_progress_options, progress_printer, show_progress
from torchlvm.cli._tables import add_encoding, fit_ppca_command, train_vae_command
from torchlvm.errors import ConfigError

HELP = "write −log p(x) and the outlier rank of every row of a file to a .csv (or .tsv)"

BLOCKS = 16  # batches of row_scores.ROWS rows scored at a time (whole batches: the same draws)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", type=_types.given_path, metavar="DIR", help="run or export folder"
    )
    parser.add_argument(
        "--data",
        type=_types.data_source,
        required=True,
        help="file to score (.csv, .tsv, .csv.gz, .tsv.gz, .npy or .npz), or a dataset name",
    )
    parser.add_argument(
        "--out",
        type=_types.given_path,
        required=True,
        metavar="FILE.csv",
        help="scores file (.csv; .tsv for tabs)",
    )
    parser.add_argument(
        "--threshold", type=_types.finite_number, metavar="T",
        help="mark rows whose −log p(x) exceeds T nats (the file's units, as in the "
        "neg_log_p column)",
    )  # fmt: skip
    parser.add_argument(
        "--top", type=_types.positive_int, metavar="N", help="print the N most outlying rows"
    )
    parser.add_argument(
        "--samples", type=_types.positive_int, default=1000, help="importance samples (VAE)"
    )
    parser.add_argument(
        "--split", choices=["train", "val", "test", "all"], default=None,
        help="of a dataset given by name or of a table run's own file: the split scored, as "
        "the run split it (default: every example); another file's rows are all scored",
    )  # fmt: skip
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of the samples")
    parser.add_argument(
        "--mixture", action="store_true",
        help="a CVAE of class labels: score every row by p(x) = Σ_c π_c p(x | c), also where "
        "the file gives its class (there the default is −log p(x | c) of the row's own class)",
    )  # fmt: skip
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_accelerator(parser)
    add_progress_options(parser)
    add_encoding(parser)


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm.cli import _score_write as w
    from torchlvm.cli._score_classes import class_scoring
    from torchlvm.cli._score_read import read_input
    from torchlvm.cli._table_rows import (
        dialect_of,
        file_dialect,
        row_suffixes,
        rows_file,
        single_precision,
    )

    run_ = open_run(args)
    _refuse_without_density(run_)
    suffixes = row_suffixes(run_, args.data)
    out = rows_file(args.out, args.out, suffixes, overwrite=args.overwrite, reads=args.data)
    read = read_input(run_, args.data, args.seed, args.encoding, args.na_values, args.split)
    scoring = class_scoring(run_, read, args.mixture)
    torch.manual_seed(args.seed)
    scores, keys = _scored(run_.model, read.x, read.jacobian, args, scoring, scored_unit(run_))
    within = w.ranks_within_pattern(scores.neg_log_p, keys)
    columns = w.header(read.lines, read.carried[0], args.threshold, within, scoring.column,
                       ess=scores.ess is not None)  # fmt: skip
    dialect = file_dialect(dialect_of(run_, read.read), out, len(columns))
    w.write(out, scores, read, (args.threshold, within, scoring.column), dialect,
            single=single_precision(run_))  # fmt: skip
    each = " per class" if scoring.log_prior is not None else ""
    drawn = f"{args.samples} sample{'' if args.samples == 1 else 's'}{each}"
    exact = "exact" if scores.exact else f"importance-sampled with {drawn}"
    unit = scored_unit(run_)  # (an image run's rows are images: userM #2)
    of = args.data if args.split in (None, "all") else f"the {args.split} split of {args.data}"
    print(f"scored {len(scores.observed):,} {unit}s of {of} with {run_.describe()}")
    error = "" if scores.exact else ", ± its standard error"
    if not scores.exact and args.samples == 1:  # (the stderr column is left empty)
        error = "; one sample gives no standard error: --samples 2 or more does"
    print(f"  {scoring.defined}: nats per {unit} ({exact}{error}), {read.units}")
    for line in scoring.said:
        print(line)
    if (few := _few_effective(scores, args.samples, unit, each)) is not None:
        print(few)
    print(f"  the higher, the less likely the {unit} under the model: rank 1 is the most outlying")
    _print_counts(scores, read.lines, args.threshold)
    if within is not None:
        print(w.pattern_note(within, keys, scores.scored))
    for i in scores.order[: min(args.top or 0, int(scores.scored.sum()))]:  # unscored: last
        among = "" if within is None else w.among(within, i, scores)
        print(f"  rank {scores.rank[i]}: {w.where(i, read)}, "
              f"{w.score_text(scores, i, scoring.symbol)}{among}")  # fmt: skip
    from torchlvm.data.csv_select import listed_names  # ('Total, USD' quoted: one column)

    print(f"wrote {out}: {listed_names(list(columns))}")
    return 0


def scored_unit(run_) -> str:
    """What one scored row of ``run_``'s data is called: ``image`` for a run on images (its
    recorded shape has height and width), else ``row``."""
    shape = run_.data.get("shape") or ()
    return "image" if run_.data.get("table") is None and len(shape) >= 2 else "row"


def _refuse_without_density(run_) -> None:
    """Refuse a run with no p(x) to score by (a CVAE's of a condition other than a class, such
    as a mask, depends on the row's condition; an autoencoder has none), naming the PPCA fit
    that scores its data."""
    why = {
        "cvae": f"a CVAE conditioned on {run_.condition_text}, whose p(x | c) depends on each "
        "row's condition (score takes a CVAE of class labels)",
        "ae": "an autoencoder, which defines no p(x) (its codes have no prior)",
    }.get(run_.model_type if run_.num_classes is None else None)
    if why is not None:
        raise ConfigError(
            f"score ranks rows by log p(x) under PPCA, a VAE or a CVAE of class labels; "
            f"{run_.folder} holds {why}: "
            f"fit PPCA on its data with '{fit_ppca_command(run_)}', and score with RUN (or "
            f"train a VAE on it: '{train_vae_command(run_)}')"
        )


def _few_effective(scores, samples: int, unit: str, each: str) -> str | None:
    """The line on the rows whose estimate rests on a few weights (an effective sample size
    under the rule of :func:`torchlvm.inference.ess.few_effective`), as evaluate says of its
    mean: 8 of 20 images had an ESS of 1-2 of 1,000, each said ± 0.6-0.85 where seeds moved it
    5 nats, all 15-25 nats above k = 50,000's value (userM #20); None where none does."""
    import numpy as np

    from torchlvm.inference.ess import few_effective, few_text

    if scores.ess is None:
        return None
    scored = scores.scored
    few = int(few_effective(scores.ess[scored], samples).sum())
    if not few:
        return None
    have = "has" if few == 1 else "have"
    return (
        f"  {few:,} of {int(np.sum(scored)):,} {unit}s {have} an effective sample size (ess) "
        f"{few_text(samples)} of their {samples:,} samples{each}: a few weights carry their "
        "−log p(x), which may sit nats too high, and their ± understates its error; more "
        "--samples tell how far"
    )


def _print_counts(scores, lines: list[int] | None, threshold: float | None) -> None:
    """The printed lines on rows scored on some of their cells, rows with none, and rows
    above the threshold."""
    from torchlvm.cli._score_write import empty_rows

    empty = int((scores.observed == 0).sum())
    partial = int((scores.scored & (scores.observed < scores.cells)).sum())
    if partial:
        rows = "1 row" if partial == 1 else f"{partial:,} rows"
        print(f"  {rows} with missing cells: scored on their observed cells")
    if empty:
        print(f"  {empty_rows(scores.observed, lines)}: written with empty scores and ranks")
    if threshold is not None:
        above = int((scores.neg_log_p > threshold).sum())
        scored = int(scores.scored.sum())
        print(f"  {above:,} of {scored:,} scored rows above the threshold {threshold:g}")


def _scored(model, x, jacobian, args: argparse.Namespace, scoring, unit: str = "row"):
    """:func:`score_rows` of every row under a progress bar (a row with no value left unscored,
    and one of no class the run knows where ``scoring``, a
    :class:`~torchlvm.cli._score_classes.ClassScoring`, conditions on each row's class),
    and each row's missingness pattern (:func:`~torchlvm.cli._score_write.patterns`); an
    importance-sampled score of more than one batch of rows prints the expected time of the
    rest from the first batch's before it (Fashion-MNIST's 70,000 images at 1,000 samples take
    hours on a CPU), and re-states it from its own batches after 10 s, where the bars go
    (:class:`~torchlvm.evaluation.timing.RowsPace`)."""
    import sys

    import torch
    from tqdm.auto import tqdm

    from torchlvm.cli._score_write import patterns
    from torchlvm.evaluation.timing import RowsPace
    from torchlvm.inference.exact import exact_log_px
    from torchlvm.inference.row_scores import ROWS, score_rows

    bar, shown = None, show_progress(args)
    count = _to_score(x, scoring.labels)  # (rows with no value or no known class: none drawn)
    if not exact_log_px(model) and count * args.samples >= PRICED_WORK:
        _price(model, x, args.samples, scoring, count, unit)
    mixture = scoring.log_prior is not None
    pace = RowsPace(count, args.samples, progress_printer(shown), per_class=mixture, noun=unit)

    def advance(rows: int) -> None:  # after each batch of importance-sampled rows
        nonlocal bar
        pace(rows)  # (the expected time of the rest after the first; re-stated after 10 s)
        if bar is not None:
            bar.update(rows)
            return
        bar = tqdm(total=count, initial=rows, desc="score", unit="row", leave=False,
                   disable=not shown or rows == count, file=sys.stderr)  # fmt: skip

    parts = []
    try:
        for first in range(0, len(x), BLOCKS * ROWS):
            block = slice(first, first + BLOCKS * ROWS)
            rows = x[block]  # (B, D); of a streamed file, only these rows are read
            observed = (~torch.isnan(rows)).sum(-1)  # (B,) a row with no value has no score
            labels = None if scoring.labels is None else scoring.labels[block]
            seen = observed > 0  # (B,)
            if labels is not None:  # (a row of no class the run knows has no p(x | c))
                seen &= labels >= 0
            jacobian_rows = None if jacobian is None else jacobian[block][seen]
            scored = None
            if bool(seen.any()):
                scored = score_rows(model, rows[seen], samples=args.samples,
                                    log_jacobian=jacobian_rows, advance=advance,
                                    labels=None if labels is None else labels[seen],
                                    class_log_prior=scoring.log_prior)  # fmt: skip
            keys = patterns(torch.isnan(rows).cpu().numpy())
            parts.append((seen.cpu().numpy(), scored, keys, observed.cpu().numpy()))
    finally:
        if bar is not None:
            bar.close()
    return _joined(parts, exact=exact_log_px(model), cells=x.shape[-1])


PRICED_WORK = 10**7
"""Rows x samples from which the importance sampling is priced before the first batch of rows
(userJ: at --samples 10^8 the first batch of 256 rows, which the pace waits for, never ended,
and nothing was said)."""

PROBE_SAMPLES = (32, 256)
"""The two draw counts of one batch of rows whose times give its cost per call and per draw."""

PRICED_SECONDS = 60
"""Work expected to take longer is priced in one line before it starts."""


def _to_score(x, labels) -> int:
    """The rows of ``x`` that will be scored: those with a value and, given each row's class
    ``labels`` ``(N,)``, of a class the run knows. The expected time counted every row: of a
    CVAE's 5 rows of its classes and 3 of none it said "<1 s more for 3 rows" after the 5, of
    rows never drawn for (review12 #4). A streamed file (not a tensor: never read whole) counts
    its rows of no value as scored."""
    import torch

    seen = torch.ones(len(x), dtype=torch.bool)  # (N,)
    if isinstance(x, torch.Tensor):
        seen = (~torch.isnan(x)).any(-1).cpu()
    if labels is not None:
        seen &= labels.cpu() >= 0
    return int(seen.sum())


def _price(model, x, samples: int, scoring, count: int, unit: str = "row") -> None:
    """Print the expected time of scoring ``count`` rows of ``x`` with ``samples`` draws (each
    class's, for the mixture of ``scoring``) where it exceeds :data:`PRICED_SECONDS`: a warm-up
    call, then the first batch of rows timed at the two :data:`PROBE_SAMPLES` draw counts, whose
    difference is the cost per draw and the rest the cost per batch (their own random stream:
    the scores are as without it)."""
    import time

    import torch

    from torchlvm._kept_state import seeded
    from torchlvm._probe import duration
    from torchlvm.evaluation.timing import taken
    from torchlvm.inference.row_scores import ROWS, score_rows

    rows = torch.nan_to_num(x[:ROWS])  # (B, D); of a streamed file, only these rows
    labels = None if scoring.labels is None else scoring.labels[:ROWS].clamp(min=0)

    def timed(draws: int) -> float:
        start = time.perf_counter()
        score_rows(model, rows, samples=draws, labels=labels, class_log_prior=scoring.log_prior)
        return time.perf_counter() - start

    with seeded(0):  # (the caller's generators put back after, the model device's too)
        timed(1)  # (warm-up: the first call's one-off costs)
        few, many = (timed(draws) for draws in PROBE_SAMPLES)
    each = max(many - few, 0.0) / (PROBE_SAMPLES[1] - PROBE_SAMPLES[0])  # s a draw, a batch
    per = " per class" if scoring.log_prior is not None else ""  # (the mixture's)
    noun = "sample" if samples == 1 else "samples"
    seconds = (count / len(rows)) * (max(few - each * PROBE_SAMPLES[0], 0.0) + each * samples)
    if seconds > PRICED_SECONDS:
        print(f"expected time of the importance sampling: about {duration(seconds)} for "
              f"{count:,} {unit}s x {samples:,} {noun}{per} (a probe of {len(rows)} {unit}s took "
              f"{taken(many)} at {PROBE_SAMPLES[1]} samples; --samples sets the draws per {unit})",
              flush=True)  # fmt: skip


def _joined(parts, *, exact: bool, cells: int):
    """One :class:`~torchlvm.inference.row_scores.RowScores` of the blocks ``parts`` (which of a
    block's rows are scored, the scores of those, their patterns and observed cells), NaN
    scores for a row not scored."""
    import numpy as np

    from torchlvm.inference.row_scores import RowScores

    seen = np.concatenate([p[0] for p in parts])  # (N,)
    names = ("neg_log_p", "stderr") + (() if exact else ("ess",))
    joined = {name: np.full(len(seen), np.nan) for name in names}
    for name, values in joined.items():
        scored = [getattr(p[1], name) for p in parts if p[1] is not None]
        if scored:
            values[seen] = np.concatenate(scored)
    joined["observed"] = np.concatenate([p[3] for p in parts]).astype(np.int64)
    keys = np.concatenate([p[2] for p in parts])  # (N, ⌈D/8⌉)
    return RowScores(**joined, exact=exact, cells=cells), keys
