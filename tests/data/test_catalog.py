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
