"""How array files' axes and values become rows: uint8 divided by 255 and channels-last images
moved first, the same for an ordinary load, a streamed one and an .npz; image files get the
image defaults (Bernoulli likelihood, dynamic binarization)."""

from __future__ import annotations

import re
from pathlib import Path

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


@pytest.mark.parametrize("last", [True, False], ids=["channels-last", "channels-first"])
def test_rgba_images_name_the_alpha_channel_to_drop(tmp_path, last):
    """(N, H, W, 4) images, what PIL gives for a PNG with transparency, were told to reshape
    into rows (userJ #11): the message names the alpha channel and the slice that drops it."""
    x = np.zeros((4, 5, 6, 4) if last else (4, 4, 5, 6), dtype=np.uint8)
    np.save(tmp_path / "rgba.npy", x)
    alpha = "x[..., :3]" if last else "x[:, :3]"
    with pytest.raises(
        DataError,
        match=re.escape(
            f"4 channels, as RGBA pictures have; drop the alpha channel (numpy: {alpha})"
        ),
    ):
        _load(tmp_path / "rgba.npy")
    np.save(tmp_path / "rgb.npy", eval(alpha, {"x": x}))  # the fix, as given
    assert _load(tmp_path / "rgb.npy").shape == (3, 5, 6)


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
    every = str(tmp_path / "keras-all.npz")  # (a free name beside it, not 'all.npz': readA #6)
    assert f"f = np.load({str(tmp_path / 'keras.npz')!r}); np.savez({every!r}, x=np." in str(
        e.value
    )
    f = np.load(tmp_path / "keras.npz")  # the line the message gives, as written
    np.savez(every, x=np.concatenate([f["x_train"], f["x_test"]]))
    assert torch.equal(_load(every).x, data.x)


def _load_array(folder, array):
    np.save(folder / "array.npy", array)
    return _load(folder / "array.npy")


@pytest.mark.parametrize(
    ("given", "model"),
    [("pics", "vae"), ("pics/a0.png", "vae"), ("classes", "cvae")],
    ids=["folder", "one-picture", "class-folders"],
)
def test_pictures_name_the_python_that_stacks_them_and_it_works(
    tmp_path, monkeypatch, capsys, given, model
):
    """A folder of PNGs was told a recipe over an undefined ``paths``, and one .png only which
    extensions torchlvm reads: each names the lines (imports and the folder's own glob) that
    stack the pictures into an .npy, or for ImageFolder's class folders an .npz labelled by the
    folders' names; run as printed, they give a file that trains."""
    from PIL import Image

    from torchlvm.cli import main

    monkeypatch.chdir(tmp_path)
    for i, picture in enumerate(PIXELS[:20, 0]):
        for folder in ("pics", f"classes/{'cat' if i % 2 else 'dog'}"):
            Path(folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(picture).save(f"{folder}/a{i}.png")
    argv = ["train", model, "--data", given, "--epochs", "1", "--hidden", "8", "--quiet"]
    assert main([*argv, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("torchlvm: error: ") and err.count("\n") == 1, err
    code = err.split("stack the pictures into one array file (")[1].split("; .convert('RGB')")[0]
    exec(code, {})
    made = "classes.npz" if model == "cvae" else "pics.npy"  # named after the folder
    assert main([*argv[:3], made, *argv[4:], "--out", "r"]) == 0
    assert torch.equal(_load(made).x, _load_array(tmp_path, PIXELS[:20, 0][[*_order(given)]]).x)


def _order(given: str) -> list[int]:
    """The picture indices in the order sorted(glob(...)) stacks them."""
    if given == "classes":  # cat/ (odd) before dog/ (even), each sorted by name
        return [*sorted(range(1, 20, 2), key=str), *sorted(range(0, 20, 2), key=str)]
    return sorted(range(20), key=str)


@pytest.mark.filterwarnings("ignore:.* holds u?int16 images whose values")
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


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, ">u2", np.int64, np.int32, np.uint8])
@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_16_bit_images_read_as_8_bit_are_told_so(tmp_path, dtype, mmap):
    """A uint16 file whose values all lie in 0..255 was read as 8-bit levels in silence (the
    module's docstring said so): dark 16-bit images read 257 times too bright. The dtypes of
    16-bit images warn, naming both fixes; pandas' int64 and uint8 do not, and neither does a
    uint16 file with a value above 255, read as stored."""
    import warnings

    path = tmp_path / "x.npy"
    np.save(path, PIXELS[:, 0].astype(dtype))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _load(path, mmap=mmap)
    said = [str(w.message) for w in caught]
    if np.dtype(dtype).itemsize == 2:
        assert said and said[0].startswith(f"{path} holds {np.dtype(dtype).name} images whose")
        assert "257 times too bright: save them divided by 65535 as float32" in said[0]
        assert "save them as uint8 (x.astype('uint8'))" in said[0]
    else:
        assert not said
    if dtype == np.uint16:
        bright = PIXELS[:, 0].astype(dtype) * 257
        np.save(path, bright)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = _load(path, mmap=mmap)
        assert not caught and float(data.x[torch.arange(len(data))].max()) == float(bright.max())


def test_bool_and_wrapped_int8_images_read_as_stored(tmp_path):
    np.save(tmp_path / "b.npy", PIXELS[:, 0] > 127)
    assert torch.equal(
        _load(tmp_path / "b.npy").x, torch.from_numpy(PIXELS[:, 0] > 127).float().reshape(40, -1)
    )
    np.save(tmp_path / "i8.npy", PIXELS[:, 0].astype(np.int8))  # 128..255 wrapped negative
    assert float(_load(tmp_path / "i8.npy").x.min()) < 0


@pytest.mark.parametrize("dtype", [np.uint8, np.int64])
@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_integer_images_of_only_0_and_1_are_binary_images(tmp_path, dtype, mmap):
    """userD: binarized images shipped as uint8 0/1 ((x > 127).astype(np.uint8)) were divided
    by 255, so a VAE trained on near-blank images (max 0.0039) and printed an ELBO 165 nats
    'better' than on the same images as bool, with no word. They read as the bool file does."""
    binary = PIXELS[:, 0] > 127
    np.save(tmp_path / "b.npy", binary)
    np.save(tmp_path / "i.npy", binary.astype(dtype))
    data = _load(tmp_path / "i.npy", mmap=mmap)
    x = data.x[torch.arange(len(data))] if mmap else data.x
    assert torch.equal(x, _load(tmp_path / "b.npy").x) and float(x.max()) == 1.0


@pytest.mark.parametrize("mmap", [False, True], ids=["loaded", "streamed"])
def test_dark_integer_images_are_read_as_8_bit_with_a_warning(tmp_path, mmap):
    """userD: sklearn's digits as int64 (grey levels 0..16) were read as 8-bit levels, white at
    16/255 = 0.063, with no word: the warning names the brightest value and the division."""
    levels = (PIXELS[:, 0] % 17).astype(np.int64)
    path = tmp_path / "d.npy"
    np.save(path, levels)
    with pytest.warns(UserWarning, match=r"brightest value is 16: .* white is 0\.063; .*x / 16"):
        data = _load(path, mmap=mmap)
    x = data.x[torch.arange(len(data))] if mmap else data.x
    assert float(x.max()) == pytest.approx(16 / 255)


def test_a_run_of_the_earlier_reading_of_binary_integer_images_is_named(tmp_path):
    """A run trained under reading 3 divided a 0/1 integer image file by 255: the reading that
    changed is named, so such a run is not read under the new one in silence."""
    from torchlvm.data.pixels import READING, earlier_reading

    path = tmp_path / "i.npy"
    np.save(path, (PIXELS[:, 0] > 127).astype(np.uint8))
    assert READING == 4
    assert "values of only 0 and 1 divided by 255 (now read as 0 and 1)" in earlier_reading(path, 3)
    assert earlier_reading(path, 1) is None  # reading 1 took uint8 as stored: 0/1 as now
    np.save(path, PIXELS[:, 0])
    assert earlier_reading(path, 3) is None


def test_an_integer_image_file_s_levels_are_read_in_one_pass(tmp_path, monkeypatch):
    """A file of integer images had its brightest value read twice (once to tell 8-bit levels,
    once for the warning of dark ones): a pass over every pixel each. One pass now, the same
    reading and warning."""
    from torchlvm.data import pixels

    calls = []
    levels = pixels.integer_levels
    monkeypatch.setattr(pixels, "integer_levels", lambda a: calls.append(1) or levels(a))
    dark = PIXELS[:, 0] // 16  # (N, H, W) of 0..15
    np.save(tmp_path / "dark.npy", dark.astype(np.int64))
    with pytest.warns(UserWarning, match="brightest value is 15: read as 8-bit grey levels"):
        data = _load(tmp_path / "dark.npy")
    assert len(calls) == 1
    assert torch.equal(data.x, torch.from_numpy(dark.reshape(40, -1) / np.float32(255)).float())


@pytest.mark.parametrize(
    "stored", [(5, 6, 7), (5, 3, 6, 7), (5, 6, 7, 3)], ids=["grey", "chw", "hwc"]
)
def test_a_runs_record_keeps_the_axes_its_image_file_stores(tmp_path, stored):
    """review14 R9: sample --npy and reconstruct --out .npy read the training file's header for
    its axes at each command, so once the file moved a channels-last run's images came back
    channels first. The record keeps one image's stored axes."""
    from torchlvm.data.pixels import READING, reading_record

    path = tmp_path / "x.npy"
    np.save(path, np.zeros(stored, dtype=np.uint8))
    record = {"pixels": READING, "stored_shape": list(stored[1:]), "divided_by": None}
    assert reading_record(path) == record  # (zeros: not 8-bit levels, read as stored)
    np.save(tmp_path / "rows.npy", np.zeros((5, 6), dtype=np.uint8))
    assert reading_record(tmp_path / "rows.npy") == {}


@pytest.mark.parametrize(
    "values, divisor",
    [
        (np.arange(64, dtype=np.uint8), 255),
        (np.arange(64, dtype=np.int64), 255),  # (8-bit levels stored wide)
        (np.arange(64, dtype=np.uint8) % 2, None),  # (only 0 and 1: binary, as stored)
        (np.arange(64, dtype=np.int64) * 10, None),  # (beyond 255: as stored)
        (np.linspace(0, 255, 64), None),  # (floats: as stored)
    ],
    ids=["uint8", "int64-levels", "binary", "wide", "float"],
)
def test_the_record_says_what_an_image_files_values_were_divided_by(tmp_path, values, divisor):
    """readD D5: sample --npy wrote a uint8 file's run's samples in [0, 1] "as" that file of
    0..255: the record keeps what its values were divided by as they were read (rows.py's
    rule), and a run made before it is told from the file, if read under the same rule."""
    from torchlvm.data.pixels import READING, reading_record, recorded_divisor, rows

    path = tmp_path / "x.npy"
    np.save(path, values.reshape(4, 4, 4))
    assert reading_record(path)["divided_by"] == divisor
    divided = rows(values.reshape(4, 4, 4), np.float64).max() < values.max()
    assert divided == (divisor is not None)  # (the reader's own rule)
    assert recorded_divisor({"name": str(path), "pixels": READING}) == divisor
    assert recorded_divisor({"name": str(path), "pixels": READING, "divided_by": None}) is None
    assert recorded_divisor({"name": str(tmp_path / "gone.npy"), "pixels": READING}) is None
