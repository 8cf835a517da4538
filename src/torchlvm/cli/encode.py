"""Encode a dataset with a trained model: the posterior means E_q[z | x] as an (N, K) .npy file.

For a VAE the mean of q(z | x); for a CVAE the mean of q(z | x, c) under x's own condition; for
PPCA the exact posterior mean; for an autoencoder its code f(x). The data are taken as the model
sees them (under the run's binarization protocol). When the data have labels they are written
next to the latents as FILE.labels.npy (same row order): a file's text labels as their names
(a fixed-width unicode array, read by np.load without pickle), else the class numbers. Both
files are written atomically.
--out FILE.csv (or .tsv, with tabs) writes a table instead: columns z1..zK and the class (under
the run's --label-column name, else `label`), led, for a run trained on a table, by row and line
(where the row is in the file) and the columns the run dropped (an ID). Without --split, the
test split of the data is encoded, or every row of a file given with --data (read, for a run
trained on a table, with the run's columns and standardization). A CVAE has no q(z | x, c) for a
class it was not trained on: such rows of a file get empty codes (NaN in a .npy), their class
kept, and one line names their lines.

Examples:
  torchlvm encode runs/vae --data digits --out latents.npy
  torchlvm encode runs/vae --split train
  torchlvm encode runs/table-vae --data new.csv --out codes.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

from torchlvm.cli import _tables, _types
from torchlvm.cli._accelerator import open_run

HELP = "write the posterior means of a dataset's examples (N, K) to a .npy file"


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser, whole_file=True)
    _types.output_options(parser, "DIR/latents.npy")


def run(args: argparse.Namespace) -> int:

    from torchlvm import run as _run
    from torchlvm.cli._table_rows import (
        dialect_of,
        label_header,
        read_rows_of,
        row_ids,
        unseen_line,
        unseen_rows,
        writes_rows,
        written_classes,
    )

    run_ = open_run(args)
    default = run_.folder / "latents.npy"
    csv = writes_rows(args.out)
    out = _codes_file(args, default, csv)
    dataset = read_rows_of(run_, args, streamed=True, unseen="append")  # (--mmap: streamed)
    unseen = unseen_rows(run_, dataset)  # (rows of a class the CVAE lacks: written empty)
    unseen = _untrained_rows(run_, dataset, unseen)  # (and of a class it has no train row of)
    labels_out = None
    if dataset.y is not None and not csv:
        labels_out = _run.output_file(
            _run.labels_file(out), out, suffix=".npy", overwrite=args.overwrite
        )
    means, gaps = _means(run_, dataset, unseen, args.seed)  # (N, K), rows with empty cells
    arrays = {out: means.numpy()}
    if labels_out is not None:
        arrays[labels_out] = _labels(run_, dataset, unseen)
    if csv:  # (the run's label column's name, where it has one; the rows' place in the file)
        table, dialect = run_.data.get("table") is not None, dialect_of(run_, dataset)
        label = label_header(run_, []) if table else "label"
        names = dataset.class_names  # (a table's codes as its file writes them, 01: userU #1)
        names = written_classes(run_, names, dialect) if table and names is not None else names
        _tables.write_latents_csv(
            out, arrays[out], dataset.y, names, dialect,
            label=label, ids=row_ids(run_, args, len(means), label=False),
        )  # fmt: skip
    else:
        _run.write_npy(arrays)
    what = "codes f(x)" if run_.model_type == "ae" else "posterior means E_q[z | x]"
    if run_.model_type == "cvae":
        what = "posterior means E_q[z | x, c] (c: each example's own condition)"
    elif run_.model_type == "ppca":
        what = "exact posterior means E[z | x]"
    if run_.model_type == "vae" and gaps:  # (a VAE trained --allow-missing: x̃)
        what += f" (x̃ for the {gaps:,} with empty cells: {_filled_as(run_)})"
    rows = _rows_noun(run_)
    print(_encoded(dataset, len(means), rows, f"{_run.protocol_note(dataset, args.seed)}",
                   run_.describe()))  # fmt: skip
    print(f"wrote {out}: {what}, shape {tuple(means.shape)} ({rows}, latent dimensions)")
    if labels_out is not None:
        print(f"wrote {labels_out}: class labels, shape {tuple(dataset.y.shape)}")
    if unseen is not None:
        ids = row_ids(run_, args, len(means), label=False)
        done = "written with empty cells" if csv else "given NaN codes"
        print(unseen_line(dataset, unseen, ids, done))
    return 0


def _untrained_rows(run_, dataset, unseen):
    """``unseen`` (rows of a class the run lacks, or None) with the rows of a class that no row
    of the run's train split has (:func:`~torchlvm.run.labels.untrained_rows`): the model
    learned nothing of it, and encode wrote their codes without a word, where sample refuses
    such a class and score leaves its rows empty (userU #9, readH H1)."""
    from torchlvm.run.labels import untrained_rows

    rows = untrained_rows(run_, dataset.y)
    if rows is None:
        return unseen
    return rows if unseen is None else rows | unseen


def _filled_as(run_) -> str:
    """What an empty cell is in x̃, the row a VAE trained --allow-missing encodes: 0 in the
    model's units, which is the column's train mean where the run standardizes its columns
    (review14 R14: an unstandardized run's proline went in as 0, not its mean of ~750)."""
    table = run_.data.get("table") or {}
    if isinstance(table.get("standardize"), dict):
        return "those set to the train mean"
    return "those set to 0, as in training"


def _rows_noun(run_) -> str:
    from torchlvm.evaluation.records import example_noun

    return example_noun(run_.data.get("table") is not None) + "s"


def _encoded(dataset, count: int, rows: str, protocol: str, model: str) -> str:
    """``encoded the 177 rows read from FILE (...) with MODEL``: the count read, not "every
    row" (a row with an empty label cell is left out of a file, and a warning says so)."""
    part = (
        f"the {count:,} {rows} read from"
        if dataset.split == "all"
        else (f"the {dataset.split} split of")
    )
    return f"encoded {part} {dataset.name} ({protocol}) with {model}"


def _means(run_, dataset, unseen, seed: int):
    """The posterior means ``(N, K)`` of the rows of ``dataset``, NaN for the rows ``unseen``
    (N,) (None: none) of a class the CVAE lacks, which it has no q(z | x, c) for; and how many
    rows had empty cells."""
    from dataclasses import replace

    import torch

    from torchlvm.cli._tables import posterior
    from torchlvm.run.split import model_batches

    seen = (
        dataset if unseen is None else replace(dataset, x=dataset.x[~unseen], y=dataset.y[~unseen])
    )
    with torch.no_grad():
        parts, gaps = [], 0  # (a streamed file: one batch at a time)
        for x, _, c in model_batches(seen, run_, seed):
            parts.append(posterior(run_, x, c).mean.cpu())
            gaps += int(x.isnan().any(-1).sum())
        means = torch.cat(parts)  # (n, K)
    if unseen is None:
        return means, gaps
    every = means.new_full((len(dataset), means.shape[1]), float("nan"))  # (N, K)
    every[~unseen] = means
    return every, gaps


def _labels(run_, dataset, unseen):
    """The labels of ``dataset``'s rows as a written array (``labels_array``), a class the run
    lacks (rows ``unseen``) written as the file names it: its text, or its whole-number code."""
    import numpy as np

    from torchlvm.run.labels import labels_array

    if unseen is None:
        return labels_array(run_, dataset.y)
    if dataset.class_names is None:  # 0..C-1 codes: a later file's other codes as they are
        return dataset.y.numpy()
    known = labels_array(run_, dataset.y.clamp(max=run_.num_classes - 1))
    named = np.asarray(dataset.class_names)[dataset.y.numpy()]
    return named.astype(np.int64) if known.dtype.kind in "iu" else named


def _codes_file(args: argparse.Namespace, default: Path, csv: bool) -> Path:
    """Where the codes go: a file of rows (.csv, .tsv, or that gzipped), else a .npy array."""
    from torchlvm import run as _run
    from torchlvm.cli._table_rows import ROW_SUFFIXES, rows_file

    if csv:
        return rows_file(args.out, default, ROW_SUFFIXES, overwrite=args.overwrite, reads=args.data)
    return _run.output_file(
        args.out, default, suffix=".npy", overwrite=args.overwrite, reads=args.data
    )
