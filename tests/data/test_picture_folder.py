"""A folder of the user's own pictures is refused with Python lines that, run as printed, stack
every picture in it into the array file torchlvm reads (userJ #1)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main


def _code(err: str) -> str:
    code = err.split("stack the pictures into one array file (")[1].split(") and pass that")[0]
    return code.removesuffix("; .convert('RGB') for colour").removesuffix(
        "; .convert('L') for grey"
    )


def test_mixed_suffixes_sizes_colours_and_a_broken_file_are_all_handled(
    tmp_path, monkeypatch, capsys
):
    """The lines globbed the first listed file's suffix alone (the 31 .png of 61 pictures left
    out), stacked pictures of three sizes (numpy's 'all input arrays must have the same shape')
    and would have stopped on a file PIL cannot open. They take every picture suffix, resize to
    the most common size, leave out the broken file by name, and the message says so."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "my pics [1]"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(7):  # grey .png of 8 and 12 pixels, RGB .JPG of 12
        side = (8, 12)[i % 2]
        Image.fromarray(rng.integers(0, 256, (side, side), dtype=np.uint8)).save(
            folder / f"g{i}.png"
        )
        rgb = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"c{i}.JPG")
    (folder / "broken.png").write_bytes(b"not a picture")
    (folder / "notes.txt").write_text("not a picture either")
    assert main(["train", "vae", "--data", folder.name, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "3 sizes" not in err and "2 sizes (width×height: 12×12 (10), 8×8 (4))" in err
    assert "resized to the most common, 12×12" in err
    assert f"{folder.name}/broken.png cannot be opened as a picture and is left out" in err
    exec(_code(err), {})
    made = np.load(f"{folder.name}.npy")  # named after the folder, in the current folder
    assert made.shape == (14, 12, 12) and made.dtype == np.uint8
    with pytest.raises(FileExistsError):  # run again: the file made is kept, not replaced
        exec(_code(err), {})


def test_a_folder_of_colour_pictures_is_stacked_in_colour(tmp_path, monkeypatch, capsys):
    """userS #5: a folder of 300 RGB pictures was offered lines with .convert('L'), which throw
    the colour away, and '.convert('RGB') for colour' after them. Where most pictures are in
    colour the lines keep it, (N, H, W, 3), which every command reads as colour images."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "rgb"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(5):
        rgb = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)  # (H, W, C)
        Image.fromarray(rgb).save(folder / f"c{i}.png")
    Image.fromarray(np.zeros((6, 4), dtype=np.uint8)).save(folder / "grey.png")
    assert main(["train", "vae", "--data", folder.name, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert ".convert('RGB')) for p in paths]" in err and err.rstrip().endswith(
        ".convert('L') for grey) and pass that file"
    ), err
    exec(_code(err), {})
    made = np.load("rgb.npy")
    assert made.shape == (6, 6, 4, 3) and made.dtype == np.uint8
    np.testing.assert_array_equal(made[0], np.asarray(Image.open(folder / "c0.png")))


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "grey"])
def test_a_folder_of_palette_pictures_is_stacked_in_their_colours(
    tmp_path, monkeypatch, capsys, colour
):
    """readF F3: pictures with a palette (mode P: GIFs, optimized PNGs) were never looked at for
    colour, so a folder of colour ones was offered .convert('L') (userS #5's loss of colour).
    They are decoded as RGB pictures are: colour entries keep the colour, grey ones stay grey."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "pal"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        rgb = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)  # (H, W, C)
        if not colour:
            rgb[...] = rgb[..., :1]  # grey levels stored with a palette
        Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(folder / f"{i}.png")
    assert Image.open(folder / "0.png").mode == "P"
    assert main(["train", "vae", "--data", folder.name, "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert f".convert('{'RGB' if colour else 'L'}')) for p in paths]" in err, err
    exec(_code(err), {})
    made = np.load("pal.npy")
    assert made.shape == ((4, 6, 4, 3) if colour else (4, 6, 4))
    want = Image.open(folder / "0.png").convert("RGB" if colour else "L")
    np.testing.assert_array_equal(made[0], np.asarray(want))


@pytest.mark.parametrize("broken", [1, 12], ids=["one", "more-than-listed"])
def test_broken_files_are_left_out_by_name_or_named_to_move(tmp_path, capsys, broken):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(tmp_path / f"a{i}.png")
    for i in range(broken):
        (tmp_path / f"z{i}.png").write_bytes(b"")
    assert main(["train", "vae", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    if broken == 1:
        assert f"{tmp_path}/z0.png cannot be opened as a picture and is left out" in err
        assert "resize" not in err  # one size: nothing resized
    else:
        assert "12 files cannot be opened as pictures" in err
        assert "move them out of the folder first" in err and " not in {" not in err


def test_pictures_of_16_bit_levels_are_read_whole_not_clipped(tmp_path, monkeypatch, capsys):
    """The lines converted every picture with .convert('L'), which clips 16-bit levels (PNG and
    TIFF 'I;16', as microscopes write them) at 255: 98% of the pixels of two such pictures
    became 255 (review13 #4). Every picture is read as float32 in [0, 1], 16-bit levels divided
    by 65535 and 8-bit ones by 255, in class folders too, and the message says so."""
    from PIL import Image

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(1)
    deep = [rng.integers(205, 64696, (6, 6)).astype(np.uint16) for _ in range(2)]
    eight = rng.integers(0, 256, (6, 6), dtype=np.uint8)
    for name, level in (("a/d0", deep[0]), ("a/d1", deep[1]), ("b/e0", eight)):
        (tmp_path / "scans" / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(level).save(tmp_path / "scans" / f"{name}.png")
    assert main(["train", "vae", "--data", "scans", "--out", "r"]) == 2
    err = capsys.readouterr().err
    assert "2 of its pictures hold levels deeper than 8 bits (16-bit or float)" in err
    exec(_code(err), {})
    with np.load("scans.npz") as made:
        x, y = made["x"], made["y"]
    assert x.dtype == np.float32 and y.tolist() == ["a", "a", "b"]
    expected = np.stack([deep[0] / 65535, deep[1] / 65535, eight / 255])
    np.testing.assert_allclose(x, expected, rtol=1e-6)


def test_a_folder_where_no_picture_opens_gets_no_lines(tmp_path, capsys):
    """The lines left out every file, and np.stack([]) raised 'need at least one array to
    stack' (review13 #5)."""
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_text("not a picture")
    assert main(["train", "vae", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"none of its 2 picture files opens as a picture ({tmp_path}/a.png, " in err
    assert "np.stack" not in err and err.count("\n") == 1


@pytest.mark.parametrize("classes", [False, True], ids=["folder", "class-folders"])
def test_the_lines_stack_before_they_create_the_file(tmp_path, monkeypatch, capsys, classes):
    """The lines were np.save(open(F, 'xb'), np.stack(...)): F was created before the pictures
    were read, so a failure or Ctrl-C while stacking left an empty F, and the rerun stopped on
    FileExistsError (review13 #25). Interrupted while stacking, no file is left; run again, the
    file is made."""
    import PIL.Image

    monkeypatch.chdir(tmp_path)
    for i in range(3):
        where = tmp_path / "pics" / (f"k{i % 2}" if classes else "")
        where.mkdir(parents=True, exist_ok=True)
        PIL.Image.fromarray(np.full((5, 5), 40 * i, dtype=np.uint8)).save(where / f"p{i}.png")
    assert main(["train", "vae", "--data", "pics", "--out", "r"]) == 2
    code = _code(capsys.readouterr().err)
    made = tmp_path / ("pics.npz" if classes else "pics.npy")

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(PIL.Image.Image, "convert", interrupted)
        with pytest.raises(KeyboardInterrupt):
            exec(code, {})
    assert not made.exists()
    exec(code, {})
    loaded = np.load(made)
    x = loaded["x"] if classes else loaded
    assert x.shape == (3, 5, 5) and sorted(np.unique(x)) == [0, 40, 80]


def _pillow_reads(feature: str) -> bool:
    from PIL import features

    return bool(features.check(feature))


@pytest.mark.parametrize(
    "suffix",
    [
        ".webp",
        ".pgm",
        pytest.param(
            ".avif",
            marks=pytest.mark.skipif(not _pillow_reads("avif"), reason="Pillow without AVIF"),
        ),
    ],
)
def test_pictures_of_other_common_formats_get_the_lines(tmp_path, monkeypatch, capsys, suffix):
    """A folder of .webp pictures (what browsers save; Pillow reads it) was told it was no
    dataset name, and `--data pics/p0.webp` "unsupported extension '.webp'", with no stacking
    lines as .png pictures get (review13 #23); so were .pgm (the ORL faces) and .avif. Both
    ways now offer the lines, and they run."""
    import PIL.Image

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pics").mkdir()
    for i in range(2):
        picture = PIL.Image.fromarray(np.full((4, 6), 100 + i, dtype=np.uint8))
        picture.save(
            tmp_path / "pics" / f"p{i}{suffix}", **({"lossless": True} if suffix == ".webp" else {})
        )
    for data in ("pics", f"pics/p0{suffix}"):
        assert main(["train", "vae", "--data", data, "--out", "r"]) == 2
        err = capsys.readouterr().err
        assert "stack the pictures into one array file" in err and err.count("\n") == 1, err
    exec(_code(err), {})
    assert np.load("pics.npy").shape == (2, 4, 6)


def test_pictures_this_pillow_cannot_read_are_said_so(tmp_path, capsys, monkeypatch):
    """review14 R4: .avif is read only by a Pillow built with libavif; elsewhere a folder of
    .avif pictures was told "none of its 2 picture files opens as a picture: check that they
    are pictures", which is wrong about the files. It names this Pillow and the fix."""
    import PIL
    from PIL import features

    for name in ("a.avif", "b.avif"):
        (tmp_path / name).write_bytes(b"\x00\x00\x00\x1cftypavif")  # (opens with no plugin)
    real = features.check
    monkeypatch.setattr(features, "check", lambda name: False if name == "avif" else real(name))
    assert main(["train", "vae", "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"this Pillow ({PIL.__version__}) was built without the library that reads .avif" in err
    assert "pip install -U pillow" in err and "check that they are pictures" not in err
