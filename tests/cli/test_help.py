"""Every option of every command says what it is and, when it has one, its default."""

from __future__ import annotations

import argparse
import re

import pytest

from torchlvm.cli import COMMANDS, build_parser


def _options(name: str) -> list[tuple[argparse.ArgumentParser, argparse.Action]]:
    sub = build_parser().commands[name]  # type: ignore[attr-defined]
    return [
        (sub, a)
        for a in sub._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    ]


def _help_of(parser: argparse.ArgumentParser, action: argparse.Action) -> str:
    formatter = parser._get_formatter()
    return " ".join(formatter._format_action(action).split())


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_shows_its_default(name: str) -> None:
    """A default of 0 was hidden (``0 in (None, False)`` is true), and an option without a help
    text showed nothing at all: ``--seed SEED``, ``--split {train,val,test}`` left the user to
    guess what happens without them."""
    for parser, action in _options(name):
        default = action.default
        if default is None or default is False or default is argparse.SUPPRESS:
            continue
        text = _help_of(parser, action)
        assert "default" in text, f"torchlvm {name} {action.option_strings[0]}: {text!r}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_option_has_a_help_line(name: str) -> None:
    """A default alone is no description: ``evaluate --split {train,val,test} (default: test)``
    passed this test while it said nothing of what the split is for."""
    for parser, action in _options(name):
        invocation = parser._get_formatter()._format_action_invocation(action)
        described = _help_of(parser, action).removeprefix(" ".join(invocation.split()))
        described = re.sub(r"\(default: [^)]*\)", "", described)
        assert described.strip(), f"torchlvm {name} {action.option_strings[0]} is not described"


def test_options_whose_default_depends_on_the_input_say_so() -> None:
    """``encode --split`` showed no default (it is None: test, or every row of a --data file);
    reconstruct, impute and transfer read a --data file's 10% test split;
    ``evaluate --ais`` and ``gaps --ais`` did not say that without them AIS is not run."""
    commands = build_parser().commands  # type: ignore[attr-defined]
    text = {name: " ".join(commands[name].format_help().split()) for name in commands}
    for name in ("encode", "reconstruct", "impute", "transfer"):  # read a user's file whole
        assert "(default: test, or every example of a --data file)" in text[name], name
    assert "STEPS HMC steps (default: not run)" in text["evaluate"]
    assert "(default: importance sampling)" in text["gaps"]


def test_a_default_of_zero_is_shown_once() -> None:
    parser = build_parser().commands["evaluate"]  # type: ignore[attr-defined]
    text = " ".join(parser.format_help().split())
    assert "seed of every random draw (default: 0)" in text
    assert "refine q by T steps (semi-amortized) (default: 0)" in text
    assert text.count("(default: 0)") == 2


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_shows_no_internal_names_or_markup(name: str) -> None:
    """impute --help pointed at ':mod:`torchlvm.cli._impute_table`', transfer --help at
    ':meth:`torchlvm.CVAE.transfer`' and encode and score quoted options in ``reST``: a user
    reads plain text, and a private module is nothing they can open."""
    text = build_parser().commands[name].format_help()  # type: ignore[attr-defined]
    for markup in ("``", ":mod:", ":meth:", ":class:", ":func:", "cli._", "data_dir"):
        assert markup not in text, f"torchlvm {name} --help shows {markup!r}"


def test_data_options_name_every_file_format_read() -> None:
    """Tables may be .tsv or gzipped (.csv.gz, .tsv.gz) since every reader takes them; the
    --data help of fit, train and score still listed .csv, .npy and .npz only."""
    commands = build_parser().commands  # type: ignore[attr-defined]
    for name in ("fit", "train", "score"):
        text = " ".join(commands[name].format_help().split())
        assert ".tsv" in text and ".csv.gz" in text, f"torchlvm {name} --help"


def test_an_output_option_with_two_defaults_has_a_plain_metavar() -> None:
    """transfer's --out (a PNG, or a CSV for a table) showed '[--out FILE.csv for a table]' in
    its usage: the suffix was read from the whole default sentence."""
    from torchlvm.cli import _types

    parser = argparse.ArgumentParser(prog="x")
    _types.output_options(parser, "DIR/figures/transfer.png, or DIR/transfer.csv for a table")
    assert "[--out FILE]" in parser.format_usage()
    text = build_parser().commands["transfer"].format_help()  # type: ignore[attr-defined]
    assert "for a table]" not in text
    sample = build_parser().commands["sample"].format_help()  # type: ignore[attr-defined]
    assert "--out FILE.png" in sample


def test_help_texts_say_what_the_code_does_in_one_wording() -> None:
    """datasets --data-dir said 'also look in this folder' where it is the only folder looked in;
    compare --hidden showed its default as Python's '[256]'; the --data-dir of fit, evaluate and
    compare, and the default of compare's and report's --out, were worded apart from the rest;
    train --objective named the objective 'registered' (an internal word) and left out miwae."""
    commands = build_parser().commands  # type: ignore[attr-defined]
    text = {name: " ".join(commands[name].format_help().split()) for name in commands}
    assert "also look in" not in text["datasets"]
    for name in ("datasets", "fit", "train", "evaluate", "compare", "encode"):
        assert (
            "--data-dir DATA_DIR the folder holding the dataset's files, the only place "
            "looked in (default: " in text[name]
        ), name
    assert "--hidden WIDTH [WIDTH ...] hidden layer widths (default: 256)" in text["compare"]
    assert "(default: runs/compare-DATA)" in text["compare"]
    assert "(default: DIR/report.html;" in text["report"]
    assert "registered" not in text["train"] and "miwae" in text["train"]


def test_data_dir_says_where_data_is_looked_for_without_it(monkeypatch) -> None:
    """--data-dir said only 'the only place looked in': a newcomer could not tell where
    torchlvm looks without it, nor that a run's commands read from the run's own folder. The
    places said are data/locate.py's, in its order."""
    from torchlvm.data.locate import candidate_dirs

    monkeypatch.setenv("TORCHLVM_DATA", "/T")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", "/H")
    dirs = [str(d).replace("/T/", "$TORCHLVM_DATA/") for d in candidate_dirs("NAME")]
    places = ", then ".join(d.replace("/H/", "~/") for d in dirs)
    own = {"train": "", "fit": "", "datasets": "", "compare": ""}  # (no run to read from)
    for name in build_parser().commands:  # type: ignore[attr-defined]
        for parser, action in _options(name):
            if action.dest == "data_dir":
                text = _help_of(parser, action)
                run = own.get(name, "the run's own, else ")
                assert text.endswith(f"(default: {run}{places})"), (name, text)
