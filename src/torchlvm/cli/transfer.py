"""Style transfer with a class-conditional CVAE: images of class A redrawn as class B.

Takes the split's first --n images of class A, encodes each under its own class, z = E_q[z | x, A],
and decodes z under class B, E[x | z, B] (Sohn et al. 2015; :meth:`torchlvm.CVAE.transfer`).
z keeps what the class does not explain (slant, thickness: the "style"). Data are taken as the
model sees them (under the run's binarization protocol).

Writes DIR/figures/transfer.png: a row of originals above a row of their transfers (one row per
class with --to-condition all). --from-condition all takes the split's first images whatever
their class, each encoded under its own class.

A CVAE trained on a table (a .csv with --label-column) writes rows instead, DIR/transfer.csv or
--out FILE.csv: every row of class A of --data (or of the run's --split), transferred, in the
file's units and columns, with a column 'label' naming the target class (one block of rows per
class with --to-condition all; --n takes the first N rows).

Examples:
  torchlvm transfer runs/cvae --from-condition 3 --to-condition 8
  torchlvm transfer runs/cvae-fashion --from-condition Sneaker --to-condition Sandal --n 10
  torchlvm transfer runs/cvae --from-condition all --to-condition all
  torchlvm transfer runs/cvae-wine --data wine.csv --from-condition a --to-condition b --out b.csv
"""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli import _types
from torchlvm.cli._accelerator import open_run
from torchlvm.errors import DataError

HELP = "redraw images of one class as another with a class-conditional CVAE (style transfer)"

DEFAULT_N = 8  # images transferred without --n


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser)
    parser.add_argument(
        "--from-condition",
        required=True,
        metavar="A",
        help="class of the input images (label or name), or 'all' for images of any class",
    )
    parser.add_argument(
        "--to-condition",
        required=True,
        metavar="B",
        help="class to render them as (label or name), or 'all' for one row per class",
    )
    parser.add_argument(
        "--n",
        type=int,
        help=f"images of class A transferred (default {DEFAULT_N}; a table: every row of class A)",
    )
    _types.output_options(parser, "DIR/figures/transfer.png, or DIR/transfer.csv for a table")


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int

    n = None if args.n is None else check_positive_int("--n", args.n)
    run_ = open_run(args)
    _run.require_class_conditions(run_, "transfer")
    sources = _run.parse_labels(run_, [args.from_condition], "--from-condition")
    targets = _run.parse_labels(run_, [args.to_condition], "--to-condition")
    if run_.data.get("table") is not None or str(args.out or "").lower().endswith(".csv"):
        from torchlvm.cli import _table_rows

        return _table_rows.transfer_table(args, run_, sources, targets)
    n = DEFAULT_N if n is None else n
    default = run_.folder / "figures" / "transfer.png"
    out = _run.output_file(
        args.out, default, suffix=".png", overwrite=args.overwrite, ours=_run.torchlvm_figure
    )
    dataset = _run.load_split(run_, args.data, args.split, data_dir=args.data_dir)
    shape = _run.image_shape(run_, dataset)
    x, y, rows, a = _inputs(run_, dataset, sources, n, args.seed)
    model = run_.model
    c_from = model.condition_from_labels(y)
    names = [_run.label_name(run_, target) for target in targets]
    transferred = [
        _run.in_batches(
            model.transfer,
            x,
            c_from,
            model.condition_from_labels(torch.full_like(y, target)),
            device=run_.device,
        )
        for target in targets
    ]  # each (n, D), on the CPU
    b = names[0] if len(names) == 1 else "every class"
    originals = dataset.x[rows]  # the grey levels a reader recognises, not the draw encoded
    title = f"Style transfer by {run_.describe()}: class {a} → {b}"
    if len(names) == 1:
        fig = plots.transfer_grid(originals, transferred[0], shape, source=a, target=b, title=title)
    else:
        fig = plots.image_grid(
            torch.cat([originals.to(x.dtype), *transferred]), shape, nrow=len(x), title=title,
            row_labels=[f"original ({a})", *[f"as {name}" for name in names]],
        )  # fmt: skip
    plots.save_figure(fig, out)
    print(
        f"transferred {len(x)} {dataset.name} {dataset.split} images of class {a} to "
        f"{'every class' if len(names) > 1 else 'class ' + b} "
        f"with {run_.describe()} ({_run.protocol_note(dataset, args.seed)})"
    )
    given = "its own class" if a == "any" else a
    print(f"  each image: z = E_q[z | x, {given}], then the decoder mean E[x | z, {b}]")
    print(f"wrote {out} (originals above their transfers, one row per target class)")
    return 0


def _inputs(run_: Any, dataset: Any, sources: list[int], n: int, seed: int):
    """The first ``n`` images ``(n, D)`` of the split whose class is one of ``sources`` as the
    model sees them, their labels ``(n,)``, their rows in the split, and the name of what they
    are (a class, or "any" for 'all')."""
    import torch

    from torchlvm import run as _run

    if dataset.y is None:
        raise DataError(
            f"{dataset.name} has no class labels, so its images of a class cannot be found; "
            "pass --data with a labelled dataset"
        )
    every = len(sources) > 1
    a = "any" if every else _run.label_name(run_, sources[0])
    rows = torch.isin(dataset.y, torch.tensor(sources)).nonzero().flatten()[:n]
    if len(rows) == 0:
        raise DataError(
            f"the {dataset.split} split of {dataset.name} has no image of class {a}; "
            "choose another --split or --from-condition"
        )
    return _run.model_view(dataset, run_, seed)[rows], dataset.y[rows], rows, a
