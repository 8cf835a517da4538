"""Measure the inference gaps of a trained model (Cremer, Li & Duvenaud 2018) on a data subset:
log p(x), the ELBO of the best per-point q (approximation gap = log p(x) − that ELBO) and the
ELBO of the encoder's q (amortization gap = best ELBO − encoder ELBO), in nats per example.

log p(x) is exact for PPCA and importance sampled with --k samples otherwise, or estimated by
AIS with --ais STEPS. --flow-steps N also fits a flow q per point, the richer family of Cremer et
al.'s decomposition. Every quantity is per example with its standard error. Writes gaps.json
and figures/gaps.png (and figures/identity.png for PPCA) into DIR as one set, which an
interruption leaves old or new, and every other file there as it was (a figure
torchlvm did not draw is replaced only with --overwrite).

Example: torchlvm gaps runs/vae --n 200 --ais 500 --flow-steps 2 --steps 300
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchlvm.cli import _types
from torchlvm.cli._accelerator import add_accelerator, device_for
from torchlvm.cli._progress import add_progress_options, progress_printer, show_progress

if TYPE_CHECKING:
    from torchlvm.run.commit import Staging

HELP = "split log p(x) − ELBO into approximation and amortization gaps (nats per example)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", type=_types.given_path, metavar="DIR", help="run or export folder of a model"
    )
    parser.add_argument(
        "--n", type=int, default=200,
        help="examples to analyse: the seeded subsample of N that 'evaluate --n N' scores with "
        "the same --seed",
    )  # fmt: skip
    parser.add_argument("--k", type=int, default=5000, help="importance samples for log p(x)")
    parser.add_argument(
        "--steps",
        type=int,
        default=300,
        help="optimization steps of q*, the best q of the family fitted to each example",
    )
    parser.add_argument(
        "--lr", type=float, default=0.02, help="initial Adam learning rate for q* (cosine decay)"
    )
    parser.add_argument("--samples", type=int, default=8, help="draws per step for q*")
    parser.add_argument(
        "--family",
        choices=["encoder", "diagonal", "full"],
        default="encoder",
        help="family of q*; 'encoder' uses the encoder's own",
    )
    parser.add_argument(
        "--elbo-samples", type=int, default=1000, help="draws per example for Monte Carlo ELBOs"
    )
    parser.add_argument(
        "--ais", type=int, default=None, metavar="STEPS",
        help="estimate log p(x) by annealed importance sampling with STEPS HMC steps instead "
        "of importance sampling with --k samples (Cremer et al.'s choice) (default: "
        "importance sampling)",
    )  # fmt: skip
    parser.add_argument("--chains", type=int, default=16, help="AIS chains per example")
    parser.add_argument(
        "--flow-steps", type=int, default=None, metavar="N",
        help="also fit a flow q per point (N coupling transforms): the gap a richer family "
        "leaves (default: no flow)",
    )  # fmt: skip
    parser.add_argument(
        "--split", choices=["train", "val", "test"], default="test", help="the split analysed"
    )
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of every random draw")
    parser.add_argument(
        "--data", type=_types.data_source, metavar="FILE",
        help="the run's data file at a new place (it moved): used only if it holds the data the "
        "run was trained on, and recorded for later commands",
    )  # fmt: skip
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace a file in DIR/figures that torchlvm did not draw (figures it drew are "
        "redrawn without it)",
    )  # fmt: skip
    add_accelerator(parser)
    add_progress_options(parser)


def run(args: argparse.Namespace) -> int:
    from torchlvm._checks import check_positive, check_positive_int
    from torchlvm.errors import ConfigError
    from torchlvm.models.posteriors import MAX_FLOW_STEPS
    from torchlvm.run import RunLayout, load_run
    from torchlvm.run.commit import recover
    from torchlvm.run.layout import resolved_folder
    from torchlvm.run.loaded import record_repointed, repointed
    from torchlvm.run.lock import EVALUATED, acquire, command_line
    from torchlvm.run.outputs import figure_file

    for name in ("n", "k", "steps", "samples", "elbo_samples", "chains"):
        check_positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
    for name in ("ais", "flow_steps"):
        if getattr(args, name) is not None:
            check_positive_int(f"--{name.replace('_', '-')}", getattr(args, name))
    check_positive("--lr", args.lr)
    if args.flow_steps is not None and args.flow_steps > MAX_FLOW_STEPS:
        raise ConfigError(f"--flow-steps must be at most {MAX_FLOW_STEPS}, got {args.flow_steps}")
    device = device_for(args)
    args.dir = resolved_folder(args.dir)  # (the run measured is the one written: R12)
    recorded = load_run(args.dir, device=device)  # (an interrupted run is named, then a busy one)
    run_ = repointed(recorded, args.data)  # --data: the run's file, moved
    for name in ("gaps", "identity") if run_.model_type == "ppca" else ("gaps",):
        figure_file(RunLayout(args.dir).figure(f"{name}.png"), overwrite=args.overwrite)
    # gaps.json and figures/ are written as evaluate writes its own: one such process at a time
    with acquire(args.dir, command_line(), what=str(args.dir), doing=EVALUATED):
        recover(args.dir)  # a commit a killed gaps or evaluate left half done
        if (moved := record_repointed(recorded, run_)) is not None:  # later commands read it
            print(moved)
        return _gaps(run_, args, device)


def _gaps(run_: Any, args: argparse.Namespace, device: Any) -> int:
    """Measure the gaps of the loaded run, write gaps.json and figures/gaps.png, print them."""
    from torchlvm._files import write_json
    from torchlvm.cli._gaps_table import print_table
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.evaluation.records import example_noun, table_units
    from torchlvm.inference.gaps import check_gaps, inference_gaps
    from torchlvm.run import RunLayout
    from torchlvm.run.commit import Staging

    model = run_.model
    x, c, protocol, dataset, which = _data(run_, args.split, args.n, args.seed, device)
    noun = example_noun(run_.data.get("table") is not None)
    settings = _settings(args)
    check_gaps(model, x, c, **settings)  # before the probe: a bad setting costs no time
    print(_plan(model, args, (x.shape[0], which), noun, conditional=c is not None), flush=True)
    line, pace = _expected(model, x, c, settings, progress_printer(show_progress(args)))
    print(line, flush=True)
    start = time.perf_counter()
    report = inference_gaps(model, x, c, **settings, progress=show_progress(args), advance=pace)
    result: dict[str, Any] = {
        "model": run_.model_type,
        "data": dataset,
        "split": args.split,
        "protocol": protocol,
        "seed": args.seed,
        "device": str(device),
        **report.to_dict(),
        "seconds": round(time.perf_counter() - start, 2),
    }
    table = TableSchema.from_dict(run_.data.get("table"))  # (the run's Dataset.is_table)
    if table is not None:  # a row's density, in the units it was trained in
        result["unit"] = f"nats per {noun}, {table_units(table.standardizer is not None)}"
    layout = RunLayout(args.dir)
    summary = report.summary()
    px = "log p(x)" if c is None else "log p(x | c)"  # a CVAE's likelihood is conditional
    with Staging(args.dir) as staging:  # the figures and gaps.json: the old set or the new one
        if run_.model_type == "ppca":
            _ppca_identity(model, x, args, dataset, result, staging)
        where = f"{dataset} {args.split}"
        _figure(run_.model_type, report, summary, layout.figure("gaps.png"), where, px, staging)
        write_json(staging.path(layout.gaps), result)
        staging.commit()
    figures = [path for path in staging.places if path != layout.gaps]
    print_table(result, summary, report, x.shape[0], px, noun)
    print("wrote " + ", ".join(str(path) for path in [layout.gaps, *figures]))
    return 0


def _plan(
    model: Any, args: argparse.Namespace, counts: tuple[int, str], noun: str, *, conditional: bool
) -> str:
    """What gaps is about to do, said before it does it (minutes on a CPU for a VAE, and it
    prints nothing else until it ends), on ``counts``: n examples and which they are
    (:func:`_which`); a CVAE's likelihood is log p(x | c), as its table says."""
    from torchlvm.inference.exact import exact_log_px
    from torchlvm.inference.gaps import has_exact_elbo

    if exact_log_px(model):
        px = "exact"
    elif args.ais is not None:
        px = f"by AIS ({args.ais} HMC steps, {args.chains} chains per {noun})"
    else:
        px = f"by importance sampling (k={args.k} per {noun})"
    elbo = "exact" if has_exact_elbo(model) else f"from {args.elbo_samples} draws per {noun}"
    flow = "" if args.flow_steps is None else f" and a flow q* ({args.flow_steps} coupling steps)"
    likelihood = "log p(x | c)" if conditional else "log p(x)"
    n, which = counts
    return (
        f"measuring the gaps of {n} {args.split} {noun}{'s' * (n != 1)}{which}: q*{flow} fitted "
        "to each by "
        f"{args.steps} Adam steps of {args.samples} draws, {likelihood} {px}, ELBOs {elbo}; "
        "the table follows when all are done"
    )


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    """inference_gaps' settings from the options (its timing probe takes the same)."""
    return dict(
        k=args.k, local_steps=args.steps, lr=args.lr, num_samples=args.samples,
        family=None if args.family == "encoder" else args.family,
        elbo_samples=args.elbo_samples, seed=args.seed, ais_steps=args.ais,
        ais_chains=args.chains, flow_steps=args.flow_steps,
    )  # fmt: skip


def _expected(model: Any, x: Any, c: Any, settings: dict[str, Any], say: Any) -> tuple[str, Any]:
    """``expected time: 1.4 min (from a 0.8 s probe)``: each part timed for a few steps; and
    the :class:`~torchlvm.inference.gaps_timing.GapsPace` that re-states it from the run. What
    follows the line is progress and goes where the bars go (``say``): on a machine busier than
    its cores, that the time will follow its load (as evaluate's does); the re-stated time."""
    from torchlvm._probe import Busy, duration
    from torchlvm.evaluation.timing import taken
    from torchlvm.inference.gaps_timing import GapsPace, expected_parts

    busy = Busy.now()  # (before the probe's own threads add to the load)
    plan, probe = expected_parts(model, x, c, **settings)
    if busy is not None:
        say(busy.describe())
    seconds = sum(units * per_unit for units, per_unit in plan.values())
    line = f"expected time: {duration(seconds)} (from a {taken(probe)} probe of each part)"
    return line, GapsPace(plan, say)


def _ppca_identity(
    model: Any, x: Any, args: argparse.Namespace, dataset: str, result: dict[str, Any],
    staging: Staging,
) -> None:  # fmt: skip
    """PPCA's exact mean-field gap into ``result``, and the identity, visible: exact log p(x),
    ELBO and KL(q ‖ p(z|x)) along q's optimization, drawn for figures/identity.png at its
    ``staging`` name."""
    from torchlvm.inference.gaps import identity_trace, ppca_mean_field_gap
    from torchlvm.plots.inference import identity_figure, save_figure
    from torchlvm.run import RunLayout

    result["ppca_mean_field_gap"] = ppca_mean_field_gap(model)
    trace = identity_trace(model.cpu(), x.cpu(), steps=args.steps)  # small: figures on CPU
    result["identity_max_residual_nats"] = float(trace.residual.abs().max())
    fig = identity_figure(
        trace.log_px,
        trace.elbo,
        trace.kl,
        title=f"log p(x) = ELBO + KL(q ‖ p(z|x)) on {dataset} {args.split}, n={len(x)}",
    )
    save_figure(fig, staging.path(RunLayout(args.dir).figure("identity.png")))


def _figure(
    model_type: str, report: Any, summary: dict[str, float], path: Path, where: str, px: str,
    staging: Staging,
) -> None:  # fmt: skip
    """The gaps' bar chart, drawn for ``path`` at its ``staging`` name."""
    from torchlvm.plots.gaps_decomposition import decomposition_figure
    from torchlvm.plots.inference import save_figure

    label = f"{model_type} ({report.family} q*)"
    title = f"Inference gaps on {where}, n={report.log_px.numel()}; {px}: "
    fig = decomposition_figure([label], [summary], title=title + report.log_px_method)
    save_figure(fig, staging.path(path))


def _data(run_: Any, split: str, n: int, seed: int, device: Any) -> tuple[Any, Any, str, str, str]:
    """The ``n`` examples of the run's data split that ``evaluate --n n --seed seed`` scores (a
    seeded subsample, binarized by the same draw: one rule, so the two commands' log p(x) are
    of the same examples), less a table's rows with missing cells, which evaluate leaves out of
    its likelihood too, read as evaluation reads them (only those rows of a split the run
    streams), with their conditions, on ``device`` in the model's dtype; also the protocol
    name, the dataset name and which examples they are (:func:`_which`)."""
    from torchlvm.cli._evaluate_data import check_data_record
    from torchlvm.evaluation.eval_data import conditions_for, subsample
    from torchlvm.evaluation.rows import evaluated_rows
    from torchlvm.run.loaded import load_split

    check_data_record(run_, "gaps")  # (one wording with evaluate's: userY #4)
    data = run_.data
    streamed = load_split(run_, None, split, streamed=True)
    dataset = evaluated_rows(streamed, n, seed)
    x, _, y = subsample(dataset, n, seed)
    taken = len(x)
    x, y = _complete(x, y, split)
    x = x.to(run_.dtype)  # not p(z)'s: a CVAE's prior needs c
    condition = data.get("condition") or "none"
    training_seed = int(data.get("seed", 0))  # (a random mask is drawn as training drew it)
    c, _ = conditions_for(run_.model, x, y, condition, tuple(dataset.shape), training_seed)
    c = None if c is None else c.to(device)
    other = "" if split == "test" else f" --split {split}"  # (evaluate's default is test)
    which = _which(taken, len(x), len(streamed), f"'evaluate --n {n} --seed {seed}{other}'")
    return x.to(device), c, dataset.binarize, dataset.name, which


def _which(taken: int, kept: int, total: int, evaluate: str) -> str:
    """Which examples of the split's ``total`` gaps measures: ``taken`` (all, or the seeded
    subsample ``evaluate`` scores), of which the ``kept`` complete ones."""
    if taken == kept:
        subsample = f"a seeded subsample, the one {evaluate} scores"
        return f" of {total:,} ({subsample})" if taken < total else ""
    rows = f"the {taken} {evaluate} scores" if taken < total else "the split"
    return f" of {total:,} (the complete rows of {rows})"


def _complete(x: Any, y: Any, split: str) -> tuple[Any, Any]:
    """The rows of ``x`` (and labels ``y``) without a missing cell (a table's, of a run trained
    with ``--allow-missing``), said in one line as evaluate says it: the gaps are of log p(x)
    over every cell of a row, and evaluate's likelihood leaves those rows out too.

    Raises:
        DataError: when no row is complete.
    """
    from torchlvm.errors import DataError

    keep = ~x.isnan().any(1)
    dropped = int((~keep).sum())
    if not dropped:
        return x, y
    if not bool(keep.any()):
        raise DataError(
            f"every one of the {len(x)} rows of the {split} split taken has a missing cell, and "
            "the gaps are of log p(x) over every cell of a row; choose another --split or a "
            "larger --n"
        )
    print(
        f"measuring the gaps on the {int(keep.sum())} complete rows of the {len(x)} taken "
        f"({dropped} rows with missing cells are left out: the gaps take every cell)"
    )
    return x[keep], None if y is None else y[keep]
