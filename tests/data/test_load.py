"""load_dataset and the registry: dispatch by name or path, options, and what is refused."""

from __future__ import annotations

import re

import pytest

from torchlvm.data import Dataset, list_datasets, load_dataset, register_dataset, registry
from torchlvm.errors import ConfigError, DataNotFoundError

BUILT_IN = ["digits", "fashion-mnist", "gaussian-mixture", "linear-gaussian", "mnist", "two-moons"]


def test_list_datasets_is_sorted_and_holds_the_built_in_sets():
    names = list_datasets()
    assert names == sorted(names) and set(BUILT_IN) <= set(names)


def test_unknown_name_lists_names_and_file_paths():
    with pytest.raises(ConfigError) as error:
        load_dataset("cifar")
    message = str(error.value)
    assert "unknown dataset 'cifar'" in message
    assert all(name in message for name in BUILT_IN)
    assert ".npy/.npz/.csv" in message


def test_path_with_unsupported_extension(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.txt").write_text("1,2\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "data.bin").write_bytes(b"\0")
    for name in ("data.txt", "folder/data.bin", tmp_path / "data.txt"):
        with pytest.raises(ConfigError, match="unsupported extension '.(txt|bin)'"):
            load_dataset(name)


@pytest.mark.parametrize("name", ["t/w.xlsx", "w.xlsx", "scans/a.png", "nosuch/data.bin"])
def test_a_missing_file_of_another_format_is_said_to_be_missing(tmp_path, monkeypatch, name):
    """`--data t/w.xlsx`, which does not exist, was told 'unsupported extension' and a pandas
    line over the missing file; 'w.xlsx' without a folder 'unknown dataset' (userJ #18)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataNotFoundError, match=f"^{re.escape(name)} does not exist; check"):
        load_dataset(name)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"split": "dev"}, "split must be one of 'train', 'val', 'test', 'all', got 'dev'"),
        ({"binarize": "yes"}, "binarize must be one of"),
        ({"seed": -3}, "seed must be an integer"),
        ({"allow_missing": True}, "dataset 'digits' takes no option 'allow_missing'; .* none"),
    ],
    ids=["split", "binarize", "seed", "option"],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        load_dataset("digits", **kwargs)


def test_unknown_option_names_the_allowed_ones():
    with pytest.raises(ConfigError, match="its options are: n, dim, latent_dim, noise_variance"):
        load_dataset("linear-gaussian", latent=2)


def test_unknown_file_option(tmp_path):
    with pytest.raises(ConfigError, match="takes no option 'n'; .* allow_missing, label_column"):
        load_dataset(tmp_path / "x.csv", n=3)


def test_register_dataset(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_dataset("twins", how_to_get="nothing to get")
    def load_twins(split, *, seed, data_dir, copies: int = 2) -> Dataset:
        """Two copies of the digits.

        More text.
        """
        return load_dataset("digits", split, seed=seed)

    spec = registry.get_spec("twins")
    assert spec.options == ("copies",) and spec.description == "Two copies of the digits."
    assert "twins" in list_datasets()
    assert len(load_dataset("twins", "val", copies=3)) == 180
    with pytest.raises(ConfigError, match="'twins' is already registered"):
        register_dataset("twins")(load_twins)


def test_an_option_a_dataset_lacks_is_named_as_its_flag_on_the_command_line():
    with pytest.raises(ConfigError) as err:
        load_dataset("digits", "train", drop_columns=["id"])
    assert err.value.on_command_line == (
        "--drop-columns does not apply to dataset 'digits' (it applies to data files); "
        "leave out --drop-columns"
    )
