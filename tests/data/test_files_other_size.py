"""Data of another size than a run's model takes is refused with a fix that works on what it is
(readA #3): images get the line that resizes them and makes them grey or colour as the model's,
rows get the width to pass; the line is run here as a user pastes it."""

from __future__ import annotations

import numpy as np
import pytest

from torchlvm.cli import main
from torchlvm.data import load_file
from torchlvm.data.other_size import other_size
from torchlvm.errors import DataError

GREY, COLOUR = (1, 8, 8), (3, 8, 8)


def _line(message: str) -> str:
    return message.split("(python: ", 1)[1].removesuffix(") and pass that file")


def _levels(n: int, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """``n`` images of ``shape``, image i every value 10 i: a resize keeps it, grey is it."""
    levels = (np.arange(n) * 10).reshape(-1, *[1] * len(shape)) * np.ones(shape)
    return levels.astype(dtype)


@pytest.mark.parametrize(
    ("stored", "dtype", "trained", "said"),
    [
        ((16, 16), "uint8", GREY, "make them 8×8"),
        ((16, 16, 3), "uint8", GREY, "make them grey and 8×8"),
        ((3, 8, 8), "float32", GREY, "make them grey (python"),
        ((12, 10), "float64", COLOUR, "make them colour and 8×8"),
    ],
    ids=["grey-16x16", "colour-channels-last", "colour-same-size", "grey-to-colour"],
)
def test_images_get_the_line_that_makes_them_the_models(
    tmp_path, monkeypatch, stored, dtype, trained, said
):
    """Colour images given to a grey run were told "resize them to 8×8 (e.g. each with PIL:
    np.asarray(PIL.Image.fromarray(image).resize((8, 8))))": fromarray of a (3, 16, 16) image
    raises, and resized they are 192 values, not 64. The line makes them the model's."""
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", _levels(5, stored, dtype))
    given = load_file("x.npy")
    error = other_size("x.npy", given.shape, list(trained), 64 * trained[0], "the model in r")
    message = str(error)
    assert said in message and "resize them" not in message
    exec(_line(message), {})
    made = load_file("x-8x8.npy")
    assert made.shape == trained and made.x.shape[0] == 5
    expected = np.arange(5) * 10 / (255 if dtype == "uint8" else 1)  # levels read as /255
    np.testing.assert_allclose(made.x.mean(1).numpy(), expected, rtol=1e-6)
    assert np.load("x-8x8.npy").dtype == np.dtype(dtype if dtype == "uint8" else "float32")


def test_an_archives_labels_go_with_its_resized_images(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.savez("a.npz", images=_levels(4, (16, 16), "uint8"), labels=np.array([0, 1, 1, 0]))
    given = load_file("a.npz")
    exec(_line(str(other_size("a.npz", given.shape, list(GREY), 64, "the model"))), {})
    made = load_file("a-8x8.npz")
    assert made.shape == GREY and made.y.tolist() == [0, 1, 1, 0]


def test_rows_are_told_the_width_not_to_resize(tmp_path):
    """Rows of 100 values given to a run of 8×8 images were told to resize them to 8×8."""
    image_run = str(other_size("r.npy", (100,), list(GREY), 64, "the model in r"))
    assert image_run == (
        "r.npy has 100 values per example, in rows, but the model in r takes 64, as 8×8 "
        "images; pass a file of (N, 8, 8) images"
    )
    rows_run = str(other_size("r.npy", (100,), [30], 30, "the model in r"))
    assert rows_run == (
        "r.npy has 100 values per example but the model in r takes 30; pass data with the "
        "run's 30 columns"
    )


def test_encode_says_it_in_one_line_and_the_file_is_not_written(tmp_path, capsys):
    from torchlvm.models import VAE, VAEConfig

    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    data = {"name": "digits", "binarize": "none", "seed": 0, "shape": list(GREY)}
    run = vae.save_pretrained(tmp_path / "vae", data=data)
    np.save(tmp_path / "c.npy", _levels(3, (3, 16, 16), "float32") / 40)
    out = tmp_path / "z.npy"
    assert main(["encode", str(run), "--data", str(tmp_path / "c.npy"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"torchlvm: error: {tmp_path / 'c.npy'} holds 16×16 images of 3 ")
    assert "make them grey and 8×8" in err and err.count("\n") == 1
    assert not out.exists()


def test_a_dataset_by_name_is_offered_the_runs_data_not_a_file(tmp_path):
    """review14 R5: `encode rd --data fashion-mnist` was told to "save them as (N, 8, 8) images
    and pass that file", of a file the user does not have."""
    said = str(other_size("fashion-mnist", (1, 28, 28), list(GREY), 64, "the model", own="digits"))
    assert said.endswith("; pass --data digits (the run's data) or a file of (N, 8, 8) images")


@pytest.mark.parametrize(
    ("stored", "trained"),
    [((12, 16), (1, 16, 12)), ((12, 16, 3), (3, 16, 12)), ((3, 12, 16), (3, 16, 12))],
    ids=["grey", "channels-last", "channels-first"],
)
def test_turned_images_get_the_line_that_swaps_their_axes_into_a_free_file(
    tmp_path, monkeypatch, stored, trained
):
    """review14 R5: images of as many values in another layout were told
    np.save('swapped.npy', x.transpose(0, 2, 1)): x undefined, and pasted it replaced a
    swapped.npy of the user's. The line reads the file, swaps its height and width in its own
    channel order, and writes a free name."""
    from torchlvm.data.other_size import check_fits

    monkeypatch.chdir(tmp_path)
    images = np.random.default_rng(0).random((4, *stored)).astype("float32")
    np.save("w.npy", images)
    np.save("w-16x12.npy", np.zeros(2))  # the user's: kept
    given = load_file("w.npy")
    with pytest.raises(DataError, match="as many values in another layout") as error:
        check_fits("w.npy", given.shape, list(trained), 192 * trained[0], "the model")
    exec(str(error.value).split("(python: ")[1].removesuffix(") and pass it"), {})
    assert np.load("w-16x12.npy").shape == (2,)
    made = load_file("w-16x12-2.npy")
    assert made.shape == trained
    np.testing.assert_array_equal(
        made.x.reshape(4, *trained).numpy(),
        given.x.reshape(4, *given.shape).transpose(2, 3).numpy(),
    )
