"""Draw samples from a trained model and write them as a PNG grid (and optionally as .npy).

A sample is the decoder mean E[x | z] at z ~ p(z), or z ~ p(z | c) for a conditional VAE: what
is usually shown as samples of an image model. A class-conditional CVAE with --condition draws
one row of the grid per class asked for (labels such as 7, class names such as Sandal, or all);
without it, from p(x) = Σ_c π_c p(x | c), each sample's class c ~ π first, π the train split's
class frequencies the run records (:mod:`torchlvm.cli._sample_classes`). An
autoencoder has no prior: its codes come from a Gaussian fitted to its training codes (--source
fitted) or from N(0, I) (--source standard, which shows why an autoencoder is not a generative
model).

A run trained on a table writes rows instead, DIR/samples.csv (.tsv for a run on a .tsv) or
--out FILE.csv / .tsv: draws x ~ p(x) (z ~ p(z), then x ~ p(x | z), its noise included: rows
with the data's spread, not decoder means) in the file's units and columns, each column written
as the training file writes it; a CVAE's --n rows per class asked for (without --condition, --n
rows whose classes are drawn from π) draw x ~ p(x | z, c) at z ~ p(z | c), the run's label column
naming each row's class. A Gaussian per column knows no
bounds (an age below 0): one line counts the values outside the range their column has in the
train split.

Writes DIR/figures/samples-seedS.png, or DIR/figures/conditional-seedS.png with --condition (S:
--seed), names of its own: evaluate's figures/samples.png, which the report shows, is kept. A
grid shows at most 4096 samples, and with several classes at most 32 of each in its row: more
need --npy (the grid then shows the first ones), and a request whose samples would not fit in
memory is refused before anything is drawn.

Examples:
  torchlvm sample runs/vae --n 64
  torchlvm sample runs/cvae --condition 7 --n 10
  torchlvm sample runs/cvae --n 100 --npy samples.npy   (classes drawn by their frequency)
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
from torchlvm.cli._sample_classes import class_counts_to_draw, draw_classes, drawn_line
from torchlvm.errors import ConfigError

HELP = "draw samples from a trained model (per class for a CVAE): a PNG grid, or a table's .csv"

DEFAULT_N = 64  # samples without --condition
DEFAULT_N_PER_CONDITION = 8  # samples per row with --condition
MAX_GRID = 4096  # samples a PNG grid shows (64 × 64); more need --npy
MAX_ROW = 32  # samples of a class in its row when several classes share the grid
CHUNK = 10_000  # samples drawn at a time


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
        help="also save the samples: images as (N, H, W), colour ones (N, C, H, W); a table's "
        "rows as (N, D)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_accelerator(parser)


def run(args: argparse.Namespace) -> int:

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int
    from torchlvm.run.loaded import labels_array

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
    _check_size(run_, n, 1 if labels is None else len(labels), args.npy is not None)
    name = f"{'conditional' if conditioned else 'samples'}-seed{args.seed}.png"  # (not evaluate's)
    out = _run.output_file(
        args.out, run_.folder / "figures" / name, suffix=".png", overwrite=args.overwrite,
        ours=_run.torchlvm_figure,  # (a figure torchlvm drew there, evaluate's say, is redrawn)
    )  # fmt: skip
    npy = _npy_file(args, run_.num_classes is not None)
    dataset = _run.load_split(run_, None, "test") if _run.needs_shape_from_data(run_) else None
    shape = _run.image_shape(run_, dataset, rows="write the samples as rows with --out FILE.csv")

    generator = run_.generator(args.seed)
    rows = None
    if counts is not None:
        samples, rows, fig, what, counted = _of_drawn_classes(run_, counts, n, shape, generator)
    elif labels is None:
        samples, what = _unconditional(run_, n, source, generator)
        fig = plots.image_grid(samples[:MAX_GRID], shape, title=f"Samples of {run_.describe()}")
        counted = _samples(n)
    else:
        samples, rows, fig, what, counted = _conditional(run_, labels, n, shape, generator)
    samples = _as_images(samples.float().numpy(), shape)
    if npy is not None:  # the grid and the arrays: all written, or none (a full disk)
        arrays = {npy: samples}
        if rows is not None:
            arrays[_run.labels_file(npy)] = labels_array(run_, rows.cpu())  # names, if text
        _run.write_npy(arrays, figures={out: fig})
    else:
        plots.save_figure(fig, out)
    print(f"{counted} from {run_.describe()}: {what}, seed {args.seed}")
    if counts is not None:
        print(drawn_line(run_, counts, rows))
    print(f"wrote {out}" + ("" if npy is None else _npy_note(npy, samples, rows is not None)))
    if (outside := _outside(samples)) is not None:
        print(outside)
    return 0


def _of_drawn_classes(run_, counts: tuple[int, ...], n: int, shape, generator):
    """``n`` samples of a class-conditional CVAE's p(x) = Σ_c π_c p(x | c): the samples
    ``(n, D)``, their classes c ~ π, the grid (one, as without a condition), and what they are."""
    from torchlvm import plots

    rows = draw_classes(counts, n, generator)  # (n,)
    c = run_.model.condition_from_labels(rows)
    samples = _in_chunks(lambda a, b: run_.model.sample(b - a, c[a:b], generator=generator), n)
    title = f"Samples of {run_.describe()}, classes drawn by their frequency"
    fig = plots.image_grid(samples[:MAX_GRID], shape, title=title)
    what = "decoder means E[x | z, c] at z ~ p(z | c), c ~ π"
    return samples, rows, fig, what, _samples(n)


def _conditional(run_, labels: list[int], n: int, shape, generator):
    """``n`` samples per class of ``labels`` from a class-conditional CVAE: the samples
    ``(len(labels)·n, D)``, their labels, the grid, and what they are, for the summary."""
    import torch

    from torchlvm import plots
    from torchlvm import run as _run

    rows = torch.tensor(labels).repeat_interleave(n)  # (len(labels)·n,)
    c = run_.model.condition_from_labels(rows)
    samples = _in_chunks(lambda a, b: run_.model.sample(b - a, c[a:b], generator=generator), len(c))
    row_labels = [_run.label_name(run_, label) for label in labels]
    if len(labels) == 1:  # one class: a square grid, as without --condition
        title = f"Samples of class {row_labels[0]} of {run_.describe()}"
        fig = plots.image_grid(samples[:MAX_GRID], shape, title=title)
    else:  # a row per class (a row of 4096 was a PNG of 124,352 × 5,012 pixels)
        shown = samples.reshape(len(labels), n, -1)[:, : _shown_per_class(len(labels))]
        title = f"Samples per class of {run_.describe()}"
        fig = plots.conditional_grid(shown.flatten(0, 1), shape, row_labels, title=title)
    counted = (
        f"{_samples(n)} of class {row_labels[0]}"
        if len(labels) == 1
        else f"{_samples(n)} for each of {len(labels)} classes ({', '.join(row_labels)})"
    )
    return samples, rows, fig, "decoder means E[x | z, c] at z ~ p(z | c)", counted


def _npy_file(args: argparse.Namespace, labelled: bool) -> Path | None:
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


def _as_images(samples, shape: tuple[int, ...]):
    """Samples ``(N, D)`` as ``(N, H, W)`` images of one channel, else ``(N, C, H, W)``."""
    shape = shape[1:] if len(shape) == 3 and shape[0] == 1 else shape
    return samples.reshape(len(samples), *shape)


def _outside(samples) -> str | None:
    """A line saying how many values of image ``samples`` lie outside the pixels' [0, 1] (a
    Gaussian decoder's means are not bounded: the grid clips them, the .npy keeps them), or
    None where none do."""
    import numpy as np

    out = int(((samples < 0) | (samples > 1)).sum())
    if not out:
        return None
    low, high = float(np.min(samples)), float(np.max(samples))
    return (
        f"  {out:,} of {samples.size:,} values lie outside the pixels' [0, 1] ({low:.3g} to "
        f"{high:.3g}): the grid clips them, the .npy keeps them as drawn"
    )


def _npy_note(npy: Path, samples, labelled: bool) -> str:
    from torchlvm import run as _run

    layout = {2: "N, D", 3: "N, H, W", 4: "N, C, H, W"}[samples.ndim]
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


def _shown_per_class(classes: int) -> int:
    """Samples of each class a grid shows: all it shows for one class, else a row of each."""
    return MAX_GRID if classes == 1 else max(1, min(MAX_ROW, MAX_GRID // classes))


def _check_size(run_, n: int, classes: int, npy: bool) -> None:
    """Refuse more samples than a grid can show (without --npy) or than memory can hold:
    ``n`` of each of ``classes`` (1 without --condition)."""
    from torchlvm._memory import check_fits

    total, shown = n * classes, _shown_per_class(classes)
    if total > MAX_GRID and not npy:
        raise ConfigError(
            f"--n asks for {total} samples, more than the {MAX_GRID} a PNG grid shows; pass "
            f"--npy FILE.npy to save them as an array (the grid then shows the first "
            f"{MAX_GRID}), or a smaller --n"
        )
    if n > shown and not npy:
        raise ConfigError(
            f"--n {n} per class is more than the {shown} of each class a grid row shows with "
            f"{classes} classes; pass --npy FILE.npy to save them all (the grid then shows the "
            f"first {shown} of each), or --n {shown}"
        )
    what = f"{total} samples of {run_.input_dim} values (float32)"
    check_fits(total * run_.input_dim * 4, what, "pass a smaller --n")


def _in_chunks(draw, total: int):
    """``draw(start, stop)`` for :data:`CHUNK` samples at a time, concatenated on the CPU, so
    that the network's intermediate values never exceed one chunk's (one call up to CHUNK
    samples) wherever it runs."""
    import torch

    starts = range(0, total, CHUNK)
    return torch.cat([draw(start, min(start + CHUNK, total)).detach().cpu() for start in starts])


def _source(run_, source: str | None) -> str | None:
    if run_.model_type == "ae":
        return source or "fitted"
    if source is not None:
        raise ConfigError(
            f"--source applies to autoencoders only; a {run_.model_type} samples from its prior"
        )
    return None


def _unconditional(run_, n: int, source: str | None, generator):
    """``(samples (n, D), what they are)`` for a model without a condition."""
    import torch

    model = run_.model
    if run_.model_type == "ae":
        return autoencoder_samples(run_, n, source, generator)
    if run_.model_type == "ppca":
        from torchlvm._device import randn

        like = torch.empty((), device=run_.device, dtype=run_.dtype)

        def means(a: int, b: int) -> torch.Tensor:
            z = randn((b - a, model.latent_dim), generator=generator, like=like)
            with torch.no_grad():
                return model.decode(z).mean

        return _in_chunks(means, n), "noise-free means W z + μ at z ~ N(0, I)"
    samples = _in_chunks(lambda a, b: model.sample(b - a, generator=generator), n)
    return samples, "decoder means E[x | z] at z ~ p(z)"


def autoencoder_samples(run_, n: int, source: str | None, generator):
    """``(outputs (n, D), what they are)``: an autoencoder's decoder outputs at ``n`` codes from
    ``source`` (it has no prior: a Gaussian fitted to its training codes, or N(0, I))."""
    from torchlvm.errors import NotFittedError

    model = run_.model
    try:
        samples = _in_chunks(
            lambda a, b: model.sample(b - a, source=source, generator=generator), n
        )
    except NotFittedError:
        raise ConfigError(
            "this autoencoder has no Gaussian fitted to its training codes; pass --source "
            "standard to decode N(0, I) codes"
        ) from None
    if source == "fitted":
        what = "decoder outputs at codes drawn from a Gaussian fitted to the training codes"
        return samples, what
    return samples, "decoder outputs at codes z ~ N(0, I) (an autoencoder has no prior)"


def _samples(n: int) -> str:
    """``n`` with its noun: '1 sample', '8 samples'."""
    return f"{n} sample" if n == 1 else f"{n} samples"
