"""The rows ``torchlvm score`` reads: a file (or a dataset by name) in the model's units, with
each CSV row's file line and the cells of the columns the run left out of its features, which
the scores file carries so that a row is found by the user's own ID.

A row with no value in any column is kept (it is written with no score: its log p(x_o) is 0
under every model). A table's rows are standardized as the run's were, with the Jacobian back to
the file's units; a binarizing run's images take the run's 0/1 view (:func:`drawn`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ScoreInput:
    """What :func:`read_input` gives :mod:`torchlvm.cli.score`.

    Attributes:
        x: ``(N, D)`` rows in the model's units (NaN: missing), or a streamed file's rows.
        lines: each row's file line (a CSV's), or None.
        jacobian: ``(N,)`` log-Jacobian from the model's units to the file's, or None.
        units: what −log p(x) is a density of, as printed.
        read: the dataset read from the file (its dialect), or None for a dataset by name.
        carried: the names of the columns carried beside the scores (the run's dropped and
            label columns, where the file has them, and the file's columns the run never had)
            and each row's cells of them, as written
            (:func:`~torchlvm.cli._table_rows.left_out_columns`); of data with labels of their
            own (a dataset, a labelled .npz), their ``class`` (:func:`label_cells`).
        classes: a CVAE's ``(N,)`` class of each row (−1: none the run knows), or None
            (:func:`row_classes`). class_source: where they come from.
        numbers: each row's place among the file's rows (1-based) where a split of a file
            is read, or None (the rows are the file's, in order: row ``i`` is ``i + 1``).
    """

    x: Any
    lines: list[int] | None
    jacobian: Any
    units: str
    read: Any
    carried: tuple[list[str], list[list[str]]] = ([], [])
    classes: Any = None
    class_source: str | None = None
    numbers: list[int] | None = None


def read_input(
    run_: Any,
    data: str,
    seed: int,
    encoding: str | None,
    na_values: Any = None,
    split: str | None = None,
) -> ScoreInput:
    """The rows of ``data`` as :class:`ScoreInput` (read once: the cells carried come from
    the same parse), with, for a CVAE of class labels, each row's class where the data has
    them (:func:`row_classes`). ``split``: of a dataset given by name or of a table run's own
    file, the split read, as the run split it (None: every example).

    Raises:
        DataError: for a dataset name given to a table run, or a file whose rows have another
            width than the model's input.
        ConfigError: for a ``split`` of a file other than a table run's own.
    """
    read, dataset = _read(run_, data, seed, encoding, na_values, split)
    if not read.carried[0] and getattr(dataset, "y", None) is not None:
        read = replace(read, carried=(["class"], label_cells(dataset)))
    if run_.num_classes is None:
        return read
    classes, source = row_classes(run_, read, dataset)
    return replace(read, classes=classes, class_source=source)


def label_cells(dataset: Any) -> list[list[str]]:
    """Each row's label as the data name it (``'7'``, ``'Ankle boot'``; a whole-number code as
    ``3``), one cell a row: the ``class`` column a scores file carries where the labels are the
    data's own, not a table's column, which is carried as written (a CVAE's file said
    ``rank 1: row 674 (class 7)`` and wrote no class: review12 #13)."""
    from torchlvm.data.csv_cells import code_name

    names = dataset.class_names
    return [[names[k] if names is not None else code_name(k)] for k in dataset.y.tolist()]


def row_classes(run_: Any, read: ScoreInput, dataset: Any) -> tuple[Any, str | None]:
    """Each row's class ``(N,)`` int64 in the run's label order, −1 for a row of no class the
    run was trained on (an empty label cell, another class), and where they come from (the
    label column's name, or ``"its labels"`` of a dataset): of a table, from its label column's
    cells as written, each naming a class as ``--condition`` does
    (:func:`~torchlvm.data.columns.class_index`: ``2.0`` for ``2``, ``Rot`` for ``rot``, either
    Unicode form); of other data, from its labels where they name the run's classes. None,
    None where the data has no labels, or none of a class the run knows."""
    import torch

    from torchlvm.cli._tables import table_schema
    from torchlvm.data.columns import class_index
    from torchlvm.run.labels import as_run_names, say_loose_labels

    names = run_.class_names or [str(j) for j in range(run_.num_classes)]
    schema = table_schema(run_, None, None)
    if schema is not None:  # (its label column's cells as written: every row, in file order)
        column, (carried, cells) = _label_column(schema, read.carried[0]), read.carried
        if column is None:
            return None, None
        j = carried.index(column)

        def index(cell: str) -> int:  # (the rule --condition follows: 'Rot', NFD, '2.0')
            found = class_index(names, cell.strip())
            return -1 if found is None else found

        classes = torch.tensor([index(row[j]) for row in cells], dtype=torch.int64)
        known = zip(cells, classes.tolist(), strict=True)
        written = dict.fromkeys(row[j] for row, k in known if k >= 0)
        named = [names[index(cell)] for cell in written]  # (userU #8: as encode says them)
        say_loose_labels(str(getattr(dataset, "name", column)), list(written), named)
        return (classes, column) if bool((classes >= 0).any()) else (None, None)
    if getattr(dataset, "y", None) is None:
        return None, None
    mapped = as_run_names(dataset, names).with_classes(names, unseen="append")
    classes = torch.where(mapped.y < len(names), mapped.y, -1)
    return (classes, "its labels") if bool((classes >= 0).any()) else (None, None)


def _label_column(schema: Any, carried: list[str]) -> str | None:
    """The name under which the run's label column (of its table ``schema``) is carried
    beside the scores, or None where the file lacks it (or the run has none)."""
    from torchlvm.data.columns import find_name, is_default

    label = schema.label_column
    for name in [label, f"--label-column {label}"] if label is not None else []:
        found = find_name(str(name), carried)  # (a header written in the other Unicode form)
        if found is not None:
            return carried[found]
    if isinstance(label, int) and label >= 0 and is_default(schema.columns):
        # a run on a file without a header, given one with: the file is read by position, and
        # its dropped and label columns are carried in file order under the file's names; the
        # CVAE scored the mixture, saying the file had no label column (readA #12)
        by_position = sorted({label, *(c for c in schema.drop_columns if isinstance(c, int))})
        if len(by_position) == len(carried):
            return carried[by_position.index(label)]
    return None


def _read(
    run_: Any, data: str, seed: int, encoding: str | None, na_values: Any, split: str | None
) -> tuple[ScoreInput, Any]:
    """:func:`read_input`'s rows, and the dataset read (its labels), before the classes."""
    import torch

    from torchlvm import run as _run
    from torchlvm.cli._tables import is_file, own_file, table_schema
    from torchlvm.data.files import read_rows
    from torchlvm.data.memmap import load_memmap
    from torchlvm.data.other_size import check_fits, other_size
    from torchlvm.data.value_range import check_units
    from torchlvm.errors import DataError
    from torchlvm.models.base import check_feature_names
    from torchlvm.run.split import follow_moved_file

    schema = table_schema(run_, data, encoding, na_values)
    part = split if split not in (None, "all") and is_file(data) else None
    if part is not None and schema is not None:  # (its own file moved: recorded, as for arrays)
        run_ = follow_moved_file(run_, data)
    if part is not None and (schema is None or not own_file(run_, data)):
        raise _split_of_a_file(run_, data, part, table=schema is not None)
    if schema is not None and not is_file(data):
        raise DataError(
            f"{run_.folder} was trained on the table {run_.data.get('name')}; score reads a "
            f"file with its columns ({', '.join(schema.columns)}), not {data}"
        )
    carried: tuple[list[str], list[list[str]]] = ([], [])
    numbers = None  # (every row of the file, in order)
    if schema is not None:
        dataset, lines, carried, numbers = _table_rows(run_, schema, data, part)
    elif streamed(run_, data):  # read a block at a time as it is scored
        dataset, lines = load_memmap(data, "all", allow_missing=True), None
    elif is_file(data):
        dataset, lines = read_rows(data, allow_missing=True, allow_empty=True)
    else:  # a dataset by name: every example, as the model sees it
        dataset = _run.load_split(run_, data, split or "all")
        of = "probability" if dataset.binarize != "none" else "density"  # of 0/1 pixels: a mass
        seen = f"{of} of {data} as the model sees it ({_run.protocol_note(dataset, seed)})"
        return ScoreInput(_run.model_view(dataset, run_, seed), None, None, seen, None), dataset
    model = f"the model in {run_.folder}"
    if schema is None:  # images or rows of an array: of the size, layout, units the model learned?
        check_fits(data, tuple(dataset.shape), run_.data.get("shape"), run_.input_dim, model)
        check_feature_names(run_.model, getattr(dataset, "columns", None), data, run_.folder)
        check_units(dataset, data, run_.data, model)
    elif dataset.dim != run_.input_dim:  # (a table read by the run's columns: not found here)
        raise other_size(data, tuple(dataset.shape), None, run_.input_dim, model)
    lines = None if lines is None else lines.tolist()
    protocol = str(run_.data.get("binarize") or "none")
    if schema is None and protocol != "none":  # the model's pixels are 0s and 1s, not grey
        seen = f"probability of {data} as the model sees it (binarize={protocol}"
        seen += f", one Bernoulli draw with seed {seed})" if protocol == "dynamic" else ")"
        return ScoreInput(drawn(dataset, protocol, seed), lines, None, seen, dataset), dataset
    if schema is None or schema.standardizer is None:
        units, jacobian = "density in the file's units", None
    else:
        jacobian = schema.standardizer.log_jacobian(~torch.isnan(dataset.x))
        units = "density in the file's units (the run's standardization undone)"
    read = ScoreInput(dataset.x, lines, jacobian, units, dataset, carried, numbers=numbers)
    return read, dataset


def _table_rows(run_: Any, schema: Any, data: str, part: str | None) -> tuple:
    """The rows of the table file ``data`` read by the run's ``schema``, their lines, the cells
    carried beside them (:func:`~torchlvm.cli._table_rows.left_out_columns`) and their places
    in the file where ``part`` names a split of the run's own file (else None): its rows only."""
    from torchlvm.cli._table_rows import left_out_columns, split_lines

    if not Path(data).is_file():  # the reader's own refusal (no such file, a folder) first
        schema.rows(data, allow_empty=True)
    names, cells, every = left_out_columns(schema, data)  # first: the rows below reuse its parse
    dataset, lines = schema.rows(data, allow_empty=True)
    if part is None:
        return dataset, lines, (names, cells), None
    kept = split_lines(run_, schema, data, part)
    return _part_of(dataset, lines, (every, (names, cells)), part, kept)


def _part_of(dataset: Any, lines: Any, carried: tuple, split: str, kept: Any) -> tuple:
    """The rows of ``dataset`` (a file's, each at its line of ``lines`` ``(N,)``) at the lines
    ``kept`` (its ``split``), with their lines, their cells of ``carried`` (the lines of every
    row of the file, and the names and cells carried of each) and their places among the
    file's rows (1-based)."""
    import numpy as np
    import torch

    every, (names, cells) = carried
    at = torch.from_numpy(np.isin(lines, kept))
    y = None if dataset.y is None else dataset.y[at]
    part = replace(dataset, x=dataset.x[at], y=y, split=split)
    chosen = set(np.asarray(kept).tolist())
    if names:  # (no cells where the file has no column the model leaves out)
        cells = [row for row, line in zip(cells, every.tolist(), strict=True) if line in chosen]
    place = {line: k + 1 for k, line in enumerate(every.tolist())}
    lines = lines[at.numpy()]
    return part, lines, (names, cells), [place[line] for line in lines.tolist()]


def _split_of_a_file(run_: Any, data: str, split: str, *, table: bool) -> Exception:
    """The refusal of ``--split`` with a file that is not the table run's own, whose rows score
    reads all (a split of another file is none of the run's), with the way that exists."""
    from torchlvm.errors import ConfigError

    if table:
        return ConfigError(
            f"--split {split} reads the {split} split of the run's own file "
            f"({run_.data.get('name')}), as the run split it, or of a dataset given by name; "
            f"{data} is not that file: leave out --split to score every row of it"
        )
    return ConfigError(
        f"--split {split} reads a split of a dataset given by name (--data digits); score reads "
        "every row of a file, the rows the run trained on too: pass the rows to score as a file"
    )


def streamed(run_: Any, data: str) -> bool:
    """Whether ``data`` is a ``.npy`` file given to a run trained on a file it streamed
    (``--mmap``): scored a block of rows at a time, never read whole."""
    from torchlvm.run.split import streams

    return str(data).lower().endswith(".npy") and streams(run_)


def drawn(dataset: Any, protocol: str, seed: int) -> Any:
    """The file's grey levels as a binarizing run sees them: under ``"dynamic"`` each row's own
    seeded Bernoulli draw (:func:`~torchlvm.data.binarize.row_draw`: the draw ``evaluate``
    makes of the same row, in memory or streamed, whatever rows come with it), under
    ``"threshold"`` each pixel above 1/2; a missing (NaN) pixel stays missing (the row's draw is
    that of the row with 0 there)."""
    import torch

    from torchlvm.data.binarize import binarize
    from torchlvm.data.memmap import MemmapDataset

    if isinstance(dataset, MemmapDataset):
        return dataset.with_protocol(protocol).fixed_binarized(seed)
    x = dataset.x
    missing = torch.isnan(x)
    drawn_ = binarize(torch.where(missing, 0.0, x), protocol, seed=seed)
    return torch.where(missing, torch.nan, drawn_)
