"""``cli._image_layout.as_file_images``: written images take the axes of the file they came from."""

import numpy as np
import pytest

from torchlvm.cli._image_layout import as_file_images

ROWS = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 60)  # (N, C·H·W), channels first
CHW = ROWS.reshape(2, 3, 4, 5)


@pytest.mark.parametrize(
    ("stored", "expected", "axes"),
    [
        ((7, 4, 5, 3), CHW.transpose(0, 2, 3, 1), "N, H, W, C, as f.npy"),
        ((7, 3, 4, 5), CHW, "N, C, H, W, as f.npy"),
    ],
    ids=["channels-last", "channels-first"],
)
def test_colour_images_take_the_files_axes(tmp_path, stored, expected, axes):
    np.save(tmp_path / "f.npy", np.zeros(stored, np.uint8))
    images, said = as_file_images(ROWS, (3, 4, 5), tmp_path / "f.npy")
    np.testing.assert_array_equal(images, expected)
    assert said == axes


@pytest.mark.parametrize(
    ("stored", "axes"),
    [((7, 4, 5, 1), "N, H, W, C"), ((7, 1, 4, 5), "N, C, H, W"), ((7, 4, 5), "N, H, W")],
    ids=["(N,H,W,1)", "(N,1,H,W)", "(N,H,W)"],
)
def test_grey_images_keep_the_files_channel_axis_or_none(tmp_path, stored, axes):
    rows = ROWS[:, :20]  # (N, 1·4·5)
    np.savez(tmp_path / "g.npz", x=np.zeros(stored, np.float32), y=np.zeros(7))
    images, said = as_file_images(rows, (1, 4, 5), tmp_path / "g.npz")
    assert images.shape == (2, *stored[1:]) and said == f"{axes}, as g.npz"
    np.testing.assert_array_equal(images.reshape(2, -1), rows)  # one channel: the same order


@pytest.mark.parametrize(
    "path", [None, "digits", "gone.npy", "other.npy"], ids=["none", "dataset", "gone", "changed"]
)
def test_without_a_file_of_these_images_they_are_written_channels_first(tmp_path, path):
    np.save(tmp_path / "other.npy", np.zeros((7, 5, 4, 3)))  # (5, 4) images: not the run's
    path = path if path in (None, "digits") else tmp_path / path
    images, said = as_file_images(ROWS, (3, 4, 5), path)
    np.testing.assert_array_equal(images, CHW)
    assert said == "N, C, H, W"
    grey, said = as_file_images(ROWS[:, :20], (4, 5), path)
    assert grey.shape == (2, 4, 5) and said == "N, H, W"


def test_the_runs_record_keeps_the_axes_where_the_file_is_gone(tmp_path):
    """review14 R9: after the training file moved, a channels-last run's samples came back
    channels first. The record's stored axes win; a record of other images is not taken."""
    images, said = as_file_images(ROWS, (3, 4, 5), tmp_path / "gone.npy", [4, 5, 3])
    np.testing.assert_array_equal(images, CHW.transpose(0, 2, 3, 1))
    assert said == "N, H, W, C, as gone.npy"
    grey, said = as_file_images(ROWS[:, :20], (1, 4, 5), tmp_path / "gone.npy", [4, 5])
    assert grey.shape == (2, 4, 5) and said == "N, H, W, as gone.npy"
    other, said = as_file_images(ROWS, (3, 4, 5), tmp_path / "gone.npy", [5, 4, 3])
    np.testing.assert_array_equal(other, CHW)
    assert said == "N, C, H, W"
