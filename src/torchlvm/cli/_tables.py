"""Command-line options of a table (a user's .csv file), shared by the commands that read one.

``--drop-columns`` and ``--label-column`` pick columns out; ``--standardize`` (default for .csv
files) standardizes every feature column with the train split's mean and standard deviation;
``--no-standardize`` keeps the values as stored; ``--na-values`` names the file's own marks of a
missing cell (``-``, ``ERR``). What was chosen is recorded with the run
(:class:`torchlvm.data.table_schema.TableSchema`), so later commands read files the same way.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchlvm._shell import quoted


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--drop-columns``, ``--label-column``, ``--[no-]standardize``, ``--na-values`` and
    ``--encoding``."""
    parser.add_argument(
        "--drop-columns",
        metavar="NAMES",
        nargs="+",
        action="extend",  # (repeated, it adds: a second flag kept only its own columns)
        help="columns of a .csv to leave out (e.g. an ID column), by name or 0-based index, "
        "space- or comma-separated: id city or id,city (a word that is a column's name, "
        "commas and all, names that column: 'Total, USD'); a repeated flag adds its columns",
    )
    parser.add_argument(
        "--label-column",
        metavar="NAME",
        help="the .csv column holding class labels (a measured value, such as a regression "
        "target, is a feature: leave it in)",
    )
    parser.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="standardize each feature with the train split's mean and std, recorded and "
        "undone on every output (default: on for .csv files)",
    )
    parser.add_argument(
        "--na-values",
        metavar="TOKEN",
        nargs="+",
        action=_Extend,
        help="cell texts that mark a missing value in the .csv besides empty cells, NA, N/A, "
        "NaN, NULL, None, #N/A and ? (e.g. - ERR -999: as written, case aside; a number however "
        "written, -999.0 for -999; one that starts with '-', attached: --na-values=--); "
        "recorded, so the run's later files are read alike (missing cells need --allow-missing)",
    )
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the .csv file's text encoding where it is not UTF-8 or Windows-1252, as Python "
        "names it (cp1251, latin2, mac-roman, ...); recorded, and used for the run's later "
        "files and every file written from them (default: told from the file)",
    )


class _Extend(argparse._ExtendAction):
    """``action="extend"`` that keeps a value ``--`` given attached (``--na-values=--``, a
    cell of two dashes: a common mark of a missing value), which argparse takes out of an
    option's values as the end of options, leaving none: the only way a list option gets no
    value (a bare ``--na-values --`` is refused by argparse, naming the option)."""

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        super().__call__(parser, namespace, values or ["--"], option_string)


def add_encoding(parser: argparse.ArgumentParser) -> None:
    """Add ``--encoding`` and ``--na-values`` to a command that reads a ``--data`` table file
    for a run: how that file is read where it differs from the run's training file."""
    parser.add_argument(
        "--encoding",
        metavar="NAME",
        help="the --data table file's text encoding, where it is neither UTF-8 nor Windows-1252 "
        "(cp1251, latin2, mac-roman, ...; default: the run's, if given at training, else told "
        "from the file)",
    )
    parser.add_argument(
        "--na-values",
        metavar="TOKEN",
        nargs="+",
        action=_Extend,
        help="cell texts that mark a missing value in the --data table file, besides the run's "
        "(recorded at training) and empty cells, NA, NaN, ...: e.g. -999 (a number however "
        "written; one that starts with '-', attached: --na-values=--)",
    )


def table_schema(run_: Any, data: str | None, encoding: str | None, na_values: Any = None) -> Any:
    """The run's :class:`~torchlvm.data.table_schema.TableSchema` (None for a run on images or
    arrays), reading ``data`` in the command's ``--encoding``, its ``--na-values`` missing
    besides the run's (userP #11: a later file's -999 codes had no way in), and the model's
    precision.

    Raises:
        ConfigError: for ``--encoding`` or ``--na-values`` without a table file to read with
            them, and for a ``data`` file in a format torchlvm does not read (naming the
            pandas line that saves it as CSV, :func:`~torchlvm.data.registry.unsupported`).
    """
    from torchlvm.data.registry import unreadable
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.errors import ConfigError

    schema = TableSchema.from_dict(run_.data.get("table"))
    error = None if schema is None else unreadable(data)
    if error is not None:  # a .parquet or .json of the table, not a dataset's name
        raise error
    if schema is not None:  # every digit the model computes with (a PPCA's float64)
        schema = schema.read_as(run_.dtype)
    for flag, given in (("--encoding", encoding), ("--na-values", na_values)):
        if given and (data is None or schema is None or not is_table(data)):
            read = (
                "the run's own file is read as it was at training"
                if data is None
                else f"{data} is no table file"
                if schema is not None
                else f"the {run_.model_type} in {run_.folder} was not trained on a table"
            )
            raise ConfigError(
                f"{flag} says how a --data table file is read, and {read}; leave out {flag}"
            )
    if schema is not None and na_values:
        from dataclasses import replace

        from torchlvm.data.csv_cells import na_tokens

        schema = replace(schema, na_values=na_tokens([*schema.na_values, *na_values]))
    return schema if encoding is None else schema.read_in(encoding)


def check_reading(run_: Any, args: argparse.Namespace) -> Any:
    """``run_``, once a command's ``--encoding`` and ``--na-values`` are known to read a table
    file (:func:`table_schema` refuses them otherwise: readC C4, an image or array path took
    them and read its file as if they were not given)."""
    reading = getattr(args, "encoding", None), getattr(args, "na_values", None)
    if any(reading):
        table_schema(run_, getattr(args, "data", None), *reading)
    return run_


def _selector(text: str) -> int | str:
    return int(text) if text.strip().lstrip("-").isdigit() else text.strip()


def is_table(data: str) -> bool:
    """Whether ``--data`` names a table file (.csv, .tsv, either gzipped): standardized by
    default."""
    from torchlvm.data.csv_table import TABLE_SUFFIXES
    from torchlvm.data.registry import file_suffix

    return file_suffix(data) in TABLE_SUFFIXES


def is_file(data: str | None) -> bool:
    """Whether ``--data`` names a user's file (rather than a dataset, or nothing)."""
    from torchlvm.data.registry import is_file_name

    return data is not None and is_file_name(data)


def load_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``load_dataset`` options the flags ask for (only those that apply)."""
    return options_from(vars(args))


def options_from(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The ``load_dataset`` options that parsed command-line ``settings`` ask for."""
    options: dict[str, Any] = {}
    if settings.get("allow_missing"):
        options["allow_missing"] = True
    if settings.get("drop_columns"):
        drop = settings["drop_columns"]  # an older run recorded one word: "id,city"
        words = [drop] if isinstance(drop, str) else drop
        options["drop_columns"] = [_selector(str(c)) for c in words if str(c).strip()]
    if settings.get("label_column") is not None:
        options["label_column"] = _selector(str(settings["label_column"]))
    if settings.get("na_values"):
        from torchlvm.data.csv_cells import na_tokens

        options["na_values"] = list(na_tokens(settings["na_values"]))
    if settings.get("encoding") is not None:  # Python's name of it, or the refusal, now
        from torchlvm.data.csv_dialect import text_encoding

        options["encoding"] = text_encoding(settings["encoding"])
    table = is_table(str(settings.get("data", "")))
    standardize = settings.get("standardize")
    if standardize if standardize is not None else table:
        options["standardize"] = True
    if table and "label_column" in options:  # each class in every part, whatever the model
        options["stratify"] = True  # (readG G3: a VAE's and a CVAE's test rows were others)
    return options


def stratified(run_: Any) -> bool:
    """Whether ``run_`` splits a table by class (a run given its label column records it in
    its data options), else at random (a run made before that record, or of no classes): the
    split of every table file it reads."""
    return bool((run_.data.get("options") or {}).get("stratify"))


def own_file(run_: Any, data: str | None) -> bool:
    """Whether ``data`` is the file ``run_`` was trained on (its path spelled any way, or a copy
    of its bytes: :func:`~torchlvm.data.fingerprint.holds_run_file`; a moved file once
    :func:`~torchlvm.run.split.follow_moved_file` has recorded its new place): its splits are
    the run's, by its seed and its rule (:func:`stratified`), where another file's are seed
    0's."""
    from torchlvm.data.fingerprint import holds_run_file

    return is_file(data) and holds_run_file(run_.data, data)


def record(train: Any, options: dict[str, Any]) -> dict[str, Any] | None:
    """The run's ``table`` record for a loaded train split, or None for a non-table dataset."""
    from torchlvm.data.table_schema import TableSchema

    if not train.is_table:
        return None
    return TableSchema.read_with(train, options).to_dict()


def load_rows(
    run_: Any,
    data: str | None,
    split: str,
    data_dir: str | None,
    encoding: str | None = None,
    unseen: str = "refuse",
    na_values: Any = None,
) -> Any:
    """The data a command on ``run_`` reads: a table run and a given file are read with the
    run's columns and standardization (every cell as the model saw it in training), in
    ``encoding`` where the command was given one, and its text classes numbered as the run's
    (a class the run lacks: ``unseen``, as ``Dataset.with_classes`` takes it); anything else,
    and a ``split`` of the run's own file (:func:`own_file`: the rows the run split off, not
    seed 0's), as the run module loads it; ``na_values``: the command's ``--na-values``."""
    from torchlvm import run as _run
    from torchlvm.data.files import FRACTIONS, select_split
    from torchlvm.run.labels import as_run_names
    from torchlvm.run.split import follow_moved_file

    schema = table_schema(run_, data, encoding, na_values)
    if schema is not None and data is not None:  # (its own file moved: recorded, as for arrays)
        run_ = follow_moved_file(run_, data)
    own = split != "all" and own_file(run_, data)  # its split is the run's: seed, classes
    if schema is None or data is None or own:
        dataset = _run.load_split(run_, data, split, data_dir=data_dir)
        if schema is not None and not reads_missing(run_):  # (a run made --allow-missing)
            name = str(run_.data.get("name"))
            _refuse_missing(run_, name, dataset.x, None, schema.columns, split=split)
        return dataset
    if not is_file(data):  # a dataset name: the model reads this table's columns only
        from torchlvm.errors import ConfigError

        shown = ", ".join(schema.columns[:4]) + (", ..." if len(schema.columns) > 4 else "")
        raise ConfigError(
            f"the {run_.model_type} in {run_.folder} was trained on a table of "
            f"{len(schema.columns)} columns ({shown}), not on the dataset {data!r}; --data must "
            "be a table file (.csv or .tsv) with those columns, or leave out --data"
        )
    rows = schema.rows(data, allow_empty=True)  # an empty column: missing cells (below)
    if not reads_missing(run_):
        _refuse_missing(run_, data, rows.data.x, rows.lines, schema.columns)
    dataset = select_split(rows.data, split, fractions=FRACTIONS, seed=0, stratify=stratified(run_))
    if not run_.class_names:
        return dataset
    return as_run_names(dataset, run_.class_names).with_classes(run_.class_names, unseen=unseen)


def reads_missing(run_: Any) -> bool:
    """Whether the model of ``run_`` reads rows with empty cells: PPCA's posterior takes a row's
    observed cells, and a VAE trained with ``--allow-missing`` (MIWAE) encodes x̃, the row with
    its empty cells set to 0, as it was trained to (userP #7: encode and reconstruct refused the
    very rows it was trained on, which score, impute and the Python estimator read)."""
    from torchlvm.training import get_objective

    trained_on_them = bool((run_.data.get("options") or {}).get("allow_missing"))
    takers = get_objective("miwae").models  # (the models train --allow-missing trains)
    return run_.model_type == "ppca" or (run_.model_type in takers and trained_on_them)


def posterior(run_: Any, x: Any, c: Any = None) -> Any:
    """q(z | x) of rows ``x`` ``(B, D)`` as the model of ``run_`` reads them: a row with empty
    cells (NaN) through x̃ for a VAE, PPCA's exact posterior of the observed cells
    (:func:`torchlvm.inference.miwae.encode_observed`, as the estimators read them)."""
    from torchlvm.inference.miwae import encode_observed

    return encode_observed(run_.model, x, c)


def _refuse_missing(
    run_: Any, data: str, x: Any, lines: Any, columns: Any, split: str | None = None
) -> None:
    """Refuse rows ``x`` with empty cells for a model that reads complete rows, naming the first
    and the fix that exists: impute fills them with a VAE (or PPCA) run. ``split``: ``x`` is
    that split of the run's own file (no ``lines``), which a filled copy gives whole."""
    import torch

    from torchlvm.errors import DataError

    missing = torch.isnan(x)
    if not missing.any():
        return
    i, j = (int(k) for k in missing.nonzero()[0])
    where = f"line {int(lines[i])}" if lines is not None else f"row {i + 1}"
    then = "" if split is None else ", then pass --data FILLED.csv --split all"
    fill = (
        f"fill them first with 'torchlvm impute {quoted(run_.folder)} --data {quoted(data)} "
        f"--out FILLED.csv'{then}"
        if run_.model_type == "vae"
        else "fill them first with 'torchlvm impute' and a PPCA or VAE run"
    )
    whose = data if split in (None, "all") else f"the {split} split of {data}"
    raise DataError(
        f"{whose} has {_cells(int(missing.sum()))} (the first on {where}, column "
        f"{columns[j]!r}), and the {run_.model_type} in {run_.folder} reads complete rows; "
        f"{fill}, or leave those rows out"
    )


def _cells(n: int) -> str:
    return "1 empty cell" if n == 1 else f"{n} empty cells"


TABLE_OPTIONS = (
    "allow_missing", "drop_columns", "label_column", "standardize", "encoding", "na_values"
)  # fmt: skip
"""The ``load_dataset`` options a command-line flag of the same name gives (:func:`add_options`)."""


def _parsed(name: str, value: Any) -> Any:
    """Load option ``name``'s ``value`` as the command line's parser gives it (the flag's
    value: ``drop_columns`` ``[0, "id"]`` is ``["0", "id"]``, a word each; a switch left off is
    False)."""
    if name in ("allow_missing", "standardize"):
        return bool(value)
    if name in ("drop_columns", "na_values"):
        return [str(v) for v in value] if value else None
    return None if value is None else str(value)


def _flag_text(name: str, value: Any) -> str:
    """How option ``name`` with load-option ``value`` reads on the command line."""
    from torchlvm.cli._train_again import flag, option_words

    words = option_words({name: _parsed(name, value)})
    return " ".join(quoted(w) for w in words) if words else f"no {flag(name)}"


def fit_ppca_command(run_: Any) -> str:
    """``torchlvm fit ppca`` on ``run_``'s data, read as the run read it (its table options but
    ``--allow-missing``, which fit takes with ``--method em`` only): the run a command that needs
    PPCA or a VAE offers for a CVAE's or an autoencoder's. Its latent size is a table's default
    (:func:`~torchlvm.data.table_schema.table_latent_dim`, what ``train`` takes) for a run on a
    table, else the run's; below the data's dimension D either way (PPCA's K < D)."""
    from torchlvm.data.table_schema import table_latent_dim

    data = run_.data.get("name") or "DATA"
    options = {k: v for k, v in (run_.data.get("options") or {}).items() if k != "allow_missing"}
    words = ["torchlvm", "fit", "ppca", "--data", data, *options_command_words(options, data)]
    table = run_.data.get("table") is not None
    latent = table_latent_dim(run_.input_dim) if table else run_.model.latent_dim
    words += ["--latent-dim", str(max(1, min(latent, run_.input_dim - 1))), "--out", "RUN"]
    return " ".join(quoted(word) for word in words)


def train_vae_command(run_: Any) -> str:
    """``torchlvm train vae`` on ``run_``'s data, read as the run read it (its table options,
    ``--allow-missing`` included), at train's default latent size: the other run a command that
    needs PPCA or a VAE offers."""
    return train_command(run_, "vae")


def train_command(run_: Any, model: str) -> str:
    """``torchlvm train MODEL`` on ``run_``'s data, read as the run read it (its table options,
    ``--allow-missing`` included); a ``cvae`` conditioned on the class: on a table its label
    column (``--label-column COLUMN`` where the run named none), else ``--condition label``."""
    data = run_.data.get("name") or "DATA"
    options = dict(run_.data.get("options") or {})
    words = ["torchlvm", "train", model, "--data", data, *options_command_words(options, data)]
    if run_.data.get("data_dir"):  # where the run found its dataset (mnist, fashion-mnist)
        words += ["--data-dir", str(run_.data["data_dir"])]
    if model == "cvae" and run_.data.get("table") is not None:
        words += [] if options.get("label_column") is not None else ["--label-column", "COLUMN"]
    elif model == "cvae":
        words += ["--condition", "label"]
    return " ".join(quoted(word) for word in [*words, "--out", "RUN"])


def options_command_words(options: Mapping[str, Any], data: str) -> list[str]:
    """The command-line words that read ``data`` with the table ``options`` (``load_dataset``'s,
    as a run records them): a table file read as stored says ``--no-standardize``, and one
    standardized says nothing, since a command standardizes a table file by default."""
    from torchlvm.cli._train_again import option_words

    given = {name: _parsed(name, options.get(name)) for name in TABLE_OPTIONS if name in options}
    if is_table(data):
        given["standardize"] = None if options.get("standardize") else False
    return option_words(given)


def changed_option(name: str, value: Any, data: Mapping[str, Any]) -> str | None:
    """How a passed table option differs from the run's recorded ``data`` section, as a phrase
    such as ``"--no-standardize (the run has --standardize)"``, or None (the same, or not a
    table option). Compared as ``load_dataset`` options (an absent one is its default)."""
    if name not in TABLE_OPTIONS:
        return None
    recorded = dict(data.get("options") or {}).get(name)
    asked = options_from({"data": data.get("name", ""), name: value}).get(name)
    if _option_value(name, recorded) == _option_value(name, asked):
        return None
    return f"{_flag_text(name, asked)} (the run has {_flag_text(name, recorded)})"


def _option_value(name: str, value: Any) -> Any:
    """A table option's value with its default spelled out: False, [] or None; dropped columns
    as a list split at every comma (an older run recorded ``["id", "city"]`` where a new one
    records the word ``["id,city"]``: the same columns for this comparison)."""
    if name in ("allow_missing", "standardize"):
        return bool(value)
    if name == "na_values":
        from torchlvm.data.csv_cells import na_tokens

        return list(na_tokens(value or ()))
    if name != "drop_columns":
        return value
    return [_selector(p) for v in value or () for p in str(v).split(",") if p.strip()]


def complete_rows(dataset: Any) -> tuple[Any, int]:
    """``dataset`` without its rows that have a missing cell (NaN), and how many were left out.

    Evaluation's full-row metrics (likelihood, reconstruction, latent) take every cell; every
    row, complete or not, also gets log p(x_o) on its observed cells (as ``torchlvm score``).
    """
    import dataclasses

    import torch

    keep = ~torch.isnan(dataset.x).any(-1)
    dropped = int((~keep).sum())
    if not dropped:
        return dataset, 0
    y = None if dataset.y is None else dataset.y[keep]
    return dataclasses.replace(dataset, x=dataset.x[keep], y=y), dropped


def write_latents_csv(
    out: Path,
    means: Any,
    labels: Any,
    class_names: Any,
    dialect: Any,
    *,
    label: str = "label",
    ids: tuple[list[str], list[list[str]]] = ([], []),
) -> None:
    """Latent means ``(N, K)`` as a CSV (or .tsv) with columns z1..zK (and the class, under
    ``label``, when known), led by ``ids`` (:func:`~torchlvm.cli._table_rows.row_ids`: names,
    each row's cells), in ``dialect`` (:func:`~torchlvm.cli._table_rows.file_dialect`)."""
    from torchlvm.cli._table_rows import file_dialect, number_cells
    from torchlvm.data.csv_write import write_csv

    header = [*ids[0], *(f"z{j + 1}" for j in range(means.shape[1]))]
    if labels is not None:
        header.append(label)
    dialect = file_dialect(dialect, out, len(header))
    single = str(means.dtype) == "float32"  # (numpy) the model's precision
    rows = number_cells(means, dialect, single=single)
    names = list(class_names) if class_names else None
    for k, row in enumerate(rows):
        row[:0] = ids[1][k] if ids[0] else []
        if labels is not None:
            y = int(labels[k])
            row.append(names[y] if names else str(y))
    write_csv(out, header, rows, dialect=dialect)
