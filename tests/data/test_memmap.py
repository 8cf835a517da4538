"""Memory-mapped .npy datasets: the same rows, splits and protocols as an ordinary load, read
a batch at a time; a file of the wrong dtype or shape, truncated, or holding NaN is one clear
error."""

from __future__ import annotations

import pickle
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.data.memmap import MemmapDataset, MemmapRows, load_memmap, read_layout
from torchlvm.errors import ConfigError, DataError, DataNotFoundError
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training import LVMDataModule, TrainConfig, fit


def _save(folder: Path, array: np.ndarray, name: str = "x.npy") -> Path:
    path = folder / name
    np.save(path, array)
    return path


@pytest.fixture
def images(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    return _save(tmp_path, rng.random((500, 8, 8), dtype=np.float32))


@pytest.mark.parametrize("split", ["train", "val", "test", "all"])
def test_rows_and_splits_equal_an_ordinary_load(images: Path, split: str) -> None:
    mapped = load_dataset(images, split, mmap=True, seed=3)
    loaded = load_dataset(images, split, seed=3)
    assert isinstance(mapped, MemmapDataset) and mapped.shape == loaded.shape == (1, 8, 8)
    assert len(mapped) == len(loaded) and mapped.dim == 64 and mapped.x.shape == (len(loaded), 64)
    index = torch.randperm(len(loaded), generator=torch.Generator().manual_seed(0))
    assert torch.equal(mapped.x[index], loaded.x[index])
    assert torch.equal(mapped.x[3], loaded.x[3]) and torch.equal(mapped.x[2:7], loaded.x[2:7])
    assert torch.equal(mapped.x[[4, 1]], loaded.x[[4, 1]])


@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float64, 1), (np.uint8, 255), (np.int16, 1)], ids=["f64", "u8", "i16"]
)
def test_other_numeric_dtypes_become_float32_batches(tmp_path: Path, dtype, scale) -> None:
    """uint8 values are 8-bit grey levels, divided by 255 as an ordinary load divides them."""
    array = (np.arange(40 * 3) % 7).reshape(40, 3).astype(dtype)
    path = _save(tmp_path, array)
    mapped = load_memmap(path)
    batch = mapped.x[torch.tensor([5, 0, 39])]
    assert batch.dtype == torch.float32
    expected = torch.from_numpy(array[[5, 0, 39]].astype(np.float32)) / scale
    assert torch.equal(batch, expected)
    assert torch.equal(mapped.x[torch.arange(40)], load_dataset(path, "all").x)


def test_threshold_and_dynamic_protocols(images: Path) -> None:
    mapped = load_dataset(images, "train", mmap=True, binarize="threshold")
    loaded = load_dataset(images, "train", binarize="threshold")
    rows = torch.arange(len(loaded))
    assert mapped.binarize == "threshold" and torch.equal(mapped.x[rows], loaded.x)
    dynamic = load_dataset(images, "val", mmap=True, binarize="dynamic")
    assert dynamic.binarize == "dynamic"
    fixed = dynamic.fixed_binarized(7)
    whole = fixed[torch.arange(len(dynamic))]
    pieces = torch.cat([fixed[torch.arange(0, 13)], fixed[torch.arange(13, len(dynamic))]])
    assert torch.equal(whole, pieces)  # one draw per row, whatever the batches
    assert set(whole.unique().tolist()) == {0.0, 1.0}
    assert not torch.equal(whole, dynamic.fixed_binarized(8)[torch.arange(len(dynamic))])
    intensity = dynamic.x[torch.arange(len(dynamic))].mean()
    assert abs(whole.mean() - intensity) < 0.02


def test_the_rows_survive_pickling_for_loader_workers(images: Path) -> None:
    rows = load_memmap(images, "train").x
    first = rows[torch.arange(10)]
    copy = pickle.loads(pickle.dumps(rows))
    assert isinstance(copy, MemmapRows) and torch.equal(copy[torch.arange(10)], first)


def test_every_row_reads_back_in_any_order(images: Path) -> None:
    rows = load_memmap(images).x
    loaded = load_dataset(images, "all")
    order = torch.randperm(500, generator=torch.Generator().manual_seed(1))
    for start in range(0, 500, 64):
        index = order[start : start + 64]
        assert torch.equal(rows[index], loaded.x[index])
    assert torch.equal(rows[-1], loaded.x[-1])
    with pytest.raises(IndexError, match="out of range for 500 rows"):
        rows[torch.tensor([500])]


def test_the_data_module_trains_from_a_memory_map(images: Path, tmp_path: Path) -> None:
    mapped = LVMDataModule(images, binarize="dynamic", batch_size=64, options={"mmap": True})
    loaded = LVMDataModule(images, binarize="dynamic", batch_size=64)
    mapped.setup()
    loaded.setup()
    assert mapped.input_dim == 64 and mapped.is_binary() and mapped.record()["num_train"] == 400
    torch.manual_seed(0)
    first = next(iter(mapped.train_dataloader()))["x"]
    torch.manual_seed(0)
    assert torch.equal(first, next(iter(loaded.train_dataloader()))["x"])  # same rows and draws
    L.seed_everything(0)
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(16,)))
    result = fit(
        model, mapped, TrainConfig(max_epochs=2, batch_size=64), tmp_path / "run", progress=False
    )
    assert result.epochs == 2 and np.isfinite(result.final["val/elbo"])
    assert result.final["val/elbo"] > result.metrics[0]["val/elbo"] - 5


def test_a_wrong_dtype_is_named(tmp_path: Path) -> None:
    complex_file = _save(tmp_path, np.ones((4, 3), dtype=np.complex64), "c.npy")
    with pytest.raises(DataError, match=r"c\.npy holds complex64 values; .* real or integer"):
        load_dataset(complex_file, mmap=True)
    record = np.zeros(4, dtype=[("a", "f4"), ("b", "f4")])
    with pytest.raises(DataError, match="holds .* values; memory-mapped training needs"):
        load_memmap(_save(tmp_path, record, "r.npy"))
    doubles = _save(tmp_path, np.ones((4, 3)), "d.npy")
    with pytest.raises(DataError, match="holds float64 values but float32 was asked for"):
        load_memmap(doubles, dtype="float32")


def test_a_wrong_shape_is_named(tmp_path: Path, images: Path) -> None:
    with pytest.raises(DataError, match=r"shape \(8, 8\) but \(28, 28\) was asked for"):
        read_layout(images, shape=(28, 28))
    assert read_layout(images, shape=(8, 8)).dim == 64
    flat = _save(tmp_path, np.ones((4, 64), dtype=np.float32), "flat.npy")
    assert read_layout(flat, shape=(1, 8, 8)).rows == 4  # flattened rows match
    with pytest.raises(DataError, match=r"shape \(10,\); pass \(N, D\) rows"):
        load_memmap(_save(tmp_path, np.ones(10, dtype=np.float32), "v.npy"))
    fortran = _save(tmp_path, np.asfortranarray(np.ones((5, 3), dtype=np.float32)), "f.npy")
    with pytest.raises(DataError, match="Fortran .* numpy.ascontiguousarray"):
        load_memmap(fortran)


def test_a_truncated_file_is_named(images: Path) -> None:
    data = images.read_bytes()
    images.write_bytes(data[: len(data) - 1000])
    with pytest.raises(DataError, match=r"truncated: its header promises 500 rows .* bytes"):
        load_dataset(images, mmap=True)


@pytest.mark.parametrize(
    "shape, at, where",
    [
        ((40, 3), (33, 1), "in example 33, feature 1, counting from 0"),
        ((40, 8, 8), (33, 3, 5), "in image 33, pixel row 3, column 5, counting from 0"),
        ((40, 3, 8, 8), (33, 2, 0, 7), "in image 33, channel 2, pixel row 0, column 7, count"),
        ((40, 8, 8, 3), (33, 0, 7, 2), "in image 33, channel 2, pixel row 0, column 7, count"),
    ],
    ids=["rows", "grey", "channels-first", "channels-last"],
)
@pytest.mark.parametrize(
    "value, said, fix",
    [
        (
            np.nan,
            "2 missing (NaN) values",
            "fill the missing values in, or load the file without --mmap",
        ),
        (np.inf, "2 infinite values", "replace infinite values with finite numbers"),
        (1e300, "2 finite but too large values", "torchlvm computes in float32, whose largest"),
    ],
    ids=["nan", "inf", "beyond-float32"],
)
def test_a_streamed_file_names_what_it_holds_as_a_full_read_does(
    tmp_path: Path, shape, at, where, value, said, fix
) -> None:
    """--mmap said 'holds NaN or infinite values' of any of them (and of a float64 value
    float32 cannot hold), where a full read counts them and names the first by image and pixel;
    and a full read named a float64 pixel beyond float32 as 'example r, feature c'."""
    array = np.random.default_rng(0).random(shape)  # float64
    array[at] = value
    array[(38, *at[1:])] = value  # in another split than the first, which mmap counts too
    path = _save(tmp_path, array, "x.npy")
    with pytest.raises(DataError) as full:
        load_dataset(path, "all")
    with pytest.raises(DataError) as streamed:
        load_dataset(path, "train", mmap=True)
    first = f"{path} holds {said} (the first {where}"
    assert str(full.value).startswith(first) and str(streamed.value).startswith(first)
    said_full, said_streamed = (str(e.value).split("; ")[0] for e in (full, streamed))
    assert said_full == said_streamed
    assert f"; {fix}" in streamed.value.on_command_line
    if said.startswith("2 missing"):
        assert "load the file without mmap=True and pass allow_missing=True" in str(streamed.value)


def test_nan_and_other_refusals(tmp_path: Path) -> None:
    array = np.ones((20, 3), dtype=np.float32)
    array[7, 1] = np.nan
    with pytest.raises(DataError, match=r"holds 1 missing \(NaN\) value \(the first in exam"):
        load_memmap(_save(tmp_path, array, "nan.npy"))
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_memmap(tmp_path / "missing.npy")
    np.savetxt(tmp_path / "x.csv", np.ones((3, 2)), delimiter=",")
    with pytest.raises(ConfigError, match="mmap=True streams .npy files"):
        load_dataset(tmp_path / "x.csv", mmap=True)
    ok = _save(tmp_path, np.full((20, 3), 2.0, dtype=np.float32), "two.npy")
    with pytest.raises(ConfigError, match=r"needs a full load \(allow_missing\)"):
        load_dataset(ok, mmap=True, allow_missing=True)
    with pytest.raises(DataError, match="needs values in \\[0, 1\\]"):
        load_dataset(ok, mmap=True, binarize="dynamic")


def test_mmap_refusals_name_the_flag_on_the_command_line(tmp_path: Path) -> None:
    np.savetxt(tmp_path / "x.csv", np.ones((3, 2)), delimiter=",")
    with pytest.raises(ConfigError) as err:
        load_dataset(tmp_path / "x.csv", mmap=True)
    assert err.value.on_command_line == (
        "--mmap streams .npy files of finite values as stored; x.csv needs a full load "
        "(it is not an .npy file); drop --mmap"
    )
    ok = _save(tmp_path, np.full((20, 3), 2.0, dtype=np.float32), "two.npy")
    with pytest.raises(ConfigError) as err:
        load_dataset(ok, mmap=True, allow_missing=True)
    assert "(--allow-missing); drop --mmap" in err.value.on_command_line


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each streamed pass over a file (MemmapRows.raw_chunks), as they are made."""
    made: list[int] = []
    through = MemmapRows.raw_chunks

    def counted(self: MemmapRows):
        made.append(0)
        for chunk in through(self):
            made[-1] += len(chunk)
            yield chunk

    monkeypatch.setattr(MemmapRows, "raw_chunks", counted)
    return made


@pytest.mark.filterwarnings("ignore:.* holds uint16 images whose values")
@pytest.mark.parametrize(
    ("dtype", "scale"), [(np.float32, 1.0), (np.float64, 1.0), (np.uint16, 255.0)],
    ids=["f32", "f64", "u16-8bit"],
)  # fmt: skip
def test_training_opens_a_streamed_file_with_one_pass(tmp_path, passes, dtype, scale) -> None:
    """Opening a file for training read it whole up to four times: whether its uint16 values
    are 8-bit, whether they are finite, whether they lie in [0, 1], each for the train and again
    for the validation split (a 1 GiB float32 file opened in 63.9 s, and in 0.99 s with the one
    pass that replaced them: medians in benchmarks/results/memmap_open.md)."""
    values = np.random.default_rng(0).random((200, 6, 6))
    path = _save(tmp_path, (values * scale).astype(dtype))
    dm = LVMDataModule(path, binarize="dynamic", batch_size=32, options={"mmap": True})
    dm.setup()
    assert passes == [200]  # the whole file, once
    assert dm.is_binary() and len(dm.train_data) == 160 and len(dm.val_data) == 20
    loaded = load_dataset(path, "val", binarize="dynamic")
    assert torch.equal(dm.val_data.x[torch.arange(20)], loaded.x)  # (uint16: divided by 255)


def test_the_file_answers_for_a_split_only_where_it_can(tmp_path, passes) -> None:
    """A value out of [0, 1] or a NaN in a test row leaves the train split as it is: the
    file's summary cannot say which rows hold it, so the train rows are streamed, and pass;
    the test split is refused as a full load refuses it."""
    array = np.random.default_rng(1).random((50, 4)).astype(np.float32)
    test = load_memmap(_save(tmp_path, array, "probe.npy"), "test").x.index
    array[test[0], 2] = 3.0
    path = _save(tmp_path, array)
    train = load_dataset(path, "train", mmap=True, binarize="threshold")
    assert train.binarize == "threshold" and passes[-2:] == [50, 40]  # the file, then its rows
    for load in (lambda: load_dataset(path, "test", mmap=True, binarize="threshold"),
                 lambda: load_dataset(path, "test", binarize="threshold")):  # fmt: skip
        with pytest.raises(DataError, match=r"got 0\.\d+\.\.3;"):
            load()
    array[test[0], 2] = np.nan
    path = _save(tmp_path, array, "nan.npy")
    assert len(load_memmap(path, "val")) == 5
    with pytest.raises(DataError, match=r"holds 1 missing \(NaN\) value"):
        load_memmap(path, "test")


def test_values_float32_rounds_into_range_pass_as_a_full_load_passes(tmp_path) -> None:
    """A float64 value just above 1 is read as 1.0 (float32): the file's summary (as stored)
    does not show [0, 1], the rows are then read as the model reads them, and pass."""
    array = np.full((10, 3), 0.5)
    array[4, 1] = 1 + 1e-12
    path = _save(tmp_path, array)
    streamed = load_dataset(path, "all", mmap=True, binarize="threshold")
    loaded = load_dataset(path, "all", binarize="threshold")
    assert torch.equal(streamed.x[torch.arange(10)], loaded.x)


def test_an_archive_named_npy_is_told_the_line_that_saves_its_array(tmp_path, monkeypatch):
    """np.savez's archive under an .npy name was told 'the magic string is not correct ...;
    save it with numpy.save' when streamed (a full load names it as an archive): the line
    given saves the archive's data array alone, which streams."""
    monkeypatch.chdir(tmp_path)
    images = np.random.default_rng(0).random((30, 4, 4)).astype(np.float32)
    np.savez("arch.npz", images=images)
    Path("arch.npz").rename("arch.npy")
    with pytest.raises(DataError) as error:
        load_memmap("arch.npy")
    said = str(error.value)
    assert said.startswith("arch.npy is an .npz archive (numpy.savez's), not one array")
    line = said.split("save its data array alone (", 1)[1].split(") and stream", 1)[0]
    exec(line, {"np": np})
    assert torch.equal(load_memmap("arch-images.npy").x[torch.arange(30)], torch.from_numpy(
        images.reshape(30, -1)))  # fmt: skip


def test_an_empty_split_is_refused_as_a_full_load_refuses_it(tmp_path):
    """A streamed file's empty split said '(5 rows split 80/10/10); add rows', a full load's
    '... add rows, to 7 at least': one message, from splits.empty_split."""
    path = _save(tmp_path, np.random.default_rng(0).random((5, 4, 4)).astype(np.float32))
    with pytest.raises(DataError) as streamed:
        load_dataset(path, "test", mmap=True)
    with pytest.raises(DataError) as full:
        load_dataset(path, "test")
    assert str(streamed.value) == str(full.value)
    assert "split 'test' is empty (5 examples split 80/10/10 train/val/test); add rows, to 7" in (
        str(full.value)
    )


@pytest.fixture
def read_alone(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each positioned read of a file (MemmapRows._read), as they are made."""
    made: list[int] = []
    through = MemmapRows._read

    def counted(self: MemmapRows, rows: np.ndarray) -> np.ndarray:
        made.append(len(rows))
        return through(self, rows)

    monkeypatch.setattr(MemmapRows, "_read", counted)
    return made


def _pages(tmp_path: Path, n: int = 100) -> tuple[np.ndarray, Path]:
    """``n`` float32 images of 32 x 32 (a row is a 4 KiB page): a split of 10 % is cheaper to
    read alone than the file, one of 80 % is not."""
    array = np.random.default_rng(2).random((n, 32, 32)).astype(np.float32)
    return array, _save(tmp_path, array)


def test_a_small_split_alone_is_read_without_the_file(tmp_path, passes, read_alone) -> None:
    """Loading only a test split of a float file (what evaluate does) read the whole file for
    its summary: the split's rows are read alone, once, and answer every later question."""
    _, path = _pages(tmp_path)
    test = load_dataset(path, "test", mmap=True, binarize="dynamic")
    assert passes == [] and read_alone == [10]
    from torchlvm.data.memmap_values import all_finite, is_binary

    assert all_finite(test.x) and not is_binary(test.x) and is_binary(test.fixed_binarized(0))
    assert passes == [] and read_alone == [10]


def test_a_split_the_file_cannot_vouch_for_is_read_once(tmp_path, passes, read_alone) -> None:
    """A NaN in a test row: the file's summary cannot answer for the train split, whose rows
    were then streamed up to three times (finite on load, in [0, 1] for the protocol, finite
    again for training) and a fourth for a Bernoulli likelihood's 0s and 1s: once now, and the
    validation split's rows once, read alone."""
    array, path = _pages(tmp_path)
    test = load_memmap(path, "test").x.index
    array[test[0], 3, 4] = np.nan
    np.save(path, array)
    passes.clear(), read_alone.clear()
    dm = LVMDataModule(path, binarize="threshold", batch_size=16, options={"mmap": True})
    dm.setup()
    assert dm.is_binary() and len(dm.val_data) == 10
    dm.train_data.with_protocol("threshold")
    assert passes == [100, 80]  # the file, then the train rows
    assert read_alone == [10]  # the validation rows
    with pytest.raises(DataError, match=r"holds 1 missing \(NaN\) value"):
        load_memmap(path, "test")
