"""The lines of Python (and the ``--data`` to pass after them) that a refusal of a user's array
file offers, to save its data anew in a form torchlvm reads: objects as numbers, an archive's
data alone or beside its labels, Keras' train/test layout as one archive, a structured array as
a CSV, one feature as rows, missing cells filled by a PPCA. Each line writes a free name beside
the file (:func:`torchlvm._files.unused_name`), so pasting it never replaces a file of the
user's."""

from __future__ import annotations

import os
import shlex
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from torchlvm._files import unused_name
from torchlvm._shell import quoted
from torchlvm.data.columns import listed
from torchlvm.data.npz_keys import X_KEYS, Y_KEYS, npz_data_key
from torchlvm.data.registry import file_suffix
from torchlvm.errors import DataError


def array_expression(path: Path) -> str:
    """The Python that loads the data array of the file ``path``: ``np.load('F.npy')``, or
    for an archive ``np.load('F.npz')['x']`` (its data key: an offered line of
    ``np.load('F.npz').reshape(...)`` failed on the archive object, and pandas made a CSV of its
    key names: readA #7, #8)."""
    data = f"np.load({str(path)!r})"
    if file_suffix(path) != ".npz":
        return data
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")]
    except (OSError, zipfile.BadZipFile):
        names = []
    return data + f"[{npz_data_key(names) or 'x'!r}]"


def npz_as_npy(path: Path) -> tuple[Path, str]:
    """A free ``.npy`` name for the data array of the archive ``path`` and the ``np.save`` line
    that writes it there: the first step of filling an archive's NaN cells, which impute reads
    from an ``.npy`` (fit's offered commands and impute's refusal say the same: readA #4)."""
    npy = Path(unused_name(path.with_name(f"{path.stem}-data.npy")))
    return npy, f"np.save({str(npy)!r}, {array_expression(path)})"


def labels_fix(name: str | os.PathLike[str]) -> str | None:
    """How to give the array file ``name`` (``.npy`` / ``.npz``) class labels: the ``np.savez``
    line that stores its data beside them (under ``y``, :data:`Y_KEYS`) and the ``--data`` that
    then reads them; None for any other data (a table names its label column, a dataset none)."""
    path = Path(name)
    suffix = file_suffix(path)
    if suffix not in (".npy", ".npz"):
        return None
    out = unused_name(path.with_name(f"{path.name[: -len(suffix)]}-labelled.npz"))
    data = array_expression(path)
    return (
        f"save the data with one class label per example (labels: an array of N integers or "
        f"names): np.savez({str(out)!r}, x={data}, y=labels), then pass --data "
        f"{shlex.quote(str(out))}"
    )


def objects_refused(path: Path, shape: tuple[int, ...]) -> DataError:
    """The refusal of an ``.npy`` of Python objects (dtype object), which torchlvm does not
    unpickle, of shape ``shape``, with a line that saves its numbers in a new file: an array of
    rows or images stacked as float32; one object (shape ``()``, as ``np.save(F, {'x': ...})``
    writes a dict: review12 #9, where the stacking line raised 'iteration over a 0-d array') as
    an archive of its arrays."""
    if shape != ():
        new = unused_name(path.with_name(f"{path.stem}-numbers.npy"))
        return DataError(
            f"{path} holds Python objects (dtype object), which torchlvm does not unpickle; "
            f"save them as numbers (np.save({new!r}, np.stack(list(np.load({str(path)!r}, "
            "allow_pickle=True))).astype('float32')), which also stacks an array of images "
            "of one size) and pass that file"
        )
    new = unused_name(path.with_name(f"{path.stem}-arrays.npz"))
    read = f"np.load({str(path)!r}, allow_pickle=True).item()"
    return DataError(
        f"{path} holds one pickled Python object (shape (), as np.save writes a dict), which "
        f"torchlvm does not unpickle; for a dict of arrays, np.savez({new!r}, **{read}) saves "
        f"them as an archive torchlvm reads (data under one of {', '.join(X_KEYS)}; labels "
        f"under one of {', '.join(Y_KEYS)}), then pass that file; {read} shows what it holds"
    )


def two_arrays(names: Sequence[str], what: str, path: Path, pair: tuple[str, str]) -> DataError:
    """The refusal of an archive of ``names`` holding ``what`` (data or labels) under both keys
    of ``pair`` with different arrays, naming the line that keeps either."""
    roles = {"x": npz_data_key(names), "y": next((k for k in Y_KEYS if k in names), None)}
    role = "x" if what == "data" else "y"

    one = unused_name(path.with_name(f"{path.stem}-one.npz"))  # (a free name beside it)

    def keep(key: str) -> str:
        kept = {**roles, role: key}
        return f"np.savez({one!r}, {', '.join(f'{r}=f[{k!r}]' for r, k in kept.items() if k)})"

    return DataError(
        f"{path} holds {what} under both {pair[0]!r} and {pair[1]!r}, and they differ; keep "
        f"the one meant: f = np.load({str(path)!r}); {keep(pair[0])} or {keep(pair[1])}"
    )


def no_data(path: Path, names: Sequence[str]) -> str:
    """What an archive without a data array holds, and how to save one that has it (Keras'
    ``mnist.npz`` keeps x_train, y_train, x_test, y_test)."""
    held = f"(keys: {', '.join(names) or 'none'}"
    if {"x_train", "x_test"} <= set(names):
        both = "np.concatenate([f['{0}_train'], f['{0}_test']])"
        labels = f", y={both.format('y')}" if {"y_train", "y_test"} <= set(names) else ""
        every = unused_name(path.with_name(f"{path.stem}-all.npz"))  # (a free name beside it)
        return (
            f"{held}, Keras' layout); save train and test as one archive: "
            f"f = np.load({str(path)!r}); np.savez({every!r}, x={both.format('x')}{labels}) "
            "(torchlvm then draws its own seeded train/val/test split from all rows, so the "
            "file's test rows are no longer held out: compare with published numbers with care)"
        )
    return f"{held}); store the data under one of {', '.join(X_KEYS)}"


def not_numbers(array: np.ndarray, path: Path) -> DataError:
    """The refusal of an array of other values than numbers; for a structured array (pandas'
    ``to_records``, a NumPy record array), whose fields are named columns, the line that saves
    it as the CSV table it is (it printed its whole dtype and no way out: review13 #19)."""
    names = array.dtype.names
    if names is None:
        return DataError(f"{path} holds {array.dtype} values; torchlvm needs a numeric array")
    new = unused_name(path.with_name(f"{path.stem}.csv"))
    return DataError(
        f"{path} holds a structured array, a table of {len(names)} named columns "
        f"({listed(names, 4)}); "
        f"save it as one (pandas.DataFrame({array_expression(path)}).to_csv({new!r}, "
        "index=False, mode='x')) and pass that file, with --label-column or --drop-columns "
        "for columns that are not features"
    )


def fill_line(path: Path, dim: int, given: str, csv: bool) -> str:
    """The commands that fill the missing cells of file ``path`` (``dim`` values a row, read
    with the column options ``given``), as they run when pasted: a PPCA fitted around them by
    EM, then ``impute`` (a CVAE, which --allow-missing cannot train, trains on the filled
    file). impute fills a table or an .npy: an archive's data array is saved as an .npy first."""
    from torchlvm.data.table_schema import table_latent_dim  # (fit's default for a table)

    data, out, first = path, "filled.csv", ""
    if not csv:  # fit ppca takes no default --latent-dim for an array file: a table's, then
        given = f" --latent-dim {max(1, min(table_latent_dim(dim), dim - 1))}"
        out = "filled.npy"
        if file_suffix(path) == ".npz":
            data, line = npz_as_npy(path)
            first = f"{line}, then "
    return (
        f"{first}torchlvm fit ppca --data {quoted(data)}{given} --allow-missing --method em "
        f"--out RUN, then torchlvm impute RUN --data {quoted(data)} --out {out}"
    )


def one_feature(path: Path, n: int) -> str:
    """The line that saves a 1-D array of ``n`` values in the file ``path`` as ``(n, 1)`` rows:
    one feature of ``n`` examples."""
    new = unused_name(path.with_name(f"{path.stem}-rows.npy"))
    return (
        f"if it holds one feature of {n} examples, save it as rows "
        f"(np.save({new!r}, {array_expression(path)}.reshape(-1, 1))) and pass that file"
    )
