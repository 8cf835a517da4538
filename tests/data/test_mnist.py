"""MNIST-format datasets: tiny IDX sets written here, the missing-data message, and the real
Fashion-MNIST files when installed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.data.mnist import FASHION_CLASSES, MNIST_HOW_TO_GET, REQUIRED_FILES
from torchlvm.errors import ConfigError, DataError, DataNotFoundError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_splits_of_a_small_set(tmp_path, write_mnist, gz):
    write_mnist(tmp_path, gz=gz, n_train=50, n_test=20, side=4)
    sizes = {s: len(load_dataset("mnist", s, data_dir=tmp_path)) for s in ("train", "val", "test")}
    assert sizes == {"train": 45, "val": 5, "test": 20}
    everything = load_dataset("mnist", "all", data_dir=tmp_path)
    assert len(everything) == 70
    assert everything.shape == (1, 4, 4) and everything.dim == 16
    assert everything.x.dtype == torch.float32
    assert 0.0 <= everything.x.min() and everything.x.max() <= 1.0
    assert everything.class_names == tuple("0123456789")


def test_pixels_are_scaled_and_flattened_row_major(tmp_path, write_idx, write_mnist):
    write_mnist(tmp_path, n_train=10, n_test=2, side=2)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.array([[[0, 51], [102, 255]]] * 2))
    test = load_dataset("mnist", "test", data_dir=tmp_path)
    torch.testing.assert_close(test.x[0], torch.tensor([0.0, 0.2, 0.4, 1.0]))


def test_val_is_seeded_and_disjoint_from_train(tmp_path, write_mnist):
    write_mnist(tmp_path, n_train=100, n_test=10, side=3)

    def rows(split, seed):
        data = load_dataset("mnist", split, data_dir=tmp_path, seed=seed)
        return {tuple(row) for row in data.x.tolist()}

    assert rows("val", 0) == rows("val", 0)
    assert rows("val", 0) != rows("val", 1)
    assert not rows("val", 0) & rows("train", 0)
    assert len(rows("val", 0) | rows("train", 0)) == 100


def test_image_label_count_mismatch(tmp_path, write_idx, write_mnist):
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(49, dtype=np.uint8))
    with pytest.raises(DataError, match="holds 50 images but .* holds 49 labels"):
        load_dataset("mnist", "train", data_dir=tmp_path)


def test_swapped_files_are_named(tmp_path, write_idx, write_mnist):
    write_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(50, dtype=np.uint8))
    with pytest.raises(DataError, match="train-images-idx3-ubyte must hold images") as error:
        load_dataset("mnist", "train", data_dir=tmp_path)
    assert "holds labels" in str(error.value)  # qa3: the fix is named, not guessed at
    assert "put the images file there under this name, or download it again" in str(error.value)


def test_labels_of_another_set_are_said_so_with_an_archive_that_keeps_them(
    tmp_path, monkeypatch, write_idx, write_mnist
):
    """IDX files whole but of another set (EMNIST letters are labelled 1..26) were told
    "holds label 20, outside 0..9; re-download it", which gives the same labels (userM #4), and
    a model that reads no labels (ppca) was refused too (review14 R6). Its images are read
    without labels, with a warning whose line saves the four files as a labelled archive that a
    CVAE trains on."""
    import shlex

    from torchlvm.cli import main

    monkeypatch.chdir(tmp_path)
    folder = write_mnist(tmp_path / "emn" / "mnist", gz=True, n_train=40, n_test=20, side=4)
    for part, n in (("train", 40), ("t10k", 20)):
        labels = (np.arange(n) % 20 + 1).astype(np.uint8)  # 1..20
        write_idx(folder / f"{part}-labels-idx1-ubyte", labels, gz=True)
    with pytest.warns(UserWarning) as shown:
        test = load_dataset("mnist", "test", data_dir=folder)
    assert len(test) == 20 and test.y is None and test.num_classes is None
    (said,) = [str(w.message) for w in shown]
    assert said.startswith(
        f"{folder / 'train-labels-idx1-ubyte.gz'} holds labels 1 to 20 (20 classes), not "
        "mnist's 0..9: its files are whole, of another set in mnist's format (as EMNIST), and "
        "its images are read without labels"
    )
    assert "download" not in said
    fit = ["fit", "ppca", "--data", "mnist", "--data-dir", str(folder), "--latent-dim", "2"]
    assert main([*fit, "--out", "p"]) == 0  # (no labels needed)
    exec(said.split("; python: ")[1].split(") and pass --data")[0], {})
    data = shlex.split(said.split("pass --data ")[1])[0]
    assert data == "mnist-idx.npz"
    made = load_dataset(data, "all")
    assert len(made) == 60 and made.y.tolist() == [*range(20), *range(20), *range(20)]
    argv = ["train", "cvae", "--data", data, "--epochs", "1", "--quiet", "--out", "r"]
    assert main([*argv, "--likelihood", "gaussian"]) == 0


def test_corrupt_file_surfaces_through_load_dataset(tmp_path, write_mnist):
    write_mnist(tmp_path, gz=True)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz is not a valid gzip file"):
        load_dataset("mnist", "test", data_dir=tmp_path)


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist"])
def test_missing_data_message_names_every_place_and_the_fix(isolated_search, tmp_path, name):
    with pytest.raises(DataNotFoundError) as error:
        load_dataset(name, "train")
    message = str(error.value)
    assert "\n" not in message
    for place in (
        isolated_search["env"] / name,
        isolated_search["cache"] / "torchlvm" / name,
        isolated_search["system"] / name,
    ):
        assert str(place) in message
    assert "train-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    if name == "fashion-mnist":
        assert "apt-get install dataset-fashion-mnist" in message
    else:
        assert "pass data_dir" in message and "TORCHLVM_DATA" in message
        assert "pass --data-dir" in error.value.on_command_line


@pytest.mark.parametrize("name", ["fashion-mnist", "mnist"])
def test_missing_data_in_an_explicit_folder_names_only_it_and_the_fix(
    isolated_search, tmp_path, name
):
    with pytest.raises(DataNotFoundError) as error:
        load_dataset(name, "train", data_dir=tmp_path / "mine")
    message = str(error.value)
    assert f"looked in {tmp_path / 'mine'}, {tmp_path / 'mine' / name};" in message
    assert str(isolated_search["system"]) not in message.split(";")[0]
    assert "train-images-idx3-ubyte" in message and "leave out data_dir to search" in message
    assert "leave out --data-dir to search" in error.value.on_command_line


def test_a_torchvision_folder_of_the_other_dataset_is_named(isolated_search, tmp_path, write_mnist):
    """userD: --data-dir tv holding torchvision's FashionMNIST/raw, asked for mnist, was told only
    'looked in tv, tv/mnist', not that tv/MNIST/raw is searched too, nor that the folder holds
    the other dataset."""
    write_mnist(tmp_path / "tv" / "FashionMNIST" / "raw", n_train=5, n_test=5, side=4)
    with pytest.raises(DataNotFoundError) as error:
        load_dataset("mnist", "train", data_dir=tmp_path / "tv")
    message = str(error.value)
    assert (
        f"{tmp_path / 'tv' / 'FashionMNIST' / 'raw'} holds torchvision's fashion-mnist" in message
    )
    assert f"(or torchvision's {tmp_path / 'tv' / 'MNIST' / 'raw'})" in message
    assert len(load_dataset("fashion-mnist", "test", data_dir=tmp_path / "tv")) == 5


def test_a_folder_with_three_of_the_four_files_names_the_missing_one(isolated_search, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for file_name in REQUIRED_FILES[:-1]:
        (folder / file_name).write_bytes(b"")
    with pytest.raises(DataNotFoundError) as error:
        load_dataset("mnist", "train", data_dir=folder)
    assert f"to get it: {folder} lacks {REQUIRED_FILES[-1]} (raw or .gz): put it there" in (
        error.value.on_command_line
    )
    assert "data_dir" not in error.value.on_command_line


def test_the_datasets_hint_names_the_flag_only():
    assert "data_dir" not in MNIST_HOW_TO_GET and "--data-dir" in MNIST_HOW_TO_GET


def test_missing_data_is_also_a_file_not_found_error(isolated_search):
    with pytest.raises(FileNotFoundError):
        load_dataset("mnist")


@pytest.fixture(scope="module")
def fashion():
    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").exists():
        pytest.skip(
            f"Fashion-MNIST is not installed at {FASHION_DIR}; "
            "`apt-get install dataset-fashion-mnist` (CI installs it)"
        )
    return {s: load_dataset("fashion-mnist", s) for s in ("train", "val", "test")}


def test_real_fashion_mnist(fashion):
    assert {s: len(d) for s, d in fashion.items()} == {
        "train": 60000 - 6000,
        "val": 6000,
        "test": 10000,
    }
    for data in fashion.values():
        assert data.x.shape[1] == 784 and data.shape == (1, 28, 28)
        assert data.x.dtype == torch.float32 and data.y.dtype == torch.int64
        assert float(data.x.min()) == 0.0 and float(data.x.max()) == 1.0
        assert set(data.y.unique().tolist()) == set(range(10))
        assert data.class_names == FASHION_CLASSES and data.num_classes == 10
    assert torch.bincount(fashion["val"].y).tolist() == [600] * 10  # stratified


@pytest.mark.parametrize(
    ("folder", "data_dir"),
    [("MNIST", "root"), ("MNIST", "root/MNIST"), ("FashionMNIST", "root")],
    ids=["root", "dataset-folder", "fashion"],
)
def test_torchvision_layout_is_found(isolated_search, tmp_path, write_mnist, folder, data_dir):
    """torchvision.datasets.MNIST(root, download=True) keeps its files in root/MNIST/raw: with
    --data-dir root (or root/MNIST) they were not found."""
    write_mnist(tmp_path / "root" / folder / "raw", gz=True)
    name = "fashion-mnist" if folder == "FashionMNIST" else "mnist"
    data = load_dataset(name, "test", data_dir=tmp_path / data_dir)
    assert len(data) == 20 and data.shape == (1, 4, 4)
    with pytest.raises(DataNotFoundError, match=r"looked in [^;]*/empty, [^;]*/empty/mnist;"):
        load_dataset("mnist", data_dir=tmp_path / "empty")  # none made: none listed


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "t10k-labels.idx1-ubyte.gz"])
def test_an_idx_file_as_data_names_its_folder(tmp_path, write_mnist, name):
    """One IDX file given as a data file was refused for its extension ('' or '.gz'), naming
    .npy/.npz/.csv: the dataset and folder that read it are named, or what the folder lacks."""
    from torchlvm.cli import main

    write_mnist(tmp_path / "mnist-files")
    path = tmp_path / "mnist-files" / name
    path.write_bytes(b"")  # (only its name is read)
    with pytest.raises(ConfigError, match="call load_dataset\\('mnist', data_dir='.*mnist-files'"):
        load_dataset(path)
    out = tmp_path / "run"
    assert main(["train", "vae", "--data", str(path), "--out", str(out)]) == 2
    assert not out.exists()


def test_an_idx_file_whose_folder_lacks_the_others(tmp_path, write_idx, capsys):
    from torchlvm.cli import main

    path = write_idx(tmp_path / "fashion" / "train-images-idx3-ubyte", np.zeros((2, 4, 4)), gz=True)
    assert main(["train", "vae", "--data", str(path), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1, err
    assert "lacks train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte" in err
    assert f"pass --data fashion-mnist --data-dir {tmp_path / 'fashion'}" in err


def test_a_torchvision_root_given_as_data_names_the_dataset(tmp_path, write_mnist, capsys):
    from torchlvm.cli import main

    write_mnist(tmp_path / "root" / "FashionMNIST" / "raw", gz=True)
    argv = ["train", "vae", "--data", str(tmp_path / "root"), "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"(e.g. --data fashion-mnist --data-dir {tmp_path / 'root'})" in err, err


def test_labels_of_another_set_in_either_part_leave_every_split_unlabelled(
    tmp_path, write_idx, write_mnist
):
    """review14 R16: train labels 0..8 and test labels 0..11 gave a labelled train split (a
    CVAE trained) and an unlabelled test split (evaluate then failed). Both files decide, once,
    for every split."""
    import warnings

    folder = write_mnist(tmp_path / "f", n_train=40, n_test=20, side=4)
    write_idx(folder / "train-labels-idx1-ubyte", (np.arange(40) % 9).astype(np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte", (np.arange(20) % 12).astype(np.uint8))
    from torchlvm.data.csv_once import parsed_once

    def said_by(read) -> list[str]:
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("always")
            read()
        return [str(w.message) for w in shown if "holds labels" in str(w.message)]

    def splits() -> dict:  # the three reads of one command (the CLI opens parsed_once)
        with parsed_once():
            return {s: load_dataset("mnist", s, data_dir=folder) for s in ("train", "val", "test")}

    read: dict = {}
    said = said_by(lambda: read.update(splits()))
    assert len(read) == 3 and all(split.y is None for split in read.values())
    assert len(said) == 1 and "t10k-labels-idx1-ubyte holds labels 0 to 11" in said[0]
    # a second command in the same process (a notebook's) is told too: it was silent (R16)
    assert said_by(splits) == said
    assert len(said_by(lambda: load_dataset("mnist", "test", data_dir=folder))) == 1
