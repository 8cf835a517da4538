"""A folder of the user's own pictures is refused with Python lines that, run as printed, stack
every picture in it into the array file torchlvm reads (userJ #1)."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main


def _code(err: str) -> str:
    return err.split("stack the pictures into one array file (")[1].split("; .convert('RGB')")[0]


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
    assert np.load("images.npy").shape == (14, 12, 12)


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
