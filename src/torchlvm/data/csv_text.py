"""A table file's bytes as text: gunzipped where its name ends in ``.gz``, decoded as the
bytes tell (:func:`~torchlvm.data.csv_dialect.decode`: a byte-order mark, UTF-8, else
Windows-1252, warned of where a word looks garbled) or as the stated encoding; a workbook, bytes
of no such text, or UTF-16 without its mark refused in one line naming the fix.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path

from torchlvm.data.csv_dialect import (
    SOME_ENCODINGS,
    MarkedOtherwise,
    decode,
    garbled,
    text_encoding,
)
from torchlvm.data.file_warning import warn_of_file
from torchlvm.errors import DataError, Spell, spelled


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """The text of ``path`` (gunzipped when its name ends in ``.gz``) and its encoding, told or
    the stated ``encoding`` (:func:`~torchlvm.data.csv_dialect.decode`), as
    :func:`~torchlvm.data.csv_table.read_csv` reads them."""
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except EOFError:  # the stream stops before its end: a copy cut short
            raise DataError(
                f"{path} is cut off: its gzip stream ends before its end marker; copy or "
                "download it again"
            ) from None
        except (OSError, zlib.error) as error:  # BadGzipFile is an OSError
            raise DataError(
                f"cannot read {path} as gzip ({error}); compress it with gzip, or pass the "
                "uncompressed file"
            ) from None
    _refuse_binary(path, raw)
    try:
        text, told = decode(raw, encoding)
    except MarkedOtherwise as error:
        marked, stated = error.marked.removesuffix("-sig"), error.stated
    except UnicodeDecodeError as error:
        raise _not_text(path, raw, error, encoding) from None
    else:
        if encoding is None and text.count("\0") * 3 >= len(text) > 0:
            raise _unmarked_utf16(path, raw)
        return text, told
    raise spelled(
        DataError,
        lambda spell: (
            f"{path} starts with the byte-order mark of {marked}, so it is not {stated} text; "
            f"leave out {spell('encoding', None)}"
        ),
    )


def _refuse_binary(path: Path, raw: bytes) -> None:
    """Refuse a file whose first bytes are those of a known binary format, named with its fix:
    a gzip or .npy file under a .csv name was told to pass --encoding, a Parquet file that it
    held no data rows, a zip of a CSV that it was a workbook (userJ #17)."""
    fix = None
    if raw.startswith(b"\x1f\x8b"):
        fix = f"is gzip-compressed; name it {path.name}.gz, and it is gunzipped as it is read"
    elif raw.startswith(b"\x93NUMPY"):
        fix = f"is a NumPy array (.npy), not a table as text; name it {path.stem}.npy"
    elif raw.startswith(b"PAR1"):
        fix = (
            "is a Parquet file, not a table as text; write it as CSV (pandas: "
            f"pd.read_parquet('{path.name}').to_csv('{path.stem}-table.csv', index=False))"
        )
    elif raw.startswith(b"\xd0\xcf\x11\xe0") or _workbook(raw):  # OLE (.xls); .xlsx, .ods
        fix = (
            "is a spreadsheet's workbook, not a table as text; save the sheet as CSV (in "
            "Excel, File > Save As > 'CSV UTF-8') and pass that file"
        )
    elif raw.startswith(b"PK\x03\x04"):
        fix = "is a zip archive, not a table as text; unzip it and pass the table inside"
    if fix is not None:
        raise DataError(f"{path} {fix}")


def _workbook(raw: bytes) -> bool:
    """Whether zip bytes ``raw`` hold a workbook (.xlsx: xl/..., .ods: content.xml)."""
    import io
    import zipfile

    if not raw.startswith(b"PK\x03\x04"):
        return False
    try:
        names = zipfile.ZipFile(io.BytesIO(raw)).namelist()
    except (zipfile.BadZipFile, OSError):
        return True  # a zip that cannot be listed: say what it most likely is
    return any(n.startswith("xl/") or n == "content.xml" for n in names)


def _unmarked_utf16(path: Path, raw: bytes) -> DataError:
    """The refusal of text told UTF-8 or Windows-1252 of which a third or more is NUL
    characters: UTF-16 without its byte-order mark (every other byte of Latin text 0), whose
    order its first bytes tell; the fix states the encoding."""
    order = "utf-16-be" if raw[:1] == b"\0" else "utf-16-le"
    return spelled(
        DataError,
        lambda spell: (
            f"{path} holds NUL bytes between its characters, as UTF-16 text without its "
            f"byte-order mark does; pass its encoding ({spell('encoding', order)}, as its first "
            "bytes say), or save the file as UTF-8 CSV"
        ),
    )


def _not_text(path: Path, raw: bytes, error: UnicodeDecodeError, encoding: str | None):
    """The refusal of bytes that are not text in the encoding the file was read in, naming the
    line and the byte, and the fixes: state its encoding, or save it as UTF-8."""
    line = raw[: error.start].count(b"\n") + 1
    if encoding is not None:
        what = f"is not {text_encoding(encoding)} text"
    elif raw.startswith(codecs.BOM_UTF8):
        what = "is not UTF-8 text, which its byte-order mark says it is"
    else:
        what = "is neither UTF-8 nor Windows-1252 text"

    def message(spell: Spell) -> str:
        state = (
            ""
            if raw.startswith(codecs.BOM_UTF8) and encoding is None
            else (
                f"pass the encoding it is in ({spell('encoding', 'NAME')}, such as "
                f"{SOME_ENCODINGS}), or "
            )
        )
        return (
            f"{path} line {line} {what} (byte 0x{raw[error.start]:02x}); {state}save the "
            "file as UTF-8 CSV"
        )

    return spelled(DataError, message)


_GARBLED_LOOKED_AT = 1 << 16  # characters of a Windows-1252 table looked at for garbled words


def warn_if_garbled(path: Path, text: str) -> None:
    """Warn where a table read as Windows-1252 (it is not UTF-8, and no encoding was given)
    holds a word that looks like another code page's text misread: its names would be
    garbled (nothing is refused: the numbers read the same in every 8-bit code page)."""
    word = garbled(text[:_GARBLED_LOOKED_AT])
    if word is not None:
        warn_of_file(
            path,
            f"{path} is not UTF-8, so it was read as Windows-1252, in which it holds "
            f"{word!r}; if that looks garbled, give the file's encoding (--encoding NAME, "
            f"encoding='NAME' in Python; such as {SOME_ENCODINGS})",
            stacklevel=2,
        )
