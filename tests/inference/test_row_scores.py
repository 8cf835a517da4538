"""score_rows' progress: ``advance`` hears each batch of importance-sampled rows, and changes
nothing it computes."""

from __future__ import annotations

import numpy as np
import torch

from torchlvm.inference.row_scores import ROWS, score_rows
from torchlvm.models import PPCA, VAE, VAEConfig


def test_advance_counts_each_batch_and_leaves_the_scores_as_they_were():
    torch.manual_seed(0)
    vae = VAE(VAEConfig(input_dim=6, latent_dim=2, hidden=(8,), likelihood="gaussian"))
    x = torch.randn(2 * ROWS + 5, 6)
    torch.manual_seed(1)
    plain = score_rows(vae, x, samples=3)
    heard: list[int] = []
    torch.manual_seed(1)
    followed = score_rows(vae, x, samples=3, advance=heard.append)
    assert heard == [ROWS, ROWS, 5]
    np.testing.assert_array_equal(followed.neg_log_p, plain.neg_log_p)
    np.testing.assert_array_equal(followed.stderr, plain.stderr)


def test_an_exact_score_does_not_advance():
    x = torch.randn(50, 6, dtype=torch.float64)
    heard: list[int] = []
    score_rows(PPCA(latent_dim=2).fit(x), x, advance=heard.append)
    assert heard == []
