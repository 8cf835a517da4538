"""``torchlvm sample RUN --out FILE.csv`` for a run trained on a table: rows drawn from the model
in the user's units (:func:`sample_table`), and the one line that says how many lie outside the
range their column took in the training data (:func:`~._table_outside.outside_line`). The file
is written by :func:`torchlvm.cli._table_rows.write_rows`."""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli._table_outside import outside_line
from torchlvm.cli._table_rows import row_suffixes, rows_file, schema_of, write_rows


def sample_table(
    args: argparse.Namespace,
    run_: Any,
    n: int,
    labels: list[int] | None,
    source: str | None,
    counts: tuple[int, ...] | None = None,
) -> int:
    """``torchlvm sample RUN --out FILE.csv``: n rows x ~ p(x) (z ~ p(z), then x ~ p(x | z)) in
    the user's units, with the run's column names, or for a class-conditional CVAE n rows per
    class of ``labels`` (z ~ p(z | c), then x ~ p(x | z, c)) with the run's label column (without
    labels, n rows whose classes are drawn by the train ``counts``: c ~ π first), or
    for an autoencoder (no prior) its decoder outputs at codes drawn from ``source``, as for
    images; ``--npy`` also saves them as an array (and a CVAE's classes beside it)."""
    import torch

    from torchlvm import run as _run
    from torchlvm.cli.sample import npy_file, npy_note
    from torchlvm.run.labels import labels_array

    schema = schema_of(run_)
    suffixes = row_suffixes(run_)
    default = run_.folder / f"samples{suffixes[0]}"
    out = rows_file(args.out, default, suffixes, overwrite=args.overwrite)
    npy = npy_file(args, run_.num_classes is not None)  # (and its labels file, checked first)
    _check_size(
        n, 1 if labels is None else len(labels), len(schema.columns) + bool(run_.num_classes)
    )
    generator = run_.generator(args.seed)
    classes = None if labels is None else torch.tensor(labels).repeat_interleave(n)  # (rows,)
    if counts is not None:  # a CVAE without --condition: c ~ π first
        from torchlvm.cli._sample_classes import draw_classes

        classes = draw_classes(counts, n, generator)
    per_class = None if labels is None or counts is not None else (labels, args.seed)
    drawn, what = _draws(run_, n, classes, source, generator, per_class)
    what = what if counts is None else f"c ~ π, then {what.removesuffix(', per class')}"
    rows = schema.to_user_units(drawn.cpu()).double()  # (n, D)
    write_rows(out, run_, schema.columns, rows, None if classes is None else classes.tolist())
    if npy is not None:
        arrays = {npy: rows.numpy()}
        if classes is not None:
            arrays[_run.labels_file(npy)] = labels_array(run_, classes)
        _run.write_npy(arrays)
    rows_drawn = f"{len(rows)} row" + "s" * (len(rows) != 1)
    print(f"{rows_drawn} drawn from {run_.describe()}: {what}, in the data's units")
    note = "" if npy is None else npy_note(npy, rows.numpy(), classes is not None)
    if counts is not None:
        from torchlvm.cli._sample_classes import drawn_line
        from torchlvm.cli._table_rows import dialect_of, written_classes

        names = [_run.label_name(run_, j) for j in range(len(counts))]
        names = written_classes(run_, names, dialect_of(run_, None))  # (as its rows: 01, 02)
        print(drawn_line(run_, counts, classes, names))
    print(f"wrote {out}{note}")
    binary = _bernoulli(run_)  # (0/1 draws: a column's range as the model sees it)
    if outside := outside_line(run_, rows, "drawn values", schema.forms, binary=binary):
        print(outside)
    return 0


BYTES_PER_CELL = 150
"""Memory a drawn row's cell takes until the file is written: its float32 draw, its float64
value in the user's units, the Python float and text of it that the CSV writer holds, and
their lists (measured: peak RSS rose 1.54 kB a row of 11 cells, 140 bytes a cell, from 200,000
to 400,000 rows of a diabetes CVAE's samples)."""


def _check_size(n: int, classes: int, cells: int) -> None:
    """Refuse, before anything is drawn, ``n`` rows (of each of ``classes``) of ``cells`` cells
    that would not fit in memory while their file is written (userJ: --n 100000000 ran 2 min
    and was killed by the kernel, no line), naming the largest --n that fits."""
    from torchlvm._memory import available_bytes, check_fits

    have = available_bytes()
    if have is None:
        return
    rows, most = n * classes, have // (cells * BYTES_PER_CELL * classes)
    what = f"{rows:,} rows of {cells} cells (their draws, values and text until written)"
    check_fits(rows * cells * BYTES_PER_CELL, what, f"pass --n {most} or fewer")


def _bernoulli(run_: Any) -> bool:
    return getattr(getattr(run_.model, "config", None), "likelihood", None) == "bernoulli"


def _draws(
    run_: Any, n: int, classes: Any, source: str | None, generator: Any, per_class: Any = None
):
    """``n`` rows x ~ p(x), a CVAE's rows of ``classes`` (one class per row, ``(rows,)``:
    x ~ p(x | c)), or ``n`` decoder outputs of an autoencoder; and what they are.
    ``per_class``: (the classes asked for, the seed): each class's ``n`` rows drawn from its
    own source (:func:`~torchlvm.cli._sample_classes.class_source`), so that a class's seed-S
    rows are the same whichever other classes the call asks for, as its images are (review16
    R15)."""
    import torch

    from torchlvm.inference.imputation import draw_rows

    if run_.model_type == "ae":
        from torchlvm.cli._sample_images import autoencoder_samples

        return autoencoder_samples(run_, n, source, generator)
    if classes is None:
        return draw_rows(run_.model, n, generator), "z ~ p(z), then x ~ p(x | z)"
    what = "z ~ p(z | c), then x ~ p(x | z, c), per class"
    if per_class is None:
        return _class_rows(run_, classes, generator), what
    from torchlvm.cli._sample_classes import class_source

    labels, seed = per_class
    blocks = [_class_rows(run_, torch.full((n,), label), class_source(run_, seed, label))
              for label in labels]  # fmt: skip
    return torch.cat(blocks), what


def _class_rows(run_: Any, classes: Any, generator: Any) -> Any:
    """Rows x ~ p(x | z, c), z ~ p(z | c), of ``classes`` ``(rows,)`` (as a VAE's rows,
    :func:`~torchlvm.inference.imputation.draw_rows`: drawn, not the mean)."""
    import torch

    from torchlvm.models.priors import draw

    c = run_.model.condition_from_labels(classes)
    with torch.no_grad():
        z = draw(run_.model.prior(c), 1, generator)[0]  # (rows, K)
        return draw(run_.model.decode(z, c), 1, generator)[0]  # (rows, D)
