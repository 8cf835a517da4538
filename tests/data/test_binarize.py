"""Binarization protocols: none, threshold (fixed), dynamic (Bernoulli, redrawn)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from torchlvm.data import binarize, load_dataset
from torchlvm.data.binarize import row_draw
from torchlvm.errors import ConfigError, DataError

INTENSITY = torch.tensor([0.0, 0.2, 0.5, 0.51, 0.9, 1.0])


def test_none_returns_the_grey_levels():
    assert binarize(INTENSITY, "none") is INTENSITY


def test_threshold_is_x_greater_than_half():
    out = binarize(INTENSITY, "threshold")
    assert out.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0] and out.dtype == INTENSITY.dtype


def test_dynamic_mean_matches_intensity_and_draws_differ():
    generator = torch.Generator().manual_seed(0)
    x = INTENSITY.expand(20000, -1)
    first = binarize(x, "dynamic", generator=generator)
    second = binarize(x, "dynamic", generator=generator)
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(first.mean(0), INTENSITY, atol=0.015, rtol=0)
    assert not torch.equal(first, second)


def test_unknown_protocol():
    with pytest.raises(ConfigError, match="binarize must be one of 'none', 'dynamic', 'threshold'"):
        binarize(INTENSITY, "otsu")


@pytest.mark.parametrize("protocol", ["dynamic", "threshold"])
@pytest.mark.parametrize(
    "x", [torch.tensor([0.5, 1.5]), torch.tensor([float("nan")])], ids=["above-1", "nan"]
)
def test_values_outside_unit_interval_are_refused(protocol, x):
    with pytest.raises(DataError, match=r"needs values in \[0, 1\] .* binarize='none'"):
        binarize(x, protocol)


def test_eight_bit_pixels_are_named_with_their_rescaling():
    """A .npy of uint8 images (0..255) was told 'rescale the data to [0, 1] or use
    binarize='none'': the scale 8-bit pixels need is named."""
    with pytest.raises(
        DataError,
        match=r"got 0\.\.255; .* divide them by 255\) or model the values as they are "
        "with binarize='none'",
    ):
        binarize(torch.tensor([0.0, 17.0, 255.0]), "dynamic")
    with pytest.raises(DataError) as error:
        binarize(torch.tensor([0.5, 1.5]), "threshold")
    assert "255" not in str(error.value)  # not grey levels of 8 bits


@pytest.mark.parametrize(
    ("high", "named"),
    [
        (16.0, "levels of 0..16: divide them by their white level, 16 if the brightest is white"),
        (1020.0, "levels of 0..1020: divide them by their white level, 1020 if the brightest is "
         "white; 10-bit levels: 1023"),
        (200.0, "8-bit pixels: divide them by 255"),
    ],
)  # fmt: skip
def test_grey_levels_are_told_the_division_their_range_fits(high, named):
    """userD: digits' grey levels 0..16 and a 10-bit camera's 0..1020 were told to divide by 255
    and 65535, which makes near-blank images (max 0.063, 0.016)."""
    with pytest.raises(DataError) as error:
        binarize(torch.tensor([0.0, 3.0, high]), "dynamic")
    assert named in str(error.value)


def test_missing_pixels_and_16_bit_ones_are_named_as_such():
    """Images with a NaN pixel (trained with --allow-missing) were told 'got nan..nan; rescale
    the data to [0, 1]', which no rescaling mends; 16-bit pixels were not named."""
    with pytest.raises(DataError, match=r"got 2 missing values \(NaN\); fill them in or model"):
        binarize(torch.tensor([0.5, float("nan"), 0.2, float("nan")]), "dynamic")
    with pytest.raises(
        DataError, match=r"got 0\.\.65535; .*\(16-bit pixels: divide them by 65535\)"
    ):
        binarize(torch.tensor([0.0, 300.0, 65535.0]), "threshold")


def test_integer_input_is_refused():
    with pytest.raises(DataError, match="floating point"):
        binarize(torch.tensor([0, 1]), "dynamic")


def test_load_dataset_records_and_applies_the_protocol():
    threshold = load_dataset("digits", "val", binarize="threshold")
    assert threshold.binarize == "threshold"
    assert set(threshold.x.unique().tolist()) == {0.0, 1.0}
    dynamic = load_dataset("digits", "val", binarize="dynamic")
    assert dynamic.binarize == "dynamic"
    assert torch.equal(dynamic.x, load_dataset("digits", "val").x)  # intensities kept


def test_load_dataset_refuses_to_binarize_unscaled_data():
    with pytest.raises(DataError, match="linear-gaussian: binarize='dynamic' needs values"):
        load_dataset("linear-gaussian", binarize="dynamic")


@pytest.mark.parametrize("protocol", ["none", "threshold"])
def test_an_array_that_is_not_a_tensor_is_named(protocol):
    import numpy as np

    with pytest.raises(DataError, match=r"binarize takes a torch.Tensor, got ndarray.*as_tensor"):
        binarize(np.full((2, 3), 0.7), protocol)


@pytest.mark.parametrize(
    "x, fix",
    [
        (
            torch.linspace(0, 1, 50) * 2 - 1,
            "x * 0.5 + 0.5 undoes Normalize(0.5, 0.5), which makes values in [-1, 1]",
        ),
        (
            (torch.linspace(0, 1, 50) - 0.1307) / 0.3081,
            "x * 0.3081 + 0.1307 undoes MNIST's Normalize((0.1307,), (0.3081,))",
        ),
        (torch.linspace(-2, 3, 50), "x * 0.2 + 0.4 maps -2..3 onto it"),
        (torch.linspace(0, 2.5, 50), "x / 2.5"),
    ],
    ids=["minus-one-to-one", "mnist-mean-std", "other", "above-one"],
)
def test_normalized_images_are_told_the_map_back_to_unit_interval(x, fix):
    """Images normalized as every tutorial does were told only 'rescale the data to [0, 1]'."""
    with pytest.raises(DataError, match=rf"; rescale the data to \[0, 1\] \({re.escape(fix)}\)"):
        binarize(x, "dynamic")


def test_a_streamed_file_is_told_its_whole_range_not_a_chunks(tmp_path, monkeypatch):
    """--mmap checked a file 8 MiB at a time and named the first bad chunk's range."""
    from torchlvm.data import memmap

    monkeypatch.setattr(memmap, "_SCAN_BYTES", 64 * 4 * 10)  # 10 rows a chunk
    x = np.linspace(0, 1, 100 * 64, dtype=np.float32).reshape(100, 64)
    x[5, 0], x[95, 0] = 1.5, -1.0  # the first chunk's range is 0..1.5, the file's -1..1.5
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(DataError, match=r"got -1\.\.1\.5; rescale .*\(x \* 0\.4 \+ 0\.4 maps"):
        load_dataset(tmp_path / "x.npy", "all", mmap=True, binarize="dynamic")


def test_the_check_of_intensities_copies_no_more_than_a_chunk_of_the_data():
    """Values.of copied x without its NaN, then rounded that copy: 2.5 times the data at once
    (850 MiB more peak memory, and 7 s, on every load of Fashion-MNIST's training split that
    binarizes it). It reads the values a chunk at a time; the summary is the same."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from torchlvm.data.binarize import CHUNK, Values

    class Largest(TorchDispatchMode):
        def __init__(self) -> None:
            super().__init__()
            self.elements = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            given = {t.untyped_storage().data_ptr() for t in args if isinstance(t, torch.Tensor)}
            for t in out if isinstance(out, (tuple, list)) else (out,):  # new memory, not a view
                if isinstance(t, torch.Tensor) and t.untyped_storage().data_ptr() not in given:
                    self.elements = max(self.elements, t.numel())
            return out

    x = torch.rand(CHUNK // 2 + 3, 7, generator=torch.Generator().manual_seed(0))  # 3.5 chunks
    x[1, 2], x[-1, -1] = float("nan"), 255.0
    with Largest() as seen:
        values = Values.of(x)
    assert seen.elements <= CHUNK
    assert values == (1, x.numel() - 1, float(x.nan_to_num(0.5).min()), 255.0, False)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([[0.0, 1.0], [1.0, 0.0]], (0, 4, 0.0, 1.0, True)),
        ([[0.0, 2.0], [float("nan"), 0.25]], (1, 3, 0.0, 2.0, False)),
        ([[float("nan")] * 2] * 2, (4, 0, 0.0, 0.0, True)),
        ([[-float("inf"), 3.0]], (0, 2, -float("inf"), 3.0, True)),
    ],
    ids=["binary", "nan-and-fraction", "all-nan", "infinity"],
)
def test_a_summary_is_the_same_of_a_tensor_and_of_an_array(values, expected):
    """The file reader summarizes numpy chunks as stored, loads summarize tensors: one rule."""
    from torchlvm.data.binarize import Values

    for dtype in (np.float32, np.float64):
        array = np.array(values, dtype=dtype)
        assert Values.of(array) == Values.of(torch.from_numpy(array)) == expected
    assert Values.of(np.array([[3, 250]], dtype=np.uint16)) == (0, 2, 3.0, 250.0, True)


def test_wholeness_is_looked_at_until_a_part_is_not_whole(monkeypatch):
    """After a part with a fraction the sum is not whole: later parts are not rounded (the
    cost of a float file's pass), and a fraction in the last part is still found."""
    import sys

    from torchlvm.data.binarize import Values

    monkeypatch.setattr(sys.modules["torchlvm.data.binarize"], "CHUNK", 4)  # (not the function)
    whole_then_not = np.array([0.0, 1, 2, 3, 4, 5, 6, 7.5])
    assert Values.of(whole_then_not).whole is False
    assert Values.of(whole_then_not[:7]).whole is True
    rounded: list[int] = []
    round_ = np.ndarray.round

    class Counted(np.ndarray):
        def round(self, *args):  # noqa: A003
            rounded.append(len(self))
            return round_(self, *args)

    parts = [np.array(p).view(Counted) for p in ([0.5, 1.0], [2.0, 3.0], [4.0])]
    assert Values.summed(parts) == (0, 5, 0.5, 4.0, False) and rounded == [2]


def test_a_rows_fixed_draw_is_its_own_alone_in_any_order_and_streamed(tmp_path):
    """review7: a split in memory was drawn as one tensor from one generator, so row i's 0s and
    1s depended on the rows before it, while a streamed file drew each 256-row block by its
    position: `score` of one test image, of the test rows in another order, or of the file
    streamed scored other 0s and 1s than `evaluate`. Each row's draw is now its own."""
    from torchlvm.data.dataset import Dataset

    images = load_dataset("digits", "test", binarize="dynamic")
    whole = images.fixed_binarized(3)  # (N, D)
    assert set(whole.unique().tolist()) == {0.0, 1.0}
    i = 123
    alone = Dataset(images.x[i : i + 1], None, "one", "all", images.shape, None, None, "dynamic")
    assert torch.equal(alone.fixed_binarized(3)[0], whole[i])
    order = torch.randperm(len(images.x), generator=torch.Generator().manual_seed(0))
    shuffled = Dataset(images.x[order], None, "s", "all", images.shape, None, None, "dynamic")
    assert torch.equal(shuffled.fixed_binarized(3), whole[order])
    path = tmp_path / "test.npy"
    np.save(path, images.x.numpy()[::-1].copy())  # the rows reversed, in a file
    streamed = load_dataset(str(path), "all", mmap=True, binarize="dynamic").fixed_binarized(3)
    n = len(images.x)
    assert torch.equal(streamed[torch.arange(n)], whole.flip(0))
    assert torch.equal(streamed[torch.tensor([n - 1 - i])][0], whole[i])  # read alone
    assert not torch.equal(images.fixed_binarized(4), whole)  # the seed draws anew


def test_a_rows_fixed_draw_is_bernoulli_of_its_intensities():
    """P(1) = x for each pixel, independently across rows, columns and seeds: distinct rows of
    intensity 0.3 (one pixel apart) draw 30 % ones; 0 and 1 stay 0 and 1."""
    x = torch.full((4000, 50), 0.3)
    x[:, 0] = torch.arange(4000) / 4000  # (distinct rows)
    drawn = row_draw(x, 0)[:, 1:]
    assert abs(drawn.mean().item() - 0.3) < 0.005  # 196,000 draws: sd 0.001
    neighbours = (drawn[:, 1:] * drawn[:, :-1]).mean().item()  # P(both 1) = 0.09 if independent
    assert abs(neighbours - 0.09) < 0.005
    same = (row_draw(x, 1)[:, 1:] == drawn).float().mean().item()
    assert abs(same - (0.3**2 + 0.7**2)) < 0.01  # another seed: an independent draw
    ends = row_draw(torch.tensor([[0.0, 1.0, -0.0, 1.0]], dtype=torch.float64), 5)
    assert ends.dtype == torch.float64 and ends.tolist() == [[0.0, 1.0, 0.0, 1.0]]
