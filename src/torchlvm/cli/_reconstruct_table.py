"""``torchlvm reconstruct RUN --out FILE.csv`` for a run trained on a table: each row's decoder
mean at its posterior mean in the user's units (:func:`reconstruct_table`), with the RMSE of
each column (the largest :data:`SHOWN` of many). The file is written by
:func:`torchlvm.cli._table_rows.write_rows`."""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli._table_rows import (
    read_rows_of,
    row_ids,
    row_suffixes,
    rows_file,
    schema_of,
    write_rows,
)


def reconstruct_table(args: argparse.Namespace, run_: Any) -> int:
    """``torchlvm reconstruct RUN --out FILE.csv``: the decoder mean at the posterior mean (an
    autoencoder's code) of every row (of ``--data``, else the run's test split), in the user's
    units and columns."""
    import torch

    from torchlvm import run as _run

    schema = schema_of(run_)
    suffixes = row_suffixes(run_, args.data)
    default = run_.folder / f"reconstructions{suffixes[0]}"
    out = rows_file(args.out, default, suffixes, overwrite=args.overwrite, reads=args.data)
    dataset = read_rows_of(run_, args)
    x = dataset.x.to(run_.dtype)
    model = run_.model
    c = _run.conditions(run_, x, dataset.y, dataset)  # a CVAE's: each row's own class

    def reconstruct(xb, cb):
        return model.decode(model.encode(xb, cb).mean, cb).mean

    with torch.no_grad():
        recon = _run.in_batches(reconstruct, x, c, device=run_.device)
    user = schema.to_user_units(recon.double())
    write_rows(out, run_, schema.columns, user, read=dataset, ids=row_ids(run_, args, len(x)))
    # (a PPCA reconstructs a row with empty cells from its observed ones, compared on those)
    per_feature = (schema.to_user_units(x.double()) - user).pow(2).nanmean(0).sqrt()
    observed = " on the observed cells" if bool(torch.isnan(x).any()) else ""
    print(f"reconstructed {len(x)} rows of {dataset.name} with {run_.describe()}")
    shown = _largest(schema.columns, per_feature.tolist())
    print(
        f"  RMSE per feature{observed}, in the data's units (input vs decoder mean at "
        f"{run_.encoding}){shown[0]}:"
    )
    for name, value in shown[1]:
        print(f"    {name}: {value:.4g}")
    print(f"wrote {out}")
    return 0


SHOWN = 20
"""Columns whose RMSE reconstruct prints one a line; of more, the largest (an image's 784)."""


def _largest(names: Any, values: list[float]) -> tuple[str, list[tuple[str, float]]]:
    """Every column's RMSE in order, or of more than :data:`SHOWN` the largest, and the words
    saying which: ``, the 20 largest of 64 columns (mean over all: 0.21)``."""
    pairs = list(zip(names, values, strict=True))
    if len(pairs) <= SHOWN:
        return "", pairs
    largest = sorted(pairs, key=lambda p: -p[1] if p[1] == p[1] else 0.0)[:SHOWN]
    mean = sum(v for v in values if v == v) / max(1, sum(v == v for v in values))
    return f", the {SHOWN} largest of {len(pairs)} columns (mean over all: {mean:.4g})", largest
