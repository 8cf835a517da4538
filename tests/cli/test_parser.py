"""The parser's usage errors: one line, and for a misspelt command, choice or option the one
it is closest to (git's 'The most similar command is', Python 3.14 argparse's suggest_on_error)."""

from __future__ import annotations

import pytest

from torchlvm.cli import main


@pytest.mark.parametrize(
    ("argv", "ends"),
    [
        (["sampel", "run"], "; did you mean 'sample'?"),
        (["smaple", "run"], "; did you mean 'sample'?"),
        (["sample", "run", "--accelerator", "gpus"], "; did you mean 'gpu'?"),
        (["sample", "run", "--nn", "3"], "--nn 3; '--nn': did you mean '--n'?"),
        (
            ["train", "vae", "--out", "x", "--laten-dim=2"],
            "'--laten-dim': did you mean '--latent-dim'?",
        ),
        (["sample", "run", "--overwirte"], "'--overwirte': did you mean '--overwrite'?"),
        (["train", "VAE", "--out", "x"], "; did you mean 'vae'?"),
        (["fit", "PPCA", "--out", "x"], "; did you mean 'ppca'?"),
        (["sample", "run", "--Seed", "3"], "'--Seed': did you mean '--seed'?"),
    ],
    ids=["command", "command-swapped", "choice", "option", "option=value", "flag"]
    + ["capitals-model", "capitals-ppca", "capitals-option"],
)
def test_a_misspelling_names_what_it_is_closest_to(capsys, argv, ends):
    """'invalid choice: sampel (choose from ...14 commands)' and 'unrecognized arguments: --nn 3'
    left the newcomer to find the one meant."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    first, see = capsys.readouterr().err.splitlines()
    assert first.startswith("torchlvm: error: ") and first.endswith(ends)
    assert see.startswith("  see 'torchlvm")


@pytest.mark.parametrize(
    "argv",
    [["xyz"], ["sample", "run", "--colour", "red"], ["sample", "run", "--k", "3"]],
    ids=["command", "option", "short-option"],
)
def test_nothing_is_suggested_where_nothing_is_close(capsys, argv):
    """--colour is not --source, nor --k --n: a wrong guess is worse than none."""
    with pytest.raises(SystemExit):
        main(argv)
    assert "did you mean" not in capsys.readouterr().err


def test_an_option_after_double_dash_is_named_as_such(capsys):
    """'sample -- -dash --n 2' (a run folder whose name starts with '-') said "'--n': did you
    mean '--n'?": after '--' argparse takes every word as positional."""
    with pytest.raises(SystemExit) as exit_:
        main(["sample", "--", "-dash", "--n", "2"])
    assert exit_.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert "did you mean" not in first
    assert first.endswith("every word after '--' is a positional argument (a path that starts "
                          "with '-'): put the options before '--'")  # fmt: skip


TAKEN = "(a list option takes every word up to the next option): pass it first: "


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["encode", "RUN", "--out", "z.npy", "--n", "20"], "unrecognized arguments: --n 20"),
        (
            ["fit", "--data", "t.csv", "--drop", "id", "ppca", "--out", "r"],
            "unrecognized arguments: --drop; '--drop': did you mean '--drop-columns'?",
        ),
        (
            ["train", "vae", "--data", "digits", "--epoch", "2", "--out", "r"],
            "unrecognized arguments: --epoch 2; '--epoch': did you mean '--epochs'?",
        ),
    ],
    ids=["encode-n", "fit-drop", "train-epoch"],
)
def test_an_option_is_taken_only_as_spelt_in_full(tmp_path, monkeypatch, capsys, argv, said):
    """argparse read a prefix as the one option it starts: encode RUN --n 20 was read as
    --na-values 20 and refused as 'leave out --na-values', an option never typed (readJ J7).
    A prefix is refused, naming the option it starts where it starts one alone (three letters
    or more), even where the error it led to came first ('id' taken as fit's model)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "RUN").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first == f"torchlvm: error: {said}"


def test_a_misspelt_command_is_named_not_its_options(capsys):
    """The command's options are no unknown words to the top parser: 'trian vae --data digits'
    is told the command it misspells, not 'unrecognized arguments: --data'."""
    with pytest.raises(SystemExit):
        main(["trian", "vae", "--data", "digits"])
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("torchlvm: error: argument COMMAND: invalid choice: 'trian'")
    assert first.endswith("did you mean 'train'?")


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["train", "--data", "t.csv", "--drop-columns", "id", "city", "vae", "--out", "r"],
            "required: model; 'vae' was taken as a value of --drop-columns ",
        ),
        (
            ["train", "--hidden", "64", "vae", "--out", "r"],
            "must be an integer, got 'vae'; 'vae' was taken as a value of --hidden ",
        ),
        (
            [
                "fit",
                "--data",
                "my t.csv",
                "--drop-columns",
                "id",
                "ppca",
                "--latent-dim",
                "2",
                "--out",
                "r",
            ],
            "required: model; 'ppca' was taken as a value of --drop-columns ",
        ),
        (
            ["sample", "--n", "2", "--class", "7", "RUN"],
            "required: DIR; 'RUN' was taken as a value of --condition ",
        ),
    ],
    ids=["drop-columns", "hidden", "fit-drop-columns", "sample-run-folder"],
)
def test_a_positional_taken_by_a_list_option_is_named_with_the_command_meant(
    tmp_path, monkeypatch, capsys, argv, said
):
    """train --drop-columns id city vae said 'the following arguments are required: model' (the
    model had been typed) and --hidden 64 vae 'must be an integer, got vae': argparse gives a
    list option every word up to the next option. The error names the word and offers the
    command with it first, which parses as meant."""
    import shlex

    from torchlvm.cli import build_parser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "RUN").mkdir()
    with pytest.raises(SystemExit):
        main(argv)
    first = capsys.readouterr().err.splitlines()[0]
    assert said + TAKEN in first
    offered = shlex.split(first.split(TAKEN)[1])
    word = said.split("'")[1]
    assert offered[:3] == ["torchlvm", argv[0], word]
    args, extra = build_parser().parse_known_args(offered[1:])
    assert extra == [] and word in (getattr(args, "model", None), str(getattr(args, "run_dir", "")))


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "--n", "2", "--class", "3", "7"],  # (a label, not a folder: nothing to name)
        ["train", "--data", "t.csv", "--drop-columns=id,vae", "--out", "r"],  # (took one value)
        ["train", "vae", "--hidden", "64", "ae", "--out", "r"],  # (the model was given first)
    ],
    ids=["no-folder", "option=value", "model-given"],
)
def test_no_word_is_named_where_none_was_taken_for_a_positional(
    tmp_path, monkeypatch, capsys, argv
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        main(argv)
    first = capsys.readouterr().err.splitlines()[0]
    assert first.startswith("torchlvm: error: ") and "taken as a value" not in first


def test_a_column_named_like_a_model_after_the_model_is_a_column():
    from torchlvm.cli import build_parser

    argv = ["train", "vae", "--drop-columns", "id", "vae", "--out", "r"]
    args, _ = build_parser().parse_known_args(argv)
    assert (args.model, args.drop_columns) == ("vae", ["id", "vae"])


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", ""],
        ["encode", ""],
        ["reconstruct", "", "--n", "2"],
        ["sample", "RUN", "--out", ""],
        ["sample", "RUN", "--npy", ""],
        ["kl-demo", "--out", ""],
        ["compare", "--data", "digits", "--out", ""],
        ["evaluate", ""],
        ["gaps", " "],
        ["report", ""],
        ["score", "", "--data", "x.csv"],
    ],
    ids=[
        "sample-dir", "encode-dir", "reconstruct-dir", "sample-out", "npy", "kl-demo", "compare",
        "evaluate-dir", "gaps-dir", "report-dir", "score-dir",
    ],
)  # fmt: skip
def test_an_empty_path_is_refused_as_empty(tmp_path, monkeypatch, capsys, argv):
    """sample "$RUN" with RUN unset said 'no model in .: config.json is missing' (Path('') is the
    current folder), sample RUN --out "" '--out . is a folder', report "" 'cannot report on .':
    an empty path is named empty, on every command, before anything is read or written."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    first = capsys.readouterr().err.splitlines()[0]
    assert first.endswith(
        ": the path is empty (an unset shell variable?); pass a file or folder name"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "command", ["train vae", "fit ppca", "score RUN", "evaluate RUN", "encode RUN"]
)
def test_data_from_standard_input_or_a_pipe_is_refused_as_such(command, tmp_path, capsys) -> None:
    """``cat t.csv | torchlvm score RUN --data -`` was told the run's columns, as if '-' lacked
    them (userF): standard input and pipes are named, with the fix, before anything is read."""
    import os

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    words = [w if w != "RUN" else str(tmp_path) for w in command.split()]
    for data in ("-", str(fifo)):
        with pytest.raises(SystemExit):
            main([*words, "--data", data, "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert f"{data} is standard input or a pipe, which torchlvm does not read" in err
        assert err.startswith("torchlvm: error: argument --data: ") and "save it to a file" in err


@pytest.mark.parametrize(
    "given",
    [["--label-column", "worst", "area"], ["--label-column=worst", "area"]],
    ids=["spaced", "equals"],
)
def test_a_value_the_shell_split_at_its_space_is_told_to_be_quoted(capsys, given):
    """userP #14: '--label-column worst area' said only 'unrecognized arguments: area'."""
    with pytest.raises(SystemExit) as exit_:
        main(["train", "cvae", "--data", "t.csv", *given, "--out", "x"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "torchlvm: error: unrecognized arguments: area; if 'worst area' is one value of "
        '--label-column, quote it: --label-column "worst area"'
    )


@pytest.mark.parametrize(
    "given", [["sample", "r", "--n", "5", "10"], ["evaluate", "r", "--k", "50", "100"]]
)
def test_a_number_option_is_not_told_to_quote_two_numbers(capsys, given):
    """review15 R10: '--n 5 10' was told 'quote it: --n "5 10"', a value no number option takes."""
    with pytest.raises(SystemExit):
        main(given)
    err = capsys.readouterr().err
    assert "unrecognized arguments" in err and "quote it" not in err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["evaluate", "-dash", "--n", "50"],
            "required: DIR; '-dash' starts with '-' and was read as an option: write it as "
            "./-dash: torchlvm evaluate ./-dash --n 50",
        ),
        (
            ["report", "run", "-dash"],
            "unrecognized arguments: -dash; '-dash' starts with '-' and was read as an option: "
            "write it as ./-dash: torchlvm report run ./-dash",
        ),
        (
            ["train", "vae", "--data", "digits", "--out", "-new"],
            "argument --out: expected one argument; '-new' starts with '-' and was read as an "
            "option: write --out=-new",
        ),
        (
            ["train", "vae", "--out", "r", "--lr", "-1e-3"],
            "argument --lr: expected one argument; '-1e-3' starts with '-' and was read as an "
            "option: write --lr=-1e-3",
        ),
    ],
    ids=["run-folder", "one-of-several-runs", "out", "negative-number"],
)
def test_a_word_that_starts_with_a_dash_is_named_with_its_fix(
    tmp_path, monkeypatch, capsys, argv, said
):
    """userV #11: a run folder '-dash' was refused as 'the following arguments are required:
    DIR', and '--out -new' as 'expected one argument', neither naming the word argparse had
    read as an option nor how to write it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-dash").mkdir()
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    first, see = capsys.readouterr().err.splitlines()
    assert first.startswith("torchlvm: error: ") and first.endswith(said)


@pytest.mark.parametrize(
    "argv",
    [
        ["compare", "run", "-dash"],
        ["train", "-dash"],
        ["encode", "run", "-dash"],
        ["-dash"],
    ],
    ids=["option", "model-choice", "no-more-paths", "no-command"],
)
def test_a_dashed_path_is_offered_only_for_a_missing_path(tmp_path, monkeypatch, capsys, argv):
    """review17 R3: 'compare r1 -dash' said "write it as ./-dash: torchlvm compare r1 ./-dash",
    which fails as well: what is missing there is --data, not a run folder. So did a command
    that takes no more paths (readI I4: 'encode run -dash' was told 'torchlvm encode run
    ./-dash', unrecognized again; 'torchlvm -dash' 'torchlvm ./-dash')."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-dash").mkdir()
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit):
        main(argv)
    assert "./-dash" not in capsys.readouterr().err


def test_an_option_after_an_option_is_no_dashed_value(capsys):
    """'--out --overwrite' forgot the folder: --overwrite is an option, not a value to spell."""
    with pytest.raises(SystemExit):
        main(["train", "vae", "--data", "digits", "--out", "--overwrite"])
    assert "starts with '-'" not in capsys.readouterr().err
