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
trained on a table, with the run's columns and standardization).

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
    import torch

    from torchlvm import run as _run
    from torchlvm.cli._table_rows import (
        dialect_of,
        label_header,
        read_rows_of,
        row_ids,
        writes_rows,
    )
    from torchlvm.run.loaded import labels_array, model_batches

    run_ = open_run(args)
    default = run_.folder / "latents.npy"
    csv = writes_rows(args.out)
    out = _codes_file(args, default, csv)
    dataset = read_rows_of(run_, args, streamed=True)  # (a --mmap run's: a batch at a time)
    labels_out = None
    if dataset.y is not None and not csv:
        labels_out = _run.output_file(
            _run.labels_file(out), out, suffix=".npy", overwrite=args.overwrite
        )
    model = run_.model
    with torch.no_grad():
        batches = model_batches(dataset, run_, args.seed)
        means = torch.cat([model.encode(x, c).mean.cpu() for x, _, c in batches])  # (N, K)
    arrays = {out: means.numpy()}
    if labels_out is not None:
        arrays[labels_out] = labels_array(run_, dataset.y)
    if csv:  # (the run's label column's name, where it has one; the rows' place in the file)
        label = label_header(run_, []) if run_.data.get("table") is not None else "label"
        _tables.write_latents_csv(
            out, arrays[out], dataset.y, dataset.class_names, dialect_of(run_, dataset),
            label=label, ids=row_ids(run_, args, len(means), label=False),
        )  # fmt: skip
    else:
        _run.write_npy(arrays)
    what = "codes f(x)" if run_.model_type == "ae" else "posterior means E_q[z | x]"
    if run_.model_type == "cvae":
        what = "posterior means E_q[z | x, c] (c: each example's own condition)"
    elif run_.model_type == "ppca":
        what = "exact posterior means E[z | x]"
    part = "every row of" if dataset.split == "all" else f"the {dataset.split} split of"
    print(
        f"encoded {part} {dataset.name} ({_run.protocol_note(dataset, args.seed)}) "
        f"with {run_.describe()}"
    )
    from torchlvm.evaluation.records import example_noun

    rows = example_noun(run_.data.get("table") is not None) + "s"
    print(f"wrote {out}: {what}, shape {tuple(means.shape)} ({rows}, latent dimensions)")
    if labels_out is not None:
        print(f"wrote {labels_out}: class labels, shape {tuple(dataset.y.shape)}")
    return 0


def _codes_file(args: argparse.Namespace, default: Path, csv: bool) -> Path:
    """Where the codes go: a file of rows (.csv, .tsv, or that gzipped), else a .npy array."""
    from torchlvm import run as _run
    from torchlvm.cli._table_rows import ROW_SUFFIXES, rows_file

    if csv:
        return rows_file(args.out, default, ROW_SUFFIXES, overwrite=args.overwrite, reads=args.data)
    return _run.output_file(
        args.out, default, suffix=".npy", overwrite=args.overwrite, reads=args.data
    )
