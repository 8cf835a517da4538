"""Style transfer with a class-conditional CVAE: images of class A redrawn as class B.

Takes the split's first --n images of class A, encodes each under its own class, z = E_q[z | x, A],
and decodes z under class B, E[x | z, B] (Sohn et al. 2015; in Python, CVAE.transfer).
z keeps what the class does not explain (slant, thickness: the "style"). Data are taken as the
model sees them (under the run's binarization protocol).

Writes DIR/figures/transfer.png: a row of originals above a row of their transfers (one row per
class with --to-condition all). --from-condition all takes the split's first images whatever
their class, each encoded under its own class.

Each transfer is then classified by torchlvm's classifier of the run's dataset (the one whose
calls give evaluate's conditional accuracy; trained once and cached): the command prints how
many are of their target class and how many of the original's, and warns when fewer than half
reach their target. A table's rows are not classified, and the command says so.

A CVAE trained on a table (a .csv with --label-column) writes rows instead, DIR/transfer.csv or
--out FILE.csv (.tsv: with tabs): every row of class A of --data (or of the run's --split),
transferred, in the file's units and columns, with the run's label column naming the target
class (one block of rows per class with --to-condition all; --n takes the first N rows); each
row is led by row and line (where it is in the file) and the columns the run dropped (an ID),
and followed by the row as read ('original a', ..., 'original <label>'). Rows of a class the run
was not trained on are left out (one line names them under --from-condition all).

Examples:
  torchlvm transfer runs/cvae --from-condition 3 --to-condition 8
  torchlvm transfer runs/cvae-fashion --from-condition Sneaker --to-condition Sandal --n 10
  torchlvm transfer runs/cvae --from-condition all --to-condition all
  torchlvm transfer runs/cvae-wine --data wine.csv --from-condition a --to-condition b --out b.csv
"""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli import _table_rows, _tables, _transfer_check, _types
from torchlvm.cli._accelerator import open_run
from torchlvm.errors import DataError

HELP = (
    "redraw images or rows of one class as another with a class-conditional CVAE (style transfer)"
)

DEFAULT_N = 8  # images transferred without --n


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser, whole_file=True)
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
    _types.output_options(parser, "DIR/figures/transfer.png")


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int

    n = None if args.n is None else check_positive_int("--n", args.n)
    run_ = open_run(args)
    _require_labels(run_)
    sources = _run.parse_labels(run_, [args.from_condition], "--from-condition")
    targets = _run.parse_labels(run_, [args.to_condition], "--to-condition")
    if run_.data.get("table") is not None or _table_rows.writes_rows(args.out):
        return _rows(args, run_, sources, targets)
    n = DEFAULT_N if n is None else n
    default = run_.folder / "figures" / "transfer.png"
    out = _run.output_file(
        args.out, default, suffix=".png", overwrite=args.overwrite, ours=_run.torchlvm_figure
    )
    split = _types.split_of(args)
    dataset = _run.load_split(
        run_, args.data, split, data_dir=args.data_dir, streamed=True, command="transfer"
    )
    shape = _run.image_shape(run_, dataset)
    no_labels = "pass --data with a labelled dataset"
    rows, a = _of_classes(run_, dataset, sources, n, "image", no_labels)
    x, y = _run.model_view(dataset, run_, args.seed, rows), dataset.y[rows]  # those rows only
    names = [_run.label_name(run_, target) for target in targets]
    transferred = _transfer(run_, x, y, targets)
    b = names[0] if len(names) == 1 else "every class"
    originals = dataset.x[rows]  # the grey levels a reader recognises, not the draw encoded
    source = "each original's class" if a == "any" else f"class {a}"
    target = b if len(names) > 1 else f"class {b}"
    title = f"Style transfer by {run_.describe()}: {source} → {target}"
    if len(names) == 1 and a != "any":
        fig = plots.transfer_grid(originals, transferred[0], shape, source=a, target=b, title=title)
    else:  # one row of originals (each column under its own class when they are of any class)
        fig = plots.image_grid(
            torch.cat([originals.to(x.dtype), *transferred]), shape, nrow=len(x), title=title,
            row_labels=[_originals_label(a), *[f"as {name}" for name in names]],
        )  # fmt: skip
        if a == "any":
            _label_columns(fig, shape, [_run.label_name(run_, int(label)) for label in y])
    plots.save_figure(fig, out)
    own = _reconstructions(run_, x, y)  # (n, D): each under its own class
    ignored = _warn_if_condition_ignored(run_, x, y, own, targets, transferred)
    print(
        f"transferred {_counted(len(x), dataset.name + ' ' + dataset.split + ' image')} of "
        f"{'every class' if a == 'any' else 'class ' + a} to "
        f"{'every class' if len(names) > 1 else 'class ' + b} "
        f"with {run_.describe()} ({_run.protocol_note(dataset, args.seed)})"
    )
    given = "its own class" if a == "any" else a
    print(f"  each image: z = E_q[z | x, {given}], then the decoder mean E[x | z, {b}]")
    _transfer_check.report(run_, args, y, targets, transferred, own, warn=not ignored)
    print(f"wrote {out} (originals above their transfers, one row per target class)")
    if dataset.binarize != "none":  # (what a reader recognises, not what the encoder was given)
        print(f"  the originals are shown as grey levels; the encoder was given their 0/1 view "
              f"(binarize={dataset.binarize})")  # fmt: skip
    return 0


def _transfer(run_: Any, x: Any, y: Any, targets: list[int]) -> list[Any]:
    """Examples ``x`` ``(n, D)`` of classes ``y`` ``(n,)`` redrawn as each class of ``targets``:
    z = E_q[z | x, y], then E[x | z, target]; one ``(n, D)`` tensor per target, on the CPU."""
    import torch

    from torchlvm import run as _run

    model = run_.model
    c_from = model.condition_from_labels(y)
    return [
        _run.in_batches(
            model.transfer,
            x,
            c_from,
            model.condition_from_labels(torch.full_like(y, target)),
            device=run_.device,
        )
        for target in targets
    ]


IGNORED = 1e-3
"""A transfer closer than this share of the data's range to the example's reconstruction under
its own class, for every example and every other class, says that the decoder ignores c."""


def _reconstructions(run_: Any, x: Any, y: Any) -> Any:
    """Examples ``x`` ``(n, D)`` of classes ``y`` decoded under their own class, E[x | z, y]."""
    from torchlvm import run as _run

    c_own = run_.model.condition_from_labels(y)
    return _run.in_batches(run_.model.transfer, x, c_own, c_own, device=run_.device)


def _warn_if_condition_ignored(
    run_: Any, x: Any, y: Any, own: Any, targets: list[int], transferred: list[Any]
) -> bool:
    """Warn, in one line, where every transfer of ``x`` ``(n, D)`` (of classes ``y``) to another
    class equals its reconstruction under its own class, ``own`` (E[x | z, y]), within
    :data:`IGNORED` of the data's range: the CVAE's decoder does not use its class condition,
    and the figure shows the reconstructions, not a change of class. Returns whether it
    warned."""
    import warnings

    import torch

    other = [(t, y != target) for t, target in zip(transferred, targets, strict=True)]
    gaps = [(t[moved] - own[moved]).abs().max() for t, moved in other if bool(moved.any())]
    if not gaps:  # every target is the examples' own class
        return False
    span = float(x.max() - x.min()) or 1.0
    largest = float(torch.stack(gaps).max())
    if largest > IGNORED * span:
        return False
    warnings.warn(
        f"the CVAE in {run_.folder} ignores its class condition: every transfer to another "
        f"class equals the example's reconstruction under its own class (they differ by "
        f"{largest:.2g} at most, where the data span {span:.3g}), so the figure shows "
        "reconstructions, not a change of class; measure how "
        f"often its samples are of the class asked for with 'torchlvm evaluate {run_.folder}' "
        "(conditional accuracy), and train it with a smaller --latent-dim, so that z cannot "
        "carry the class",
        stacklevel=2,
    )
    return True


def _originals_label(a: str) -> str:
    """The row label of the originals: their class, or for originals of any class (each named
    above its column) "original"."""
    return "original" if a == "any" else f"original ({a})"


def _label_columns(fig: Any, shape: Any, names: list[str]) -> None:
    """Name above each column of a one-row-per-set grid (``plots.image_grid`` with
    ``nrow`` = the originals) the class of the original it holds."""
    from torchlvm.plots._style import gap, label_tiles

    h, w = shape[-2:]
    ax = fig.axes[0]
    rows = [label.get_text() for label in ax.get_yticklabels()]
    label_tiles(ax, (h, w), gap(h, w), rows=rows, cols=names)
    ax.xaxis.tick_top()


def _of_classes(
    run_: Any, dataset: Any, sources: list[int], n: int | None, noun: str, no_labels: str
):
    """The indices of the first ``n`` (all: None) examples of ``dataset`` whose class is one of
    ``sources``, and the name of what they are (a class, or "any" for 'all'); ``noun`` and
    ``no_labels`` (the fix for data without labels) word the refusals."""
    import torch

    from torchlvm import run as _run

    if dataset.y is None:
        raise DataError(
            f"{dataset.name} has no class labels, so its {noun}s of a class cannot be found; "
            f"{no_labels}"
        )
    a = "any" if len(sources) > 1 else _run.label_name(run_, sources[0])
    picked = torch.isin(dataset.y, torch.tensor(sources)).nonzero().flatten()[:n]
    if len(picked) == 0:
        raise DataError(
            f"the {dataset.split} split of {dataset.name} has no {noun} of class {a}; "
            "choose another --split or --from-condition"
        )
    return picked, a


def _rows(args: argparse.Namespace, run_: Any, sources: list[int], targets: list[int]) -> int:
    """A table CVAE's transfer (``--out FILE.csv``): the rows of class A (of ``--data``, else
    the run's --split; the first ``--n`` when given), transferred to B, in the user's units with
    the run's label column naming B (one block of rows per target class)."""
    import torch

    from torchlvm import run as _run
    from torchlvm.data.csv_form import FINER

    schema = _table_rows.schema_of(run_)
    suffixes = _table_rows.row_suffixes(run_, args.data)
    out = _table_rows.rows_file(
        args.out, run_.folder / f"transfer{suffixes[0]}", suffixes, overwrite=args.overwrite,
        reads=args.data,
    )  # fmt: skip
    dataset = _table_rows.read_rows_of(run_, args, unseen="append")  # (their rows: left out)
    fix = f"pass --data with a file that has the run's label column {schema.label_column!r}"
    picked, a = _of_classes(run_, dataset, sources, args.n, "row", fix)
    x, y = dataset.x[picked].to(run_.dtype), dataset.y[picked]
    transferred = _transfer(run_, x, y, targets)
    _warn_if_condition_ignored(run_, x, y, _reconstructions(run_, x, y), targets, transferred)
    user = schema.to_user_units(torch.cat(transferred).double())
    labels = torch.tensor(targets).repeat_interleave(len(x))
    names, ids = _table_rows.row_ids(run_, args, len(dataset), label=False)  # ('original')
    ids = [ids[i] for i in picked.tolist()] * len(targets) if names else []
    original = _originals(run_, schema, x, y, out, dataset)
    _table_rows.write_rows(
        out, run_, schema.columns, user, labels, read=dataset, ids=(names, ids),
        after=(original[0], original[1] * len(targets)), means=True,
    )  # fmt: skip
    b = "every class" if len(targets) > 1 else "class " + _run.label_name(run_, targets[0])
    part = "" if dataset.split == "all" else f" ({dataset.split} split)"
    source = "every class" if a == "any" else f"class {a}"
    print(f"transferred {_counted(len(x), 'row')} of {dataset.name}{part} of {source} to {b} "
          f"with {run_.describe()}")  # fmt: skip
    if args.n is not None and len(x) < args.n:  # (asked for more than there are)
        print(f"  {_fewer(run_, dataset, len(x), args.n, source)}")
    unseen = _table_rows.unseen_rows(run_, dataset)
    if unseen is not None and a == "any":  # (a class asked for holds none of them)
        all_ids = _table_rows.row_ids(run_, args, len(dataset), label=False)
        print(_table_rows.unseen_line(dataset, unseen, all_ids, "left out"))
    given = "its own class" if a == "any" else a
    to = "B], for each class B" if len(targets) > 1 else _run.label_name(run_, targets[0]) + "]"
    print(f"  each row: z = E_q[z | x, {given}], then the decoder mean E[x | z, {to}")
    print(f"  {_transfer_check.NOT_MEASURED}: torchlvm has no classifier of a table's classes")
    blocks = ", one block of rows per target class" if len(targets) > 1 else ""
    column = _table_rows.label_header(run_, list(schema.columns))
    where = ", row and line: where in the file" if names else ""
    finer = f", {FINER} decimals finer than each column of the file" if schema.forms else ""
    print(f"wrote {out} (the decoder means in the data's units{finer}; column {column!r}: the "
          f"target class{blocks}; 'original ...': the row as read{where})")  # fmt: skip
    return 0


def _originals(run_: Any, schema: Any, x: Any, y: Any, out: Any, dataset: Any):
    """The columns ``original <feature>``... and ``original <label>`` (in the training file's
    order) of a table's transfer, and each transferred row's cells of them: the row as read (its
    class, its values in the user's units, written as the training file writes them)."""
    dialect = _table_rows.file_dialect(_table_rows.dialect_of(run_, dataset), out, 2)
    cells = _table_rows.user_cells(run_, schema.to_user_units(x.double()), dialect, y)
    label = _table_rows.label_header(run_, list(schema.columns))
    at = _table_rows._label_at(run_, len(schema.columns))  # (the label where the file has it)
    names = _table_rows._in_file_order([*schema.columns, label], at)
    names = [f"original {name}" for name in names]
    return names, [_table_rows._in_file_order(row, at) for row in cells]


def _counted(n: int, noun: str) -> str:
    """``n`` with its ``noun``: '1 row', '4 rows'."""
    return f"{n} {noun}" + ("s" if n != 1 else "")


def _fewer(run_: Any, dataset: Any, found: int, asked: int, source: str) -> str:
    """Why fewer rows than ``--n`` were transferred, and where more are: the whole file."""
    where = "the file holds" if dataset.split == "all" else f"the {dataset.split} split holds"
    more = (
        ""
        if dataset.split == "all"
        else (f"; --data {run_.data.get('name')} transfers every row of the class in the file")
    )
    return f"{where} {_counted(found, 'row')} of {source} (asked --n {asked}){more}"


def _require_labels(run_: Any) -> None:
    """Refuse a run without class labels, naming a CVAE of labels to train; where its data are
    a ``.npy`` (which holds no labels), the step that gives them labels first: the offered
    'train cvae --condition label' on such a file was refused for want of labels and pointed
    back to the mask CVAE the user had (userM #19)."""
    from torchlvm import run as _run
    from torchlvm.data.save_lines import labels_fix
    from torchlvm.errors import ConfigError

    name = str(run_.data.get("name") or "")
    fix = labels_fix(name) if name.lower().endswith(".npy") else None
    if run_.num_classes is not None or fix is None:
        _run.require_class_conditions(run_, "transfer", _tables.train_command(run_, "cvae"))
        return
    holds = (
        f"the one in {run_.folder} is conditioned on {run_.condition_text}"
        if run_.model_type == "cvae"
        else f"{run_.folder} holds {_run.model_phrase(run_.model_type)}"
    )
    raise ConfigError(
        f"transfer needs a CVAE conditioned on class labels; {holds}, and {name} holds no class "
        f"labels to train one on: {fix} to 'torchlvm train cvae --condition label --out RUN'"
    )
