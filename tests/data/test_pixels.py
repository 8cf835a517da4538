"""How array files' axes and values become rows: uint8 divided by 255 and channels-last images
moved first, the same for an ordinary load, a streamed one and an .npz; image files get the
image defaults (Bernoulli likelihood, dynamic binarization)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.data.pixels import example_shape, is_image_data, is_image_file
from torchlvm.errors import DataError

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (40, 3, 5, 6), dtype=np.uint8)  # (N, C, H, W), 0..255


def _load(path, **options):
    return load_dataset(path, "all", **options)


@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_uint8_images_are_divided_by_255(tmp_path, mmap):
    """A uint8 .npy of 0..255 images was read unscaled: a VAE trained on it printed an ELBO of
    −1,036,556 nats, silently. It reads as the float file of pixels / 255 does, in [0, 1]."""
    grey = PIXELS[:, 0]  # (N, H, W)
    np.save(tmp_path / "u8.npy", grey)
    np.save(tmp_path / "f.npy", grey.astype(np.float32) / np.float32(255))
    u8 = _load(tmp_path / "u8.npy", mmap=mmap)
    x = u8.x[torch.arange(len(u8))] if mmap else u8.x
    assert torch.equal(x, _load(tmp_path / "f.npy").x)
    assert float(x.max()) == 1.0 and u8.shape == (1, 5, 6)


def test_uint8_in_an_npz_and_under_a_binarizing_protocol(tmp_path):
    np.savez(tmp_path / "lab.npz", x=PIXELS[:, 0], y=np.arange(40) % 4)
    data = _load(tmp_path / "lab.npz", binarize="threshold")
    expected = torch.from_numpy((PIXELS[:, 0] / 255 > 0.5).reshape(40, -1)).float()
    assert torch.equal(data.x, expected) and data.y.tolist() == (np.arange(40) % 4).tolist()


@pytest.mark.parametrize("channels", [3, 1], ids=["rgb", "grey"])
@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_channels_last_images_are_moved_first(tmp_path, channels, mmap):
    """(N, H, W, 3) images, as PIL and matplotlib store them, were read as C = H: a run trained on
    them recorded shape (28, 28, 3) and sample then failed. They read as their (N, C, H, W)."""
    first = PIXELS[:, :channels]  # (N, C, H, W)
    np.save(tmp_path / "first.npy", first)
    np.save(tmp_path / "last.npy", first.transpose(0, 2, 3, 1))  # (N, H, W, C)
    last, expected = _load(tmp_path / "last.npy", mmap=mmap), _load(tmp_path / "first.npy")
    assert last.shape == expected.shape == (channels, 5, 6)
    x = last.x[torch.arange(len(last))] if mmap else last.x
    assert torch.equal(x, expected.x)


def test_four_axes_without_a_channel_axis_are_refused(tmp_path):
    np.save(tmp_path / "odd.npy", np.zeros((4, 2, 5, 6), dtype=np.float32))
    with pytest.raises(DataError, match=r"shape \(2, 5, 6\) each: neither the first nor the last"):
        _load(tmp_path / "odd.npy")
    assert example_shape((4, 3, 5, 3), "f") == (3, 5, 3)  # both could be: channels first


def test_image_files_are_told_from_rows(tmp_path):
    np.save(tmp_path / "images.npy", PIXELS)
    np.save(tmp_path / "grey.npy", PIXELS[:, 0])
    np.save(tmp_path / "rows.npy", PIXELS.reshape(40, -1))
    np.savez(tmp_path / "images.npz", labels=np.zeros(40), data=PIXELS[:, 0])
    np.savez(tmp_path / "rows.npz", x=PIXELS.reshape(40, -1))
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    for name, image in [
        ("images.npy", True),
        ("grey.npy", True),
        ("images.npz", True),
        ("rows.npy", False),
        ("rows.npz", False),
        ("t.csv", False),
        ("broken.npy", False),
        ("gone.npy", False),
    ]:
        assert is_image_file(tmp_path / name) is image, name
    assert is_image_data("fashion-mnist") and not is_image_data("wine")


def test_an_archive_saved_unnamed_or_in_keras_layout(tmp_path):
    """numpy.savez(path, x) names the array arr_0, which was refused; Keras' mnist.npz keeps
    x_train / x_test, refused with 'store the data under x': the first is read, the second's
    refusal gives the line that saves it as one."""
    np.savez(tmp_path / "anon.npz", PIXELS[:, 0])
    data = _load(tmp_path / "anon.npz")
    assert data.shape == (1, 5, 6) and is_image_file(tmp_path / "anon.npz")
    assert torch.equal(data.x, _load_array(tmp_path, PIXELS[:, 0]).x)
    y = np.arange(40) % 10
    np.savez(tmp_path / "keras.npz", x_train=PIXELS[:30, 0], y_train=y[:30], x_test=PIXELS[30:, 0])
    with pytest.raises(
        DataError, match=r"Keras' layout\); save train and test as one archive: "
    ) as e:
        _load(tmp_path / "keras.npz")
    assert f"f = np.load({str(tmp_path / 'keras.npz')!r}); np.savez('all.npz', x=np." in str(
        e.value
    )
    f = np.load(tmp_path / "keras.npz")  # the line the message gives, as written
    np.savez(tmp_path / "all.npz", x=np.concatenate([f["x_train"], f["x_test"]]))
    assert torch.equal(_load(tmp_path / "all.npz").x, data.x)


def _load_array(folder, array):
    np.save(folder / "array.npy", array)
    return _load(folder / "array.npy")


@pytest.mark.parametrize("layout", ["a.png", "cats/a.JPG"], ids=["flat", "class-folders"])
def test_a_folder_of_pictures_names_the_array_to_make(tmp_path, layout, capsys):
    from torchlvm.cli import main

    (tmp_path / "pics" / layout).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / "pics" / layout).write_bytes(b"")
    assert main(["train", "vae", "--data", str(tmp_path / "pics"), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1, err
    assert "is a folder of picture files" in err and "np.save('images.npy', np.stack(" in err


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint16, np.uint32])
@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_integer_images_of_0_to_255_read_as_8_bit(tmp_path, dtype, mmap):
    """Images of another integer dtype holding 0..255 (pandas' int64 of Kaggle's MNIST CSV) were
    read as stored, 0..255: refused by every binarizing protocol and trained on 0..255 by a
    Gaussian. They read as the uint8 file does; an integer file with a value outside 0..255, and
    integer rows (N, D), which may be counts, read as stored."""
    grey = PIXELS[:, 0]  # (N, H, W) uint8
    np.save(tmp_path / "u8.npy", grey)
    np.save(tmp_path / "wide.npy", grey.astype(dtype))
    expected = _load(tmp_path / "u8.npy").x
    wide = _load(tmp_path / "wide.npy", mmap=mmap)
    assert torch.equal(wide.x[torch.arange(len(wide))] if mmap else wide.x, expected)
    beyond = grey.astype(dtype)
    beyond[3, 2, 1] = 256
    np.save(tmp_path / "beyond.npy", beyond)
    np.save(tmp_path / "rows.npy", grey.reshape(40, -1).astype(dtype))
    for name in ("beyond", "rows"):
        data = _load(tmp_path / f"{name}.npy", mmap=mmap)
        x = data.x[torch.arange(len(data))] if mmap else data.x
        assert torch.equal(
            x.flatten(), torch.from_numpy(np.load(tmp_path / f"{name}.npy")).float().flatten()
        )


def test_bool_and_wrapped_int8_images_read_as_stored(tmp_path):
    np.save(tmp_path / "b.npy", PIXELS[:, 0] > 127)
    assert torch.equal(
        _load(tmp_path / "b.npy").x, torch.from_numpy(PIXELS[:, 0] > 127).float().reshape(40, -1)
    )
    np.save(tmp_path / "i8.npy", PIXELS[:, 0].astype(np.int8))  # 128..255 wrapped negative
    assert float(_load(tmp_path / "i8.npy").x.min()) < 0
