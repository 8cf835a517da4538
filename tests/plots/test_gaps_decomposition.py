"""Cremer et al.'s decomposition figure: bounds and gaps with standard errors, with and without
the per-point flow's rung."""

import pytest

from torchlvm.errors import ConfigError
from torchlvm.plots.gaps_decomposition import decomposition_figure
from torchlvm.plots.inference import save_figure

PNG = b"\x89PNG\r\n\x1a\n"
DIAG = {
    "log_px": -100.0,
    "log_px_se": 1.0,
    "flow_elbo": -101.0,
    "flow_elbo_se": 1.0,
    "best_elbo": -102.0,
    "best_elbo_se": 1.0,
    "encoder_elbo": -104.0,
    "encoder_elbo_se": 1.0,
    "approximation_gap": 2.0,
    "approximation_gap_se": 0.1,
    "amortization_gap": 2.0,
    "amortization_gap_se": 0.1,
    "flow_approximation_gap": 1.0,
    "flow_approximation_gap_se": 0.1,
}


def test_two_models_with_and_without_a_flow_rung(tmp_path):
    no_flow = {k: v for k, v in DIAG.items() if not k.startswith("flow")}
    fig = decomposition_figure(["diag q", "flow q"], [DIAG, no_flow], title="gaps")
    axes = fig.get_axes()
    assert len(axes) == 2
    labels = axes[1].get_legend_handles_labels()[1]
    assert any("flow" in label for label in labels)
    path = tmp_path / "gaps.png"
    save_figure(fig, path)
    assert path.read_bytes().startswith(PNG)


@pytest.mark.parametrize(
    ("labels", "summaries", "match"),
    [
        ([], [], "same non-zero length"),
        (["a"], [{"log_px": 0.0}], "has no 'best_elbo'"),
    ],
    ids=["empty", "missing-key"],
)
def test_bad_input_is_named(labels, summaries, match):
    with pytest.raises(ConfigError, match=match):
        decomposition_figure(labels, summaries)


def test_legend_below_both_panels_and_totals_above_the_bars():
    no_flow = {k: v for k, v in DIAG.items() if not k.startswith("flow")}
    fig = decomposition_figure(["vae (diagonal q*)"], [no_flow])
    fig.canvas.draw()
    bounds, gaps = fig.axes
    assert bounds.get_legend() is None and gaps.get_legend() is None
    (legend,) = fig.legends
    box = legend.get_window_extent()
    assert all(not box.overlaps(ax.get_window_extent()) for ax in fig.axes)
    assert [t.get_text() for t in gaps.texts] == ["4"]  # log p(x) − ELBO(q_enc)
    bar = gaps.patches[0]
    assert bar.get_x() + bar.get_width() / 2 == pytest.approx(0.0)  # centred on its tick
    # bounds ± 0.66 over 20 examples beside gaps ± 0.03: which spread each bar is, is named
    assert bounds.get_title() == "bounds (± s.e. over the examples)"
    assert gaps.get_title() == "gaps (± s.e. of the paired difference)"


def test_gaps_below_numerical_precision_are_drawn_as_exact_zeros():
    # PPCA: q* and the encoder are the exact posterior; float64 rounding leaves ~1e-14 nats
    ppca = {
        "log_px": 12.5, "log_px_se": 2.3, "best_elbo": 12.5, "best_elbo_se": 2.3,
        "encoder_elbo": 12.5, "encoder_elbo_se": 2.3,
        "approximation_gap": 7.4e-15, "approximation_gap_se": 5e-15,
        "amortization_gap": 1.0e-15, "amortization_gap_se": 1e-15,
    }  # fmt: skip
    fig = decomposition_figure(["ppca (full q*)"], [ppca])
    gaps = fig.axes[1]
    assert [bar.get_height() for bar in gaps.patches] == [0.0, 0.0]
    assert [t.get_text() for t in gaps.texts] == ["0 (exact)"]
    assert gaps.get_ylim()[1] >= 0.5  # nats: no full-height bar of 1e-14


def test_the_error_bar_at_the_printed_total_is_the_totals():
    """The stacked bar prints the inference gap (approximation + amortization) at its top, and
    the error bar there was the amortization gap's standard error: it is the inference gap's."""
    summary = {**DIAG, "inference_gap": 4.0, "inference_gap_se": 0.5}
    fig = decomposition_figure(["diag q"], [summary])
    gaps = fig.get_axes()[1]
    bars = [seg for c in gaps.collections for seg in c.get_segments()]
    at_total = [seg for seg in bars if abs((seg[0][1] + seg[1][1]) / 2 - 4.0) < 1e-9]
    assert len(at_total) == 1
    (low, high) = at_total[0]
    assert high[1] - low[1] == pytest.approx(2 * 0.5)
