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


def test_mismatched_inputs_are_refused():
    with pytest.raises(ConfigError, match="same non-zero length"):
        gaps_figure(["a", "b"], [0.1], [0.2, 0.3])
    with pytest.raises(ConfigError, match="same length"):
        identity_figure(0.0, np.zeros(5), np.zeros(6))
