"""torchlvm._shell: one refusal of a '~' no shell expanded, worded for each interface the one
way errors are (errors.spelled), so a caller need not know which interface gave the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from torchlvm._shell import IN_PYTHON, UNEXPANDED, unexpanded_home
from torchlvm.errors import DataNotFoundError, RunDirectoryError


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


@pytest.mark.parametrize(
    ("keyword", "python", "flag"),
    [("out_dir", "out_dir ", "--out "), ("data_dir", "data_dir ", "--data-dir "), ("", "", "")],
    ids=["out_dir-is-train's---out", "data_dir", "positional"],
)
def test_each_interface_gets_its_own_words_and_fix(home, keyword, python, flag):
    error = unexpanded_home("~/my runs/a", keyword)
    assert isinstance(error, RunDirectoryError)
    made = "would make a folder named '~' in the current folder"
    assert str(error) == (
        f"{python}~/my runs/a {made}: {IN_PYTHON}; pass os.path.expanduser('~/my runs/a')"
    )
    assert error.on_command_line == (
        f'{flag}~/my runs/a {made}: {UNEXPANDED}; pass {flag}"{home}/my runs/a"'
    )


def test_a_path_read_is_said_not_to_exist_in_the_class_asked_for(home):
    error = unexpanded_home("~/data.npy", reading=True, error=DataNotFoundError)
    assert isinstance(error, DataNotFoundError)
    assert str(error).startswith("~/data.npy does not exist: ")
    assert error.on_command_line.endswith(f"; pass {home}/data.npy")


@pytest.mark.parametrize("path", ["runs/a", "/abs/~/a", "~surely_no_such_user_x/a", ""], ids=repr)
def test_a_path_without_an_unexpanded_home_is_not_refused(home, path):
    assert unexpanded_home(path, "out") is None


def test_a_folder_named_tilde_made_on_purpose_is_the_users(home):
    os.mkdir("~")
    assert unexpanded_home("~/a", "out") is None
