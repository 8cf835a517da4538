"""Autoencoders vs VAEs: train (or reuse) an autoencoder, a VAE, a β-VAE (β = 4) and a CVAE with
the same budget, evaluate them, and write a table with a measured number in every cell:
interpretability (does each latent dimension follow one known factor? the mutual information gap
on the shapes factors dataset), separability (can a linear probe read the class off the code?
probe accuracies on posterior means) and generation (do samples look like the data? Fréchet
distance; log p(x) where defined).

Writes OUT/compare.md, OUT/compare.json and the table drawn as OUT/compare.png, and the runs under
OUT/<data>/ and OUT/shapes/.

Examples:
  torchlvm compare --data digits --epochs 30 --out runs/compare
  torchlvm compare --data digits --out runs/compare --reuse      # evaluate the finished runs
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _tables, _types
from torchlvm.cli._accelerator import add_accelerator, device_for
from torchlvm.cli._progress import add_progress_options, show_progress
from torchlvm.errors import ConfigError

HELP = "train and compare AE, VAE, β-VAE and CVAE: interpretability, separability, generation"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", type=_types.data_source, required=True,
        help="dataset the models train on and are compared on (separability, generation, "
        "log p(x)); interpretability always uses the shapes factors dataset",
    )  # fmt: skip
    parser.add_argument("--data-dir", help=_types.SEARCH_DATA_DIR_HELP)
    parser.add_argument(
        "--epochs", type=_types.positive_int, default=20, help="training epochs of every model"
    )
    parser.add_argument(
        "--latent-dim", type=_types.positive_int, default=10, help="K of every model"
    )
    parser.add_argument(
        "--hidden",
        type=_types.positive_int,
        nargs="+",
        default=[256],
        metavar="WIDTH",
        help="hidden layer widths",
    )
    parser.add_argument(
        "--batch-size", type=_types.positive_int, default=128, help="examples per batch"
    )
    parser.add_argument(
        "--lr", type=_types.positive_number, default=1e-3, help="Adam learning rate"
    )
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of everything")
    parser.add_argument(
        "--k", type=_types.positive_int, default=1000, help="importance samples of log p(x)"
    )
    parser.add_argument(
        "--n", type=_types.positive_int, default=2000, help="test examples evaluated at most"
    )
    parser.add_argument(
        "--out", type=_types.given_path, help="output folder (default: runs/compare-DATA)"
    )
    parser.add_argument("--reuse", action="store_true", help="reuse finished runs in --out")
    add_progress_options(parser)
    add_accelerator(parser, "the models train and are evaluated")


def run(args: argparse.Namespace) -> int:
    from torchlvm._shell import unexpanded_home
    from torchlvm.evaluation.compare import Budget, compare, comparison_markdown
    from torchlvm.run.commit import recover_if_free

    if _tables.is_table(args.data):  # its flags, and its interpretability and Fréchet rows
        raise ConfigError(
            f"compare runs on image datasets (its rows score disentanglement on shapes and "
            f"samples in an image classifier's features); for the table {args.data}, train the "
            "models ('torchlvm train vae --data FILE --out runs/vae', and 'ae', 'cvae "
            "--label-column NAME'), then 'torchlvm evaluate' each and 'torchlvm report "
            "runs/vae runs/ae --out compare.html' to set them side by side"
        )
    device = device_for(args)
    budget = Budget(
        epochs=args.epochs,
        latent_dim=args.latent_dim,
        hidden=tuple(args.hidden),
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
    )
    out: Path = args.out or Path("runs") / f"compare-{Path(args.data).stem}"
    if (home := unexpanded_home(out, "out")) is not None:  # (named as typed, not its runs')
        raise home
    if out.is_dir():
        recover_if_free(out)  # outputs a killed compare left half replaced: read as one set
    _check_outputs(out)  # before minutes of training: a file of the user's there stays
    try:
        result = compare(
            args.data, out, budget=budget, reuse=args.reuse, k=args.k, n=args.n,
            data_dir=args.data_dir, progress=show_progress(args), device=device,
        )  # fmt: skip
    except KeyboardInterrupt as err:  # (Ctrl-C, SIGTERM: what is kept, and how to go on)
        raise type(err)(_kept(out, args.data)) from None
    text = comparison_markdown(result)
    epochs = f"{args.epochs} epoch{'s' if args.epochs != 1 else ''}"
    _publish(out, result, text, f"Autoencoders vs VAEs on {result['data']} (same budget, {epochs})")
    print(text)
    print(f"wrote {out / 'compare.md'}, {out / 'compare.json'} and {out / 'compare.png'}")
    return 0


OUTPUTS = ("compare.json", "compare.md", "compare.png")


def _kept(out: Path, data: str) -> str:
    """What an interrupted compare leaves in ``out`` and the command that goes on from it
    (userV #13: a SIGTERM said only 'terminated', where --reuse evaluates the finished models and
    trains the rest): its own command line, with ``--reuse`` where a model is finished."""
    from torchlvm.evaluation.compare import CONTENDERS, finished_runs
    from torchlvm.run.lock import command_line

    done, command = finished_runs(out, data), command_line()
    if not done:
        return f"no model was finished, so none is kept in {out}; start it again with '{command}'"
    if " --reuse" not in f"{command} ":
        command += " --reuse"
    models = 2 * len(CONTENDERS) if data != "shapes" else len(CONTENDERS)
    return (
        f"the {len(done)} of {models} models that finished are kept "
        f"({', '.join(str(folder) for folder in done)}); '{command}' evaluates them and trains "
        "the rest"
    )


def _check_outputs(out: Path) -> None:
    """Refuse an ``out`` whose compare.json, compare.md or compare.png is not one a compare
    wrote (a user's own notes named compare.md): those files are replaced. compare has no
    ``--overwrite``: the user moves their file away or chooses another ``--out``.

    Raises:
        RunDirectoryError: naming the file and the fixes (:func:`torchlvm.run.output_file`).
    """
    from torchlvm.run import output_file

    for name in OUTPUTS:
        output_file(None, out / name, suffix=Path(name).suffix, overwrite=None, ours=_ours)


def _ours(path: Path) -> bool:
    """Whether ``path`` is a compare.json, compare.md or compare.png that compare wrote."""
    import json

    from torchlvm.plots import drawn_by_torchlvm

    if path.suffix == ".png":
        return drawn_by_torchlvm(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if path.suffix == ".md":
        return text.startswith("# Autoencoders vs VAEs on ")
    try:
        record = json.loads(text)
    except ValueError:
        return False
    return isinstance(record, dict) and {"data", "models", "table", "verdicts"} <= record.keys()


def _publish(out: Path, result: dict, text: str, title: str) -> None:
    """compare.json, compare.md and the table drawn as compare.png, put in place as one
    (:class:`torchlvm.run.commit.Staging`, under ``out``'s lock): an error, Ctrl-C or a kill
    leaves the three old files or the three new ones, never a mix."""
    from torchlvm._files import write_json, write_text
    from torchlvm.plots import comparison_figure, comparison_scores, save_figure
    from torchlvm.run.commit import Staging, recover
    from torchlvm.run.lock import EVALUATED, acquire, command_line

    out.mkdir(parents=True, exist_ok=True)  # (the runs made it, unless none was trained here)
    with acquire(out, command_line(), what=str(out), doing=EVALUATED):
        recover(out)  # (one a kill left since the start)
        with Staging(out) as staging:
            write_json(staging.path(out / "compare.json"), result)  # (OUTPUTS)
            write_text(staging.path(out / "compare.md"), text)
            figure = comparison_figure(comparison_scores(result), title=title)
            save_figure(figure, staging.path(out / "compare.png"))
            staging.commit()
