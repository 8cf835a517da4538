"""What a run records about the table it was trained on, so that a later file is read the same way.

A :class:`TableSchema` holds the feature columns (names from the header, or ``"column 1"``, ...),
the standardization fitted on the train split (or None), and the columns the user dropped or used
as labels. :meth:`TableSchema.load` reads a new file with it: the same columns (matched by name,
reordered if needed; a missing or extra column is refused), the dropped and label columns left
out when the file has them, and the recorded standardization applied; :meth:`to_user_units`
undoes it on anything the model outputs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from torch import Tensor

from torchlvm.data.columns import default_names
from torchlvm.data.csv_cells import na_tokens
from torchlvm.data.csv_dialect import Dialect, text_encoding
from torchlvm.data.csv_form import NumberForm
from torchlvm.data.dataset import Dataset
from torchlvm.data.standardize import Standardizer
from torchlvm.errors import DataError

if TYPE_CHECKING:
    from torchlvm.data.files import FileRows

Selector = int | str


@dataclass(frozen=True)
class TableSchema:
    """A run's table: feature columns, standardization, dropped and label columns.

    Attributes:
        columns: the D feature names, in the model's order.
        standardizer: the train split's standardization, or None (values as stored).
        drop_columns: columns the user dropped (names or indices in the training file).
        label_column: the column the user took labels from, or None.
        dialect: the training file's delimiter and decimal point (the files written from the
            run's rows follow it: :meth:`~torchlvm.data.csv_dialect.Dialect.for_csv`).
        encoding: the text encoding the user stated for the training file (``--encoding``),
            which later files are read in too; None: each file's is told from its bytes.
        forms: how each column of the training file writes its numbers (whole numbers, 2
            decimals, ...: :class:`~torchlvm.data.csv_form.NumberForm`), which rows written
            for the run follow (:func:`~torchlvm.data.csv_form.number_cells`); () for a run
            recorded before forms were, whose rows are written as computed.
        na_values: the cell texts the user named as missing in the training file
            (``--na-values``) beyond the common markers, which later files are read with
            too.
        dtype: the precision later files are read in: the model's that reads them (float64
            for a PPCA: :meth:`read_as`); not part of the table's record.
        label_at: where the training file holds its label column among the feature columns
            (how many come before it), which rows written for the run follow; None: after
            them (no label column, or a run recorded before this was).
        label_form: how the training file writes its labels where they are numbers (``2.0``:
            :class:`~torchlvm.data.csv_form.NumberForm`), which a class written for the run
            follows; None: text labels (written as the file writes them), or not recorded.
    """

    columns: tuple[str, ...]
    standardizer: Standardizer | None = None
    drop_columns: tuple[Selector, ...] = ()
    label_column: Selector | None = None
    dialect: Dialect = Dialect()
    encoding: str | None = None
    forms: tuple[NumberForm, ...] = ()
    dtype: Literal["float32", "float64"] = "float32"
    na_values: tuple[str, ...] = ()
    label_at: int | None = None
    label_form: NumberForm | None = None

    @classmethod
    def of(
        cls,
        data: Dataset,
        *,
        drop_columns: tuple[Selector, ...] = (),
        label_column: Selector | None = None,
        encoding: str | None = None,
        na_values: tuple[str, ...] = (),
    ) -> TableSchema:
        """The schema of a loaded table (its columns and standardizer), read with the options
        ``drop_columns``, ``label_column``, ``encoding`` and ``na_values``; an index among
        them recorded as its header's name where the file has one, once (:func:`_by_name`)."""
        dialect = data.dialect or Dialect()
        width = _headerless_width(data, dialect)
        named = _as_places(width, tuple(_by_name(data, dialect, (*drop_columns, label_column))))
        columns = _places(data, width, named)
        stated = None if encoding is None else dialect.encoding  # Python's name of it
        drop_columns, label_column = tuple(named[:-1]), named[-1]
        options = (drop_columns, label_column, dialect, stated, data.forms)
        at, form = _label_written(data, dialect, drop_columns, label_column)
        na = na_tokens(na_values)
        return cls(tuple(columns), data.standardizer, *options, na_values=na, label_at=at,
                   label_form=form)  # fmt: skip

    def read_in(self, encoding: str | None) -> TableSchema:
        """This schema reading later files in ``encoding`` (a command's ``--encoding``), or as
        recorded where it is None.

        Raises:
            OptionError: for a name that is no text encoding.
        """
        if encoding is None:
            return self
        return replace(self, encoding=text_encoding(encoding))

    @classmethod
    def read_with(cls, data: Dataset, options: Any) -> TableSchema:
        """The schema of a loaded table read with ``load_dataset``'s ``options`` (as a run
        records them: ``drop_columns``, ``label_column``, ``encoding``, ``na_values``)."""
        return cls.of(
            data,
            drop_columns=tuple(options.get("drop_columns", ())),
            label_column=options.get("label_column"),
            encoding=options.get("encoding"),
            na_values=tuple(options.get("na_values", ())),
        )

    def read_as(self, dtype: Any) -> TableSchema:
        """This schema reading later files in the precision of a model of ``dtype`` (a torch
        dtype or its name): float64 for float64 (a PPCA's), else float32."""
        name = str(dtype).removeprefix("torch.")
        return replace(self, dtype="float64" if name == "float64" else "float32")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record (for a run's ``config.json``)."""
        return {
            "columns": list(self.columns),
            "standardize": None if self.standardizer is None else self.standardizer.to_dict(),
            "drop_columns": list(self.drop_columns),
            "label_column": self.label_column,
            **self.dialect.to_dict(),
            **({} if self.encoding is None else {"stated_encoding": self.encoding}),
            **({"number_forms": [f.to_dict() for f in self.forms]} if self.forms else {}),
            **({"na_values": list(self.na_values)} if self.na_values else {}),
            **({} if self.label_at is None else {"label_at": self.label_at}),
            **({} if self.label_form is None else {"label_form": self.label_form.to_dict()}),
        }

    @classmethod
    def from_dict(cls, record: Any) -> TableSchema | None:
        """The schema a run recorded, or None when it recorded none (an image run).

        Raises:
            DataError: if the record is damaged.
        """
        if record is None:
            return None
        try:
            standardize = record.get("standardize")
            return cls(
                tuple(str(c) for c in record["columns"]),
                None if standardize is None else Standardizer.from_dict(standardize),
                tuple(record.get("drop_columns") or ()),
                record.get("label_column"),
                Dialect.from_dict(record),
                _stated(record.get("stated_encoding")),
                tuple(NumberForm.from_dict(f) for f in record.get("number_forms") or ()),
                na_values=na_tokens(record.get("na_values") or ()),
                label_at=None if record.get("label_at") is None else int(record["label_at"]),
                label_form=_form(record.get("label_form")),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise DataError("the run's recorded table is damaged; re-create the run") from None

    def load(
        self,
        path: str | os.PathLike[str],
        *,
        allow_missing: bool = True,
        split: str = "all",
        allow_empty: bool | Literal["columns"] = False,
    ) -> Dataset:
        """``path`` read as the run's table: its columns, in the model's units; rows and
        columns with no value at all are kept with ``allow_empty`` (a table to fill;
        ``"columns"``: columns only, a table to score).

        Raises:
            DataError: for a file whose columns differ from the run's, and every refusal of
                :func:`~torchlvm.data.files.load_file`.
        """
        from torchlvm.data.files import FRACTIONS, select_split

        data = self.rows(path, allow_missing=allow_missing, allow_empty=allow_empty).data
        return select_split(data, split, fractions=FRACTIONS, seed=0)

    def rows(
        self,
        path: str | os.PathLike[str],
        *,
        allow_missing: bool = True,
        allow_empty: bool | Literal["columns"] = False,
    ) -> FileRows:
        """Every row of ``path`` read once as the run's table (as :meth:`load`), with a CSV's
        file line of each row. The label column and the dropped columns are left out where
        the file has them (:meth:`named_columns`)."""
        from torchlvm.data.files import read_rows

        self.check_table_file(path)
        return read_rows(
            path,
            allow_missing=allow_missing,
            columns=self.columns,
            standardize=self.standardizer or False,
            allow_empty=allow_empty,
            dtype=self.dtype,
            **self.named_columns(),
        )

    def check_table_file(self, path: str | os.PathLike[str]) -> None:
        """Refuse an array file (.npy, .npz) given for a table run, before any parse, with the
        line that saves it as a table of the run's columns: score and impute said 'not a table
        as text; name it wine13.npy' (its own name), encode and reconstruct blamed a
        --label-column the user never passed (review13 #14).

        Raises:
            DataError: for an .npy or .npz file."""
        from pathlib import Path

        from torchlvm.data.registry import file_suffix

        if file_suffix(path) not in (".npy", ".npz") or not Path(path).is_file():
            return
        raise DataError(_array_for_table(Path(path), self.columns))

    def named_columns(self) -> dict[str, Any]:
        """The reader options of a later file: in the stated encoding, if any, its cells of the
        run's ``na_values`` missing, and the label
        column and the dropped columns left out where it has them (``if_present``: a file to
        score or fill may come without its labels or its ID): by name, or by index where the
        file has a column there that is not one of the run's features (a pandas index column,
        named '' or nothing)."""
        return {
            "label_column": self.label_column,
            "drop_columns": self.drop_columns,
            "if_present": True,
            "encoding": self.encoding,
            "na_values": self.na_values,
        }

    def to_user_units(self, x: Tensor) -> Tensor:
        """Model-unit values ``(..., D)`` in the user's units (the standardization undone)."""
        return x if self.standardizer is None else self.standardizer.inverse(x)


def _array_for_table(path: Any, columns: tuple[str, ...]) -> str:
    """What :meth:`TableSchema.check_table_file` says of the array file ``path`` for a run of
    table ``columns``: the Python that saves it as such a table (a free name beside it),
    where its rows have that many values."""
    import numpy as np

    from torchlvm._files import unused_name
    from torchlvm._shell import quoted
    from torchlvm.data.columns import listed
    from torchlvm.data.save_lines import array_expression

    d = len(columns)
    said = (
        f"{path} is a NumPy array, and the run reads a table file (.csv or .tsv) with its "
        f"{d} column{'s' * (d > 1)} ({listed(columns, 3)}), matched by name"
    )
    try:
        npy = path.suffix.lower() == ".npy"
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape if npy else None
    except (OSError, ValueError):
        shape = None
    if shape is not None and (len(shape) != 2 or shape[1] != d):
        held = f"its rows hold {shape[1]} values" if len(shape) == 2 else f"it is of shape {shape}"
        return f"{said}; {held}, not rows of {d}: pass a table of the run's columns"
    if d > 30:
        return f"{said}; save it as such a CSV file, with the run's column names as its header"
    out = unused_name(path.with_suffix(".csv"))
    line = (
        f"import numpy as np, pandas as pd; pd.DataFrame({array_expression(path)}, "
        f"columns={list(columns)!r}).to_csv({out!r}, index=False)"
    )
    return f"{said}; save it as one (Python: {line}), then pass --data {quoted(out)}"


def _by_name(data: Dataset, dialect: Dialect, selectors: tuple) -> list:
    """``selectors`` (the dropped columns' names or indices, then the label column's or None),
    each word of dropped columns that lists several as those (:func:`split_lists`), and each
    index that names a column of ``data``'s file under a name of its own (not empty, not twice
    in the header) as that name: a later file of the run (next month's export, its columns in
    another order) is then read by name, not by position (userC: q1 and q2 swapped made q2 the
    condition, silently). An index stays one where the file has no header (or none is read
    from its first lines)."""
    from pathlib import Path

    from torchlvm.data.csv_layout import header_names
    from torchlvm.data.csv_select import split_lists

    path = Path(data.name)
    if not any(isinstance(s, int) and not isinstance(s, bool) or "," in str(s) for s in selectors):
        return list(selectors)
    if not path.is_file():
        return list(selectors)
    header = header_names(path, dialect) if data.columns is not None else None
    if header is None:
        _say_indices(path, None, selectors)
        return list(selectors)
    selectors = (*split_lists(selectors[:-1], header, len(header)), selectors[-1])
    _say_indices(path, header, selectors)

    def named(selector: Any) -> Any:
        if isinstance(selector, bool) or not isinstance(selector, int):
            return selector
        if not -len(header) <= selector < len(header):
            return selector
        name = header[selector]
        return name if name and header.count(name) == 1 else selector

    return [named(s) for s in selectors]


def _headerless_width(data: Dataset, dialect: Dialect) -> int | None:
    """How many columns ``data``'s table file has where it has no header row, else None."""
    from pathlib import Path

    from torchlvm.data.columns import is_default
    from torchlvm.data.csv_layout import first_rows

    path = Path(data.name)
    if not data.is_table or not is_default(data.columns or ()) or not path.is_file():
        return None
    first = first_rows(path, dialect)
    if first is None or first[0] is not None or not first[1]:
        return None  # (a header named 'column 1', ...: its own names)
    return len(first[1][0])


def _as_places(width: int | None, selectors: tuple) -> tuple:
    """``selectors`` with each name of a place (``"column 14"``) of a file of ``width``
    columns without a header as its index (13), as such a file's columns are recorded."""
    from torchlvm.data.columns import position_of

    if width is None:
        return selectors
    places = [position_of(s, width) if isinstance(s, str) else None for s in selectors]
    return tuple(s if at is None else at for s, at in zip(selectors, places, strict=True))


def _places(data: Dataset, width: int | None, selectors: tuple) -> tuple[str, ...]:
    """``data``'s feature names: its header's, or, for a file of ``width`` columns without
    one, each column's place in the file (:func:`~torchlvm.data.columns.position_name`:
    ``column 2`` .. ``column 14`` where ``--drop-columns 0`` took the first), the names its
    messages, the README and ``--label-column "column 14"`` use; they numbered the features
    from 1 after the dropped ones, so the dropped column and the first feature were both
    'column 1' (userK #16)."""
    from pathlib import Path

    from torchlvm.data.columns import position_name
    from torchlvm.data.csv_select import kept

    names = data.columns or default_names(data.dim)
    if width is None:
        return tuple(names)
    drops = tuple(s for s in selectors[:-1] if s is not None)
    keep, _ = kept(Path(data.name), None, width, (selectors[-1], drops, False, ()))
    return tuple(map(position_name, keep)) if len(keep) == data.dim else tuple(names)


def _say_indices(path: Any, header: list[str] | None, selectors: tuple) -> None:
    """Warn which columns the indices among ``selectors`` (dropped columns, then the label
    column) name where a name would do (a named column; a file without header, whose columns
    are named from 1): a message's "column 1" read as ``--drop-columns 1`` dropped the real
    feature 'alcohol' without a word (userK #14). An unnamed column is taken by index alone."""
    from torchlvm.data.csv_column import column_name
    from torchlvm.errors import spelled

    def said(selector: Any) -> str | None:
        if isinstance(selector, bool) or not isinstance(selector, int):
            return None
        if header is None:
            return column_name(None, selector) if selector >= 0 else None
        inside = -len(header) <= selector < len(header)
        return column_name(header, selector % len(header)) if inside and header[selector] else None

    drops = [s for s in selectors[:-1] if said(s) is not None]
    label = selectors[-1] if said(selectors[-1]) is not None else None
    if not drops and label is None:
        return

    def message(spell: Any) -> str:
        parts = []
        if drops:
            names = " and ".join(str(said(s)) for s in drops)
            parts.append(f"{spell('drop_columns', drops)} drops {names}")
        if label is not None:
            parts.append(f"{spell('label_column', label)} takes the labels from {said(label)}")
        counts = "" if header is None else " (an index counts from 0)"  # (else "(index 13)")
        return f"{path}: {'; '.join(parts)}{counts}"

    from torchlvm.data.file_warning import FileWarning, warn_of_file

    told = spelled(FileWarning, message)  # once a command: train records it twice (review14 R15)
    warn_of_file(path, told, stacklevel=4)


def _label_written(
    data: Dataset, dialect: Dialect, drop_columns: tuple[Selector, ...], label: Selector | None
) -> tuple[int | None, NumberForm | None]:
    """Where ``data``'s file holds its ``label`` column among its feature columns, and the
    :class:`~torchlvm.data.csv_form.NumberForm` of its labels where the cells are numbers,
    learned from the file's first lines (a label column writes its classes one way); (None,
    None) where the file cannot tell (no label column, the file gone)."""
    from pathlib import Path

    from torchlvm.data.columns import NameIndex, find_name
    from torchlvm.data.csv_cells import is_missing, is_number
    from torchlvm.data.csv_form import number_form
    from torchlvm.data.csv_layout import first_rows

    path = Path(data.name)
    read = None if label is None or not path.is_file() else first_rows(path, dialect)
    if read is None or not read[1]:
        return None, None
    header, rows = read
    width = len(rows[0])
    j = find_name(label, header) if isinstance(label, str) and header else label
    if not isinstance(j, int) or not -width <= j < width:
        return None, None
    j %= width
    if header is not None:  # the feature columns by name
        index = NameIndex(header)
        before = [index.find(name) for name in data.columns or ()]
        at = sum(k is not None and k < j for k in before)
    else:  # by position: the columns before it that were not dropped
        dropped = {d % width for d in drop_columns if isinstance(d, int) and -width <= d < width}
        at = sum(k not in dropped for k in range(j))
    cells = [row[j] for row in rows if len(row) > j and not is_missing(row[j])]
    numbers = bool(cells) and all(is_number(dialect.number(c.strip())) for c in cells)
    return at, number_form(cells, dialect) if numbers else None


def _form(record: Any) -> NumberForm | None:
    return None if record is None else NumberForm.from_dict(record)


def _stated(encoding: Any) -> str | None:
    """A recorded stated encoding, checked to be one (:func:`Dialect.from_dict` checks the
    file's)."""
    if encoding is None:
        return None
    Dialect.from_dict({"encoding": encoding})  # ValueError for a damaged record
    return str(encoding)


def table_latent_dim(columns: int) -> int:
    """A table's default latent size K: half its D columns, at least 2 and at most the 20 of
    images. Against K = 20 on tables of 4 to 13 columns its held-out log p(x) was 0.3 to 1.6
    nats per row higher (10 seeds each), and within the spread over seeds on 30 columns
    (benchmarks/results/tables_latent.md); a 20-dimensional z on a 5-column table is bigger
    than the data."""
    return min(20, max(2, columns // 2))
