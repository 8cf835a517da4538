"""Search order for dataset folders: data_dir alone when given, else $TORCHLVM_DATA, user cache,
/usr/share."""

from __future__ import annotations

from pathlib import Path

import pytest

from torchlvm.data import load_dataset
from torchlvm.data.locate import candidate_dirs, find_files, user_cache_dir
from torchlvm.data.mnist import IDX_FILES, REQUIRED_FILES
from torchlvm.errors import DataNotFoundError

# Each place holds a set with a different number of test images, so the count says which won.
PLACES = ["data_dir", "env", "cache", "system"]


def _folder(place: str, roots: dict[str, Path], tmp_path: Path) -> Path:
    if place == "data_dir":
        return tmp_path / "explicit"
    if place == "cache":
        return roots["cache"] / "torchlvm" / "mnist"
    return roots[place] / "mnist"


@pytest.mark.parametrize("present", [PLACES[i:] for i in range(4)], ids=PLACES)
def test_first_place_holding_the_files_wins(isolated_search, tmp_path, write_mnist, present):
    for place in present:
        write_mnist(_folder(place, isolated_search, tmp_path), n_test=11 + PLACES.index(place))
    explicit = tmp_path / "explicit" if present[0] == "data_dir" else None
    test = load_dataset("mnist", "test", data_dir=explicit)
    assert len(test) == 11 + PLACES.index(present[0])


def test_data_dir_may_be_a_parent_holding_name(isolated_search, tmp_path, write_mnist):
    write_mnist(tmp_path / "root" / "mnist", n_test=7)
    assert len(load_dataset("mnist", "test", data_dir=tmp_path / "root")) == 7


def test_incomplete_folder_is_skipped(isolated_search, tmp_path, write_mnist):
    write_mnist(isolated_search["env"] / "mnist", n_test=5)
    (isolated_search["env"] / "mnist" / "t10k-labels-idx1-ubyte").unlink()
    write_mnist(isolated_search["system"] / "mnist", n_test=9)
    assert len(load_dataset("mnist", "test")) == 9


@pytest.mark.parametrize("made", [False, True], ids=["missing", "lacks-a-file"])
def test_an_explicit_data_dir_is_the_only_place_looked_in(
    isolated_search, tmp_path, write_mnist, made
):
    write_mnist(isolated_search["system"] / "mnist", n_test=9)
    explicit = tmp_path / "explicit"
    if made:
        write_mnist(explicit, n_test=5)
        (explicit / "t10k-labels-idx1-ubyte").unlink()
    assert candidate_dirs("mnist", explicit) == [explicit, explicit / "mnist"]
    with pytest.raises(
        DataNotFoundError,
        match=f"looked in {explicit}, {explicit}/mnist;.*"
        + (
            f"{explicit} lacks t10k-labels-idx1-ubyte .*, or leave out"
            if made
            else f"in {explicit} \\(or torchvision's {explicit}/MNIST/raw\\), or leave out"
        ),  # fmt: skip
    ):
        load_dataset("mnist", "test", data_dir=explicit)


def test_raw_file_preferred_over_gz(tmp_path, write_mnist):
    write_mnist(tmp_path, gz=True)
    write_mnist(tmp_path, gz=False)
    found = find_files("mnist", REQUIRED_FILES, tmp_path)
    assert all(path.suffix != ".gz" for path in found.files.values())
    assert found.location == str(tmp_path)


def test_cache_falls_back_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert user_cache_dir() == tmp_path / ".cache" / "torchlvm"


def test_unset_environment_drops_that_place(monkeypatch, isolated_search):
    monkeypatch.delenv("TORCHLVM_DATA")
    dirs = candidate_dirs("mnist")
    assert dirs == [
        isolated_search["cache"] / "torchlvm" / "mnist",
        isolated_search["system"] / "mnist",
    ]


@pytest.mark.parametrize("gz", [False, True])
def test_files_named_with_a_dot_before_idx_are_found(tmp_path, write_mnist, gz):
    """MNIST as Kaggle and several mirrors unpack it: ``train-images.idx3-ubyte``. It was 'mnist
    not found' beside the four files, until the user renamed them."""
    write_mnist(tmp_path, gz=gz)
    for path in list(tmp_path.iterdir()):
        path.rename(path.with_name(path.name.replace("-idx", ".idx")))
    found = find_files("mnist", REQUIRED_FILES, tmp_path)
    assert found.files is not None and found.location == str(tmp_path)
    assert len(load_dataset("mnist", "test", data_dir=tmp_path)) > 0


def test_files_each_in_a_folder_of_their_own_name_are_found(tmp_path, write_mnist):
    """Kaggle's MNIST unpacks each file into a folder of its name
    (``train-images-idx3-ubyte/train-images-idx3-ubyte``): it was 'mnist not found', naming the
    four files the folder seemed to hold."""
    write_mnist(tmp_path / "flat")
    for path in (tmp_path / "flat").iterdir():
        (tmp_path / "kaggle" / path.name).mkdir(parents=True)
        path.rename(tmp_path / "kaggle" / path.name / path.name)
    assert len(load_dataset("mnist", "test", data_dir=tmp_path / "kaggle")) > 0
    found = find_files("mnist", REQUIRED_FILES, tmp_path / "kaggle")  # (datasets prints it)
    assert found.location == str(tmp_path / "kaggle")


def test_a_data_dir_that_is_a_file_names_its_folder(tmp_path, write_mnist):
    """--data-dir naming one of the IDX files said 'mnist not found: looked in FILE, FILE/mnist'
    and told the user to put the four files 'in' the file."""
    write_mnist(tmp_path)
    file = tmp_path / REQUIRED_FILES[0]
    with pytest.raises(
        DataNotFoundError,
        match=r"is a file, not a folder; pass the folder that holds the four IDX files \(data_dir='"
        + str(tmp_path),
    ):
        load_dataset("mnist", "test", data_dir=file)


def test_a_folder_lacking_two_files_says_put_them_there(tmp_path, write_mnist):
    write_mnist(tmp_path)
    for name in IDX_FILES["train"]:
        (tmp_path / name).unlink()
    with pytest.raises(DataNotFoundError, match="idx1-ubyte \\(raw or .gz\\): put them there"):
        load_dataset("mnist", "test", data_dir=tmp_path)
