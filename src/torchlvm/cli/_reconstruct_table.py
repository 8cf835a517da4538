"""``torchlvm reconstruct RUN --out FILE.csv`` for a run trained on a table: each row's decoder
mean at its posterior mean in the user's units (:func:`reconstruct_table`), with the RMSE of
each column over its standard deviation, worst first (the worst :data:`SHOWN` of many), and in
its own units. The file is written by
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
    unseen_line,
    write_rows,
)
from torchlvm.data.csv_form import FINER
from torchlvm.run.labels import untrained_rows


def reconstruct_table(args: argparse.Namespace, run_: Any) -> int:
    """``torchlvm reconstruct RUN --out FILE.csv``: the decoder mean at the posterior mean (an
    autoencoder's code) of every row (of ``--data``, else the run's test split), in the user's
    units and columns."""
    import torch

    from torchlvm import run as _run
    from torchlvm.cli._tables import posterior

    schema = schema_of(run_)
    suffixes = row_suffixes(run_, args.data)
    default = run_.folder / f"reconstructions{suffixes[0]}"
    out = rows_file(args.out, default, suffixes, overwrite=args.overwrite, reads=args.data)
    dataset = read_rows_of(run_, args)
    x = dataset.x.to(run_.dtype)
    model = run_.model
    c = _run.conditions(run_, x, dataset.y, dataset)  # a CVAE's: each row's own class

    def reconstruct(xb, cb):  # (a row with empty cells: from its observed ones)
        return model.decode(posterior(run_, xb, cb).mean, cb).mean

    with torch.no_grad():
        recon = _run.in_batches(reconstruct, x, c, device=run_.device)
    user = schema.to_user_units(recon.double())
    ids = row_ids(run_, args, len(x))
    names = dataset.columns or schema.columns  # (as the file writes them: userJ #19)
    write_rows(out, run_, names, user, read=dataset, ids=ids, means=True)
    # (a row with empty cells is compared on its observed ones)
    given = schema.to_user_units(x.double())
    per_feature = (given - user).pow(2).nanmean(0).sqrt()  # (D,) in each column's units
    sd, against = _spread(schema, given)
    observed = " on the observed cells" if bool(torch.isnan(x).any()) else ""
    print(
        f"reconstructed {len(x)} row{'s' * (len(x) != 1)} of {dataset.name} with {run_.describe()}"
    )
    said, shown = _worst(schema.columns, per_feature.tolist(), sd.tolist())
    print(
        f"  RMSE per feature{observed} over {against} (input vs decoder mean at "
        f"{run_.encoding}; 0 is exact, about 1 no better than the column's mean), {said}:"
    )
    for name, ratio, value in shown:
        print(f"    {name}: {_ratio_text(ratio, value)} (RMSE {value:.4g} in its units)")
    finer = f", {FINER} decimals finer than each column of the file" if schema.forms else ""
    print(f"wrote {out} (the decoder means{finer})")
    if (untrained := untrained_rows(run_, dataset.y)) is not None:  # (readH H1: unsaid)
        print(
            unseen_line(dataset, untrained, ids, "reconstructed all the same, in the file and RMSE")
        )
    return 0


def _spread(schema: Any, given: Any) -> tuple[Any, str]:
    """Each column's standard deviation ``(D,)`` that its RMSE is measured against, so that
    columns in different units (areas in hundreds, smoothness in hundredths) rank and average
    as one quantity (userG #14): the run's train split's (its recorded standardization), else
    that of the rows ``given`` ``(N, D)`` in the user's units (NaN cells left out), and the
    words saying which."""
    import torch

    if schema.standardizer is not None:
        sd = torch.tensor(schema.standardizer.scale, dtype=torch.float64)
        return sd, "the column's standard deviation in the run's train split"
    spread = (given - given.nanmean(0)).pow(2).nanmean(0).sqrt()  # (D,), ddof=0 as recorded
    return spread, "the column's standard deviation in these rows"


def _ratio_text(ratio: float, rmse: float) -> str:
    """A column's RMSE over its standard deviation as printed, or why it has none."""
    if ratio == ratio:
        return f"{ratio:.3g}"
    return "no cell observed" if rmse != rmse else "its spread is 0"


SHOWN = 20
"""Columns whose RMSE reconstruct prints one a line; of more, the worst (an image's 784)."""


def _worst(
    names: Any, rmse: list[float], sd: list[float]
) -> tuple[str, list[tuple[str, float, float]]]:
    """Each column's name, RMSE over its standard deviation ``sd`` (NaN where that is 0 or
    unknown) and RMSE, worst first (those of no spread last), the :data:`SHOWN` worst of
    more; and the words saying which, with the mean ratio over the columns that have one:
    ``the 20 worst of 64 columns, mean over all 64: 0.21``."""
    ratio = [r / s if s > 0 and r == r else float("nan") for r, s in zip(rmse, sd, strict=True)]
    rows = sorted(
        zip(names, ratio, rmse, strict=True), key=lambda p: -p[1] if p[1] == p[1] else 1.0
    )
    finite = [v for v in ratio if v == v]
    d = len(rows)
    said = "worst first" if d <= SHOWN else f"the {SHOWN} worst of {d} columns"
    if finite and d > 1:
        over = f"all {d}" if len(finite) == d else f"the {len(finite)} of {d} with a spread"
        said += f", mean over {over}: {sum(finite) / len(finite):.3g}"
    return said, rows[:SHOWN]
