"""Image figures: each writes a readable PNG of the expected shape and puts tiles where it says."""

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from torchlvm.errors import ConfigError
from torchlvm.plots import (
    conditional_grid,
    drawn_by_torchlvm,
    image_grid,
    imputation_panels,
    interpolation_strip,
    manifold_grid,
    reconstruction_pairs,
    save_figure,
    transfer_grid,
    traversal_grid,
)
from torchlvm.plots._style import DPI, PAD_INCHES

SHAPE = (8, 8)


@pytest.fixture
def images():
    return np.random.default_rng(0).uniform(size=(60, 64))


def saved(fig, tmp_path, name="fig.png"):
    """Save ``fig``, check the file is a non-blank PNG, return it as an (H, W, 4) array."""
    path = tmp_path / "figures" / name
    save_figure(fig, path)
    assert path.stat().st_size > 1000
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left over
    pixels = imread(path)
    assert pixels.ndim == 3 and pixels[..., :3].std() > 0.05
    return pixels


def mosaic_of(fig):
    """The array the figure's (first) image shows."""
    return np.asarray(fig.axes[0].images[0].get_array())


def test_image_grid_wide_grid_and_tiles_in_place(images, tmp_path):
    fig = image_grid(images[:16], SHAPE, nrow=8, title="Samples from p(x)")
    tiles = mosaic_of(fig)
    # tile 9 is row 1, column 1; tiles are 8 px with a 1 px gap; values in [0, 1] are kept as is
    np.testing.assert_allclose(tiles[9:17, 9:17, 0], images[9].reshape(8, 8))
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > 2 * h


def test_image_grid_accepts_tensors_nchw_and_rescales_other_ranges(tmp_path):
    x = torch.linspace(-3, 5, 4 * 3 * 10 * 12).reshape(4, 3, 10, 12)  # RGB, outside [0, 1]
    fig = image_grid(x, (3, 10, 12), nrow=2, title=None)
    tiles = mosaic_of(fig)
    assert tiles.min() == 0.0 and tiles.max() == 1.0
    saved(fig, tmp_path)


def test_image_grid_on_a_given_scale_clips_to_it_and_says_what_share():
    """review14 R1: samples of a run on 0..16 values were drawn from their own -6.6 to 20.8
    (the data's black as grey); on the run's range they are clipped, and the figure says so."""
    x = np.linspace(-8.0, 24.0, 4 * 64).reshape(4, 64)  # a quarter below 0, a quarter above 16
    fig = image_grid(x, SHAPE, nrow=2, title=None, scale=(0.0, 16.0))
    tiles = mosaic_of(fig)
    np.testing.assert_allclose(tiles[:8, :8, 0], np.clip(x[0] / 16, 0, 1).reshape(8, 8))
    expected = "samples shown clipped to the data's range [0, 16]: 50.0% of their values lie "
    expected += "outside"
    assert fig.axes[0].get_xlabel() == expected
    inside = image_grid(x.clip(0, 16), SHAPE, nrow=2, title=None, scale=(0.0, 16.0))
    assert inside.axes[0].get_xlabel() == ""  # nothing clipped: nothing said


FAINT = np.linspace(0.0, 0.3 * 255, 4 * 64).reshape(4, 64)  # at most 0.3 of 0..255 levels
ON_SCALE = {
    "traversal": lambda x, s: traversal_grid(x, SHAPE, [0, 1], [-1.0, 1.0], scale=s),
    "interpolation": lambda x, s: interpolation_strip(x, SHAPE, scale=s),
    "manifold": lambda x, s: manifold_grid(x, SHAPE, (-1.0, 1.0), scale=s),
    "reconstructions": lambda x, s: reconstruction_pairs(x, x, SHAPE, scale=s),
}


def white(fig) -> int:
    """Pixels of the figure's mosaic drawn white (its gaps, and the scale's top)."""
    return int((mosaic_of(fig) == 1.0).all(axis=-1).sum())


@pytest.mark.parametrize("figure", list(ON_SCALE), ids=list(ON_SCALE))
def test_faint_decodings_on_a_given_scale_are_not_stretched(figure):
    """readD D6: decodings of at most 0.3 of the range a run was trained on were drawn on their
    own extremes, their brightest pixels white; on the given range they are 0.3 grey, and
    values outside the range are clipped and said to be (in the axis line)."""
    draw, levels = ON_SCALE[figure], (0.0, 255.0)
    fig, gaps = draw(FAINT, levels), white(draw(np.zeros_like(FAINT), levels))
    shown = mosaic_of(fig)
    assert white(fig) == gaps and shown[shown < 1.0].max() == pytest.approx(0.3)
    assert "clipped" not in fig.axes[0].get_xlabel()
    assert white(draw(FAINT, None)) > gaps  # (no scale: the images' own, the top white)
    tight = draw(FAINT, (0.0, 0.15 * 255)).axes[0].get_xlabel()  # half of the values above it
    assert "clipped to the data's range [0, 38.2]: 50.0% of their values lie outside" in tight


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"shape": (7, 7)}, "49"),
        ({"shape": (8, 8), "nrow": 0}, "nrow must be a positive integer"),
        ({"shape": (8, 8), "nrow": 4, "row_labels": ["a"]}, "row_labels has 1 labels"),
        ({"shape": (2, 8, 4)}, "shape must be"),
        ({"shape": 8}, r"shape must be \(H, W\), \(1, H, W\) or \(3, H, W\) .*, got 8$"),
    ],
    ids=["wrong-size", "zero-nrow", "labels-vs-rows", "two-channels", "one-number"],
)
def test_image_grid_rejects_bad_arguments(images, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        image_grid(images[:8], **kwargs)


def test_reconstruction_pairs_rows_alternate_input_and_reconstruction(images, tmp_path):
    fig = reconstruction_pairs(images[:6], 1 - images[:6], SHAPE)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["input", "reconstruction"]
    tiles = mosaic_of(fig)
    np.testing.assert_allclose(tiles[9:17, :8, 0], 1 - images[0].reshape(8, 8))
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > h


@pytest.mark.parametrize("draw", [reconstruction_pairs, transfer_grid], ids=["recon", "transfer"])
def test_data_keep_their_scale_beside_a_model_output_outside_it(images, tmp_path, draw):
    """qa3: a Gaussian decoder's means outside [0, 1] widened the one shared scale, so the
    inputs' black background was drawn grey. The data's [0, 1] is the scale; the output is
    clipped to it, and the figure says so."""
    inputs = images[:4].copy()
    inputs[:, 0] = 0.0  # a black pixel
    outputs = 2.0 * images[4:8] - 0.5  # in [-0.5, 1.5]
    extra = {"source": 1, "target": 2} if draw is transfer_grid else {}
    fig = draw(inputs, outputs, SHAPE, **extra)
    tiles = mosaic_of(fig)
    np.testing.assert_allclose(tiles[:8, :8, 0], inputs[0].reshape(8, 8))  # as they are
    assert tiles[0, 0, 0] == 0.0
    np.testing.assert_allclose(tiles[9:17, :8, 0], np.clip(outputs[0], 0, 1).reshape(8, 8))
    outside = np.mean((outputs < 0) | (outputs > 1))
    assert (
        fig.axes[0]
        .get_xlabel()
        .endswith(
            f"shown clipped to the data's range [0, 1]: {outside:.1%} of their values lie outside"
        )
    )
    saved(fig, tmp_path)
    inside = draw(inputs, np.clip(outputs, 0, 1), SHAPE, **extra)
    assert inside.axes[0].get_xlabel() == ""  # nothing clipped, nothing said


def test_imputations_outside_the_data_range_are_clipped_to_it(images):
    mask = np.ones((4, 64), dtype=bool)
    mask[:, 32:] = False
    true = images[:4].copy()
    true[:, 0] = 0.0
    imputed = np.where(mask, true, 2.0 * images[4:8] - 0.5)
    fig = imputation_panels(np.where(mask, true, np.nan), mask, imputed, true, SHAPE)
    tiles = mosaic_of(fig)
    np.testing.assert_allclose(tiles[18:26, :8, 0], true[0].reshape(8, 8))  # the true row
    assert "imputed shown clipped to the data's range [0, 1]" in fig.axes[0].get_xlabel()


def test_imputation_panels_on_a_given_scale_say_the_data_they_clip(images):
    """readF: on a given scale (evaluate's trained range, ac28f9f) the observed and true pixels
    may lie outside it too (a test split brighter than the train split), and were clipped
    without a word: only the imputed values' share was said, as reconstruction_pairs says both."""
    mask = np.ones((4, 64), dtype=bool)
    mask[:, 32:] = False
    true = images[:4]
    fig = imputation_panels(np.where(mask, true, np.nan), mask, true, true, SHAPE, scale=(0, 0.5))
    outside = np.count_nonzero(true > 0.5) / true.size
    said = fig.axes[0].get_xlabel()
    assert f"true shown clipped to the data's range [0, 0.5]: {outside:.1%} of" in said
    assert "imputed shown clipped" in said  # (the imputed rows hold the same values)
    unscaled = imputation_panels(np.where(mask, true, np.nan), mask, true, true, SHAPE)
    assert unscaled.axes[0].get_xlabel() == ""  # (on the data's own range: nothing clipped)


def test_reconstruction_pairs_wraps_and_checks_counts(images):
    fig = reconstruction_pairs(images[:25], images[:25], SHAPE)
    assert len(fig.axes[0].get_yticklabels()) == 6  # 3 blocks of 10, 10, 5
    with pytest.raises(ConfigError, match="same number of images"):
        reconstruction_pairs(images[:3], images[:4], SHAPE)


def test_conditional_grid_one_row_per_condition(images, tmp_path):
    names = [f"class {i}" for i in range(10)]
    fig = conditional_grid(images[:30], SHAPE, names)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == names
    h, w = saved(fig, tmp_path).shape[:2]
    assert h > w  # 10 rows of 3
    with pytest.raises(ConfigError, match="n images per condition"):
        conditional_grid(images[:31], SHAPE, names)


def test_imputation_panels_tint_missing_pixels(images, tmp_path):
    mask = np.ones((4, 64), dtype=bool)
    mask[:, 32:] = False  # bottom half missing
    observed = np.where(mask, images[:4], np.nan)
    fig = imputation_panels(observed, mask, images[4:8], images[:4], SHAPE)
    tiles = mosaic_of(fig)
    top, bottom = tiles[:4, :8], tiles[4:8, :8]  # first tile: observed / missing halves
    np.testing.assert_allclose(top[..., 0], top[..., 2])  # grey
    assert (bottom[..., 0] > bottom[..., 1] + 0.3).all()  # red tint
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["observed", "imputed", "true"]
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > h


def test_traversal_grid_labels_dimensions_and_values(images, tmp_path):
    values = np.linspace(-3, 3, 7)
    fig = traversal_grid(images[:21], SHAPE, dims=[0, 3, 4], values=values)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["z1", "z4", "z5"]
    assert [t.get_text() for t in ax.get_xticklabels()][:2] == ["-3", "-2"]
    assert ax.get_xlabel() == "standard deviations from the centre (the others at the centre)"
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > 1.5 * h
    with pytest.raises(ConfigError, match="len\\(dims\\) × len\\(values\\)"):
        traversal_grid(images[:20], SHAPE, dims=[0, 3, 4], values=values)


def test_traversal_values_are_labelled_as_they_are(images):
    """The evaluation's sweep -3, -2.25, …, 3 was labelled -2.2 and 2.2 (2 significant digits)."""
    values = [-3.0, -2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25, 3.0]
    fig = traversal_grid(images[:9], SHAPE, dims=[0], values=values)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["-3", "-2.25", "-1.5", "-0.75", "0", "0.75", "1.5", "2.25", "3"]


def test_interpolation_strip_is_one_wide_row(images, tmp_path):
    fig = interpolation_strip(images[:8], SHAPE)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()][::7] == ["0", "1"]
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > 3 * h


def test_manifold_grid_places_codes_at_their_coordinates(tmp_path):
    n = 5
    codes = np.arange(n * n, dtype=float)  # image i·n + j is flat with value i·n + j
    x = np.repeat(codes[:, None] / (n * n), 64, axis=1)
    fig = manifold_grid(x, SHAPE, extent=(-2, 2))
    ax = fig.axes[0]
    tiles = mosaic_of(fig)
    assert tiles[-1, 0, 0] == 0.0  # z = (x0, y0) at the bottom left
    assert tiles[0, -1, 0] == pytest.approx((n * n - 1) / (n * n))  # (x1, y1) at the top right
    assert ax.get_xlim() == pytest.approx((-2.5, 2.5))  # half a step beyond the end codes
    h, w = saved(fig, tmp_path).shape[:2]
    assert abs(w / h - 1) < 0.2
    with pytest.raises(ConfigError, match="n × n"):
        manifold_grid(x[:24], SHAPE, extent=(-2, 2))


def test_transfer_grid_shows_the_originals_it_is_given(images, tmp_path):
    grey = np.full((5, 64), 0.5)  # grey levels, as a reader knows the data
    fig = transfer_grid(grey, images[:5], SHAPE, source="one", target="seven")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["original (one)", "as seven"]
    assert ax.get_title() == "Style transfer: class one → seven"
    tiles = mosaic_of(fig)
    np.testing.assert_allclose(tiles[:8, :8], 0.5)  # drawn as given, not binarized
    np.testing.assert_allclose(tiles[9:17, :8, 0], images[0].reshape(8, 8))
    h, w = saved(fig, tmp_path).shape[:2]
    assert w > h


def blank_margins(pixels):
    """Rows (top, bottom) and columns (left, right) of pure white around what is drawn."""
    ink = (pixels[..., :3] < 0.98).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    h, w = ink.shape
    return rows[0], h - 1 - rows[-1], cols[0], w - 1 - cols[-1]


FIGURES = {
    # `torchlvm sample --condition 7`: one row left most of its figure blank (issue 14)
    "one-condition": lambda x: conditional_grid(x[:8], SHAPE, ["7"], title="Samples of class 7"),
    "ten-conditions": lambda x: conditional_grid(x[:60], SHAPE, [str(i) for i in range(10)]),
    "interpolation": lambda x: interpolation_strip(x[:10], SHAPE),
    "square-grid": lambda x: image_grid(x[:16], SHAPE),
    "one-image": lambda x: image_grid(x[:1], SHAPE, title="Samples of a long-named model"),
    "reconstructions": lambda x: reconstruction_pairs(x[:16], x[16:32], SHAPE),
}


@pytest.mark.parametrize("make", FIGURES.values(), ids=FIGURES.keys())
def test_figures_are_sized_to_their_content(images, tmp_path, make):
    pixels = saved(make(images), tmp_path)
    pad = round(PAD_INCHES * DPI)
    assert max(blank_margins(pixels)) <= pad + 3  # no blank band around the drawing
    h, w = pixels.shape[:2]
    assert 60 <= h <= 12 * DPI and 60 <= w <= 12 * DPI  # readable and not a poster


@pytest.mark.parametrize(
    "make",
    [
        lambda imgs: traversal_grid(
            np.tile(imgs, (2, 1))[:72], SHAPE, dims=range(8), values=np.linspace(-3, 3, 9)
        ),
        lambda imgs: image_grid(np.tile(imgs, (2, 1))[:64], SHAPE, nrow=8, title="Samples"),
    ],
    ids=["traversals", "samples"],
)
def test_a_large_grids_text_is_readable_in_a_column_of_the_report(images, make):
    """A 10-inch grid of digits is shown 521 pixels wide in the report's two columns (a 1280-px
    window), where its 10-point labels came out 7 pixels tall: a mosaic's text grows with its
    width, to at least 8 pixels there."""
    fig = make(images)
    fig.canvas.draw()
    scale = min(1.0, 521 / (fig.get_figwidth() * DPI))  # report/style.py: a column of .figs
    ax = fig.axes[0]
    texts = [ax.title, ax.xaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]
    for text in (t for t in texts if t.get_text()):
        pixels = text.get_fontsize() * DPI / 72 * scale
        assert pixels >= 8, f"{text.get_text()!r}: {pixels:.1f} px"


@pytest.mark.parametrize("centre", ["p(z | c)", "the codes' Gaussian"])
def test_a_traversals_axis_names_the_centre_it_is_given(images, centre):
    """A CVAE's traversal (centred on p(z | c)) and an autoencoder's (on its codes' mean) were
    labelled 'the centre of p(z)': the axis names no distribution unless told which."""
    fig = traversal_grid(images[:14], SHAPE, dims=[0, 1], values=[-1, 1] * 3 + [0], centre=centre)
    assert fig.axes[0].get_xlabel() == (
        f"standard deviations from the centre of {centre} (the others at the centre)"
    )


@pytest.mark.parametrize("name", ["fig.pdf", "fig.SVG", "fig.jpg"])
def test_save_figure_refuses_a_name_of_another_format(images, tmp_path, name):
    """save_figure writes PNG: fig.pdf was a PNG under a PDF's name, which viewers refuse."""
    fig = image_grid(images[:4], SHAPE)
    with pytest.raises(ConfigError, match=r"save_figure writes PNG.*fig\.savefig"):
        save_figure(fig, tmp_path / name)
    assert not (tmp_path / name).exists()
    fig.savefig(tmp_path / "the-fix.svg")  # the figure is still open for the fix


@pytest.mark.parametrize("name", [".samples.png.torchlvm-new", "samples"])
def test_save_figure_writes_png_under_a_staged_or_plain_name(images, tmp_path, name):
    """A run stages its figures as .NAME.png.torchlvm-new before it publishes them (evaluate
    failed when save_figure took '.new' for a format)."""
    save_figure(image_grid(images[:4], SHAPE), tmp_path / name)
    assert drawn_by_torchlvm(tmp_path / name)


@pytest.mark.parametrize(
    "draw",
    [
        lambda x: image_grid(x, SHAPE),
        lambda x: reconstruction_pairs(x, x[::-1], SHAPE),
        lambda x: traversal_grid(x, SHAPE, dims=[0, 1], values=[-1, 1]),
        lambda x: interpolation_strip(x, SHAPE),
        lambda x: manifold_grid(x, SHAPE, extent=(-1, 1)),
    ],
    ids=["image_grid", "reconstruction_pairs", "traversal_grid", "interpolation", "manifold"],
)
def test_nan_pixels_are_drawn_red_and_counted_not_black(images, tmp_path, draw):
    """image_grid drew a NaN pixel as the scale's low end, black, so a diverged model's samples
    looked like a 0 and the figure did not say so."""
    x = images[:4].copy()
    x[0, 9] = np.nan  # image 0, pixel row 1, column 1
    x[3, 9] = np.nan  # drawn twice by reconstruction_pairs (as the reconstruction of image 0)
    fig = draw(x)
    shown = mosaic_of(fig)
    red = (shown[..., 0] > 0.8) & (shown[..., 1] < 0.3) & (shown[..., 2] < 0.3)
    assert red.sum() >= 2  # grey images have no red pixel but these
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    count = 4 if "reconstruction" in str(fig.axes[0].get_yticklabels()) else 2
    assert f"{count} pixels with no value (NaN)" in labels
    saved(fig, tmp_path)


def test_a_grid_without_nan_has_no_key(images):
    assert image_grid(images[:4], SHAPE).legends == []


@pytest.mark.parametrize("figure", list(ON_SCALE), ids=list(ON_SCALE))
def test_a_scale_of_no_width_draws_grey_not_nan(figure):
    """A run trained on one constant value records the range [c, c]: drawn on it, every pixel
    was 0 / 0 (NaN, with a warning); it is widened as constant images are, c drawn mid-grey."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = ON_SCALE[figure](np.full((4, 64), 0.5), (0.5, 0.5))
    shown = mosaic_of(fig)
    assert np.isfinite(shown).all() and np.allclose(shown[shown < 1.0], 0.5)
