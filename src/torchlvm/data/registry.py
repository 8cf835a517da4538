"""The registry of named datasets, filled by the :func:`register_dataset` decorator.

A loader is a function ``loader(split, *, seed, data_dir, **options) -> Dataset`` returning
grey-level data (``binarize="none"``); :func:`torchlvm.data.load_dataset` looks it up by name,
checks the options against the loader's keyword parameters and applies binarization.
"""

from __future__ import annotations

import difflib
import glob
import inspect
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torchlvm._shell import quoted
from torchlvm.data.csv_table import TABLE_SUFFIXES
from torchlvm.data.dataset import Dataset
from torchlvm.data.locate import Found
from torchlvm.data.picture_folder import PICTURE_SUFFIXES, pictures_fix, pictures_in
from torchlvm.errors import ConfigError, DataNotFoundError

Loader = Callable[..., Dataset]
Locator = Callable[[str | os.PathLike[str] | None], Found]

FILE_SUFFIXES: tuple[str, ...] = (".npy", ".npz", *TABLE_SUFFIXES)
"""Extensions of user files that ``load_dataset`` accepts in place of a dataset name."""


def file_suffix(path: str | os.PathLike[str]) -> str:
    """The extension that names a file's format, lowercased: the longest of
    :data:`FILE_SUFFIXES` its name ends with (``".csv.gz"``), else its last one."""
    name = Path(path).name.lower()
    found = [s for s in FILE_SUFFIXES if name.endswith(s) and name != s]
    return max(found, key=len) if found else Path(path).suffix.lower()


def is_file_name(path: str | os.PathLike[str]) -> bool:
    """Whether ``path``'s extension is that of a file torchlvm reads."""
    return file_suffix(path) in FILE_SUFFIXES


def unsupported(path: str | os.PathLike[str]) -> ConfigError:
    """The error for a file whose extension torchlvm does not read, naming those it does; for
    a spreadsheet's own files the export that it reads, and for an IDX file the dataset that
    reads it."""
    from torchlvm.data.mnist import idx_file_error  # (it registers its datasets here)

    idx = idx_file_error(path)
    if idx is not None:
        return idx
    from torchlvm.data.saved_tensors import torch_file_fix

    suffix = file_suffix(path)
    pictures = pictures_in(os.path.dirname(path) or ".") if suffix in PICTURE_SUFFIXES else None
    fix = (
        (pictures_fix(pictures) if pictures is not None else None)
        or _text_table_fix(path, suffix)
        or (_NUMBERS_FIX if suffix == ".numbers" else None)
        or _pandas_fix(path, suffix)
        or _compressed_fix(path, suffix)
        or torch_file_fix(path)
    )
    return ConfigError(
        f"cannot read {path}: unsupported extension {suffix!r}; "
        + (fix or f"torchlvm reads {', '.join(FILE_SUFFIXES)} files")
    )


def names_other_file(name: str | os.PathLike[str]) -> bool:
    """Whether ``name`` ends in the extension of a file :func:`unsupported` names a fix for (a
    workbook, a picture, a compressed table, ...): meant as a file, not a dataset's name."""
    from torchlvm.data.saved_tensors import TORCH_SUFFIXES

    others = (*_TEXT_TABLES, ".numbers", *_PANDAS_READERS, *_DECOMPRESS, *TORCH_SUFFIXES)
    return file_suffix(name) in (*others, *PICTURE_SUFFIXES)


def unreadable(path: str | os.PathLike[str] | None) -> ConfigError | None:
    """:func:`unsupported`'s error where ``path`` is a file whose extension torchlvm does not
    read (a command that reads a table file may otherwise take its name for a dataset's), else
    None."""
    if path is None or is_file_name(path) or not Path(path).is_file():
        return None
    return unsupported(path)


_TEXT_TABLES = (".txt", ".data", ".dat")
"""Extensions of tables as text under another name: Excel's 'Text (Tab delimited)' (.txt),
the UCI repository's files (iris.data, housing.data), numpy's savetxt."""

_HEAD_BYTES = 1 << 12  # bytes of such a file read to tell its separator

_RENAME = (
    "if tabs separate its cells (Excel's 'Text (Tab delimited)' and 'Unicode Text' exports), "
    "rename it to .tsv; if commas or semicolons do, to .csv"
)


def _text_table_fix(path: str | os.PathLike[str], suffix: str) -> str | None:
    """For a table as text under another extension (:data:`_TEXT_TABLES`), the fix its first
    line's separator says: a rename to .tsv (tabs) or .csv (commas, semicolons), or, for cells
    separated by runs of spaces (UCI's housing.data, numpy's savetxt), the pandas line that
    saves it as CSV; for a .txt whose first line does not say (or that cannot be read), both
    renames; None for another extension, or a .data / .dat file that does not say."""
    if suffix not in _TEXT_TABLES:
        return None
    told = _told_by_separator(path)
    return _RENAME if told is None and suffix == ".txt" else told


def _told_by_separator(path: str | os.PathLike[str]) -> str | None:
    """:func:`_text_table_fix`'s fix from the first line of the file at ``path``, or None."""
    try:
        with open(path, "rb") as file:
            head = file.read(_HEAD_BYTES)
    except OSError:
        return None
    text = head.decode("utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "latin-1")
    first = next((line for line in text.splitlines() if line.strip()), "")
    if "\t" in first:
        return "tabs separate its cells: rename it to .tsv"
    if "," in first or ";" in first:
        return "commas or semicolons separate its cells: rename it to .csv"
    if len(first.split()) > 1:
        csv = _new_table(path)
        return (
            "spaces separate its cells: save it as CSV with pandas, "
            rf"pandas.read_csv({str(path)!r}, sep=r'\s+', header=None).to_csv({csv!r}, "
            f"{_KEEP}) (header=0 where its first line names the columns), and pass that"
        )
    return None


_NUMBERS_FIX = (
    "torchlvm reads tables as text: export the sheet as CSV (in Numbers, File > Export To > "
    "CSV) and pass the .csv"
)

# A table in a format pandas reads (its reader), which torchlvm does not: it reads tables as
# text, whose cells it writes back as written, and pandas is no dependency of it
_PANDAS_READERS = {
    **dict.fromkeys((".xlsx", ".xlsm", ".xls", ".ods"), "read_excel"),
    **dict.fromkeys((".parquet", ".pq"), "read_parquet"),
    **dict.fromkeys((".feather", ".arrow"), "read_feather"),
    **dict.fromkeys((".json", ".jsonl", ".ndjson"), "read_json"),
    **dict.fromkeys((".sas7bdat", ".xpt"), "read_sas"),
    ".orc": "read_orc",
    ".dta": "read_stata",
    ".sav": "read_spss",
}


def _pandas_fix(path: str | os.PathLike[str], suffix: str) -> str | None:
    """For a table in a format pandas reads, the pandas line that saves it as the CSV torchlvm
    reads (:data:`_PANDAS_READERS`; for a workbook, Excel's export first), else None."""
    reader = _PANDAS_READERS.get(suffix)
    if reader is None:
        return None
    lines = ", lines=True" if suffix in (".jsonl", ".ndjson") else ""
    line = f"pandas.{reader}({str(path)!r}{lines}).to_csv({_new_table(path)!r}, {_KEEP})"
    needs = _PANDAS_NEEDS.get(suffix)
    if needs is not None:  # (pandas imports it at the call: ImportError 'Missing optional ...')
        line += f" (pandas reads it with {needs}: pip install {needs})"
    if reader == "read_excel":
        return (
            "torchlvm reads tables as text: save the sheet as CSV (in Excel, File > Save As > "
            f"'CSV UTF-8'; in Python, {line}) and pass the .csv"
        )
    return f"torchlvm reads tables as CSV text: save it as one with pandas, {line}, and pass it"


_PANDAS_NEEDS = {
    **dict.fromkeys((".xlsx", ".xlsm"), "openpyxl"),
    ".xls": "xlrd",
    ".ods": "odfpy",
    **dict.fromkeys((".parquet", ".pq", ".feather", ".arrow", ".orc"), "pyarrow"),
    ".sav": "pyreadstat",
}
"""The package pandas needs to read a format of :data:`_PANDAS_READERS`, which a plain
``pip install pandas`` lacks."""

_KEEP = "index=False, mode='x'"
"""to_csv's options in an offered line: no index column, and a file of that name stops the
line rather than being replaced (userK #18: the line replaced a wine.csv beside wine.xlsx)."""


def _new_table(path: str | os.PathLike[str]) -> str:
    """The CSV an offered line writes from the file at ``path``: a new name beside it,
    ``STEM-table.csv`` (as csv_text's line for a parquet file under .csv)."""
    return str(Path(path).with_name(f"{Path(path).stem}-table.csv"))


# A table compressed otherwise than with gzip (pandas' to_csv('t.csv.bz2'), 't.zip'): the tool
# that decompresses it (pandas' read_csv reads each)
_DECOMPRESS = {".bz2": "bunzip2 -k", ".xz": "unxz -k", ".zip": "unzip", ".zst": "unzstd -k"}


def _compressed_fix(path: str | os.PathLike[str], suffix: str) -> str | None:
    """For a file compressed otherwise than with gzip (:data:`_DECOMPRESS`), how to decompress
    it into the table torchlvm reads, or to gzip it, which it reads as it is; else None."""
    tool = _DECOMPRESS.get(suffix)
    if tool is None:
        return None
    inner = Path(path).name[: -len(suffix)]
    if not inner.lower().endswith((".csv", ".tsv")):
        inner += ".csv"
    out = str(Path(path).with_name(inner))
    tabs = ", sep='\\t'" if inner.lower().endswith(".tsv") else ""
    line = f"pandas.read_csv({str(path)!r}{tabs}).to_csv({out!r}{tabs}, {_KEEP})"
    if suffix == ".zip":  # its file's name is the archive's or another (pandas: 't' of 't.zip')
        how = f"unzip it and pass the .csv or .tsv it holds (in Python, {line}, and pass that)"
    else:
        how = f"decompress it ({tool} {shlex.quote(str(path))}; in Python, {line}) and pass that"
    return f"torchlvm reads tables as text, gzipped or not (.csv, .csv.gz): {how}"


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset.

    Attributes:
        name: The name ``load_dataset`` takes, e.g. ``"fashion-mnist"``.
        loader: Returns the requested split as a :class:`Dataset`.
        description: One line on what the data is.
        how_to_get: How to obtain the files, or a note that none are needed.
        locate: Searches for the files given an optional ``data_dir``; None when the data is
            built in or generated.
        options: Names of the extra keyword options the loader takes.
        size: The examples of the standard set, for data read from files (a folder of them
            may hold another count); None where it does not apply.
    """

    name: str
    loader: Loader
    description: str
    how_to_get: str
    locate: Locator | None
    options: tuple[str, ...]
    size: int | None = None


_REGISTRY: dict[str, DatasetSpec] = {}
_STANDARD_PARAMETERS = ("split", "seed", "data_dir")


def register_dataset(
    name: str,
    *,
    description: str | None = None,
    how_to_get: str = "built in: nothing to download",
    locate: Locator | None = None,
    size: int | None = None,
) -> Callable[[Loader], Loader]:
    """Decorator that registers ``loader`` under ``name``.

    Args:
        name: The dataset's name.
        description: One line; defaults to the first line of the loader's docstring.
        how_to_get: How a user obtains the data.
        locate: File search for datasets read from disk (see :mod:`torchlvm.data.locate`).
        size: The examples of the standard set, for datasets read from disk.

    Returns:
        The decorator, which returns the loader unchanged.

    Raises:
        ConfigError: If ``name`` is already registered.
    """

    def decorate(loader: Loader) -> Loader:
        if name in _REGISTRY:
            raise ConfigError(f"dataset {name!r} is already registered; choose another name")
        options = tuple(
            parameter.name
            for parameter in inspect.signature(loader).parameters.values()
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
            and parameter.name not in _STANDARD_PARAMETERS
        )
        summary = description or (inspect.getdoc(loader) or name).splitlines()[0]
        _REGISTRY[name] = DatasetSpec(name, loader, summary, how_to_get, locate, options, size)
        return loader

    return decorate


def list_datasets() -> list[str]:
    """Names of the registered datasets, sorted."""
    return sorted(_REGISTRY)


def dataset_specs() -> list[DatasetSpec]:
    """The registered datasets, sorted by name."""
    return [_REGISTRY[name] for name in list_datasets()]


def get_spec(name: str) -> DatasetSpec:
    """The registered dataset called ``name``.

    Raises:
        ConfigError: If no dataset has that name; the message lists the known names, the
            closest one, or for a folder how its IDX files are read.
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        pass
    if os.path.isdir(name):  # a folder of IDX files is read by the dataset's name
        idx = sorted(n for n, spec in _REGISTRY.items() if spec.locate is not None)
        found = [  # IDX files in it, or in torchvision's root/MNIST/raw
            path
            for pattern in ("*-ubyte*", "raw/*-ubyte*", "*/raw/*-ubyte*")
            for path in glob.glob(os.path.join(glob.escape(name), pattern))
        ]
        where = " ".join([os.path.basename(os.path.normpath(name)), *found]).lower()
        example = next(
            (n for n in idx if n.replace("-", "") in where.replace("-", "")),
            "mnist" if "mnist" in idx else "NAME",
        )
        how = (
            f"pass the dataset's name ({', '.join(idx)}) with the folder as its data_dir "
            f"(e.g. --data {example} --data-dir {quoted(name)})"
        )
        pictures = pictures_in(name) if not found else None
        if pictures is not None:
            raise ConfigError(
                f"{name} is a folder of picture files, which torchlvm does not read one by one; "
                f"{pictures_fix(pictures)}"
            )
        if not found:
            raise ConfigError(
                f"{name} is a folder without IDX files, not a dataset name or a file; pass a "
                f"file ({', '.join(FILE_SUFFIXES)}) or a dataset name "
                f"({', '.join(list_datasets())})"
            )
        raise ConfigError(
            f"{name} is a folder, not a dataset name or a file; to read the IDX files in it, {how}"
        )
    if name.endswith(("/", os.sep)):  # meant as a folder, and there is none
        raise DataNotFoundError(
            f"{name} is not a folder here (nothing by that name); check the path, or pass a "
            f"dataset name ({', '.join(list_datasets())}) or a file"
        )
    known = ", ".join(list_datasets())
    suffixes = "/".join(FILE_SUFFIXES)
    close = difflib.get_close_matches(name.lower().replace("_", "-"), list_datasets(), n=1)
    guess = f"did you mean {close[0]!r}? " if close else ""
    files = [name + s for s in FILE_SUFFIXES if os.path.isfile(name + s)]  # (userP #10)
    if files:
        guess = f"did you mean the file {quoted(files[0])} (--data {quoted(files[0])})? "
    raise ConfigError(
        f"unknown dataset {name!r}; {guess}known datasets: {known}; a path to a file ending in "
        f"{suffixes} is also accepted"
    )
