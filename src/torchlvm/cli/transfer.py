"""Style transfer with a class-conditional CVAE: images of class A redrawn as class B.

Takes the split's first --n images of class A, encodes each under its own class, z = E_q[z | x, A],
and decodes z under class B, E[x | z, B] (Sohn et al. 2015; :meth:`torchlvm.CVAE.transfer`).
z keeps what the class does not explain (slant, thickness: the "style"). Data are taken as the
model sees them (under the run's binarization protocol).

Writes DIR/figures/transfer.png: a row of originals above a row of their transfers.

Examples:
  torchlvm transfer runs/cvae --from-condition 3 --to-condition 8
  torchlvm transfer runs/cvae-fashion --from-condition Sneaker --to-condition Sandal --n 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _types
from torchlvm.errors import DataError

HELP = "redraw images of one class as another with a class-conditional CVAE (style transfer)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, metavar="DIR", help="run or export folder")
    parser.add_argument(
        "--from-condition",
        required=True,
        metavar="A",
        help="class of the input images (label or name)",
    )
    parser.add_argument(
        "--to-condition", required=True, metavar="B", help="class to render them as (label or name)"
    )
    parser.add_argument("--data", help="dataset name or file (default: the run's own dataset)")
    parser.add_argument("--data-dir", help="folder with the dataset's files")
    parser.add_argument("--split", choices=["train", "val", "test", "all"], default="test")
    parser.add_argument("--n", type=int, default=8, help="images of class A transferred")
    parser.add_argument("--seed", type=_types.seed, default=0, help="seed of the binarization draw")
    parser.add_argument(
        "--out",
        type=Path,
        metavar="FILE.png",
        help="PNG to write (default: DIR/figures/transfer.png)",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int

    n = check_positive_int("--n", args.n)
    run_ = _run.load_run(args.run_dir)
    _run.require_class_conditions(run_, "transfer")
    (source,) = _run.parse_labels(run_, [args.from_condition], "--from-condition")
    (target,) = _run.parse_labels(run_, [args.to_condition], "--to-condition")
    default = run_.folder / "figures" / "transfer.png"
    out = _run.output_file(args.out, default, suffix=".png", overwrite=args.overwrite)
    dataset = _run.load_split(run_, args.data, args.split, data_dir=args.data_dir)
    shape = _run.image_shape(run_, dataset)
    if dataset.y is None:
        raise DataError(
            f"{dataset.name} has no class labels, so its images of class {args.from_condition} "
            "cannot be found; pass --data with a labelled dataset"
        )
    rows = (dataset.y == source).nonzero().flatten()[:n]
    a, b = _run.label_name(run_, source), _run.label_name(run_, target)
    if len(rows) == 0:
        raise DataError(
            f"the {dataset.split} split of {dataset.name} has no image of class {a}; "
            "choose another --split or --from-condition"
        )
    x = _run.model_view(dataset, run_, args.seed)[rows]
    model = run_.model
    c_from = model.condition_from_labels(torch.full((len(rows),), source))
    c_to = model.condition_from_labels(torch.full((len(rows),), target))
    transferred = model.transfer(x, c_from, c_to)  # (n, D)
    fig = plots.transfer_grid(
        dataset.x[rows],  # the grey levels a reader recognises, not the binarized draw encoded
        transferred,
        shape,
        source=a,
        target=b,
        title=f"Style transfer by {run_.describe()}: class {a} → {b}",
    )
    plots.save_figure(fig, out)
    print(
        f"transferred {len(rows)} {dataset.name} {dataset.split} images of class {a} to class {b} "
        f"with {run_.describe()} ({_run.protocol_note(dataset, args.seed)})"
    )
    print(f"  each image: z = E_q[z | x, {a}], then the decoder mean E[x | z, {b}]")
    print(f"wrote {out} (originals above their transfers)")
    return 0
