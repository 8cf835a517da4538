"""The forward/reverse KL figure, 1-D curves and 2-D contours: written as non-empty PNGs."""

import pytest
import torch
from torch.distributions import MultivariateNormal

from torchlvm.distributions.fitting import bimodal_target
from torchlvm.errors import ConfigError
from torchlvm.plots.kl_fits import kl_fits_figure, save_figure

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("dim", [1, 2], ids=["1-D", "2-D"])
def test_kl_fits_figure(tmp_path, dim):
    target = bimodal_target(dim)
    eye = torch.eye(dim, dtype=torch.float64)
    forward = MultivariateNormal(torch.zeros(dim, dtype=torch.float64), 10 * eye)
    loc = torch.zeros(dim, dtype=torch.float64)
    loc[0] = 3.0
    reverse = MultivariateNormal(loc, eye)
    fig = kl_fits_figure(
        target,
        {"forward": forward, "reverse": reverse},
        mass_per_mode={"forward": [0.5, 0.5], "reverse": torch.tensor([0.0, 1.0])},
    )
    fig.canvas.draw()
    (legend,) = fig.legends  # below the axes: the 1-D legend hid the reverse fit's peak
    assert not legend.get_window_extent().overlaps(fig.axes[0].get_window_extent())
    texts = [t.get_text() for t in legend.get_texts()]
    assert any(text.endswith("mass per mode 0.00 / 1.00") for text in texts)
    if dim == 2:  # the solid and dotted ellipses and the crosses were in no legend
        keys = ["each fit's 1σ contour (Mahalanobis 1)", "its 2σ contour", "its mean"]
        assert set(keys) | {"target p (darker: denser)"} <= set(texts)
    path = tmp_path / f"kl_{dim}d.png"
    save_figure(fig, path)
    assert path.read_bytes().startswith(PNG) and path.stat().st_size > 1000


def test_a_3d_target_is_refused():
    target = MultivariateNormal(torch.zeros(3), torch.eye(3))
    with pytest.raises(ConfigError, match="1-D or 2-D"):
        kl_fits_figure(target, {})
