"""Evaluate a trained model on a split of its data: likelihood (ELBO, IWAE bounds, importance-
sampled log p(x) with standard error and ESS; exact for PPCA), reconstruction, KL per dimension,
active units, rate/distortion, latent separability, sample quality (Fréchet distance in a
dataset classifier's features) and outlier detection (likelihood and typicality scores).

Writes DIR/metrics.json (every number with its unit, kind, k and data protocol) and
DIR/figures/*.png, and prints a table; with --out FILE.json, the numbers go to FILE.json and the
evaluation writes nothing in the run folder, which may be read-only (an archived artifact, a
read-only mount).

Examples:
  torchlvm evaluate runs/vae
  torchlvm evaluate runs/vae --k 1000 --n 2000 --ood noise,flip,other --quiet
  torchlvm evaluate runs/vae --refine 50          # semi-amortized q for the likelihood
  torchlvm evaluate runs/vae --ais 500            # log p(x) also by AIS (500 HMC steps)
  torchlvm evaluate runs/vae --figures-only       # draw the figures of metrics.json's evaluation
  torchlvm evaluate /archive/vae --out vae-metrics.json   # a run that cannot be written
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchlvm._shell import quoted
from torchlvm.cli import _types
from torchlvm.cli._accelerator import add_accelerator, device_for
from torchlvm.cli._progress import add_progress_options, progress_printer, show_progress
from torchlvm.errors import ConfigError, DataError

if TYPE_CHECKING:
    from torchlvm.evaluation.config import EvalConfig


DEFAULT_K = 1000  # importance samples of log p(x): EvalConfig's default (a test keeps them equal)
DEFAULT_N = 5000  # examples scored, a seeded subsample; see benchmarks/results/evaluate_time.md

NO_FIGURES_HELP = (
    "draw no DIR/figures/*.png (those an earlier evaluate drew stay, and metrics.json records "
    "them as that evaluation's)"
)
FIGURES_ONLY_HELP = (
    "evaluate nothing: draw DIR/figures/*.png of the evaluation in DIR/metrics.json (its split, "
    "--n and seed; other options are not used but --data-dir and --data)"
)
K_HELP = "importance samples of log p(x) (none where it is exact: PPCA)"
HELP = "evaluate a run: likelihood, reconstruction, latent, separability, samples, outliers"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


OUT_HELP = (
    "write the numbers to FILE.json, as metrics.json holds them, and no lock, metrics or figures "
    "in DIR, which may be read-only (an archived artifact, a read-only mount); as every command "
    "that reads a run, it refreshes config.json's record of a data file that was only touched, "
    "where DIR can be written"
)
KS_HELP = "the IWAE bounds' k, by spaces or commas (default: 1 10 100, those up to --k)"
OOD_K, OOD_RESIZE = 100, "bilinear"  # (defaults, which the recorded command leaves out)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", type=_types.given_path, metavar="DIR", help="run or export folder"
    )
    parser.add_argument("--k", type=_positive, default=DEFAULT_K, help=K_HELP)
    parser.add_argument("--ks", nargs="+", metavar="K", help=KS_HELP)
    parser.add_argument(
        "--split", default="test", choices=["train", "val", "test"], help="the split evaluated"
    )
    parser.add_argument(
        "--n",
        default=str(DEFAULT_N),
        help="evaluate a seeded subsample of N examples, or 'all' for the whole split",
    )
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of every random draw")
    parser.add_argument(
        "--refine", type=int, default=0, metavar="T", help="refine q by T steps (semi-amortized)"
    )
    parser.add_argument(
        "--refine-lr", type=_types.positive_number, default=0.01,
        help="Adam's learning rate of --refine (decayed to 0 over the T steps)",
    )  # fmt: skip
    parser.add_argument(
        "--ais", type=_positive, default=None, metavar="STEPS",
        help="also estimate log p(x) by annealed importance sampling with STEPS HMC steps "
        "(default: not run)",
    )  # fmt: skip
    parser.add_argument("--ais-chains", type=_positive, default=16, help="AIS chains per example")
    parser.add_argument(
        "--ood",
        default=None,
        help="OOD sets: noise, flip, other (digits↔fashion-mnist), dataset names, folders of "
        "IDX files (their test images; ./mnist for a folder named as a dataset) or files (a "
        "file, or an IDX file of images, is used whole; beside a table run, read with the run's "
        "columns and standardization); 'none' (default: noise,flip,other,mnist, less the run's "
        "own dataset and 'other' where it has no partner; none for a table)",
    )
    parser.add_argument(
        "--ood-resize", default=OOD_RESIZE, choices=["none", "bilinear", "area"],
        help="how an OOD dataset of another image size is resized ('none': refuse it)",
    )  # fmt: skip
    parser.add_argument("--ood-k", type=_positive, default=OOD_K, help="k of the outlier score")
    parser.add_argument("--batch-size", type=_positive, default=100, help="examples per batch")
    parser.add_argument(
        "--chunk", type=_positive,
        help="samples drawn at a time (default: sized to the CPU cache, or large on a GPU)",
    )  # fmt: skip
    parser.add_argument("--data-dir", help=_types.DATA_DIR_HELP)
    parser.add_argument(
        "--data", type=_types.data_source, metavar="FILE",
        help="the run's data file at a new place (it moved): used only if it holds the data "
        "the run was trained on",
    )  # fmt: skip
    parser.add_argument("--out", type=_types.given_path, metavar="FILE.json", help=OUT_HELP)
    add_accelerator(parser)
    _add_figures(parser)
    add_progress_options(parser)


def _add_figures(parser: argparse.ArgumentParser) -> None:
    figures = parser.add_mutually_exclusive_group()
    figures.add_argument("--no-figures", action="store_true", help=NO_FIGURES_HELP)
    figures.add_argument("--figures-only", action="store_true", help=FIGURES_ONLY_HELP)


def _ks(words: list[str]) -> tuple[int, ...]:
    """``--ks 10 100`` or ``--ks 10,100`` (userN #11: the spaced form was 'unrecognized')."""
    text = " ".join(words)
    try:
        values = tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        values = ()
    if not values or min(values) <= 0:
        raise ConfigError(
            f"--ks must be positive integers, by spaces or commas (--ks 10 100), got {text!r}"
        )
    return tuple(sorted(set(values)))


def _n(text: str) -> int | None:
    if text.strip().lower() == "all":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:  # a mean's standard error, sample quality and the probes need two or more
        raise ConfigError(f"--n must be an integer of at least 2 or 'all', got {text!r}")
    return value


def _ood(text: str | None, data: dict[str, Any], dataset: Any, resize: str) -> tuple[str, ...]:
    """The OOD sets: those named, else the images' defaults that apply to the run's data (not
    its own dataset), none for a table (whose OOD sets are files of rows, read with the run's
    columns and standardization). Each name is checked, and each file read, now: before the
    minutes of sampling that come before evaluate makes the OOD sets."""
    from torchlvm.evaluation.config import DEFAULT_OOD
    from torchlvm.evaluation.outliers import default_ood_sets

    if text is None:
        return () if data.get("table") is not None else default_ood_sets(dataset, DEFAULT_OOD)
    if text.strip() in ("", "none"):
        return ()
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.evaluation.ood_names import check_ood_name, is_ood_file
    from torchlvm.evaluation.outliers import make_ood_set

    names = _ood_names(text)
    if "none" in names:
        raise ConfigError("--ood 'none' means no OOD set, so it cannot be listed with others")
    table = TableSchema.from_dict(data.get("table"))
    for name in names:
        check_ood_name(name, table=table is not None)
        rows = len(dataset.shape) != 3 and table is None
        if rows and name != "noise" and not is_ood_file(name):
            raise DataError(
                f"--ood {name} needs images, and {dataset.name} holds rows of shape "
                f"{tuple(dataset.shape)}; pass a file of rows (--ood FILE.npy), --ood none, or "
                "--ood noise for rows of values in [0, 1]"
            )
        if is_ood_file(name) or (rows and name == "noise"):  # as evaluate will read it
            ood = make_ood_set(
                name, dataset, n=1, resize=resize, table=table, binarize=dataset.binarize
            )
            if table is None and is_ood_file(name):
                _warn_units(ood.x, name, data)
    return names


def _warn_units(x: Any, name: str, data: dict[str, Any]) -> None:
    """Warn of an OOD file in other units than the model's training data (8-bit levels stored
    as floats for a model of [0, 1] values: a float copy of the run's own images scored AUROC
    1.000 and was not recognized as its rows, review13 #7b). An OOD set in other units is a
    test a user may mean, so it is scored; the warning says what its AUROC then measures."""
    import warnings

    from torchlvm.data.binarize import Values
    from torchlvm.data.value_range import typical_size, units_slip

    slip = units_slip(Values.of(x), name, data, "the run's model", typical_size(x))
    if slip is not None:
        warnings.warn(
            f"{slip}; as an OOD set, its AUROC then measures the units, not what the data show",
            stacklevel=2,
        )


def _ood_names(text: str) -> tuple[str, ...]:
    """--ood's value split at its commas, but for a path that holds commas: at each part, the
    longest run of parts that names an existing file or folder is one name (userJ #3: 'x/Größe,
    daten.csv' could not be given at all)."""
    parts, names, i = text.split(","), [], 0

    def joined(j: int) -> str:
        return ",".join(parts[i:j]).strip()

    while i < len(parts):
        longer = range(len(parts), i + 1, -1)  # (two parts or more, the longest first)
        j = next((j for j in longer if Path(joined(j)).exists()), i + 1)
        names.append(joined(j))
        i = j
    return tuple(names)


def _config(
    args: argparse.Namespace, data: dict[str, Any], data_dir: Any, dataset: Any
) -> EvalConfig:
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.evaluation.config import EvalConfig
    from torchlvm.inference.class_mixture import recorded_counts

    if args.refine < 0:
        raise ConfigError(f"--refine must be a non-negative integer, got {args.refine}")
    ood = _ood(args.ood, data, dataset, args.ood_resize)
    return EvalConfig(
        condition=data.get("condition", "none") or "none",
        k=args.k,
        ks=None if args.ks is None else _ks(args.ks),
        chunk=args.chunk,
        batch_size=args.batch_size,
        n=_n(args.n),
        seed=args.seed,
        data_seed=int(data.get("seed", 0)),
        refine_steps=args.refine,
        refine_lr=args.refine_lr,
        ais_steps=args.ais,
        ais_chains=args.ais_chains,
        ood=ood,
        ood_resize=args.ood_resize,
        ood_k=args.ood_k,
        data_dir=data_dir,
        table=TableSchema.from_dict(data.get("table")),
        class_counts=recorded_counts(data, data.get("class_names")),
        progress=show_progress(args),
    )


def _datasets(run_: Any, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """The split to evaluate, its complete rows (the same split when it has no missing cell) and
    the validation split (None when evaluating it); of a split the run streams from its file
    (--mmap), only the --n rows evaluated."""
    from torchlvm.cli._evaluate_data import check_data_record
    from torchlvm.cli._tables import complete_rows
    from torchlvm.evaluation.rows import evaluated_rows
    from torchlvm.run.loaded import load_split

    check_data_record(run_, "evaluate")

    def rows(split: str) -> Any:
        dataset = load_split(run_, None, split, data_dir=args.data_dir, streamed=True)
        return evaluated_rows(dataset, _n(args.n), args.seed)

    dataset = rows(args.split)
    complete, dropped = complete_rows(dataset)
    val = rows("val") if args.split != "val" else None
    if dropped:
        print(
            f"evaluating the {len(complete)} complete rows of the {args.split} split "
            f"({dropped} rows with missing cells are scored on their observed cells only)"
        )
    return dataset, complete, val


def run(args: argparse.Namespace) -> int:
    from torchlvm.run.commit import recover
    from torchlvm.run.layout import resolved_folder
    from torchlvm.run.loaded import load_run, record_repointed, repointed
    from torchlvm.run.lock import EVALUATED, acquire, command_line
    from torchlvm.run.metrics import read_metrics

    folder = resolved_folder(args.run_dir)  # (the run evaluated is the run written to)
    device = device_for(args)
    out = _out_file(args)  # (before any work)
    recorded = load_run(folder, device=device)  # (an interrupted run is named, then a busy one)
    run_ = repointed(recorded, args.data)  # --data: the run's file, moved
    if out is not None:  # the run folder is only read: no lock, recovery or record written
        return _evaluate(run_, args, out)
    read_metrics(folder)  # a damaged metrics.json fails now, not after minutes of sampling
    # one evaluation at a time: a second one's metrics.json and figures would mix with ours
    with _or_out(folder), acquire(folder, command_line(), what=str(folder), doing=EVALUATED):
        recover(folder)  # a commit a killed evaluate or gaps left half done
        if (moved := record_repointed(recorded, run_)) is not None:  # later commands read it
            print(moved)
        if args.figures_only:
            from torchlvm.cli._evaluate_redraw import redraw

            return redraw(run_, args)
        return _evaluate(run_, args)


def _out_file(args: argparse.Namespace) -> Path | None:
    """The file ``--out`` names, checked (a .json that is not the user's own or a run's), or
    None without it.

    Raises:
        ConfigError: for ``--out`` with ``--figures-only``, which draws into the run folder.
    """
    from torchlvm.run import output_file

    if args.out is None:
        return None
    if args.figures_only:
        raise ConfigError(
            "--figures-only draws the figures into the run folder, which --out leaves as it "
            "was; leave out one of them"
        )
    return output_file(args.out, args.out, suffix=".json", overwrite=None, ours=_an_evaluation)


def _an_evaluation(path: Path) -> bool:
    """Whether ``path`` is a file that ``evaluate --out`` wrote (its command says so)."""
    import json

    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    command = record.get("protocol", {}).get("command", "") if isinstance(record, dict) else ""
    return isinstance(command, str) and command.startswith("torchlvm evaluate ")


@contextmanager
def _or_out(folder: Path) -> Iterator[None]:
    """A refusal to lock the run folder ``folder`` (a read-only file system or folder, another
    user's run) naming ``--out`` too, which evaluates it without writing there (userV #10)."""
    from torchlvm._os_errors import unwritable

    try:
        yield
    except OSError as err:
        if not unwritable(err):
            raise
        example = quoted(folder.name + "-metrics.json")
        also = f"or evaluate it with --out {example}, which writes nothing there"
        said = err.strerror or str(err)
        said = f"{said[:-1]}; {also})" if said.endswith(")") else f"{said} ({also})"
        raise OSError(err.errno, said, err.filename) from None


def _evaluate(run_: Any, args: argparse.Namespace, out: Path | None = None) -> int:
    from torchlvm.cli._evaluate_figures import draw
    from torchlvm.cli._evaluate_table import format_table
    from torchlvm.data.dataset_copy import own_copy
    from torchlvm.evaluation.evaluate import check_settings, evaluate
    from torchlvm.evaluation.records import EVALUATION_KEYS
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.metrics import figures_record, merge_metrics, read_metrics

    folder, model = run_.folder, run_.model
    dataset, complete, val = _datasets(run_, args)
    # the copy of its dataset the run was trained on, for the classifier of sample quality too
    own = own_copy(run_.data, args.data_dir or run_.data.get("data_dir"), folder)
    config = _config(args, run_.data, own, dataset)
    check_settings(model, config)  # (before the timing probe: userN #10)
    say = progress_printer(show_progress(args))
    figures = () if args.no_figures or out is not None else ("the figures",)
    pace = (
        _print_expected_time(model, complete, config, say, val, figures) if len(complete) else None
    )
    train = _train_rows(run_, args, config.ood)  # (for the OOD sets' check)
    result = evaluate(model, dataset, config, val_dataset=val, advance=pace, train_dataset=train)
    metrics = result.to_json()
    metrics["protocol"]["command"] = "torchlvm evaluate " + " ".join(_argv(args))
    if out is not None:
        return _written_elsewhere(
            run_, result, metrics, out, _untrained_line(run_, dataset, args.split)
        )
    previous = read_metrics(folder)  # which evaluation drew the figures now in figures/
    # the numbers first, atomically, with the figures there recorded as earlier evaluations':
    # a failure while drawing this evaluation's own figures then costs only those
    if (figures := figures_record(None, previous, folder)) is not None:
        metrics["figures"] = figures
    layout = RunLayout(folder)
    merge_metrics(folder, metrics, replaces=EVALUATION_KEYS)
    print(format_table(result))
    if (untrained := _untrained_line(run_, dataset, args.split)) is not None:
        print(untrained)
    print(f"wrote {layout.metrics_json}", flush=True)
    if (dropped := _dropped(previous, metrics)) is not None:
        print(dropped)
    if not args.no_figures:
        drawn = draw(model, complete, result, folder, config.condition, args, previous)
        print(f"drew {len(drawn)} figures in {layout.figures}/")
    return 0


def _written_elsewhere(
    run_: Any, result: Any, metrics: dict[str, Any], out: Path, untrained: str | None
) -> int:
    """``evaluate --out``: the numbers as metrics.json would hold them, with the run they are of
    and its weights' digest, written to ``out``; the table printed; the run folder untouched."""
    from torchlvm._files import write_json
    from torchlvm.cli._evaluate_table import format_table
    from torchlvm.run import written
    from torchlvm.run.metrics import WEIGHTS_KEY, weights_digest

    digest = weights_digest(run_.folder)
    metrics["meta"] = {"run": str(run_.folder), **({WEIGHTS_KEY: digest} if digest else {})}
    written.check_unchanged(out)  # (still what was there at the start)
    write_json(out, metrics)
    written.record(out)
    print(format_table(result))
    if untrained is not None:
        print(untrained)
    print(f"wrote {out} (nothing of this evaluation in {run_.folder}: no metrics.json or figures)")
    return 0


def _untrained_line(run_: Any, dataset: Any, split: str) -> str | None:
    """A line naming the classes of the split evaluated that no row of the run's train split
    has (a class-conditional run; its recorded class counts): their rows are in the numbers,
    given a class the model learned nothing of (userU #9: the test log p(x | c) averaged in a
    row of such a class without a word, where sample refuses it); None where there are none."""
    import torch

    from torchlvm.run.labels import label_name, untrained_classes

    untrained = untrained_classes(run_)
    if not untrained or dataset.y is None or run_.data.get("condition") != "label":
        return None
    counts = torch.bincount(dataset.y.long(), minlength=int(run_.num_classes)).tolist()
    held = [(label_name(run_, j), counts[j]) for j in sorted(untrained) if counts[j]]
    if not held:
        return None
    named = ", ".join(f"{name!r} ({count} row{'s' * (count != 1)})" for name, count in held)
    return (
        f"  the {split} split holds rows of {'a class' if len(held) == 1 else 'classes'} no row "
        f"of the train split has, {named}: the model learned nothing of "
        f"{'it' if len(held) == 1 else 'them'}, and these numbers count those rows as given it"
    )


def _dropped(previous: Any, metrics: dict[str, Any]) -> str | None:
    """A line naming the sections of the earlier evaluation in ``previous`` (metrics.json
    before this one) that this one did not measure, and which ``merge_metrics`` removed as of
    another protocol: a rerun with --ood none took the outlier section away without a word
    (userS #7); None where none was."""
    from torchlvm._nested import lookup
    from torchlvm.evaluation.records import EVALUATION_KEYS

    own = ("protocol", "model", "seconds", "figures")  # (every evaluation's, or redrawn)
    if not isinstance(previous, dict):
        return None
    gone = [k for k in EVALUATION_KEYS if k not in own and k in previous and k not in metrics]
    if not gone:
        return None
    said = [(name, lookup(previous, "protocol", name)) for name in ("n", "k", "seed")]
    of = ", ".join(f"{name} = {v}" for name, v in said if isinstance(v, int))
    it = "it" if len(gone) == 1 else "them"
    return (
        f"  removed the earlier evaluation's {', '.join(k.replace('_', ' ') for k in gone)} "
        f"from metrics.json{f' (of {of})' if of else ''}: this evaluation did not measure {it}, "
        f"and beside its numbers {'it' if len(gone) == 1 else 'they'} would describe another "
        "protocol"
    )


def _train_rows(run_: Any, args: argparse.Namespace, ood: tuple[str, ...]) -> Any:
    """The train split, whose rows an OOD file, folder or dataset is checked for (userJ #14: a
    file holding the rows the model was trained on); None where no such set is asked, the train
    split is the one evaluated, or the run streams it from its file (not read whole)."""
    from torchlvm.data.memmap import MemmapDataset
    from torchlvm.run.loaded import load_split

    if args.split == "train" or all(name in ("noise", "flip") for name in ood):
        return None
    train = load_split(run_, None, "train", data_dir=args.data_dir, streamed=True)
    return None if isinstance(train, MemmapDataset) else train


def _print_expected_time(
    model: Any,
    dataset: Any,
    config: EvalConfig,
    say: Any,
    val: Any = None,
    steps: tuple[str, ...] = (),
) -> Any:
    """Print the expected time of the importance sampling, from a short timed probe, naming the
    sections it leaves out and ``steps`` of the command's own after them (its figures); return
    the :class:`~torchlvm.evaluation.timing.Pace` that re-states it from the evaluation's own
    batches (None for a model that is not importance-sampled). ``val``: the validation split,
    whose rows the outlier section scores too (None: not given).

    What follows the first line is progress, as the bars are, and goes where they go (``say``,
    :func:`~torchlvm.cli._progress.progress_printer`): on a machine busier than its cores, that
    the time will follow the load; the re-stated time."""
    from torchlvm.evaluation.outlier_section import scored_sets
    from torchlvm.evaluation.timing import Pace, expected_time, left_out

    val_rows = 0 if val is None else len(val)
    sets = scored_sets(dataset, config)  # (not those skipped: not here, other channels)
    expectation = expected_time(model, dataset, config, ood_sets=sets, val_rows=val_rows)
    if expectation is None:
        return None
    print(expectation.describe([*left_out(config, dataset), *steps]), flush=True)
    if expectation.busy is not None:
        say(expectation.busy.describe())
    return Pace(expectation, config, say)


def _argv(args: argparse.Namespace) -> list[str]:
    """The options of the evaluation that move its numbers, as metrics.json's command records
    them: it left out --data, --ood and --ks, so the command shown beside the numbers (the
    report's, a figure's "drawn by") was not the one that made them."""
    from torchlvm._shell import quoted

    words = [quoted(str(args.run_dir)), f"--k {args.k}", f"--split {args.split}"]
    words += [f"--seed {args.seed}", f"--n {args.n}"]
    if args.data is not None:
        words.append(f"--data {quoted(str(args.data))}")
    if args.ks:
        words.append("--ks " + " ".join(quoted(str(k)) for k in args.ks))
    if args.refine:
        words.append(f"--refine {args.refine} --refine-lr {args.refine_lr!r}")
    if args.ais:
        words.append(f"--ais {args.ais} --ais-chains {args.ais_chains}")
    if args.ood is not None:
        words.append(f"--ood {quoted(str(args.ood))}")
    if args.ood_resize != OOD_RESIZE:
        words.append(f"--ood-resize {args.ood_resize}")
    if args.ood_k != OOD_K:
        words.append(f"--ood-k {args.ood_k}")
    if args.chunk:
        words.append(f"--chunk {args.chunk}")
    return words
