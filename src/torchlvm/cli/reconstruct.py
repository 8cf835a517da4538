"""Reconstruct images with a trained model: inputs next to their reconstructions, and the error.

The reconstruction of x is the decoder mean at the posterior mean, E[x | z = E_q[z | x]] (for a
CVAE under x's own condition; for an autoencoder at its code f(x); for PPCA W E[z | x] + μ).
The error printed is the mean squared error per pixel between the input, as the model sees it
(under the run's binarization protocol), and its reconstruction, averaged over the whole split,
with the standard error of that mean over its images.

Writes DIR/figures/reconstructions.png.

Examples:
  torchlvm reconstruct runs/vae
  torchlvm reconstruct runs/vae --split train --n 10 --out recon.png
"""

from __future__ import annotations

import argparse

from torchlvm.cli import _types
from torchlvm.cli._accelerator import open_run

HELP = "show inputs next to their reconstructions and print the reconstruction error"


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser, whole_file=True)
    parser.add_argument("--n", type=int, default=16, help="images shown (the split's first N)")
    _types.output_options(parser, "DIR/figures/reconstructions.png")


def run(args: argparse.Namespace) -> int:
    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int
    from torchlvm.evaluation.stats import mean_and_stderr
    from torchlvm.report.metrics import format_measured

    n = check_positive_int("--n", args.n)
    run_ = open_run(args)
    if run_.data.get("table") is not None or str(args.out or "").lower().endswith(".csv"):
        from torchlvm.cli import _table_rows

        return _table_rows.reconstruct_table(args, run_)
    default = run_.folder / "figures" / "reconstructions.png"
    out = _run.output_file(
        args.out, default, suffix=".png", overwrite=args.overwrite, ours=_run.torchlvm_figure
    )
    dataset = _run.load_split(run_, args.data, _types.split_of(args), data_dir=args.data_dir)
    shape = _run.image_shape(
        run_, dataset, rows="write the reconstructions as rows with --out FILE.csv"
    )
    x = _run.model_view(dataset, run_, args.seed)
    c = _run.conditions(run_, x, dataset.y, dataset)
    model = run_.model

    def reconstruct(xb, cb):
        return model.decode(model.encode(xb, cb).mean, cb).mean  # (B, D)

    recon = _run.in_batches(reconstruct, x, c, device=run_.device)
    per_image = (recon.double() - x.double()).pow(2).mean(-1)  # (N,)
    mse = format_measured(*mean_and_stderr(per_image))
    over = f"± s.e. over the {len(x)} images" if len(x) > 1 else "one image"
    shown = min(n, len(x))
    fig = plots.reconstruction_pairs(
        x[:shown],
        recon[:shown],
        shape,
        title=f"Inputs and reconstructions by {run_.describe()}",
    )
    plots.save_figure(fig, out)
    kind = "none" if run_.condition is None else run_.condition.kind
    given = {"label": " (its condition: the true class)", "mask": " (its condition: the observed "
             "part)"}.get(kind, "")  # fmt: skip
    print(f"reconstructions by {run_.describe()}")
    print(
        f"  data: {dataset.name} {dataset.split} split, {len(x)} image{'s' * (len(x) != 1)} "
        f"({_run.protocol_note(dataset, args.seed)})"
    )
    print(
        f"  reconstruction error: {mse} mean squared error per pixel ({over}), input vs "
        f"decoder mean at {run_.encoding}{given}"
    )
    inputs = (
        "1 input and its reconstruction"
        if shown == 1
        else f"{shown} inputs and their reconstructions"
    )
    print(f"wrote {out} ({inputs})")
    return 0
