"""Class labels given on the command line (``--condition``, ``--from-condition``): by name,
case aside, in either Unicode form, or as the number a name writes."""

from __future__ import annotations

import unicodedata
from types import SimpleNamespace

import pytest

from torchlvm.errors import ConfigError
from torchlvm.run.labels import class_index, parse_labels


def _run(names: list[str]) -> SimpleNamespace:
    return SimpleNamespace(
        num_classes=len(names), class_names=names, data={"name": "/data/t.csv"}, folder="r"
    )


def test_a_decomposed_name_is_the_name_typed_composed():
    """A label column written decomposed (NFD, as macOS writes file names and text) held
    'Kätze' that '--condition Kätze', typed composed, could not name (userJ #19)."""
    names = [unicodedata.normalize("NFD", "Kätze"), "Hund"]
    assert parse_labels(_run(names), ["Kätze", "hund"], "--condition") == [0, 1]
    assert parse_labels(_run(["Kätze", "Hund"]), [names[0]], "--condition") == [0]


def test_a_class_is_named_by_the_number_its_label_writes():
    """A 1.0/2.0 column's class '2' was refused for '--condition 2.0', the label as the file
    writes it (userG #9); a number names the one class equal to it."""
    assert parse_labels(_run(["1", "2"]), ["2.0", "1"], "--condition") == [1, 0]
    assert parse_labels(_run(["1.0", "2.0"]), ["2"], "--condition") == [1]
    with pytest.raises(ConfigError, match="not a known class"):
        parse_labels(_run(["1", "2"]), ["3.0"], "--condition")


def test_a_name_of_two_classes_but_for_case_says_so():
    """review13 #10: 'CAT' of classes 'Cat' and 'cat' was "not a known class", known twice."""
    with pytest.raises(ConfigError, match=r"'CAT' names 2 classes, 'Cat', 'cat', which differ"):
        parse_labels(_run(["Cat", "cat", "dog"]), ["CAT"], "--condition")
    assert parse_labels(_run(["Cat", "cat", "dog"]), ["cat", "DOG"], "--condition") == [1, 2]


@pytest.mark.parametrize(
    ("label", "index"),
    [("rot", 0), ("Rot", 0), (unicodedata.normalize("NFD", "Grün"), 1), ("2.0", 2), ("blau", None)],
    ids=["as-written", "case", "decomposed", "number", "none"],
)
def test_a_files_label_names_the_class_a_typed_one_would(label, index):
    """userK #7: a later file's 'Rot' rows were left unscored while '--condition ROT' named
    class 'rot': one rule for both."""
    assert class_index(["rot", "Grün", "2"], label) == index


def test_a_numbered_class_is_named_as_a_file_of_codes_writes_it():
    """review13 #21: '--condition 2.0' was refused for a run on codes 0..2, while sample writes
    its classes as the file does, '2.0'."""
    run = SimpleNamespace(num_classes=3, class_names=None, data={"name": "digits"}, folder="r")
    assert parse_labels(run, ["2.0", "1", "0"], "--condition") == [2, 1, 0]
    for value, said in [("3.0", "out of range"), ("inf", "not a known class"), ("1.5", "not a")]:
        with pytest.raises(ConfigError, match=said):
            parse_labels(run, [value], "--condition")


@pytest.mark.parametrize(
    ("names", "typed", "index"),
    [(["Men’s", "Women’s"], "Men's", 0), (["Men's", "Women's"], "Women’s", 1)],
    ids=["file-typographic", "typed-typographic"],
)
def test_a_typographic_apostrophe_names_the_class_a_typed_one_does(names, typed, index):
    """userP #9: a file's 'Men’s' (a spreadsheet's apostrophe) was no match for --condition
    "Men's" typed in a terminal, nor the reverse."""
    assert parse_labels(_run(names), [typed], "--condition") == [index]
    assert class_index(names, typed) == index


def test_a_later_files_labels_read_loosely_as_a_runs_class_are_said():
    """userU #8: a later file's 'barolo nebbiolo' was read as the run's 'Barolo Nebbiolo'
    without a word, where training keeps 'A' and 'a' two classes. One warning names each label
    read so; labels as the run writes them, and numbers written otherwise ('2.0' for '2'), are
    not said."""
    import warnings

    import torch

    from torchlvm.data.dataset import Dataset
    from torchlvm.run.labels import as_run_names

    def later(names):
        return Dataset(x=torch.zeros(len(names), 1), y=torch.arange(len(names)), name="new.csv",
                       split="all", shape=(1,), num_classes=len(names), class_names=names,
                       binarize="none")  # fmt: skip

    run = ("2", "Barbera", "Barolo Nebbiolo")
    with pytest.warns(UserWarning) as caught:
        read = as_run_names(later(("barolo nebbiolo", "Barbera")), run)
    assert read.class_names == ("Barolo Nebbiolo", "Barbera")
    assert [str(w.message) for w in caught] == [
        "new.csv: labels written otherwise than the run's classes, but for case, spaces or how "
        "their letters are encoded, are read as those classes: 'barolo nebbiolo' as 'Barolo "
        "Nebbiolo'"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert as_run_names(later(("2.0", "Barbera")), run).class_names == ("2", "Barbera")
