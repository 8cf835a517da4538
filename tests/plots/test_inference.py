"""Figures of the ELBO identity and of the inference gaps: written as non-empty PNGs."""

import numpy as np
import pytest
import torch

from torchlvm.errors import ConfigError
from torchlvm.plots.inference import gaps_figure, identity_figure, save_figure

PNG = b"\x89PNG\r\n\x1a\n"


def test_identity_figure(tmp_path):
    steps = np.arange(31)
    kl = 5 * np.exp(-steps / 5)[:, None] * np.ones((1, 4))  # (T+1, B)
    elbo = -10 - kl
    fig = identity_figure(torch.full((4,), -10.0), elbo, kl, title="PPCA")
    path = tmp_path / "figures" / "identity.png"
    save_figure(fig, path)
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 1000


def test_gaps_figure(tmp_path):
    fig = gaps_figure(
        ["PPCA", "PPCA mean-field", "VAE"],
        [0.0, 0.02, 1.3],
        [0.0, -0.02, 0.4],
        log_px_stderr=[0.0, 0.0, 0.05],
    )
    path = tmp_path / "gaps.png"
    save_figure(fig, path)
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 1000


def drawn(fig):
    fig.canvas.draw()
    return fig.axes[0]


def test_gaps_legend_is_clear_of_bars_and_their_labels():
    # the VAE gaps.png of issue 14: the legend covered the total bar's label
    ax = drawn(gaps_figure(["vae (diagonal q*)"], [0.188], [0.221], log_px_stderr=[0.018]))
    (legend,) = ax.figure.legends
    box = legend.get_window_extent()
    labels = [t.get_window_extent() for t in ax.texts]
    assert [t.get_text() for t in ax.texts] == ["0.409"]
    assert all(not box.overlaps(label) for label in labels)
    assert all(not box.overlaps(bar.get_window_extent()) for bar in ax.patches)
    # the total's label lies inside the axes, above the bar
    inside = ax.get_window_extent()
    assert inside.y0 <= labels[0].y0 and labels[0].y1 <= inside.y1
    assert labels[0].y0 >= max(bar.get_window_extent().y1 for bar in ax.patches) - 0.5


def test_gap_below_numerical_precision_is_drawn_as_exact_zero():
    # PPCA: q* and the encoder are the exact posterior; what is left is float64 rounding
    ax = drawn(gaps_figure(["ppca (full q*)"], [7.4e-15], [1.0e-15], log_px_stderr=[0.0]))
    assert [bar.get_height() for bar in ax.patches] == [0.0, 0.0]
    assert [t.get_text() for t in ax.texts] == ["0 (exact)"]
    assert ax.get_ylim()[1] >= 0.5  # nats: not a full-height bar of 1e-14


def test_gaps_mix_exact_and_real_bars():
    ax = drawn(gaps_figure(["PPCA", "VAE"], [1e-13, 1.3], [-2e-14, 0.4]))
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [0.0, 1.3, 0.0, 0.4]
    assert [t.get_text() for t in ax.texts] == ["0 (exact)", "1.7"]


def test_mismatched_inputs_are_refused():
    with pytest.raises(ConfigError, match="same non-zero length"):
        gaps_figure(["a", "b"], [0.1], [0.2, 0.3])
    with pytest.raises(ConfigError, match="same length"):
        identity_figure(0.0, np.zeros(5), np.zeros(6))


def test_an_identity_not_reached_in_its_steps_says_so():
    """identity.png said 'ELBO(q) rises to log p(x)' above a q ~150 nats short after 30 steps,
    and not where q starts (userD): the title names p(z) as the start, and the nats left."""
    steps = np.arange(31)
    kl = 150.0 * np.exp(-steps / 1000)  # far from converged
    fig = identity_figure(-10.0, -10.0 - kl, kl)
    assert (
        fig.axes[0].get_title() == "q fitted from p(z): not converged at 30 steps (146 nats short)"
    )
    kl = 50.0 * np.exp(-steps)  # converged: 5e-12 nats left
    fig = identity_figure(-10.0, -10.0 - kl, kl)
    assert fig.axes[0].get_title() == "ELBO(q) rises to log p(x) as q is fitted from p(z)"
