"""Draw samples from a trained model and write them as a PNG grid (and optionally as .npy).

A sample is the decoder mean E[x | z] at z ~ p(z), or z ~ p(z | c) for a conditional VAE: what
is usually shown as samples of an image model. A class-conditional CVAE with --condition draws
one row of the grid per class asked for (labels such as 7, class names such as Sandal, or all);
without it, from p(x) = Σ_c π_c p(x | c): each sample's class c ~ π first, π the train split's
class frequencies, which the run records (as CVAEEstimator.sample). An autoencoder has no prior:
its codes come from a Gaussian fitted to its training codes (--source fitted) or from N(0, I)
(--source standard, which shows why an autoencoder is not a generative model).

A run trained on a table writes rows instead, DIR/samples.csv (.tsv for a run on a .tsv) or
--out FILE.csv / .tsv: draws x ~ p(x) (z ~ p(z), then x ~ p(x | z), its noise included: rows
with the data's spread, not decoder means) in the file's units and columns, each column written
as the training file writes it; a CVAE's --n rows per class asked for (without --condition, --n
rows whose classes are drawn from π) draw x ~ p(x | z, c) at z ~ p(z | c), the run's label column
naming each row's class. A Gaussian per column knows no bounds (an age below 0): one line counts
the values outside the range their column has in the train split.

Writes DIR/figures/samples-seedS.png, or DIR/figures/conditional-seedS.png with --condition (S:
--seed), names of its own: evaluate's figures/samples.png, which the report shows, is kept. A
grid shows at most 4096 samples, and with several classes at most 32 of each in its row: more
need --npy (the grid then shows the first ones), and a request whose samples would not fit in
memory is refused before anything is drawn.

Examples:
  torchlvm sample runs/vae --n 64
  torchlvm sample runs/cvae --condition 7 --n 10
  torchlvm sample runs/cvae --n 100 --npy samples.npy   # classes drawn by their frequency
  torchlvm sample runs/cvae-fashion --condition Sandal Sneaker
  torchlvm sample runs/cvae --condition all --npy samples.npy
  torchlvm sample runs/ae --source standard --out ae-standard.png
  torchlvm sample runs/table-vae --n 1000 --out synthetic.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _table_rows, _types
from torchlvm.cli._accelerator import add_accelerator, open_run
from torchlvm.cli._sample_classes import class_counts_to_draw
from torchlvm.errors import ConfigError

HELP = "draw samples from a trained model (per class for a CVAE): a PNG grid, or a table's .csv"

DEFAULT_N = 64  # samples without --condition
DEFAULT_N_PER_CONDITION = 8  # samples per row with --condition


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "run_dir", type=_types.given_path, metavar="DIR", help="run or export folder"
    )
    parser.add_argument(
        "--n",
        type=int,
        help=f"number of samples (default: {DEFAULT_N}; with --condition, samples per condition, "
        f"default {DEFAULT_N_PER_CONDITION})",
    )
    parser.add_argument(
        "--condition",
        "--class",  # what "give me a 7" is typed as first
        dest="condition",
        nargs="+",
        metavar="LABEL",
        help="class-conditional CVAE: labels (7) or class names (Sandal), or 'all'; one row each "
        "(default: each sample's class drawn by its frequency in the train split)",
    )
    parser.add_argument(
        "--source",
        choices=["fitted", "standard"],
        help="autoencoder only: codes from the Gaussian fitted to the training codes, or from "
        "N(0, I) (default: fitted)",
    )
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of the random draws")
    parser.add_argument(
        "--out",
        type=_types.given_path,
        metavar="FILE.png",
        help="PNG to write (default: DIR/figures/samples-seedS.png, or conditional-seedS.png, S "
        "the --seed); for a run on "
        "a table, a .csv or .tsv (default: DIR/samples.csv)",
    )
    parser.add_argument(
        "--npy",
        type=_types.given_path,
        metavar="FILE.npy",
        help="also save the samples: images in the axes of the file the run was trained on "
        "((N, H, W, C) for a channels-last one), else (N, H, W), colour ones (N, C, H, W); a "
        "table's rows as (N, D)",
    )
    parser.add_argument(
        "--overwrite", action="store_true",
        help="replace output files torchlvm wrote, unchanged since (a file of yours never is)",
    )  # fmt: skip
    add_accelerator(parser)


def run(args: argparse.Namespace) -> int:
    from torchlvm._checks import check_positive_int

    run_ = open_run(args)
    conditioned = args.condition is not None
    default_n = DEFAULT_N_PER_CONDITION if conditioned else DEFAULT_N
    n = check_positive_int("--n", default_n if args.n is None else args.n)
    labels = _labels(run_, args.condition)
    source = _source(run_, args.source)  # (--source on a VAE is refused for rows too)
    counts = class_counts_to_draw(run_) if labels is None and run_.num_classes else None
    if run_.data.get("table") is not None or _table_rows.writes_rows(args.out):
        from torchlvm.cli._sample_table import sample_table

        return sample_table(args, run_, n, labels, source, counts)
    from torchlvm.cli._sample_images import sample_images

    return sample_images(args, run_, n, labels, source, counts)


def npy_file(args: argparse.Namespace, labelled: bool) -> Path | None:
    """The --npy file (and its labels file), checked before any work; None without --npy."""
    from torchlvm import run as _run

    if args.npy is None:
        return None
    npy = _run.output_file(
        args.npy, args.npy, suffix=".npy", flag="--npy", overwrite=args.overwrite
    )
    if labelled:
        labels = _run.labels_file(npy)
        _run.output_file(None, labels, suffix=".npy", flag="--npy", overwrite=args.overwrite)
    return npy


def npy_note(npy: Path, samples, labelled: bool, layout: str | None = None) -> str:
    """What the --npy file holds: ``samples``' shape and ``layout`` (their axes in words; by
    default those of rows or channels-first images), and the labels file where ``labelled``."""
    from torchlvm import run as _run
    from torchlvm.cli._image_layout import LAYOUTS

    layout = layout or LAYOUTS[samples.ndim]
    note = f" and {npy} (samples, shape {samples.shape}: {layout})"
    if labelled:
        note += f" and {_run.labels_file(npy)} (class label of each sample)"
    return note


def _labels(run_, condition: list[str] | None) -> list[int] | None:
    """Class indices asked for with --condition, checked against the model; None without
    --condition."""
    from torchlvm import run as _run

    if run_.num_classes is not None:
        if condition is None:
            return None  # classes drawn by their train frequencies (_sample_classes)
        labels = _run.parse_labels(run_, condition, "--condition")
        return list(dict.fromkeys(labels))  # a class asked twice (7 7, all 3) is one row
    if run_.model_type == "cvae":
        raise ConfigError(
            f"the CVAE in {run_.folder} is conditioned on {run_.condition_text}, not on class "
            "labels; use 'torchlvm impute' to complete images with it"
        )
    if condition is not None:
        from torchlvm.cli._tables import train_command

        raise ConfigError(
            f"--condition needs a class-conditional CVAE; {run_.folder} holds an unconditional "
            f"{run_.model_type}: leave out --condition, or train one with "
            f"'{train_command(run_, 'cvae')}'"
        )
    return None


def _source(run_, source: str | None) -> str | None:
    if run_.model_type == "ae":
        return source or "fitted"
    if source is not None:
        raise ConfigError(
            f"--source applies to autoencoders only; a {run_.model_type} samples from its prior"
        )
    return None
