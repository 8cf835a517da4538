"""``torchlvm sample RUN`` for a run on images: the PNG grid (and ``--npy``) of samples
(:func:`sample_images`): decoder means at z ~ p(z), a CVAE's per class asked for, or of classes
drawn by their train frequencies (:mod:`torchlvm.cli._sample_classes`), an autoencoder's outputs
at codes from its fitted Gaussian or N(0, I); the grid's size limits, drawing a chunk at a time,
and the line counting values outside the range the run was trained on (the grid is drawn on it,
clipping them)."""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli._image_layout import as_file_images
from torchlvm.cli._sample_classes import draw_classes, drawn_line
from torchlvm.errors import ConfigError

MAX_GRID = 4096  # samples a PNG grid shows (64 × 64); more need --npy
MAX_ROW = 32  # samples of a class in its row when several classes share the grid
CHUNK = 10_000  # samples drawn at a time


def sample_images(
    args: argparse.Namespace,
    run_: Any,
    n: int,
    labels: list[int] | None,
    source: str | None,
    counts: tuple[int, ...] | None,
) -> int:
    """``torchlvm sample RUN`` on images: ``n`` samples (``n`` per class of ``labels``; of
    classes drawn from the train ``counts`` where given) as a grid, and ``--npy``."""
    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm.cli.sample import npy_file, npy_note
    from torchlvm.data.pixels import recorded_divisor
    from torchlvm.run.labels import labels_array

    conditioned = args.condition is not None
    _check_size(run_, n, 1 if labels is None else len(labels), args.npy is not None)
    name = f"{'conditional' if conditioned else 'samples'}-seed{args.seed}.png"  # (not evaluate's)
    out = _run.output_file(
        args.out, run_.folder / "figures" / name, suffix=".png", overwrite=args.overwrite,
        ours=_run.torchlvm_figure,  # (a figure torchlvm drew there, evaluate's say, is redrawn)
    )  # fmt: skip
    npy = npy_file(args, run_.num_classes is not None)
    shape_from_data = _run.needs_shape_from_data(run_)
    dataset = _run.load_split(run_, None, "test", shape_only=True) if shape_from_data else None
    shape = _run.image_shape(run_, dataset, rows="write the samples as rows with --out FILE.csv")

    generator = run_.generator(args.seed)
    rows = None
    if counts is not None:
        samples, rows, fig, what, counted = _of_drawn_classes(run_, counts, n, shape, generator)
    elif labels is None:
        samples, what = _unconditional(run_, n, source, generator)
        title = f"Samples of {run_.describe()}"
        fig = plots.image_grid(samples[:MAX_GRID], shape, title=title, scale=_scale(run_))
        counted = _samples(n)
    else:
        samples, rows, fig, what, counted = _conditional(run_, labels, n, shape, args.seed)
    array, layout = as_file_images(
        samples.float().numpy(), shape, run_.data.get("name"), run_.data.get("stored_shape"),
        divided_by=(divided := recorded_divisor(run_.data)),  # (a uint8 file's 0..255: D5)
    )  # fmt: skip
    said = f"{counted} from {run_.describe()}: {what}, seed {args.seed}"
    fig.set_label(said)  # (the PNG's Description, which the report captions it by)
    if npy is not None:  # the grid and the arrays: all written, or none (a full disk)
        arrays = {npy: array}
        if rows is not None:
            arrays[_run.labels_file(npy)] = labels_array(run_, rows.cpu())  # names, if text
        _run.write_npy(arrays, figures={out: fig})
    else:
        plots.save_figure(fig, out)
    print(said)
    if counts is not None:
        print(drawn_line(run_, counts, rows))
    note = "" if npy is None else npy_note(npy, array, rows is not None, layout)
    print(f"wrote {out}{note}")
    if (outside := _outside(run_, samples, npy is not None, divided)) is not None:
        print(outside)
    return 0


def _of_drawn_classes(run_, counts: tuple[int, ...], n: int, shape, generator):
    """``n`` samples of a class-conditional CVAE's p(x) = Σ_c π_c p(x | c): the samples
    ``(n, D)``, their classes c ~ π, the grid (one, as without a condition), and what they are."""
    from torchlvm import plots
    from torchlvm import run as _run

    rows = draw_classes(counts, n, generator)  # (n,)
    c = run_.model.condition_from_labels(rows)
    samples = _in_chunks(lambda a, b: run_.model.sample(b - a, c[a:b], generator=generator), n)
    title = f"Samples of {run_.describe()}, classes drawn by their frequency"
    fig = plots.image_grid(samples[:MAX_GRID], shape, title=title, scale=_scale(run_))
    _caption_classes(fig, shape, [_run.label_name(run_, int(c)) for c in rows[:MAX_GRID]])
    what = "decoder means E[x | z, c] at z ~ p(z | c), c ~ π"
    return samples, rows, fig, what, _samples(n)


CAPTIONED = 100
"""Up to this many tiles, every sample of a grid of drawn classes is captioned with its class;
in a larger grid, the first of each class (they are drawn sorted by class)."""


def _caption_classes(fig: Any, shape: Any, names: list[str]) -> None:
    """Caption the tiles of a square sample grid (``plots.image_grid``'s ⌈√N⌉ per row) with
    the class of each sample, ``names`` in grid order, in the top left corner of its tile."""
    import math

    from torchlvm.plots._style import gap

    h, w = shape[-2:]
    ax, ncol, pad = fig.axes[0], math.ceil(math.sqrt(len(names))), gap(h, w)
    tile = ax.get_position().width * fig.get_figwidth() * 72 / ncol  # points across a tile
    longest = max(len(name) for name in names)
    size = max(3.0, min(0.28 * tile, 1.5 * tile / max(longest, 1)))
    every = len(names) <= CAPTIONED
    size = size if every else max(size, 5.0)  # (a class's first tile only: room to spill)
    for i, name in enumerate(names):
        if not every and i and names[i - 1] == name:
            continue
        r, c = divmod(i, ncol)
        ax.text(c * (w + pad) - 0.5, r * (h + pad) - 0.5, name, fontsize=size, color="white",
                ha="left", va="top", bbox={"facecolor": "black", "alpha": 0.6, "pad": 0.6,
                "linewidth": 0})  # fmt: skip


def _conditional(run_, labels: list[int], n: int, shape, seed: int):
    """``n`` samples per class of ``labels`` from a class-conditional CVAE: the samples
    ``(len(labels)·n, D)``, their labels, the grid, and what they are, for the summary.

    Each class draws from a source of its own (:func:`~torchlvm.cli._sample_classes.class_source`):
    its seed-S samples are the same whichever other classes the call asks for."""
    import torch

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm.cli._sample_classes import class_source

    rows = torch.tensor(labels).repeat_interleave(n)  # (len(labels)·n,)
    parts = []
    for label in labels:
        c = run_.model.condition_from_labels(torch.full((n,), label))
        source = class_source(run_, seed, label)

        def draw(a, b, c=c, source=source):
            return run_.model.sample(b - a, c[a:b], generator=source)

        parts.append(_in_chunks(draw, n))
    samples = torch.cat(parts)
    row_labels = [_run.label_name(run_, label) for label in labels]
    if len(labels) == 1:  # one class: a square grid, as without --condition
        title = f"Samples of class {row_labels[0]} of {run_.describe()}"
        fig = plots.image_grid(samples[:MAX_GRID], shape, title=title, scale=_scale(run_))
    else:  # a row per class (a row of 4096 was a PNG of 124,352 × 5,012 pixels)
        shown = samples.reshape(len(labels), n, -1)[:, : _shown_per_class(len(labels))]
        title = f"Samples per class of {run_.describe()}"
        fig = plots.conditional_grid(
            shown.flatten(0, 1), shape, row_labels, title=title, scale=_scale(run_)
        )
    counted = (
        f"{_samples(n)} of class {row_labels[0]}"
        if len(labels) == 1
        else f"{_samples(n)} for each of {len(labels)} classes ({', '.join(row_labels)})"
    )
    return samples, rows, fig, "decoder means E[x | z, c] at z ~ p(z | c)", counted


def _scale(run_) -> tuple[float, float] | None:
    """The values a sample grid draws black and white: the range the run was trained on (a
    Gaussian decoder's means outside it are clipped, and the figure says what share), or the
    grid's default where it is not known."""
    from torchlvm.data.value_range import trained_range

    return trained_range(run_.data)


def _outside(run_, samples, npy: bool, divided_by: int | None = None) -> str | None:
    """A line saying how many values of image ``samples`` lie outside the range the run was
    trained on (a Gaussian decoder's means are not bounded: the grid, drawn on that range,
    clips them; the .npy keeps them where ``npy`` was written, else --npy would; times
    ``divided_by``, on the training file's scale, where given), or None where none do or the
    range is not known (review14 R1: it said "the pixels' [0, 1]" of a run on 0..16 values, and
    "clips" where the grid was scaled to the samples' own range)."""
    from torchlvm.data.value_range import outside_trained

    if (out := outside_trained(samples, run_.data)) is None:
        return None
    return (
        f"  {out.count:,} of {out.total:,} values lie outside the [{out.low:g}, {out.high:g}] "
        f"the model was trained on ({out.least:.3g} to {out.most:.3g}): the grid clips them to "
        "it, "
        + ("the .npy keeps them as drawn" if npy else "--npy FILE.npy keeps them as drawn")
        + ("" if divided_by is None else f", times {divided_by}")
    )


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
