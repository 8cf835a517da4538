"""The per-user folder a command uses where the home cannot be written (userV #12)."""

from __future__ import annotations

import os
import sys

import pytest

from torchlvm import _user_folders as folders

pytestmark = pytest.mark.skipif(not hasattr(os, "getuid"), reason="a POSIX user id")


@pytest.fixture
def tmp_root(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    return tmp_path / f"torchlvm-{os.getuid()}"


def test_the_kept_folder_is_the_users_alone(tmp_root):
    folder = folders.kept_folder("written")
    assert folder == tmp_root / "written" and folder.is_dir()
    assert (tmp_root.stat().st_mode & 0o777) == 0o700
    assert folders.kept_folder("written") == folder  # (the next command's too)


@pytest.mark.parametrize("how", ["a-link", "others-may-write"])
def test_a_folder_someone_else_could_have_made_is_not_used(tmp_root, tmp_path, how):
    """Another user could plant entries in a shared folder (the record of written files says
    what --overwrite may replace): a link or a folder others may write is not the user's."""
    if how == "a-link":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        tmp_root.symlink_to(tmp_path / "elsewhere")
    else:
        tmp_root.mkdir()
        tmp_root.chmod(0o777)
    assert folders.kept_folder("written") is None
    made = folders.private_folder("matplotlib")  # (a fresh one of this process instead)
    assert made.is_dir() and made.parent == tmp_path and made.name.startswith("torchlvm-")


def test_can_hold_tries_rather_than_reads_the_bits(tmp_path):
    (tmp_path / "file").write_text("")
    assert folders.can_hold(tmp_path / "a" / "b")
    assert not (tmp_path / "a").exists()  # (nothing made)
    assert not folders.can_hold(tmp_path / "file" / "b")
    assert os.listdir(tmp_path) == ["file"]  # (the probe is gone)


def test_matplotlib_is_pointed_at_the_kept_folder_only_where_its_own_cannot_be_made(
    tmp_root, tmp_path, monkeypatch
):
    monkeypatch.delitem(sys.modules, "matplotlib", raising=False)
    monkeypatch.setenv("MPLCONFIGDIR", "")  # (unset to matplotlib; put back after)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folders.quiet_matplotlib()
    assert os.environ["MPLCONFIGDIR"] == ""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file" / "cache"))
    folders.quiet_matplotlib()
    assert os.environ["MPLCONFIGDIR"] == str(tmp_root / "matplotlib")
