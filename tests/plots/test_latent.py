"""Latent figures: scatter of codes (direct in 2-D, PCA otherwise) and KL per dimension."""

import numpy as np
import pytest
from matplotlib.image import imread
from sklearn.decomposition import PCA

from torchlvm.errors import ConfigError
from torchlvm.plots import kl_per_dimension, latent_scatter, save_figure
from torchlvm.plots.latent import PANEL_AREA


@pytest.fixture
def codes():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=200)
    z = rng.normal(size=(200, 5)) + labels[:, None]
    return z, labels


def saved_shape(fig, tmp_path):
    path = tmp_path / "fig.png"
    save_figure(fig, path)
    pixels = imread(path)
    assert pixels[..., :3].std() > 0.05
    return pixels.shape[:2]


def points(fig):
    return np.concatenate([c.get_offsets() for c in fig.axes[0].collections])


def test_latent_scatter_2d_is_drawn_directly(codes, tmp_path):
    z, labels = codes[0][:, :2], codes[1]
    fig = latent_scatter(z, labels, class_names=["a", "b", "c", "d"])
    ax = fig.axes[0]
    assert "z₁" in ax.get_xlabel() and "PC" not in ax.get_xlabel()
    np.testing.assert_allclose(np.sort(points(fig), axis=0), np.sort(z, axis=0))
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b", "c", "d"]
    h, w = saved_shape(fig, tmp_path)
    assert w > h


def test_latent_scatter_5d_is_a_pca_projection_said_in_the_labels(codes, tmp_path):
    z, labels = codes
    fig = latent_scatter(z, labels)
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("PC 1") and "% of variance" in ax.get_ylabel()
    assert "K = 5" in ax.get_title()
    expected = PCA(n_components=2).fit_transform(z)
    drawn = np.concatenate([expected[labels == c] for c in range(4)])
    np.testing.assert_allclose(np.abs(points(fig)), np.abs(drawn), atol=1e-9)
    h, w = saved_shape(fig, tmp_path)
    assert w > h


def test_points_are_sized_for_their_number():
    rng = np.random.default_rng(0)
    sizes = {}
    for n in (50, 359, 2000, 20000):
        fig = latent_scatter(rng.normal(size=(n, 2)), rng.integers(0, 10, n))
        (size,) = {float(s) for c in fig.axes[0].collections for s in c.get_sizes()}
        sizes[n] = size
        assert 4.0 <= size and n * size <= 0.25 * PANEL_AREA or size == 4.0  # not a solid blot
    assert sizes[50] >= sizes[359] >= sizes[2000] >= sizes[20000]
    assert sizes[359] >= 25.0  # the digits test split: markers about 5 pt across, not specks


def test_latent_scatter_without_labels_and_many_classes(codes, tmp_path):
    z, _ = codes
    assert not latent_scatter(z).legends
    many = np.arange(200) % 50
    fig = latent_scatter(z, many)
    assert len(fig.axes) == 2  # scatter and colour bar
    saved_shape(fig, tmp_path)


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.zeros((10, 5)),), {"method": "direct"}, "latent size of 1 or 2"),
        ((np.zeros((10, 2)), np.zeros(9)), {}, "labels has 9 entries"),
        ((np.zeros(10),), {}, "must be an \\(N, K\\) array"),
        ((np.zeros((10, 2)),), {"method": "tsne"}, "method must be one of"),
    ],
    ids=["direct-5d", "label-count", "1d-array", "unknown-method"],
)
def test_latent_scatter_rejects_bad_input(args, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        latent_scatter(*args, **kwargs)


def test_kl_per_dimension_sorted_with_threshold(tmp_path):
    kl = np.array([0.5, 0.001, 2.0, np.nan, 0.2])
    fig = kl_per_dimension(kl, sort=True, threshold=0.01)
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [2.0, 0.5, 0.2, 0.001, 0.0]  # NaN drawn as an empty bar, last
    assert [t.get_text() for t in ax.get_xticklabels()] == ["z3", "z1", "z5", "z2", "z4"]
    (legend,) = fig.legends
    assert "above (3 of 5)" in [t.get_text() for t in legend.get_texts()]
    fig.canvas.draw()
    assert not legend.get_window_extent().overlaps(ax.get_window_extent())
    grey = ax.patches[3].get_facecolor()
    assert grey != ax.patches[0].get_facecolor()
    h, w = saved_shape(fig, tmp_path)
    assert w > h


def test_kl_per_dimension_unsorted_keeps_order(tmp_path):
    fig = kl_per_dimension([3.0, 1.0, 2.0])
    assert [p.get_height() for p in fig.axes[0].patches] == [3.0, 1.0, 2.0]
    with pytest.raises(ConfigError, match="at least one value"):
        kl_per_dimension([])


def test_kl_per_example_and_dimension_is_refused_naming_its_mean():
    """A (N, K) array was raveled into N·K bars labelled z1 … z(N·K), as if K were N·K."""
    with pytest.raises(ConfigError, match=r"got shape \(3, 8\); .* kl.mean\(0\)$"):
        kl_per_dimension(np.ones((3, 8)))


def test_an_autoencoders_codes_and_a_cvaes_kl_are_named_as_they_are(codes):
    """An autoencoder's scatter said 'PC 1 of the posterior means' (it has no posterior) and a
    CVAE's KL bars 'KL(q(zᵢ|x) ‖ p(zᵢ))' (its prior is p(z | c))."""
    z, _ = codes
    ax = latent_scatter(z, what="code").axes[0]
    assert ax.get_xlabel().startswith("PC 1 of the codes (")
    assert latent_scatter(z[:, :2], what="code").axes[0].get_ylabel() == "z₂ (code)"
    assert "posterior means" in latent_scatter(z).axes[0].get_xlabel()  # the default
    ax = kl_per_dimension([0.5, 0.1, 0.0], conditional=True).axes[0]
    assert ax.get_ylabel() == "KL(q(zᵢ|x,c) ‖ p(zᵢ|c)) [nats, mean over data]"


def test_text_labels_are_classes_named_by_themselves(codes):
    """Labels read from a table are often text: they were refused as 'labels must be numeric'."""
    z, labels = codes
    names = np.array(["setosa", "virginica", "versicolor", "other"])[labels]
    fig = latent_scatter(z[:, :2], names)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["other", "setosa", "versicolor", "virginica"]
    drawn = {t: len(c.get_offsets()) for t, c in zip(legend, fig.axes[0].collections, strict=True)}
    assert drawn == {name: int((names == name).sum()) for name in legend}


def test_labels_that_are_not_whole_numbers_colour_by_value(codes):
    """Labels of 0.5 and 1.7 were cut to the classes 0 and 1 without a word: values that are not
    whole numbers are drawn as what they are, on a colour bar."""
    z, _ = codes
    values = np.linspace(0.0, 3.5, len(z))
    fig = latent_scatter(z[:, :2], values)
    (points,) = fig.axes[0].collections
    np.testing.assert_array_equal(points.get_array(), values)
    assert len(fig.axes) == 2 and not fig.legends  # the colour bar


def test_the_pca_view_is_drawn_whatever_transform_output_says():
    """readH H7: under sklearn.set_config(transform_output="pandas") the PCA projection came
    back a DataFrame and latent_scatter raised InvalidIndexError."""
    import numpy as np
    import sklearn

    from torchlvm import plots

    z = np.random.default_rng(0).normal(size=(50, 4))
    with sklearn.config_context(transform_output="pandas"):
        fig = plots.latent_scatter(z, np.arange(50) % 3)
    assert fig.axes[0].get_xlabel().startswith("PC 1 of the")
