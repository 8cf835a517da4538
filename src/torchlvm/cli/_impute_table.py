"""``torchlvm impute RUN --data FILE.csv --out FILLED.csv``: fill every missing cell of a table
(a .tsv as well, written back as a .tsv).

The file is read as the run's table (its columns, matched by name; its standardization), each
missing cell is filled in the model's units and written back in the user's:

- PPCA: the exact conditional mean E[x_m | x_o];
- VAE: the importance-weighted conditional mean over ``--samples`` draws from the defensive
  mixture ½ q(z | x̃) + ½ q widened 5 times (Mattei & Frellsen 2019, eq. 11; Hesterberg 1995).

A row with no observed cell is filled from the model's marginal (the conditional given nothing):
PPCA's mean μ, a VAE's E[x] under its prior; the output says how many rows got it.

``--draws N`` writes N multiple imputations instead (exact conditional draws for PPCA,
sampling-importance-resampling for a VAE), stacked, with a first column ``draw`` (1..N).

Each filled value is written as its column writes its numbers (:mod:`torchlvm.data.csv_form`):
its thousands separator, decimal mark and exponents, and its decimals with :data:`FINER` more
(``29.75`` in a column of integers, ``0.15`` in a 0/1 column: a mean is no value of the column,
and rounding it to one would bias what is computed from the file), quoted as its column's
numbers are or where it must be (:mod:`torchlvm.data.csv_rewrite`); the output names each
filled column's rounding.

Every other cell, observed values and dropped or label columns alike, is copied from the file
as written (bit for bit); the header, the column order, the separator and the decimal point
(semicolons and decimal commas: :mod:`torchlvm.data.csv_dialect`) are the file's, and so is
every other byte: line ends, quoting, blank lines (:mod:`torchlvm.data.csv_rewrite`).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import torch

from torchlvm.data.csv_form import FINER


def wants_table(args: argparse.Namespace) -> bool:
    """Whether the command line asks to fill a table (``--data`` is a table file, .csv or .tsv,
    either gzipped; or ``--out`` is a .csv or .tsv)."""
    from torchlvm.cli._tables import is_table

    out = str(args.out or "").lower()
    return is_table(str(args.data or "")) or out.endswith((".csv", ".tsv"))


IMAGE_OPTIONS = {"mask": "--mask", "iterations": "--iterations", "n": "--n", "eval_n": "--eval-n"}
"""impute's options for images, which a table's filling does not read."""


def _refuse_image_options(args: argparse.Namespace) -> None:
    """Refuse an image option given to fill a table: a table's missing cells are its empty
    ones (a --mask would be silently ignored, userC)."""
    from torchlvm.errors import ConfigError

    given = [flag for dest, flag in IMAGE_OPTIONS.items() if getattr(args, dest, None) is not None]
    if given:
        are = "is an option" if len(given) == 1 else "are options"
        raise ConfigError(
            f"{' and '.join(given)} {are} for images; a table's missing cells are its empty "
            "ones, which impute fills: leave out " + " and ".join(given)
        )


def _out_suffix(data: str) -> str:
    """The filled file's extension: a table is written back as it came, so a .tsv as .tsv
    (gzipped where ``--out`` ends in ``.gz``, whether the file read was or not)."""
    from torchlvm.data.registry import file_suffix

    return ".tsv" if file_suffix(data).startswith(".tsv") else ".csv"


def _file_columns(schema: Any, table: Any) -> list[int]:
    """The file column of each of the model's features, in the model's order."""
    from torchlvm.data.columns import NameIndex, is_default

    named = table.header is not None and not is_default(schema.columns)  # (else by position)
    if not named or schema.columns == tuple(table.header[j] for j in table.features):
        return list(table.features)
    header = NameIndex(table.header)
    return [header.find(name) for name in schema.columns]


def _forms(table: Any, columns: list[int], recorded: tuple) -> tuple[list[Any], list[bool]]:
    """How each of the model's features' file column writes its numbers
    (:func:`~torchlvm.data.csv_form.number_form`), :data:`FINER` decimals finer, in the
    model's order; a column of no value in the file as the run's training file wrote it
    (``recorded``, the run's forms, if any: userJ, a bmi column left empty was filled with 17
    digits), in this file's decimal mark; and which columns took the recorded form."""
    from dataclasses import replace

    from torchlvm.data.csv_cells import is_missing
    from torchlvm.data.csv_form import number_form

    forms, theirs = [], []
    for k, j in enumerate(columns):
        cells = [row[j] for row in table.cells]
        empty = bool(recorded) and all(is_missing(c) for c in cells)
        form = replace(recorded[k], decimal=table.dialect.decimal) if empty else None
        forms.append((form or number_form(cells, table.dialect)).finer(FINER))
        theirs.append(empty)
    return forms, theirs


def _filled_cells(
    columns: list[int], forms: list[Any], x: torch.Tensor, values: torch.Tensor, *, single: bool
) -> dict[tuple[int, int], str]:
    """The value of each missing feature cell, by (data row, file column), written as its
    column writes its numbers (``forms``), at float32's precision at most when ``single``
    (the model's)."""
    rows, features = torch.nonzero(torch.isnan(x), as_tuple=True)
    values = values[rows, features].double().tolist()
    cells = zip(rows.tolist(), features.tolist(), values, strict=True)
    return {(i, columns[k]): forms[k].text(v, single=single) for i, k, v in cells}


def _write(out: Path, table: Any, copies: list[dict[tuple[int, int], str]]) -> None:
    """Write the text ``table`` was read from to ``out`` with the cells of ``copies`` (one, or
    one per multiple imputation, stacked under a column ``draw``) replaced and every other byte
    as it is (:mod:`torchlvm.data.csv_rewrite`); where the scan of its text does not find the
    rows read, the cells read, in the file's dialect."""
    from torchlvm.data.csv_rewrite import rewritten
    from torchlvm.data.csv_write import write_csv, write_encoded

    dialect = table.dialect
    done = rewritten(table.text, dialect, table.header, table.cells, copies)
    if done is not None:
        write_encoded(out, done, dialect.encoding)
        return
    header, rows = table.header, []
    for d, replace in enumerate(copies, start=1):
        for i, cells in enumerate(table.cells):
            row = [replace.get((i, j), cell) for j, cell in enumerate(cells)]
            rows.append(row if len(copies) == 1 else [str(d), *row])
    if len(copies) > 1 and header is not None:
        header = ["draw", *header]
    write_csv(out, header, rows, dialect=dialect)


PER_SAMPLE = 4 * 4
"""Bytes a VAE's importance sample takes at least per value of a row: its decoder's mean and
scale and the weights' terms in float32 (measured peaks are higher: a floor, not a price)."""


def check_sizes(args: argparse.Namespace, run_: Any, x: torch.Tensor, *, written: int) -> None:
    """Refuse ``--draws`` or ``--samples`` whose arrays cannot fit in memory here, before any
    is drawn (userJ: ``--draws 10000000`` ended in torch's allocator's traceback, 82 GB asked):
    the ``(draws, N, D)`` imputations in float64 with the file written once per draw
    (``written`` bytes of text each), and a VAE's samples of one batch of 256 rows.

    Raises:
        ConfigError: naming the size asked, the memory available and the option to lower.
    """
    from torchlvm._memory import check_fits

    n, d = x.shape
    if args.draws:
        what = (
            f"--draws {args.draws} imputations of {n} rows of {d} values (float64), and the "
            f"file written once for each,"
        )
        need = args.draws * (n * d * 8 + written)
        check_fits(need, what, f"pass a smaller --draws ({_most(need, args.draws)} fit)")
    if run_.model_type == "vae":
        batch = min(n, 256)
        what = f"--samples {args.samples} importance samples of {batch} rows of {d} values"
        need = args.samples * batch * d * PER_SAMPLE
        check_fits(need, what, f"pass a smaller --samples ({_most(need, args.samples)} fit)")


def _most(need: int, asked: int) -> str:
    """How many of ``asked`` fit in the memory available here, at most, where ``asked`` need
    ``need`` bytes: ``'at most 12,000'``."""
    from torchlvm._memory import available_bytes

    have = available_bytes() or 0
    return f"at most {max(0, asked * have // max(1, need)):,}"


def _fill(run_: Any, x: torch.Tensor, args: argparse.Namespace) -> torch.Tensor:
    """Imputed ``(N, D)`` (or ``(draws, N, D)``) in the model's units, 256 rows at a time on the
    model's device, gathered on the CPU; warned of where a VAE's fills rest on a few importance
    draws, as the Python estimator warns (readD D11: the command said nothing of a median
    ESS of 9.6 of 100 that VAEEstimator.impute warned of)."""
    from torchlvm.inference.imputation import ImputationWarning, few_draws, impute_rows

    generator = run_.generator(args.seed)
    ess: list[torch.Tensor] = []
    parts = []
    for xb in x.split(256):
        parts.append(impute_rows(run_.model, xb, draws=args.draws, num_samples=args.samples,
                                 generator=generator, on_ess=ess.append))  # fmt: skip
    holes = torch.isnan(x).any(-1)  # (N,): the rows filled, whose weights count
    weights = torch.cat(ess).cpu() if ess else None  # (N,) where every row was weighed
    if weights is not None and len(weights) == len(holes):
        weights = weights[holes]
    if weights is not None and (few := few_draws(weights, args.samples)) is not None:
        trained = (run_.data.get("options") or {}).get("allow_missing")
        miwae = "" if trained else ", or train the VAE with --allow-missing to learn from such rows"
        warnings.warn(f"{few}; raise --samples{miwae}", ImputationWarning, stacklevel=2)
    return torch.cat(parts, dim=-2)


def filling(args: argparse.Namespace, device: torch.device) -> tuple[argparse.Namespace, Any]:
    """``args`` with ``--samples``' default (1000) and the run that fills a table's or an
    array's missing cells: PPCA or a VAE.

    Raises:
        ConfigError: for ``--samples`` below 1, or a run of another model (naming the fit
            command that makes a PPCA of its data, and the VAE's).
    """
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int
    from torchlvm.cli import _tables
    from torchlvm.errors import ConfigError

    samples = 1000 if args.samples is None else check_positive_int("--samples", args.samples)
    args = argparse.Namespace(**{**vars(args), "samples": samples})
    run_ = _tables.check_reading(_run.load_run(args.run_dir, device=device), args)
    if run_.model_type not in ("ppca", "vae"):
        raise ConfigError(
            f"impute fills tables with PPCA or a VAE; {args.run_dir} holds "
            f"{_run.model_phrase(run_.model_type)}: fit PPCA on its table with "
            f"'{_tables.fit_ppca_command(run_)}', and impute with RUN (or train a VAE on it: "
            f"'{_tables.train_vae_command(run_)}')"
        )
    return args, run_


def impute_table(args: argparse.Namespace, device: torch.device) -> int:
    """Run the table imputation (see the module docstring) with the model on ``device``."""
    from torchlvm import run as _run
    from torchlvm.cli import _table_rows, _tables
    from torchlvm.data.csv_cells import marking_missing
    from torchlvm.data.csv_table import read_csv
    from torchlvm.errors import ConfigError
    from torchlvm.models.base import check_feature_names

    _refuse_image_options(args)
    if args.data is None:
        raise ConfigError(f"pass --data FILE.csv, the table to fill into {args.out}")
    if args.out is None:
        raise ConfigError(
            f"pass --out FILLED.csv: impute writes the filled table to a new file, never over "
            f"{args.data}"
        )
    args, run_ = filling(args, device)
    suffix = _out_suffix(args.data)
    out = _run.output_file(
        args.out, args.out, suffix=(suffix, ".gz"), overwrite=args.overwrite, reads=args.data
    )
    if out.suffix.lower() == ".gz" and not out.name.lower().endswith(suffix + ".gz"):
        raise ConfigError(f"--out must name a {suffix} or {suffix}.gz file, got {out}")
    schema = _tables.table_schema(
        run_, args.data, args.encoding, args.na_values
    ) or _table_rows.schema_of(run_)
    # the cells as written, to copy (the label and ID where the file has them); first, so that
    # the rows below come from this parse (the same options)
    schema.check_table_file(args.data)
    table = read_csv(
        Path(args.data),
        allow_empty=True,
        features=schema.columns,
        keep_cells=True,
        **schema.named_columns(),
    )
    if run_.data.get("table") is None:  # (a table run's schema reads its columns by name)
        check_feature_names(run_.model, table.header, str(args.data), run_.folder)
    x = schema.load(args.data, allow_empty=True).x.to(run_.dtype)  # model units, NaN
    check_sizes(args, run_, x, written=len(table.text or ""))
    user = schema.to_user_units(_fill(run_, x, args))
    columns = _file_columns(schema, table)
    with marking_missing(schema.na_values):  # (the run's own markers: '-' is no number's form)
        forms, theirs = _forms(table, columns, schema.forms)
        stacks = [user] if args.draws == 0 else list(user)
        single = _table_rows.single_precision(run_)
        copies = [_filled_cells(columns, forms, x, values, single=single) for values in stacks]
        _write(out, table, copies)
    _report(args, run_, x, out, _written_as(schema.columns, forms, x, theirs))
    if (outside := _outside_trained(run_, x, user, forms)) is not None:
        print(outside)
    return 0


def _outside_trained(run_: Any, x: torch.Tensor, user: torch.Tensor, forms: Any) -> str | None:
    """The line counting the filled cells (as written, in ``forms``) that lie outside their
    column's range in the run's training data (:func:`~._table_outside.outside_line`, as
    ``sample`` counts its draws): a Gaussian model's fills are not bounded, and impute wrote a
    negative proline and a magnesium of 400 without a word (userP #5)."""
    from torchlvm.cli._table_outside import outside_line

    fills = torch.where(torch.isnan(x), user.double(), torch.nan)  # (..., N, D): filled cells
    return outside_line(run_, fills, "filled values", forms)


def _written_as(names: Any, forms: list[Any], x: torch.Tensor, theirs: list[bool]) -> str:
    """How the filled columns' values are rounded, for the output: ``units whole numbers;
    revenue 2 decimals; ...`` (the first four such columns, then how many more; those written
    as computed left out); a column of no value in the file (``theirs``) says whose form it
    took: ``bmi up to 3 decimals (no value in the file: as the run's training file writes it)``."""
    filled = torch.isnan(x).any(0).tolist()
    rows = zip(names, forms, filled, theirs, strict=True)
    their = " (no value in the file: as the run's training file writes it)"
    said = [f"{n} {f.describe()}{their * t}" for n, f, k, t in rows if k]
    said = [line for line in said if " as computed" not in line]
    more = f", and {len(said) - 4} more columns" if len(said) > 4 else ""
    return "; ".join(said[:4]) + more


def _report(args: argparse.Namespace, run_: Any, x: torch.Tensor, out: Any, forms: str) -> None:
    from torchlvm.inference.miwae import DEFENSIVE

    missing = torch.isnan(x)
    how = {
        "ppca": "exact conditional mean E[x_m | x_o] under PPCA",
        "vae": f"importance-weighted conditional mean, {args.samples} samples from {DEFENSIVE} "
        "(Mattei & Frellsen 2019)",
    }[run_.model_type]
    if args.draws:
        how = f"{args.draws} multiple imputations: " + (
            "draws from PPCA's exact p(x_m | x_o)"
            if run_.model_type == "ppca"
            else f"sampling-importance-resampling over {args.samples} samples"
        )
    cells, rows = int(missing.sum()), int(missing.any(1).sum())
    print(
        f"filled {cells} missing cell{'s' * (cells != 1)} in {rows} of {len(x)} "
        f"row{'s' * (len(x) != 1)} of {args.data} with {run_.describe()}"
    )
    print(f"  method: {how}; values in the file's units")
    if forms:
        print(
            f"  written in each column's form, {FINER} decimals finer (a mean rounded to the "
            f"column's own step would bias means and shares): {forms}"
        )
    empty = int(missing.all(1).sum())
    if empty:
        marginal = {"ppca": "its mean μ", "vae": "E[x] under its prior, importance-sampled"}
        what = "draws from p(x)" if args.draws else marginal[run_.model_type]
        rows = "1 row had" if empty == 1 else f"{empty} rows had"
        print(f"  {rows} no observed cell: filled from the model's marginal ({what})")
    print("  every other cell copied from the file as written")
    print(f"wrote {out}" + (f" ({args.draws} copies, column 'draw')" if args.draws else ""))
