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
