"""Reconstruct images with a trained model: inputs next to their reconstructions, and the error.

The reconstruction of x is the decoder mean at the posterior mean, E[x | z = E_q[z | x]] (for a
CVAE under x's own condition; for an autoencoder at its code f(x); for PPCA W E[z | x] + μ).
The error printed is the mean squared error per pixel between the input, as the model sees it
(under the run's binarization protocol), and its reconstruction, averaged over the whole split,
with the standard error of that mean over its images.

Writes DIR/figures/reconstructions-SPLIT.png, or reconstructions-NAME.png for --data NAME (a
file's name without its suffix), names of its own: evaluate's figures/reconstructions.png, which
the report shows as the run's test inputs, is kept (userS #1). Both rows are drawn on the range
of values the run was trained on, so a faint reconstruction looks faint. --out FILE.npy writes
instead the reconstruction of every image of the split, in the axes of the file the images came
from (--data, else the run's training file: (N, H, W, C) for a channels-last one), else
(N, H, W) (one channel) or (N, C, H, W), and on its scale: 0..255 for a file of 8-bit levels,
which the model read divided by 255; else in the units the model was trained on. A run
trained on a table (or --out FILE.csv / .tsv) writes rows instead, DIR/reconstructions.csv
(.tsv for a run on a .tsv): the reconstruction of every row of --data (else of the run's test
split) in the file's units and columns, led by row and line (where the row is in the file) and
the columns the run dropped or took labels from (an ID, its class), and prints the RMSE per
feature, over the column's standard deviation in the run's train split (in the rows read, for a
run not standardized) so that columns in different units compare, and in its units.

Examples:
  torchlvm reconstruct runs/vae
  torchlvm reconstruct runs/vae --split train --n 10 --out recon.png
  torchlvm reconstruct runs/vae --data new.npy --out recon.npy
  torchlvm reconstruct runs/table-vae --data new.csv --out recon.csv
"""

from __future__ import annotations

import argparse

from torchlvm.cli import _table_rows, _types
from torchlvm.cli._accelerator import open_run
from torchlvm.cli._image_layout import as_file_images

HELP = "show inputs next to their reconstructions and print the reconstruction error"
SHOWN = 16  # pairs a picture shows without --n


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser, whole_file=True)
    parser.add_argument(
        "--n", type=int, default=None,
        help=f"images shown (the split's first N; default {SHOWN}); with --out FILE.npy, the "
        "first N reconstructions written (default: every one)",
    )  # fmt: skip
    _types.output_options(
        parser,
        "DIR/figures/reconstructions-SPLIT.png (or -NAME.png for --data NAME); FILE.npy: "
        "every example's, as an array",
    )


def run(args: argparse.Namespace) -> int:
    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int
    from torchlvm.data.value_range import trained_range
    from torchlvm.evaluation.stats import mean_and_stderr
    from torchlvm.report.metrics import format_measured

    n = None if args.n is None else check_positive_int("--n", args.n)
    run_ = open_run(args)  # (the run folder resolved: its figure goes to the run it read)
    if run_.data.get("table") is not None or _table_rows.writes_rows(args.out):
        from torchlvm.cli._reconstruct_table import reconstruct_table

        return reconstruct_table(args, run_)
    npy = str(args.out or "").lower().endswith(".npy")
    split = _types.split_of(args)
    default = run_.folder / "figures" / f"reconstructions-{_named(args.data, split)}.png"
    out = _run.output_file(
        args.out, default, suffix=(".npy",) if npy else (".png", ".npy"),
        overwrite=args.overwrite, ours=None if npy else _run.torchlvm_figure,
    )  # fmt: skip
    dataset = _run.load_split(
        run_, args.data, split, data_dir=args.data_dir, streamed=True, command="reconstruct"
    )
    shape = _images(run_, dataset, npy)
    if npy:
        _check_fits(dataset)
    per_image, x, recon, gaps = _reconstructed(run_, dataset, args.seed, n if npy else n or SHOWN)
    mse = format_measured(*mean_and_stderr(per_image[~per_image.isnan()]))
    count, unit = len(per_image), "row" if shape is None else "image"
    over = f"± s.e. over the {count} {unit}s" if count > 1 else f"one {unit}"
    if npy:
        written = _write_npy(out, recon, shape, run_, args.data)
    else:
        title = f"Inputs and reconstructions by {run_.describe()}"
        scale = trained_range(run_.data)  # (the samples' and evaluate's scale: readD D6)
        plots.save_figure(
            plots.reconstruction_pairs(x, recon, shape, title=title, scale=scale), out
        )
    kind = "none" if run_.condition is None else run_.condition.kind
    given = {"label": " (its condition: the true class)", "mask": " (its condition: the observed "
             "part)"}.get(kind, "")  # fmt: skip
    print(f"reconstructions by {run_.describe()}")
    print(
        f"  data: {dataset.name} {dataset.split} split, {count} {unit}{'s' * (count != 1)} "
        f"({_run.protocol_note(dataset, args.seed)})"
    )
    print(
        f"  reconstruction error: {mse} mean squared error per "
        f"{'value' if shape is None else 'pixel'}{' observed' * bool(gaps)} ({over}), input vs "
        f"decoder mean at {run_.encoding}{given}"
    )
    print(f"wrote {out} ({_written(len(x), written if npy else None, unit, count)})")
    return 0


def _images(run_, dataset, npy: bool) -> tuple[int, ...] | None:
    """The run's image shape; None for a run on rows that writes an .npy (of rows, as encode
    and impute write theirs: readA #11)."""
    from torchlvm import run as _run
    from torchlvm.errors import ConfigError

    rows = "write the reconstructions as rows with --out FILE.csv or FILE.npy"
    try:
        return _run.image_shape(run_, dataset, rows=rows)
    except ConfigError:
        if npy:
            return None
        raise


def _named(data: str | None, split: str) -> str:
    """What the default picture's name says it shows: the ``--data`` file's name without its
    suffix (a dataset's name), else the ``split``."""
    from pathlib import Path

    return split if not data else Path(data).stem or split


def _write_npy(
    out, recon, shape: tuple[int, ...] | None, run_, data: str | None
) -> tuple[tuple[int, ...], str]:
    """Write the reconstructions ``recon`` ``(N, D)`` to ``out``: images in the axes and on the
    scale of the file they came from (``data``, else the run's training file, as the run
    recorded it: readD D5), rows ``(N, D)`` where ``shape`` is None; their shape, and their
    axes and units in words."""
    from torchlvm import run as _run
    from torchlvm.data.pixels import levels_divisor, recorded_divisor

    rows = recon.float().numpy()
    divided = levels_divisor(data) if data else recorded_divisor(run_.data)
    if shape is None:
        array, layout = rows, "N, D"
    else:
        source, recorded = (
            (data, None) if data else (run_.data.get("name"), run_.data.get("stored_shape"))
        )
        array, layout = as_file_images(rows, shape, source, recorded, divided_by=divided)
    _run.write_npy({out: array})
    # (not [0, 1]: a model of levels read as stored, a Gaussian decoder's means: readA #2)
    units = ", in the units the model was trained on" if shape is None or divided is None else ""
    return array.shape, layout + units


def _written(shown: int, array: tuple[tuple[int, ...], str] | None, unit: str, count: int) -> str:
    """What the file holds: the ``shown`` pairs of a picture, or the reconstruction of each
    ``unit`` (of ``count``; the first ones where fewer) in an array of ``array``'s shape and
    axes."""
    if array is None:
        return (
            "1 input and its reconstruction"
            if shown == 1
            else f"{shown} inputs and their reconstructions"
        )
    shape, layout = array
    each = f"each {unit}" if shape[0] == count else f"the first {shape[0]} {unit}s"
    return f"the decoder mean of {each}, shape {shape}: {layout}"


def _check_fits(dataset) -> None:
    """Refuse, before any work, reconstructions of every image that memory cannot hold."""
    from torchlvm._memory import check_fits

    need = len(dataset) * dataset.dim * 4 * 3  # (float32: inputs, batches, the whole array)
    what = f"the reconstructions of {len(dataset):,} images of {dataset.dim} pixels (float32)"
    check_fits(need, what, "pass a smaller --data file, or --out FILE.png for a picture")


def _reconstructed(run_, dataset, seed: int, n: int | None):
    """Each image's mean squared error per pixel ``(N,)`` between the input as the model sees it
    and its reconstruction E[x | z = E_q[z | x]], a batch at a time (a streamed split is read
    once, a batch at a time), the first ``n`` inputs and reconstructions ``(n, D)`` (every
    one where ``n`` is None), and how many rows had missing cells: a VAE trained
    --allow-missing reads them through x̃ as encode does (readC C6), and their error is over
    their observed cells (NaN for a row of none)."""
    import torch

    from torchlvm.cli._tables import posterior
    from torchlvm.run.split import model_batches

    model = run_.model
    errors, inputs, outputs = [], [], []
    kept = gaps = 0
    n = len(dataset) if n is None else n  # (None: every image)
    with torch.no_grad():
        for x, _, c in model_batches(dataset, run_, seed):
            recon = model.decode(posterior(run_, x, c).mean, c).mean  # (B, D)
            errors.append((recon.double() - x.double()).pow(2).nanmean(-1).cpu())
            gaps += int(x.isnan().any(-1).sum())
            if kept < n:
                inputs.append(x[: n - kept].cpu())
                outputs.append(recon[: n - kept].cpu())
                kept += len(inputs[-1])
    return torch.cat(errors), torch.cat(inputs), torch.cat(outputs), gaps
