"""describe_datasets: what `torchlvm datasets` shows."""

from __future__ import annotations

import gzip

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
    assert found.available and found.found == "70 images of 4x4 (the standard mnist has 70,000)"
    folder = write_mnist(tmp_path / "cut")
    images = folder / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])
    cut = {info.name: info for info in describe_datasets(folder)}["mnist"]
    assert not cut.available and cut.location == str(folder)
    assert cut.found.startswith("cannot be read: ") and "holds 795 data bytes" in cut.found


def test_a_truncated_gz_or_a_labels_file_under_the_images_name_is_not_available(
    isolated_search, tmp_path, write_idx, write_mnist
):
    """qa3: `datasets` said "available ... 70,000 images" for a folder whose train-images .gz
    was cut short, and for one whose train-images file was a copy of train-labels; training
    then refused both. The gzip trailer and the pairs' headers are checked."""
    folder = write_mnist(tmp_path / "cut", gz=True)
    images = folder / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-20])  # the IDX header still decompresses
    cut = {info.name: info for info in describe_datasets(folder)}["mnist"]
    assert not cut.available and "not a valid gzip file" in cut.found

    folder = write_mnist(tmp_path / "swap", gz=True)
    labels = (folder / "train-labels-idx1-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(labels)
    swap = {info.name: info for info in describe_datasets(folder)}["mnist"]
    assert not swap.available
    assert "train-images-idx3-ubyte.gz must hold images but holds labels" in swap.found


def test_a_gzip_file_of_several_members_is_still_available(isolated_search, tmp_path, write_mnist):
    """Its trailer records the last member's size only: the file is then read whole."""
    folder = write_mnist(tmp_path / "two", gz=True)
    images = folder / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(raw[:100]) + gzip.compress(raw[100:]))
    info = {info.name: info for info in describe_datasets(folder)}["mnist"]
    assert info.available and info.found.startswith("70 images of 4x4 (the standard")


def test_a_folder_of_the_standard_count_is_said_without_it(
    isolated_search, tmp_path, write_mnist, monkeypatch
):
    """userH: "mnist available 70,000 28x28 ... at mydata/mnist: 4,000 images" said both sizes
    at once, unqualified: the standard set's count is said only where the folder's differs."""
    import dataclasses

    from torchlvm.data import registry

    folder = write_mnist(tmp_path / "mine", n_train=50, n_test=20)
    found = {i.name: i for i in describe_datasets(folder)}["mnist"]
    assert found.found == "70 images of 4x4 (the standard mnist has 70,000)"
    spec = registry.get_spec("mnist")  # a standard set of 70 images: nothing to qualify
    monkeypatch.setitem(registry._REGISTRY, "mnist", dataclasses.replace(spec, size=70))
    assert {i.name: i for i in describe_datasets(folder)}["mnist"].found == "70 images of 4x4"


def test_one_folder_read_as_either_name_is_listed_once(isolated_search, tmp_path, write_mnist):
    """userH: `datasets --data-dir mydata/mnist` listed the folder as both fashion-mnist and
    mnist, asserting an identity the files cannot tell: the later names say it is the same
    folder as the first's; folders of their own names are each their own."""
    folder = write_mnist(tmp_path / "mydata" / "mnist")
    by_name = {i.name: i for i in describe_datasets(folder)}
    assert by_name["fashion-mnist"].same_as is None
    assert by_name["mnist"].same_as == "fashion-mnist"
    assert by_name["mnist"].location == by_name["fashion-mnist"].location == str(folder)
    write_mnist(tmp_path / "mydata" / "fashion-mnist")
    by_name = {i.name: i for i in describe_datasets(tmp_path / "mydata")}
    assert by_name["mnist"].location == str(folder) and by_name["mnist"].same_as is None
    assert by_name["fashion-mnist"].location == str(tmp_path / "mydata" / "fashion-mnist")
