"""Rows a command writes for a run trained on a table: ``sample``, ``reconstruct`` and
``transfer`` (:mod:`torchlvm.cli.transfer`) with ``--out FILE.csv``.

Every file holds the model's outputs in the user's units (the run's standardization undone), under
the run's column names, each column written as the training file writes it (whole numbers, its
decimals: :func:`~torchlvm.data.csv_form.number_cells`), else at the model's precision,
with a column naming the class where rows have one (a class-conditional CVAE's): the run's
``--label-column`` by its name, so that the file reads back into the run, else ``label``; with
the separator and decimal point of the file the rows were read from, else of the run's training
file (:func:`dialect_of`: semicolons and decimal commas for a European Excel's file).
:func:`write_rows` is the one writer; ``impute`` copies the user's file cell for cell and formats
its filled cells with the same precision (:func:`single_precision`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def schema_of(run_: Any) -> Any:
    """The run's :class:`~torchlvm.data.table_schema.TableSchema`, or one naming the columns
    ``column 1``.. for a run trained on an array (no standardization)."""
    from torchlvm.data.columns import default_names
    from torchlvm.data.table_schema import TableSchema

    schema = TableSchema.from_dict(run_.data.get("table"))
    return schema or TableSchema(default_names(run_.input_dim))


def single_precision(run_: Any) -> bool:
    """Whether the run's model computes in float32 (its values are written at that precision:
    further digits are rounding noise)."""
    import torch

    return run_.dtype == torch.float32


def dialect_of(run_: Any, dataset: Any = None) -> Any:
    """The :class:`~torchlvm.data.csv_dialect.Dialect` of the file ``dataset`` was read from,
    else of the run's training file (comma for a run recorded before dialects were)."""
    return getattr(dataset, "dialect", None) or schema_of(run_).dialect


ROW_SUFFIXES = (".csv", ".tsv")
"""What a file of rows may be named: a .tsv is written with tabs, a .csv as the run's file
separates cells (:func:`file_dialect`)."""


def writes_rows(out: Path | None) -> bool:
    """Whether ``--out`` names a file of rows (.csv or .tsv, or that gzipped), not a figure or
    an array."""
    return out is not None and Path(out).name.lower().removesuffix(".gz").endswith(ROW_SUFFIXES)


def row_suffixes(run_: Any, data: str | None = None) -> tuple[str, ...]:
    """:data:`ROW_SUFFIXES` with the one of the rows' source first (``data`` where it is a
    file, else the run's own file): a run on a .tsv writes a .tsv by default, named first in
    a refusal, as ``impute`` keeps a .tsv."""
    from torchlvm.cli._tables import is_file
    from torchlvm.data.registry import file_suffix

    source = data if is_file(data) else str(run_.data.get("name") or "")
    tab = file_suffix(str(source)).startswith(".tsv")
    return tuple(sorted(ROW_SUFFIXES, key=lambda s: s != (".tsv" if tab else ".csv")))


def rows_file(
    path: Any, default: Path, suffixes: tuple[str, ...], *, overwrite: bool, reads: Any = None
) -> Path:
    """The file of rows a command writes (``run.output_file``'s checks): named by one of
    ``suffixes`` (:func:`row_suffixes`), or that gzipped (``.csv.gz``, written gzipped, as
    ``impute`` writes one): one rule for every command that writes rows (review9: score took
    ``.csv.gz``, sample, encode, reconstruct and transfer refused it)."""
    from torchlvm import run as _run
    from torchlvm.errors import ConfigError

    forms = (*suffixes, *(f"{s}.gz" for s in suffixes))
    named = None if path is None else Path(path)
    if named is not None and not named.is_dir() and str(path) != "-":
        if not named.name.lower().endswith(forms):
            listed = ", ".join(forms[:-1]) + f" or {forms[-1]}"
            raise ConfigError(f"--out must name a {listed} file, got {named}")
    return _run.output_file(
        path, default, suffix=(*suffixes, ".gz"), overwrite=overwrite, reads=reads
    )


def file_dialect(dialect: Any, out: Path, width: int) -> Any:
    """How a file of rows ``out`` of ``width`` cells a row is written in the rows' ``dialect``:
    a .tsv with tabs (its decimal mark, encoding and line end kept), a .csv as
    :meth:`~torchlvm.data.csv_dialect.Dialect.for_csv` (a .tsv's rows with commas)."""
    from dataclasses import replace

    if Path(out).name.lower().removesuffix(".gz").endswith(".tsv"):  # (a .tsv.gz too)
        return replace(dialect, delimiter="\t")
    return dialect.for_csv(width)


def number_cells(values: Any, dialect: Any, *, single: bool) -> list[list[str]]:
    """``values`` ``(N, D)`` as cell texts in ``dialect`` (``3,14`` with decimal commas), at
    float32's precision when ``single``."""
    from torchlvm.data.csv_write import number_text

    return [[dialect.text(number_text(v, single=single)) for v in r] for r in values.tolist()]


def write_rows(
    out: Path,
    run_: Any,
    columns: Any,
    rows: Any,
    labels: Any = None,
    *,
    read: Any = None,
    ids: tuple[list[str], list[list[str]]] = ([], []),
    after: tuple[list[str], list[list[str]]] = ([], []),
) -> None:
    """Write ``rows`` ``(N, D)``, already in the user's units, under ``columns`` at the model's
    precision, with a column of class names when ``labels`` (N class indices) is given (named
    as the run's label column, else ``label``), in the dialect of the dataset ``read`` (the
    rows' source), else of the run's file; ``ids`` (:func:`row_ids`: names, each row's cells)
    lead each row, ``after`` (names, each row's cells) end it."""
    from torchlvm.data.csv_write import write_csv

    header = [*ids[0], *columns]
    if labels is not None:
        header.append(label_header(run_, list(columns)))
    header += after[0]
    dialect = file_dialect(dialect_of(run_, read), out, len(header))
    cells = user_cells(run_, rows, dialect, labels)
    for k, row in enumerate(cells):
        row[:0] = ids[1][k] if ids[0] else []
        row += after[1][k] if after[0] else []
    write_csv(out, header, cells, dialect=dialect)


def user_cells(run_: Any, rows: Any, dialect: Any, labels: Any = None) -> list[list[str]]:
    """``rows`` ``(N, D)`` in the user's units as cell texts, each column as the training file
    writes it, else at the model's precision, with each row's class name where ``labels``."""
    from torchlvm import run as _run
    from torchlvm.data.csv_form import number_cells as cells_in_forms

    forms = schema_of(run_).forms  # each column as the training file writes it
    cells = cells_in_forms(rows.double().tolist(), forms, dialect, single=single_precision(run_))
    if labels is not None:
        for row, label in zip(cells, labels, strict=True):
            row.append(_run.label_name(run_, int(label)))
    return cells


def label_header(run_: Any, columns: list[str]) -> str:
    """The name of the class column in rows written for ``run_``: its label column's name when
    the user named it (``--label-column target``), so that the rows read back into the run."""
    named = schema_of(run_).label_column
    return named if isinstance(named, str) and named not in columns else "label"


def read_rows_of(run_: Any, args: argparse.Namespace, *, streamed: bool = False) -> Any:
    """The rows a command reads: ``--data`` (a file whole, unless ``--split`` names a part), else
    the run's ``--split`` (default test), with the run's columns and classes; ``streamed``: a
    run on a file it streams (``--mmap``) keeps them streamed
    (:func:`~torchlvm.run.loaded.load_split`), for a caller that reads them a batch at a time."""
    from torchlvm import run as _run
    from torchlvm.cli._tables import load_rows, table_schema
    from torchlvm.cli._types import split_of

    if streamed and table_schema(run_, args.data, args.encoding) is None:  # no table's columns
        return _run.load_split(
            run_, args.data, split_of(args), data_dir=args.data_dir, streamed=True, command="encode"
        )
    return load_rows(run_, args.data, split_of(args), args.data_dir, args.encoding)


def left_out_columns(
    schema: Any, data: str, *, label: bool = True
) -> tuple[list[str], list[list[str]], Any]:
    """The columns the run dropped or took labels from (not the latter unless ``label``) that
    the table file ``data`` has (an ID the user dropped to train), in file order, each row's
    cells of them as written, and each row's file line ``(N,)``: one parse of the file (its
    cells kept only where such a column is there)."""
    from pathlib import Path

    from torchlvm.data.csv_table import read_csv

    labels = [] if schema.label_column is None or not label else [schema.label_column]
    left_out = [*schema.drop_columns, *labels]
    table = read_csv(
        Path(data), allow_empty=True, features=schema.columns, keep_cells=bool(left_out),
        **schema.named_columns(),
    )  # fmt: skip
    if not left_out:
        return [], [], table.lines
    header, width = table.header, len(table.cells[0]) if table.cells else 0
    found = set()
    for s in left_out:
        if isinstance(s, str) and header is not None and s in header:
            found.add(header.index(s))
        elif isinstance(s, int) and 0 <= s < width and s not in table.features:
            found.add(s)
    columns = sorted(found)
    names = [header[j] if header is not None else _flag_of(j, labels) for j in columns]
    return names, [[row[j] for j in columns] for row in table.cells], table.lines


def _flag_of(j: int, labels: list[Any]) -> str:
    """A left-out column of a file with no header, named by the flag that left it out (the
    features are ``column 1``.., so a file position would read as one of them)."""
    return f"--label-column {j}" if j in labels else f"--drop-columns {j}"


def row_ids(
    run_: Any, args: argparse.Namespace, count: int, *, label: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Which of its file's rows each of the ``count`` rows :func:`read_rows_of` gave is: the
    columns ``row`` (1-based among the file's rows), ``line`` (in the file) and the run's
    left-out columns (:func:`left_out_columns`; its label column where ``label``), and each
    row's cells of them; none for a run not on a table, or where the split read is not
    ``count`` rows (no ids rather than wrong ones)."""
    from torchlvm.cli._tables import is_file, table_schema
    from torchlvm.cli._types import split_of
    from torchlvm.data.files import FRACTIONS
    from torchlvm.data.splits import PART_NAMES, split_indices

    own = not is_file(args.data)
    schema = schema_of(run_) if own else table_schema(run_, args.data, args.encoding)
    if run_.data.get("table") is None or schema is None:
        return [], []
    data = run_.data["name"] if own else args.data
    names, cells, lines = left_out_columns(schema, data, label=label)
    split, seed = split_of(args), int(run_.data.get("seed", 0)) if own else 0
    for rows in (list(range(len(lines))), _labelled_rows(schema, names, cells)):
        index = rows  # every row, else the rows of a label (as a read leaves out the others)
        if split != "all":  # the split of the rows load_split / load_rows take
            index = [rows[i] for i in split_indices(len(rows), FRACTIONS, seed, None)[
                PART_NAMES.index(split)]]  # fmt: skip
        if len(index) == count:
            break
    else:
        return [], []
    ids = [[str(i + 1), str(lines[i]), *(cells[i] if names else [])] for i in index]
    return ["row", "line", *names], ids


def _labelled_rows(schema: Any, names: list[str], cells: list[list[str]]) -> list[int]:
    """The rows (0-based) whose label cell is not empty, as reading the file for a model keeps
    them; every row where the label column's cells are not among ``names``."""
    flag = f"--label-column {schema.label_column}"
    j = next((k for k, n in enumerate(names) if n in (schema.label_column, flag)), None)
    return (
        list(range(len(cells))) if j is None else [i for i, r in enumerate(cells) if r[j].strip()]
    )


def sample_table(
    args: argparse.Namespace, run_: Any, n: int, labels: list[int] | None, source: str | None
) -> int:
    """``torchlvm sample RUN --out FILE.csv``: n rows x ~ p(x) (z ~ p(z), then x ~ p(x | z)) in
    the user's units, with the run's column names, or for a class-conditional CVAE n rows per
    class of ``labels`` (z ~ p(z | c), then x ~ p(x | z, c)) with the run's label column, or
    for an autoencoder (no prior) its decoder outputs at codes drawn from ``source``, as for
    images; ``--npy`` also saves them as an array (and a CVAE's classes beside it)."""
    import torch

    from torchlvm import run as _run
    from torchlvm.cli.sample import _npy_file, _npy_note
    from torchlvm.run.loaded import labels_array

    schema = schema_of(run_)
    suffixes = row_suffixes(run_)
    default = run_.folder / f"samples{suffixes[0]}"
    out = rows_file(args.out, default, suffixes, overwrite=args.overwrite)
    npy = _npy_file(args, labels is not None)  # (and its labels file, checked before work)
    drawn, classes, what = _draws(run_, n, labels, source, run_.generator(args.seed))
    rows = schema.to_user_units(drawn.cpu()).double()  # (n, D)
    write_rows(out, run_, schema.columns, rows, classes)
    if npy is not None:
        arrays = {npy: rows.numpy()}
        if classes is not None:
            arrays[_run.labels_file(npy)] = labels_array(run_, torch.tensor(classes))
        _run.write_npy(arrays)
    rows_drawn = f"{len(rows)} row" + "s" * (len(rows) != 1)
    print(f"{rows_drawn} drawn from {run_.describe()}: {what}, in the data's units")
    note = "" if npy is None else _npy_note(npy, rows.numpy(), classes is not None)
    print(f"wrote {out}{note}")
    if (outside := _outside_train(run_, schema, rows)) is not None:
        print(outside)
    return 0


def _outside_train(run_: Any, schema: Any, rows: Any) -> str | None:
    """A line counting the values of ``rows`` ``(n, D)`` (user units) outside the range their
    column has in the run's train split (a Gaussian per column knows no bounds: ages of -11 on
    a file of 18..79), naming the columns; None where none are, or where the run's own file
    cannot be read now (the rows are written either way)."""
    from torchlvm import run as _run
    from torchlvm.errors import TorchLVMError

    try:
        train = schema.to_user_units(_run.load_split(run_, None, "train").x.double())
    except (TorchLVMError, OSError):
        return None
    low = _as_written(train.nan_to_num(float("inf")).min(0).values, schema.forms, bounds=True)
    high = _as_written(train.nan_to_num(-float("inf")).max(0).values, schema.forms, bounds=True)
    rows = _as_written(rows, schema.forms)  # (as the file holds them: -0.03 written 0.0 is 0)
    below, above = (rows < low).sum(0), (rows > high).sum(0)
    total = int(below.sum() + above.sum())
    if not total:
        return None
    parts = []
    for j in (below + above).argsort(descending=True)[:3].tolist():
        if int(below[j] + above[j]):
            say = [f"{int(below[j])} below {float(low[j]):.4g}"] * bool(below[j])
            say += [f"{int(above[j])} above {float(high[j]):.4g}"] * bool(above[j])
            parts.append(f"{schema.columns[j]}: {', '.join(say)}")
    return (
        f"  {total:,} of {rows.numel():,} values fall outside the range their column has in the "
        f"train split ({'; '.join(parts)}): a Gaussian per column knows no bounds"
    )


def _as_written(values: Any, forms: tuple, *, bounds: bool = False) -> Any:
    """``values`` (``(..., D)`` float64, user units) rounded as each column writes them (its
    form's decimals): a draw is compared as the file holds it. ``bounds``: ``values`` are the
    train split's ``(D,)`` bounds, which come back through float32 standardization (a count's 0
    as -3.2e-07), so a column without decimals takes 6 significant digits (D values formatted,
    never the rows)."""
    import torch

    out = values.clone()
    if bounds:
        out = torch.tensor([float(f"{v:.6g}") for v in values.tolist()], dtype=torch.float64)
    for j, form in enumerate(forms):
        if form.places is not None and not form.exponent:
            out[..., j] = torch.round(values[..., j], decimals=form.places)
    return out + 0.0  # (-0.0 said as 0)


def _draws(run_: Any, n: int, labels: list[int] | None, source: str | None, generator: Any):
    """``n`` rows x ~ p(x), ``n`` per class of ``labels`` from a CVAE (x ~ p(x | c)), or ``n``
    decoder outputs of an autoencoder; their classes (or None) and what they are."""
    import torch

    from torchlvm.inference.imputation import draw_rows

    if run_.model_type == "ae":
        from torchlvm.cli.sample import autoencoder_samples

        samples, what = autoencoder_samples(run_, n, source, generator)
        return samples, None, what
    if labels is None:
        return draw_rows(run_.model, n, generator), None, "z ~ p(z), then x ~ p(x | z)"
    from torchlvm.models.priors import draw

    classes = torch.tensor(labels).repeat_interleave(n)
    c = run_.model.condition_from_labels(classes)
    with torch.no_grad():  # as a VAE's rows (draw_rows): x ~ p(x | z, c), not the mean
        z = draw(run_.model.prior(c), 1, generator)[0]  # (n·C, K)
        rows = draw(run_.model.decode(z, c), 1, generator)[0]  # (n·C, D)
    return rows, classes.tolist(), "z ~ p(z | c), then x ~ p(x | z, c), per class"


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
