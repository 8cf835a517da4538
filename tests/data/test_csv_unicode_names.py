"""Names and labels match however their letters are encoded: macOS writes 'Größe' decomposed
(Unicode NFD: 'o' and a combining diaeresis), other systems composed (NFC), and the two print
alike (userJ #19). A later file's columns, label and dropped columns are the run's in either
form; a file to train on with two names or two classes that differ only so is refused."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from torchlvm.data.csv_table import read_csv
from torchlvm.data.table_schema import TableSchema
from torchlvm.errors import DataError


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.mark.parametrize(("run", "file"), [(nfd, nfc), (nfc, nfd)], ids=["nfd-run", "nfc-run"])
def test_a_later_file_names_the_runs_columns_in_the_other_form(tmp_path, run, file):
    """A run trained on a header written decomposed refused the same table saved composed:
    "lacks column 'Größe' ...; add it"; its label and dropped columns were not found either."""
    schema = TableSchema(
        (run("Größe"), "b"), drop_columns=(run("Kennzeichen"),), label_column=run("Tierart")
    )
    path = tmp_path / "later.csv"
    header = [file("Tierart"), "b", file("Kennzeichen"), file("Größe")]
    path.write_text(",".join(header) + "\nKatze,2,k1,1.5\nHund,4,k2,3\n", encoding="utf-8")
    data = schema.rows(path).data
    np.testing.assert_array_equal(data.x.numpy(), [[1.5, 2], [3, 4]])
    assert data.columns == (file("Größe"), "b")  # as the file writes them
    assert data.class_names == ("Hund", "Katze")


def test_drop_columns_typed_composed_names_a_header_written_decomposed(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"{nfd('Größe')},b\n1,2\n3,4\n", encoding="utf-8")
    table = read_csv(path, drop_columns=["Größe"])
    assert table.columns == ("b",)


def test_two_columns_that_differ_only_in_form_are_refused_at_training(tmp_path):
    """A later file could not tell them apart: which of the run's two columns it holds."""
    path = tmp_path / "t.csv"
    path.write_text(f"{nfc('Größe')},b,{nfd('Größe')}\n1,2,3\n3,4,5\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"index 0 and 2 are both named .*encoded two ways"):
        read_csv(path)


def test_two_classes_that_differ_only_in_form_are_refused_at_training(tmp_path):
    path = tmp_path / "t.csv"
    rows = [f"1.5,{nfc('Kätze')}", "0.5,Hund", f"2.5,{nfd('Kätze')}", "0.1,Hund"]
    path.write_text("a,kind\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\(line 2\) and .*\(line 4\) of column 'kind'"):
        read_csv(path, label_column="kind")
    later = read_csv(path, label_column="kind", if_present=True, features=("a",))
    assert len(later.class_names) == 3  # a later file's labels are matched to the run's classes


def test_a_name_index_finds_as_find_name_does():
    """Wide tables look names up through one index (readA #10: 20,000 columns, an encode went
    from 42.5 s to 7.1 s): the written name first, else the one name of another Unicode form,
    None where none or two are."""
    import unicodedata

    from torchlvm.data.columns import NameIndex, find_name

    nfd = unicodedata.normalize("NFD", "Größe")
    names = ["a", "Größe", "b", "a", "x" + nfd, "x" + "Größe"]
    index = NameIndex(names)
    for name in ["a", "b", nfd, "Größe", "xGröße", "x" + nfd, "missing"]:
        assert index.find(name) == find_name(name, names)
    assert index.find("a") == 0 and index.find(nfd) == 1 and index.find("x" + nfd) == 4
    assert NameIndex(["x" + nfd, "xGröße"]).find("xGRÖSSE") is None
