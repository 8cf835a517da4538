"""PPCA's EM refuses a fit whose noise variance σ² it drove toward 0 (userX #2): wine with 70%
of its cells missing at K = 6 was saved with σ² = 6.8e-12, a test log p(x_o) of −2.0e9 nats a
row and imputations worse than the column means, with only a warning to raise max_iter."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_wine

from torchlvm import PPCA
from torchlvm.errors import DataError
from torchlvm.models.ppca_fit import check_noise_collapse


def _wine_missing(share: float, seed: int) -> np.ndarray:
    X = load_wine().data
    X = (X - X.mean(0)) / X.std(0)
    X[np.random.default_rng(seed).random(X.shape) < share] = np.nan
    return X


def test_a_collapsing_fit_at_80_percent_missing_is_refused_naming_a_smaller_latent_dim():
    X = _wine_missing(0.8, 0)  # (σ² 3.4e-9 after 1,000 updates)
    with pytest.raises(DataError) as refusal:
        PPCA(latent_dim=6, method="em").fit(X)
    message = str(refusal.value)
    assert message.startswith("PPCA's EM drove the noise variance σ² toward 0")
    assert message.endswith("and the likelihood has no maximum; choose a smaller latent_dim")
    assert refusal.value.on_command_line.endswith("choose a smaller --latent-dim")
    fitted = PPCA(latent_dim=3, method="em").fit(X)  # the fix named
    assert fitted.noise_variance_ > 0.1


X8 = torch.full((4, 8), 1.0, dtype=torch.float64)


@pytest.mark.parametrize(
    ("trail", "refused"),
    [
        ([1.0 * 0.9**i for i in range(300)], True),  # still halving, far below the variance
        ([1e-7 + 1e-5 * 0.5**i for i in range(300)], False),  # settled at a small σ²
        ([0.5 * 0.99**i for i in range(30)], False),  # falling, but nowhere near 0
        ([1e-9 * 0.9**i for i in range(5)], False),  # too few updates to tell
    ],
    ids=["collapsing", "small-and-settled", "falling-early", "few-updates"],
)
def test_only_a_sigma2_still_falling_far_below_the_variance_is_a_collapse(trail, refused):
    if refused:
        with pytest.raises(DataError, match="drove the noise variance σ² toward 0"):
            check_noise_collapse(trail, 1.0, 3, X8)
    else:
        check_noise_collapse(trail, 1.0, 3, X8)
