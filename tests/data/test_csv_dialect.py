"""A table file's encoding, separator and decimal point: what is read and how files written from
it follow it."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from torchlvm.data.csv_dialect import Dialect, MarkedOtherwise, decode, sniff, text_encoding
from torchlvm.errors import OptionError

TEXT = "Température (°C);Masse (µg)\n21,5;3,25\n"


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16-be"),
        (TEXT.encode("cp1252"), "cp1252"),
        (TEXT.encode("latin-1"), "cp1252"),
        ("a;b\n1,5;€ 2\n".encode("cp1252"), "cp1252"),  # 0x80: the euro sign
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le", "utf-16-be", "windows-1252", "latin-1", "euro"],
)
def test_decode_reads_each_encoding_to_its_text(raw, encoding):
    """A UTF-16 text keeps its byte-order mark (U+FEFF): written back in its byte order (a
    big-endian file was written back little-endian)."""
    text, found = decode(raw)
    assert found == encoding and text == raw.decode(encoding)
    assert decode(text.encode(found)) == (text, found)  # written back in it
    assert text.encode(found) == raw


def test_decode_names_the_first_byte_no_code_page_reads():
    with pytest.raises(UnicodeDecodeError) as caught:
        decode(b"a,b\n1,\xe9\x81\n")
    assert caught.value.start == 7  # 0xe9 is é in Windows-1252; 0x81 is nothing
    raw = codecs.BOM_UTF8 + b"a,b\n1,\xe9\n"  # UTF-8 by its mark: no other code page
    with pytest.raises(UnicodeDecodeError) as caught:
        decode(raw)
    assert raw[caught.value.start] == 0xE9  # counted in the file, the mark included


@pytest.mark.parametrize(
    ("text", "decimal", "undecided"),
    [
        ("a\tb\n3,14\t2\n", ",", ""),
        ("a\tb\n1,234\t0,5\n", ",", ""),
        ("a\tb\n1,234\t2\n", ".", ","),  # 1234 or 1.234: refused, naming both
        ("a\tb\n1,234\t2.5\n", ".", ""),  # a point decides: 1234
        ("a\tb\n3.14\t2\n", ".", ""),
        ("a\tb\n1.234\t2\n", ".", ""),  # a .tsv's point is a decimal point
        ("a\tb\nx,y\t2\n", ".", ""),
    ],
    ids=[
        "comma",
        "comma-and-grouped",
        "grouped-only",
        "grouped-and-point",
        "points",
        "one-group-point",
        "text",
    ],
)
def test_a_tsvs_decimal_point(text, decimal, undecided):
    assert sniff(text, tabs=True) == Dialect("\t", decimal, undecided=undecided, newline="\n")


@pytest.mark.parametrize(
    ("text", "decimal", "undecided"),
    [
        ("a;b\n1,234;2\n", ",", ""),  # with semicolons a comma is a decimal point
        ("a;b\n1.234;2\n", ".", "."),  # 1234 (European thousands) or 1.234: refused
        ("a;b\n1.234;2.5\n", ".", ""),
        ("a;b\n1.234;2,5\n", ",", ""),  # 1234
    ],
    ids=["comma", "one-group-point", "points", "thousands"],
)
def test_a_semicolon_files_decimal_point(text, decimal, undecided):
    assert sniff(text, tabs=False) == Dialect(";", decimal, undecided=undecided, newline="\n")


@pytest.mark.parametrize(
    ("dialect", "width", "written"),
    [
        (Dialect("\t", ",", "cp1252"), 3, Dialect(";", ",", "cp1252")),
        (Dialect("\t", ".", "utf-16"), 3, Dialect(",", ".", "utf-16")),
        (Dialect(";", ",", "cp1252"), 1, Dialect(",", ".", "cp1252")),
        (Dialect(";", ",", "utf-8-sig"), 2, Dialect(";", ",", "utf-8-sig")),
    ],
    ids=["tsv-decimal-commas", "tsv-points", "one-column", "as-it-is"],
)
def test_a_csv_written_from_a_file_keeps_its_encoding(dialect, width, written):
    assert dialect.for_csv(width) == written


@pytest.mark.parametrize(
    ("text", "newline"),
    [("a,b\n1,2\r\n", "\n"), ("a;b\r\n1;2\n", "\r\n"), ("a\tb\r1\t2", "\r"), ("1,2", "\r\n")],
    ids=["lf", "crlf", "cr", "none"],
)
def test_a_files_line_end_is_its_first_lines(text, newline):
    """The line end the files written from a table keep (they were all CRLF, csv.writer's)."""
    assert sniff(text, tabs="\t" in text).newline == newline


def test_the_record_holds_the_encoding_and_the_line_end():
    dialect = Dialect(";", ",", "cp1252", newline="\n")
    assert Dialect.from_dict(dialect.to_dict()) == dialect
    before = Dialect.from_dict({"delimiter": ";", "decimal": ","})  # recorded before either
    assert before.encoding == "utf-8" and before.newline == "\r\n"
    with pytest.raises(ValueError, match="not a table file's dialect"):
        Dialect.from_dict({"newline": "\n\n"})
    with pytest.raises(ValueError, match="not a table file's dialect"):
        Dialect.from_dict({"encoding": "ebcdic"})


@pytest.mark.parametrize(
    ("stated", "name"),
    [("mac_roman", "mac-roman"), ("Windows-1251", "cp1251"), ("latin2", "iso8859-2")],
)
def test_a_stated_encoding_reads_what_detection_garbles(stated, name):
    """An 8-bit code page that is not Windows-1252 reads as Windows-1252 shows it, told from the
    bytes; stated, it reads right, under Python's name for it, which the record keeps."""
    text = {"mac-roman": "Größe,µm\n", "cp1251": "Рост,Вес\n", "iso8859-2": "Žluť,ř\n"}[name]
    raw = text.encode(name)
    assert decode(raw)[0] != text
    assert decode(raw, stated) == (text, name)
    dialect = Dialect(encoding=name)
    assert Dialect.from_dict(dialect.to_dict()) == dialect


def test_a_stated_utf_encoding_reads_after_its_mark_and_a_mark_of_another_is_refused():
    assert decode(codecs.BOM_UTF8 + b"a,b\n", "utf-8") == ("a,b\n", "utf-8-sig")
    marked = codecs.BOM_UTF16_LE + "é,b\n".encode("utf-16-le")
    assert decode(marked, "utf-16") == ("\ufeffé,b\n", "utf-16-le")  # (the mark kept)
    with pytest.raises(MarkedOtherwise) as refused:
        decode(codecs.BOM_UTF8 + b"a,b\n", "cp1252")
    assert (refused.value.marked, refused.value.stated) == ("utf-8-sig", "cp1252")


@pytest.mark.parametrize("name", ["latin-2", "base64", "", None])
def test_a_name_that_is_no_text_encoding_is_refused_naming_the_option(name):
    with pytest.raises(OptionError, match="is not a text encoding Python knows; pass the file's"):
        text_encoding(name)
    with pytest.raises(ValueError, match="not a table file's dialect"):
        Dialect.from_dict({"encoding": name})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet='a1,;" \r\n\t\u2028\x0c', max_size=40))
def test_text_lines_are_the_lines_a_file_opened_with_newline_empty_gives(text):
    """The reader reads a table's text line by line from text_lines (io.StringIO copied the
    text at 4 bytes a character): the same lines, so the same rows, as StringIO's."""
    import csv
    import io

    from torchlvm.data.csv_dialect import text_lines

    assert list(text_lines(text)) == list(io.StringIO(text, newline=""))
    try:
        expected = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return
    assert list(csv.reader(text_lines(text))) == expected
