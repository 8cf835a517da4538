"""The one line ``impute`` and ``sample`` of a table print where values they write lie outside
the range their column took in the run's training data (review15 R9: two rules, two wordings).

The rule is :func:`~torchlvm.data.value_range.outside_columns`, over the run's recorded
``column_range``, or for a run made before that record the same
:func:`~torchlvm.data.value_range.column_range` of its train split read again; values and
bounds compared as the file writes them.
"""

from __future__ import annotations

from typing import Any


def outside_line(
    run_: Any, values: Any, what: str, forms: Any, *, binary: bool = False
) -> str | None:
    """A line counting the values of ``values`` ``(..., N, D)`` (user units; NaN: not written
    by the command) outside their column's trained range, naming the columns with the most
    (four; then how many more); ``what`` names them (``drawn values``), ``forms`` are the
    columns' :class:`~torchlvm.data.csv_form.NumberForm` as the file writes them, ``binary``:
    a Bernoulli's 0/1 draws. None where none are, or the range is not known (a run made before
    the record whose training file cannot be read now)."""
    from torchlvm.data.columns import is_default
    from torchlvm.data.value_range import outside_columns

    ranges = _ranges(run_)
    if ranges is None:
        return None
    places = [None if form.exponent else form.places for form in forms]
    found = outside_columns(values, ranges, places, binary=binary)
    if found is None:
        return None
    names = _schema(run_).columns
    most = sorted(found.columns, key=lambda column: -column[1].count)
    shown = [
        f"{names[j] if is_default(names) else repr(names[j])} {out.count:,} ({out.least:.4g} to "
        f"{out.most:.4g}; trained {out.low:.4g} to {out.high:.4g})"
        for j, out in most
    ]
    more = f", and {len(shown) - 4} more columns" if len(shown) > 4 else ""
    why = "the model's p(x | z) is not bounded"
    if binary:
        why = "a Bernoulli draws 0 or 1, and the column's training data hold one of them only"
    return (
        f"  {found.count:,} of {found.total:,} {what} lie outside the range their column took in "
        f"the training data ({why}): {', '.join(shown[:4])}{more}"
    )


def _schema(run_: Any) -> Any:
    from torchlvm.cli._table_rows import schema_of

    return schema_of(run_)


def _ranges(run_: Any) -> list[list[float | None]] | None:
    """The run's recorded ``column_range``, else that of its train split read again (a run
    made before the record; None where its file cannot be read now)."""
    import warnings

    from torchlvm import run as _run
    from torchlvm.data.value_range import column_range
    from torchlvm.errors import TorchLVMError

    recorded = run_.data.get("column_range")
    if recorded is not None:
        return recorded
    try:
        with warnings.catch_warnings():  # (of the training file: said at training, userK #9)
            warnings.simplefilter("ignore")
            train = _run.load_split(run_, None, "train")
    except (TorchLVMError, OSError):
        return None
    return column_range(train).get("column_range")
