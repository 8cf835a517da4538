"""A run on a dataset read by name (IDX files found by a search) reads the copy it was trained
on, or refuses another in one line: MNIST and Fashion-MNIST share file names and shapes, and a
run fitted with $TORCHLVM_DATA set was evaluated in a shell without it on another `mnist`
(−2869 nats where the fit gave 205.8, userF)."""

from __future__ import annotations

import argparse
import json
import os
import re
import warnings

import numpy as np
import pytest

from torchlvm import cli
from torchlvm.data.dataset_copy import DATA_DIR_COMMANDS, KEY, copy_record, moved_record, own_copy
from torchlvm.errors import DataError

from .conftest import small_mnist


@pytest.fixture
def two_copies(tmp_path, write_mnist):
    """Two folders of a tiny `mnist`, same file names and shapes, other images."""
    first = write_mnist(tmp_path / "first" / "mnist", seed=0)
    other = write_mnist(tmp_path / "other" / "mnist", seed=1)
    return first, other


def test_the_record_names_the_folder_and_reads_a_gunzipped_copy_as_the_same(
    tmp_path, two_copies, write_mnist, isolated_search
):
    first, other = two_copies
    recorded = copy_record("mnist", first)[KEY]
    assert recorded["folder"] == str(first)
    packed = write_mnist(tmp_path / "packed", gz=True, seed=0)  # the same images, gzipped
    assert copy_record("mnist", packed)[KEY]["sha256"] == recorded["sha256"]
    assert copy_record("mnist", other)[KEY]["sha256"] != recorded["sha256"]
    assert copy_record("digits", None) == {} and copy_record(str(tmp_path / "x.csv"), None) == {}


def test_the_recorded_copy_is_read_wherever_the_search_would_lead(two_copies, isolated_search):
    first, other = two_copies
    data = {"name": "mnist", **copy_record("mnist", first)}
    # the search would find `other` first ($TORCHLVM_DATA/mnist): the run's copy is read instead
    isolated_search["env"].mkdir()
    searched = other.rename(isolated_search["env"] / "mnist")
    assert own_copy(data, None, "runs/a") == str(first)
    assert own_copy(data, str(first), "runs/a") == str(first)  # given: checked, kept
    with pytest.raises(DataError) as refused:
        own_copy(data, str(searched), "runs/a")
    message = str(refused.value)
    assert "is not the copy the run in runs/a was trained on" in message
    assert f"leave out --data-dir to read that copy, or pass --data-dir {first}" in message
    first.rename(first.parent / "moved")  # gone: the search finds other images, refused
    with pytest.raises(DataError, match=f"{first} is gone: put the run's files back there"):
        own_copy(data, None, "runs/a")
    with pytest.warns(UserWarning, match=f"the files in {searched} are read unchecked"):
        assert own_copy({"name": "mnist"}, None, "runs/a") is None  # recorded before


def test_the_runs_own_folder_changed_in_place_is_said_so(tmp_path, write_mnist, isolated_search):
    """The recorded folder re-filled with other files was refused naming it twice, with "leave
    out --data-dir" to a user who passed none (review11)."""
    first = write_mnist(tmp_path / "first" / "mnist", seed=0)
    data = {"name": "mnist", **copy_record("mnist", first)}
    write_mnist(first, seed=1)  # the same folder, other images, written later:
    for path in first.iterdir():
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    for given in (None, str(first)):
        with pytest.raises(DataError) as refused:
            own_copy(data, given, "runs/a")
        message = str(refused.value)
        assert message.startswith(f"the files of mnist in {first} have changed since the run")
        assert "leave out --data-dir" not in message


def test_a_fitted_run_is_evaluated_on_its_own_copy_in_another_shell(
    tmp_path, two_copies, isolated_search, monkeypatch, capsys
):
    first, other = two_copies
    monkeypatch.setenv("TORCHLVM_DATA", str(first.parent))
    run = tmp_path / "run"
    fit = ["fit", "ppca", "--data", "mnist", "--latent-dim", "2", "--out", str(run)]
    assert cli.main(fit) == 0
    assert json.loads((run / "config.json").read_text())["data"][KEY]["folder"] == str(first)
    monkeypatch.setenv("TORCHLVM_DATA", str(other.parent))  # another shell: another `mnist`
    out = tmp_path / "z.npy"
    assert cli.main(["encode", str(run), "--out", str(out)]) == 0
    capsys.readouterr()
    refused = ["encode", str(run), "--data-dir", str(other), "--out", str(tmp_path / "o.npy")]
    assert cli.main(refused) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: mnist in {other} is not the copy the run in {run}")
    assert err.count("\n") == 1
    assert np.load(out).shape == (len(small_mnist()["t10k-images-idx3-ubyte"]), 2)


def test_a_run_recorded_before_its_copy_is_read_unchecked_and_says_so_once(
    tmp_path, two_copies, isolated_search, monkeypatch, capsys
):
    """A run trained before runs recorded their copy of a dataset read by name was read from
    whatever copy the search found, without a word: each command says so once, no refusal."""
    first, _ = two_copies
    monkeypatch.setenv("TORCHLVM_DATA", str(first.parent))
    run = tmp_path / "run"
    fit = ["fit", "ppca", "--data", "mnist", "--latent-dim", "2", "--out", str(run)]
    assert cli.main(fit) == 0
    config = run / "config.json"
    record = json.loads(config.read_text())
    del record["data"][KEY]  # as a run recorded before dataset_files
    config.write_text(json.dumps(record))
    said = f"the run in {run} records no digest of its mnist files"
    fast = ["--k", "5", "--ks", "1", "--no-figures"]
    encode = ["encode", str(run), "--out", str(tmp_path / "z.npy")]
    for argv in (["evaluate", str(run), *fast], encode):
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")  # every warning given, however often
            assert cli.main(argv) == 0, argv
        (line,) = [str(w.message) for w in shown if said in str(w.message)]  # evaluate: 3 reads
        assert f"the files in {first} are read unchecked" in line
        assert "a run trained again records it" in line
    assert json.loads(config.read_text())["data"].get(KEY) is None  # read-only: left as it was


def test_the_runs_folder_moved_away_names_it_and_data_dir(tmp_path, write_mnist, isolated_search):
    """A run fitted with --data-dir FOLDER, the folder then moved: evaluate without --data-dir
    said 'mnist not found: looked in FOLDER ...; or leave out --data-dir' to a user who passed
    none (userH #6). It names the folder the run was trained on and --data-dir for its new place,
    whose copy is checked by content; so too where the search, with no folder recorded, finds
    none."""
    first = write_mnist(tmp_path / "first", seed=0)
    data = {"name": "mnist", **copy_record("mnist", first)}
    moved = first.rename(tmp_path / "moved")
    said = f"trained on the mnist files in {first}, which are gone; if they moved, pass --data-dir"
    for given in (str(first), None):  # the run's recorded --data-dir, or none recorded
        with pytest.raises(DataError, match=re.escape(said)) as refused:
            own_copy({**data, "data_dir": given}, given, "runs/a")
        assert "leave out --data-dir" not in str(refused.value)
    assert own_copy(data, str(moved), "runs/a") == str(moved)
    other = write_mnist(tmp_path / "other", seed=1)
    with pytest.raises(DataError, match="is not the copy the run in runs/a was trained on"):
        own_copy(data, str(other), "runs/a")


def test_a_copy_found_at_a_new_data_dir_is_recorded_for_later_commands(
    tmp_path, write_mnist, isolated_search, capsys
):
    """The run's folder moved: `encode RUN --data-dir NEW` ran but recorded nothing, so the next
    command was refused again with the same line (review12 #14). The copy there, checked by
    content, is recorded and said so; later commands, and later reads of the same command that
    are given no --data-dir (impute's training split), read it there."""
    first = write_mnist(tmp_path / "first", seed=0)
    run = tmp_path / "run"
    fit = ["fit", "ppca", "--data", "mnist", "--data-dir", str(first), "--latent-dim", "2"]
    assert cli.main([*fit, "--out", str(run)]) == 0
    moved = first.rename(tmp_path / "moved")
    capsys.readouterr()
    encode = ["encode", str(run), "--out"]
    assert cli.main([*encode, str(tmp_path / "refused.npy")]) == 2
    assert "which are gone; if they moved, pass --data-dir" in capsys.readouterr().err
    with pytest.warns(UserWarning) as shown:
        assert cli.main([*encode, str(tmp_path / "a.npy"), "--data-dir", str(moved)]) == 0
    (said,) = [str(w.message) for w in shown if "recorded in" in str(w.message)]
    assert said.startswith(f"the run in {run} reads its mnist files from {moved} now")
    assert f"{first} no longer holds them" in said
    data = json.loads((run / "config.json").read_text())["data"]
    assert data["data_dir"] == str(moved) and data[KEY]["folder"] == str(moved)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # recorded: nothing more to say
        assert cli.main([*encode, str(tmp_path / "b.npy")]) == 0
    assert (np.load(tmp_path / "a.npy") == np.load(tmp_path / "b.npy")).all()


def test_a_copy_given_while_the_recorded_one_holds_the_data_is_read_for_that_command_alone(
    tmp_path, write_mnist, isolated_search
):
    first = write_mnist(tmp_path / "first", seed=0)
    data = {"name": "mnist", **copy_record("mnist", first)}
    copy = write_mnist(tmp_path / "copy", seed=0)
    assert own_copy(data, str(copy), "runs/a") == str(copy)
    assert moved_record(data) is None  # the run's own folder still holds its copy
    write_mnist(first, seed=1)  # ... and now other images: the copy given is where it is now
    for path in first.iterdir():
        os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert own_copy(data, str(copy), "runs/a") == str(copy)
    assert own_copy(data, None, "runs/a") == str(copy)  # later in the same process
    assert moved_record(data) == {
        **data,
        "data_dir": str(copy),
        KEY: {**data[KEY], "folder": str(copy)},
    }


def test_the_refusal_names_commands_that_take_data_dir():
    """The folder gone, the refusal offers --data-dir to commands that take it: gaps and score,
    which refuse such a run too, take none."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    named = DATA_DIR_COMMANDS.replace(" or ", ", ").split(", ")
    for name in named:
        assert "--data-dir" in commands.choices[name]._option_string_actions, name


def test_the_folder_offered_is_quoted_for_a_shell(tmp_path, write_mnist, isolated_search):
    """`--data-dir /tmp/fm copy` pasted as printed passed two arguments (review13 #6)."""
    first = write_mnist(tmp_path / "fm copy", seed=0)
    other = write_mnist(tmp_path / "fm other", seed=1)
    data = {"name": "mnist", **copy_record("mnist", first)}
    with pytest.raises(DataError) as refused:
        own_copy(data, str(other), "runs/a")
    assert str(refused.value).endswith(f'or pass --data-dir "{first}"')
