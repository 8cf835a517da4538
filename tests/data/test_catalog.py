"""describe_datasets: what `torchlvm datasets` shows."""

from __future__ import annotations

from torchlvm.data import DatasetInfo, describe_datasets, list_datasets


def test_every_dataset_is_described(isolated_search):
    infos = describe_datasets()
    assert [info.name for info in infos] == list_datasets()
    assert all(isinstance(info, DatasetInfo) and info.description for info in infos)


def test_built_in_and_generated_need_no_files(isolated_search):
    by_name = {info.name: info for info in describe_datasets()}
    for name in ("digits", "linear-gaussian", "two-moons", "gaussian-mixture"):
        info = by_name[name]
        assert info.available and info.location is None and info.looked_in == ()


def test_missing_then_found(isolated_search, tmp_path, write_mnist):
    missing = {info.name: info for info in describe_datasets()}["mnist"]
    assert not missing.available and missing.location is None
    assert str(isolated_search["system"] / "mnist") in missing.looked_in
    assert "--data-dir" in missing.how_to_get

    write_mnist(tmp_path / "mine")
    found = {info.name: info for info in describe_datasets(tmp_path / "mine")}["mnist"]
    assert found.available and found.location == str(tmp_path / "mine")
    assert found.looked_in == (str(tmp_path / "mine"),)


def test_found_files_say_what_they_hold_and_damaged_ones_are_not_available(
    isolated_search, tmp_path, write_mnist
):
    """`datasets --data-dir F` said "mnist available: 70,000 28x28 ... at F" for a folder of 70
    images, and for a truncated file that every command then refuses: the headers are read."""
    write_mnist(tmp_path / "small", gz=True, n_train=50, n_test=20)
    found = {info.name: info for info in describe_datasets(tmp_path / "small")}["mnist"]
    assert found.available and found.found == "70 images of 4x4"
    folder = write_mnist(tmp_path / "cut")
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])
    cut = {info.name: info for info in describe_datasets(folder)}["mnist"]
    assert not cut.available and cut.location == str(folder)
    assert cut.found.startswith("cannot be read: ") and "holds 795 data bytes" in cut.found
