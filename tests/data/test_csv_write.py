"""Numbers in written tables: float64 values round-trip bit for bit; a float32 model's values
are written with float32's shortest text, not with its rounding noise."""

from __future__ import annotations

import codecs

import numpy as np

from torchlvm.data.csv_dialect import Dialect
from torchlvm.data.csv_write import number_text, write_csv


def test_a_float64_value_round_trips() -> None:
    value = 0.1 + 0.2
    assert float(number_text(value)) == value and number_text(value) == "0.30000000000000004"


def test_a_float32_value_is_written_with_its_own_digits() -> None:
    value = float(np.float32(2.5052407))  # what a float32 model gives, seen as a float64
    assert number_text(value) == "2.5052406787872314"
    assert number_text(value, single=True) == "2.5052407"
    assert np.float32(number_text(value, single=True)) == np.float32(value)


def test_missing_is_empty() -> None:
    assert number_text(float("nan")) == "" and number_text(float("nan"), single=True) == ""


def test_a_table_is_written_in_its_files_encoding_or_else_in_utf8(tmp_path) -> None:
    """A Windows-1252 file's rows come back in Windows-1252; a class name it cannot hold (from
    a training file in UTF-8) makes the file UTF-8 with a byte-order mark, not a traceback."""
    path = tmp_path / "t.csv"
    write_csv(path, ["Région", "x"], [["Île", "1,5"]], dialect=Dialect(";", ",", "cp1252"))
    assert path.read_bytes() == "Région;x\r\nÎle;1,5\r\n".encode("cp1252")
    write_csv(path, ["Région", "x"], [["北京", "1,5"]], dialect=Dialect(";", ",", "cp1252"))
    assert path.read_bytes() == codecs.BOM_UTF8 + "Région;x\r\n北京;1,5\r\n".encode()
