"""The dataset registry's refusal of a name it does not hold: the fix a new user can type."""

from __future__ import annotations

import pytest

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError


@pytest.mark.parametrize(
    ("name", "guess"),
    [("MNIST", "mnist"), ("fashion_mnist", "fashion-mnist"), ("Digits", "digits")],
)
def test_a_near_miss_names_the_dataset_it_is_close_to(name, guess):
    """'fashion_mnist' and 'MNIST' got the whole list and no hint of the one meant."""
    with pytest.raises(ConfigError, match=f"unknown dataset '{name}'; did you mean '{guess}'?"):
        load_dataset(name)


def test_a_name_close_to_nothing_gets_the_list_alone():
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar")
    assert "did you mean" not in str(error.value) and "known datasets: digits" in str(error.value)


def test_a_folder_of_idx_files_is_read_by_name_with_it_as_data_dir(tmp_path, monkeypatch):
    """`--data my-mnist` (the folder holding the four IDX files) said "unknown dataset
    'my-mnist'"; the folder is read as `--data mnist --data-dir my-mnist`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my-idx").mkdir()
    with pytest.raises(ConfigError, match=r"my-idx is a folder, not a dataset name or a file; .*"):
        load_dataset("my-idx")
    with pytest.raises(ConfigError, match=r"\(e.g. --data mnist --data-dir my-idx\)"):
        load_dataset("my-idx")
    (tmp_path / "fashion-mnist-files").mkdir()
    with pytest.raises(ConfigError, match="--data fashion-mnist --data-dir fashion-mnist-files"):
        load_dataset("fashion-mnist-files")
