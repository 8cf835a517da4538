"""Rows a command writes for a run trained on a table: ``sample`` (:mod:`._sample_table`),
``reconstruct`` (:mod:`._reconstruct_table`) and ``transfer`` (:mod:`torchlvm.cli.transfer`)
with ``--out FILE.csv``, and which of its file's rows each row read is (:func:`row_ids`).

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
    means: bool = False,
) -> None:
    """Write ``rows`` ``(N, D)``, already in the user's units, under ``columns`` at the model's
    precision, with a column of class names when ``labels`` (N class indices) is given (named
    as the run's label column, else ``label``), in the dialect of the dataset ``read`` (the
    rows' source), else of the run's file; ``ids`` (:func:`row_ids`: names, each row's cells)
    lead each row, ``after`` (names, each row's cells) end it; ``means``: the rows are a
    model's means (reconstructions), written :data:`~torchlvm.data.csv_form.FINER` decimals
    finer than their columns, as ``impute`` writes its means (at a 0/1 column's step a mean is
    0 or 1, and the file's error from the input is not the one printed: userJ #8)."""
    from torchlvm.data.csv_write import write_csv

    header = list(columns)
    if labels is not None:
        header.append(label_header(run_, list(columns)))
    at = _label_at(run_, len(columns)) if labels is not None else None
    header = [*ids[0], *_in_file_order(header, at), *after[0]]
    dialect = file_dialect(dialect_of(run_, read), out, len(header))
    cells = user_cells(run_, rows, dialect, labels, means=means)
    for k, row in enumerate(cells):
        row[:] = _in_file_order(row, at)
        row[:0] = ids[1][k] if ids[0] else []
        row += after[1][k] if after[0] else []
    write_csv(out, header, cells, dialect=dialect)


def _label_at(run_: Any, width: int) -> int | None:
    """Where the run's training file holds its label column among its ``width`` feature
    columns (:attr:`~torchlvm.data.table_schema.TableSchema.label_at`), or None: last."""
    at = schema_of(run_).label_at
    return at if at is not None and 0 <= at < width else None


def _in_file_order(cells: list[str], at: int | None) -> list[str]:
    """A row's feature ``cells`` and its label last, with the label moved to ``at``."""
    return cells if at is None else [*cells[:at], cells[-1], *cells[at:-1]]


def user_cells(
    run_: Any, rows: Any, dialect: Any, labels: Any = None, *, means: bool = False
) -> list[list[str]]:
    """``rows`` ``(N, D)`` in the user's units as cell texts, each column as the training file
    writes it (``means``: :data:`~torchlvm.data.csv_form.FINER` decimals finer), else at the
    model's precision, with each row's class name where ``labels``."""
    from torchlvm import run as _run
    from torchlvm.data.csv_form import FINER
    from torchlvm.data.csv_form import number_cells as cells_in_forms

    schema = schema_of(run_)
    forms = schema.forms  # each column as the training file writes it
    forms = tuple(form.finer(FINER) for form in forms) if means else forms
    cells = cells_in_forms(rows.double().tolist(), forms, dialect, single=single_precision(run_))
    if labels is not None:
        names = [_run.label_name(run_, k) for k in range(run_.num_classes or 0)]
        names = written_classes(run_, names, dialect)
        for row, label in zip(cells, labels, strict=True):
            row.append(names[int(label)] if int(label) < len(names) else str(int(label)))
    return cells


def written_classes(run_: Any, names: Any, dialect: Any) -> list[str]:
    """The class ``names`` of ``run_`` as its training file writes them where they are numbers
    (its labels' :class:`~torchlvm.data.csv_form.NumberForm`, in ``dialect``): a class 2 the
    file writes ``2.0``, a code 1 it writes ``01`` (userU #1); else as they are."""
    from torchlvm.data.csv_cells import is_number

    form = schema_of(run_).label_form
    names = [str(name) for name in names]
    if form is None or not all(is_number(name) for name in names):
        return names
    form = form.in_dialect(dialect)
    return [form.text(float(name)) for name in names]


def label_header(run_: Any, columns: list[str]) -> str:
    """The name of the class column in rows written for ``run_``: its label column's name when
    the user named it (``--label-column target``), so that the rows read back into the run."""
    from torchlvm.data.columns import is_default, position_name

    schema = schema_of(run_)
    named = schema.label_column
    if isinstance(named, int) and named >= 0 and is_default(schema.columns):
        named = position_name(named)  # a file without a header: its place, "column 14"
    return named if isinstance(named, str) and named not in [*columns, *schema.columns] else "label"


def read_rows_of(
    run_: Any, args: argparse.Namespace, *, streamed: bool = False, unseen: str = "refuse"
) -> Any:
    """The rows a command reads: ``--data`` (a file whole, unless ``--split`` names a part), else
    the run's ``--split`` (default test), with the run's columns and classes; ``streamed``: a
    run on a file it streams (``--mmap``) keeps them streamed
    (:func:`~torchlvm.run.split.load_split`), for a caller that reads them a batch at a time;
    ``unseen="append"``: rows of a class the run lacks are kept, numbered after its classes
    (:func:`unseen_rows`), for a caller that leaves them out and says so."""
    from torchlvm import run as _run
    from torchlvm.cli._tables import load_rows, table_schema
    from torchlvm.cli._types import split_of

    na_values = getattr(args, "na_values", None)
    if streamed and table_schema(run_, args.data, args.encoding, na_values) is None:  # no table
        return _run.load_split(
            run_, args.data, split_of(args), data_dir=args.data_dir, streamed=True, command="encode"
        )
    return load_rows(
        run_, args.data, split_of(args), args.data_dir, args.encoding, unseen, na_values
    )


def unseen_rows(run_: Any, dataset: Any) -> Any:
    """Which rows of ``dataset`` (N,) bool are of a class a class-conditional run was not
    trained on (read with ``unseen="append"``: numbered after the run's classes), or None where
    none are or the model takes no class."""
    if run_.num_classes is None or dataset.y is None:
        return None
    unseen = dataset.y >= run_.num_classes
    return unseen if bool(unseen.any()) else None


def unseen_line(
    dataset: Any, unseen: Any, ids: tuple[list[str], list[list[str]]], done: str
) -> str:
    """The one line naming the rows ``unseen`` (N,) bool of classes the run lacks, by their
    lines in the file where ``ids`` (:func:`row_ids`) has them, else their rows, and what
    ``done`` to them."""
    index = unseen.nonzero().flatten().tolist()
    names, cells = ids
    where = "line" if "line" in names else "row"
    at = [cells[i][names.index("line")] if names else str(i + 1) for i in index]
    shown = ", ".join(at[:10]) + (", ..." if len(at) > 10 else "")
    names_of = dataset.class_names  # (None: 0..C-1 codes, which name themselves)
    classes = sorted(
        {names_of[int(dataset.y[i])] if names_of else str(int(dataset.y[i])) for i in index}
    )
    listed = ", ".join(repr(name) for name in classes)
    one = len(index) == 1
    rows, where = ("1 row", where) if one else (f"{len(index)} rows", f"{where}s")
    return (
        f"  {rows} of a class the run was not trained on ({listed}; {where} {shown}) "
        f"{'is' if one else 'are'} {done}: a CVAE conditions on a class it learned; train it on "
        "rows of those classes too"
    )


def left_out_columns(
    schema: Any, data: str, *, label: bool = True
) -> tuple[list[str], list[list[str]], Any]:
    """The columns of the table file ``data`` the model does not read: those the run dropped or
    took labels from (not the latter unless ``label``) and, in a file with a header, those that
    are none of the run's columns (an ID the file has of its own), in file order; each row's
    cells of them as written, and each row's file line ``(N,)``: one parse of the file, which
    keeps the cells of those columns only (:attr:`~torchlvm.data.csv_table.CSVTable.carried`;
    every cell kept took 951 against 704 MB on 200,000 rows of 12 numbers and an ID)."""
    names, cells, table = _left_out(schema, data, label)
    return names, cells, table.lines


def _left_out(schema: Any, data: str, label: bool) -> tuple[list[str], list[list[str]], Any]:
    """:func:`left_out_columns`' names and cells, and the file's
    :class:`~torchlvm.data.csv_table.CSVTable` (every row, the other columns' cells kept)."""
    from pathlib import Path

    from torchlvm.data.columns import find_name
    from torchlvm.data.csv_table import read_csv

    labels = [] if schema.label_column is None or not label else [schema.label_column]
    schema.check_table_file(data)
    table = read_csv(
        Path(data), allow_empty=True, features=schema.columns, keep_cells="others",
        **schema.named_columns(),
    )  # fmt: skip
    header, others = table.header, table.carried or {}
    found = set() if header is None else set(_not_the_runs(header, schema))
    for s in [*schema.drop_columns, *labels]:
        j = find_name(s, header) if isinstance(s, str) and header is not None else None
        if j is not None:
            found.add(j)
        elif isinstance(s, int) and s in others:
            found.add(s)
    columns = sorted(found)
    if not columns:
        return [], [], table
    names = [header[j] if header is not None else _name_of(j, labels, schema) for j in columns]
    cells = [others[j] for j in columns]  # each column's cells, every row's
    return names, [list(row) for row in zip(*cells, strict=True)], table


def _not_the_runs(header: list[str], schema: Any) -> list[int]:
    """The columns of a file's ``header`` the run never had: none of its features, dropped
    columns or label column (by name; a label column not carried stays out)."""
    from torchlvm.data.columns import NameIndex, is_default

    if is_default(schema.columns):  # a run on a file without names: read by position
        return []
    known = [*schema.columns, *(c for c in schema.drop_columns if isinstance(c, str))]
    if isinstance(schema.label_column, str):
        known.append(schema.label_column)
    index = NameIndex(known)
    return [j for j, name in enumerate(header) if index.find(name) is None]


def _name_of(j: int, labels: list[Any], schema: Any) -> str:
    """A left-out column of a file with no header: by its place, as the run names its
    features (``column 14``: userK #16, score wrote a column '--label-column 13'); by the flag
    that left it out where a run recorded before features were named by place has a feature of
    that name (its features were ``column 1``.. after a dropped first column)."""
    from torchlvm.data.columns import position_name

    name = position_name(j)
    if name not in schema.columns:
        return name
    return f"--label-column {j}" if j in labels else f"--drop-columns {j}"


def row_ids(
    run_: Any, args: argparse.Namespace, count: int, *, label: bool = True
) -> tuple[list[str], list[list[str]]]:
    """Which of its file's rows each of the ``count`` rows :func:`read_rows_of` gave is: the
    columns ``row`` (1-based among the file's rows), ``line`` (in the file) and the run's
    left-out columns (:func:`left_out_columns`; its label column where ``label``), and each
    row's cells of them; none for a run not on a table, or where the split read is not
    ``count`` rows (no ids rather than wrong ones)."""
    from torchlvm.cli._tables import is_file, own_file, stratified, table_schema
    from torchlvm.cli._types import split_of
    from torchlvm.run.split import follow_moved_file

    split = split_of(args)
    own = not is_file(args.data)
    if not own:  # the run's own file given with --data: a split of it is the run's
        run_ = follow_moved_file(run_, args.data)
        own = split != "all" and own_file(run_, args.data)
    reading = (args.encoding, getattr(args, "na_values", None))
    schema = schema_of(run_) if own else table_schema(run_, args.data, *reading)
    if run_.data.get("table") is None or schema is None:
        return [], []
    data = run_.data["name"] if own else args.data
    names, cells, table = _left_out(schema, data, label)
    lines = table.lines
    # the run's own file is read as for training: a row of no label or no value is left out
    labelled = _trained_rows(schema, table) if own else _labelled_rows(schema, table)
    seed = int(run_.data.get("seed", 0)) if own else 0  # (another file: seed 0's split)
    by_class = split != "all" and stratified(run_)  # (a run of a label column: split by class)
    for rows in (labelled,) if by_class else (labelled, list(range(len(lines)))):
        index = rows  # the rows of a label, as a read leaves out the others; else every row
        if split != "all":  # the split of the rows load_split / load_rows take
            index = _part(run_, schema, table, data, rows, split, seed)
        if len(index) == count:
            break
    else:
        return [], []
    ids = [[str(i + 1), str(lines[i]), *(cells[i] if names else [])] for i in index]
    return ["row", "line", *names], ids


def split_lines(run_: Any, schema: Any, data: str, split: str) -> Any:
    """The file lines ``(n,)`` of the rows in the ``split`` of the run's own table file
    ``data`` (read by ``schema``), as the run split them: the rows it trained on (those of a
    label and a value), by its seed, and by class where it split so.

    Raises:
        DataError: for a file edited since the run was trained on it, whose split would hold
            other rows (:func:`~torchlvm.data.fingerprint.check_unchanged`).
    """
    from torchlvm.data.fingerprint import check_unchanged
    from torchlvm.run.record import record_file_time

    if (touched := check_unchanged(run_.data, run_.folder)) is not None:
        record_file_time(run_.folder, touched)  # (hashed once: only its time had changed)
    _, _, table = _left_out(schema, data, True)  # (the parse score's left_out_columns made)
    rows = _trained_rows(schema, table)
    return table.lines[_part(run_, schema, table, data, rows, split, int(run_.data["seed"]))]


def _part(run_: Any, schema: Any, table: Any, data: str, rows: list, split: str, seed: int) -> list:
    """Which of ``rows`` (0-based rows of ``table``, in file order) are the ``split`` part of a
    split of them by ``seed``, by class where the run splits so
    (:func:`~torchlvm.data.splits.split_indices`)."""
    from torchlvm.cli._tables import stratified
    from torchlvm.data.files import FRACTIONS
    from torchlvm.data.splits import PART_NAMES, split_indices

    labels = _classes(schema, table, rows, data) if stratified(run_) else None
    index = split_indices(len(rows), FRACTIONS, seed, labels)[PART_NAMES.index(split)]
    return [rows[i] for i in index]


def _trained_rows(schema: Any, table: Any) -> list[int]:
    """The rows (0-based) of ``table`` (the run's own file) that the run was trained on: those
    with a label (:func:`_labelled_rows`) and a value (a run made --allow-missing leaves out a
    row of no value)."""
    import numpy as np

    empty = np.isnan(table.values).all(1)  # (N,)
    return [i for i in _labelled_rows(schema, table) if not empty[i]]


def _classes(schema: Any, table: Any, rows: list[int], data: str) -> Any:
    """The class of each of ``rows`` (0-based, each with a label) of ``table`` (every row of a
    file, the other columns' cells kept) as a read of the file codes them, by which a run's
    split by class orders them (:func:`~torchlvm.data.splits.split_indices`); None where the
    file has no label column. A written-back read codes no labels where a cell is empty."""
    from pathlib import Path

    from torchlvm.data.csv_table import _labels

    j = _label_index(schema, table)
    if j is None or not rows:
        return None
    cells = [table.dialect.number(table.carried[j][i]) for i in rows]
    return _labels(Path(data), table.header, table.lines[rows], cells, j, named=False)[0]


def _label_index(schema: Any, table: Any) -> int | None:
    """The file index of the run's label column among ``table``'s carried columns; None where
    the run has none or the file lacks it."""
    from torchlvm.data.columns import find_name

    named, header = schema.label_column, table.header
    j = find_name(named, header) if isinstance(named, str) and header else named
    return None if j is None or isinstance(j, str) or j not in (table.carried or {}) else j


def _labelled_rows(schema: Any, table: Any) -> list[int]:
    """The rows (0-based) of ``table`` (every row of a file, the other columns' cells kept)
    whose label cell is not empty, as reading the file for a model keeps them; every row where
    the file has no label column."""
    j = _label_index(schema, table)
    if j is None:
        return list(range(len(table.lines)))
    return [i for i, cell in enumerate(table.carried[j]) if cell.strip()]
