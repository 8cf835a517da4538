"""What ``score`` computes for a CVAE of class labels, and how it says so.

Where the data give each row's class (a table's label column, a dataset's labels), the score is
−log p(x | c) of the row's own class: how unlikely the row is for its class, the question "is
this row odd for its class". A row of no class the run was trained on (an empty label cell,
another class, or a class no row of the run's train split has) has no such score and is written
with an empty one. Without labels, or with
``--mixture``, the score is −log p(x) = −log Σ_c π_c p(x | c), π_c the train split's class
frequencies the run records: the density ``evaluate --ood`` scores a row by and
``CVAEEstimator.score_samples`` without y computes (one mixture:
:mod:`torchlvm.inference.class_mixture`). The scores file names the one computed: its column
``neg_log_p_given_<label column>`` (``neg_log_p_given_class`` of a dataset's labels) for the
first, ``neg_log_p`` (the marginal density, as of every other model) for the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torchlvm.errors import ConfigError


@dataclass(frozen=True)
class ClassScoring:
    """How the rows are scored.

    Attributes:
        labels: ``(N,)`` each row's class (−1: none the run knows, not scored): −log p(x | c);
            or None.
        log_prior: ``(C,)`` log π: the mixture −log Σ_c π_c p(x | c); or None.
        symbol: what is printed as a row's score (``−log p(x | c)``).
        defined: what the line of the score's unit calls it (the mixture written out).
        column: the scores file's column of it.
        said: the lines printed under the score's unit line.
    """

    labels: Any = None
    log_prior: Any = None
    symbol: str = "−log p(x)"
    defined: str = "−log p(x)"
    column: str = "neg_log_p"
    said: list[str] = field(default_factory=list)


def class_scoring(run_: Any, read: Any, mixture: bool) -> ClassScoring:
    """How ``score`` scores the rows ``read`` (:class:`~torchlvm.cli._score_read.ScoreInput`)
    under ``run_``'s model; ``mixture``: ``--mixture`` was given.

    Raises:
        ConfigError: for ``--mixture`` given to a run that is not a CVAE of class labels.
    """
    if run_.num_classes is None:
        if mixture:
            raise ConfigError(
                f"--mixture scores a CVAE of class labels by p(x) = Σ_c π_c p(x | c); "
                f"{run_.folder} holds a {run_.model_type}, whose p(x) has no classes: leave out "
                "--mixture"
            )
        return ClassScoring()
    if read.classes is None or mixture:
        return _mixture(run_, read, mixture)
    return _conditional(run_, read)


def _conditional(run_: Any, read: Any) -> ClassScoring:
    """−log p(x | c) of each row's class."""
    from torchlvm.run.labels import untrained_rows

    source = read.class_source
    where = (
        "the dataset's labels"
        if source == "its labels"
        else f"the column of {source}"
        if source.startswith("--")  # (a file without a header: the flag names it)
        else f"its column {source!r}"
    )
    column = "class" if source == "its labels" or source.startswith("--") else source
    said = [
        f"  c: each row's own class, from {where}: how unlikely the row is for its class "
        "(--mixture: by p(x) = Σ_c π_c p(x | c), whatever its class)"
    ]
    classes = read.classes
    unknown = (classes < 0).nonzero().flatten().tolist()
    if unknown:
        said.append(_unknown_line(read, unknown, source))
    # the model learned nothing of their class: no p(x | c) of it (userU #9: such a row was
    # written and ranked the 12th most outlying of 178, where sample refuses its class)
    untrained = untrained_rows(run_, classes)  # (N,) bool, None where no row is
    if untrained is not None:
        rows = untrained.nonzero().flatten().tolist()
        said.append(_unknown_line(read, rows, source, _UNTRAINED))
        classes = classes.masked_fill(untrained, -1)
    symbol = "−log p(x | c)"
    return ClassScoring(classes, None, symbol, symbol, f"neg_log_p_given_{column}", said)


_UNTRAINED = "of a class no row of the train split has, so the model learned nothing of it"


def _unknown_line(
    read: Any, rows: list[int], source: str, what: str = "of no class the run was trained on"
) -> str:
    """The line naming the rows of no class the run knows (or ``what`` else they are), by file
    line (else row), with their label cells where a table gave them."""
    names, cells = read.carried
    where = "line" if read.lines is not None else "row"
    at = [str(read.lines[i] if read.lines is not None else i + 1) for i in rows[:5]]
    column = "class" if source == "its labels" else source  # (a dataset's: label_cells)
    if column in names:
        j = names.index(column)
        at = [f"{a} {cells[i][j]!r}" for a, i in zip(at, rows, strict=False)]
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    noun = "1 row" if len(rows) == 1 else f"{len(rows):,} rows"
    return (
        f"  {noun} {what} ({where}{'s' if len(rows) > 1 else ''} "
        f"{', '.join(at)}{more}): written with empty scores; --mixture scores every row by p(x)"
    )


def _mixture(run_: Any, read: Any, mixture: bool) -> ClassScoring:
    """−log Σ_c π_c p(x | c)."""
    from torchlvm.inference.class_mixture import class_log_prior, recorded_counts

    names = run_.class_names or [str(j) for j in range(run_.num_classes)]
    counts = recorded_counts(run_.data, run_.class_names)
    log_prior = class_log_prior(counts, run_.num_classes)
    shares = ", ".join(f"{name} {p:.3f}" for name, p in zip(names, log_prior.exp(), strict=True))
    prior = (
        f"π_c the train split's class frequencies ({shares})"
        if counts is not None
        else "π_c = 1/C: the run records no class counts (trained before torchlvm recorded "
        "them; train it again to weigh the classes by their frequencies)"
    )
    said = [
        f"  {prior}; each p(x | c) importance-sampled, its error carried to first order",
        f"  {_why_mixture(run_, mixture)}; the density evaluate --ood scores rows by, as "
        "CVAEEstimator.score_samples without y",
    ]
    defined = "−log p(x) = −log Σ_c π_c p(x | c)"
    return ClassScoring(None, log_prior, "−log p(x)", defined, "neg_log_p", said)


def _why_mixture(run_: Any, mixture: bool) -> str:
    """Why the rows are scored by the mixture: ``--mixture``, or no class to condition on."""
    from torchlvm.cli._tables import table_schema

    if mixture:
        return "every row by p(x), whatever its class (--mixture)"
    schema = table_schema(run_, None, None)
    if schema is not None and schema.label_column is not None:
        return f"the file has no column {schema.label_column!r} of the rows' classes"
    return "the data have no labels of the run's classes"
