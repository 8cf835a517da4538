"""The objectives' public entry: an empty batch is one line naming ``x``, not torch's reshape
error from inside ``Independent.log_prob``."""

from __future__ import annotations

import pytest
import torch

from torchlvm.errors import DataError
from torchlvm.inference import elbo, iwae_bound, log_importance_weights, log_marginal_is
from torchlvm.models.vae import VAE, VAEConfig


@pytest.mark.parametrize(
    "bound",
    [
        lambda model, x: iwae_bound(model, x, num_samples=3),
        lambda model, x: iwae_bound(model, x, num_samples=3, chunk=2),
        lambda model, x: log_importance_weights(model, x, num_samples=3),
        lambda model, x: elbo(model, x).elbo,
        lambda model, x: elbo(model, x, num_samples=2).elbo,
        lambda model, x: log_marginal_is(model, x, num_samples=3).mean,
    ],
    ids=["iwae_bound", "iwae_bound-chunked", "log_importance_weights", "elbo", "elbo-2", "is"],
)
def test_an_empty_batch_is_named(bound) -> None:
    model = VAE(VAEConfig(input_dim=4, latent_dim=2, hidden=(4,)))
    with pytest.raises(DataError, match=r"^x has no rows \(shape \(0, 4\)\); pass at least one"):
        bound(model, torch.zeros(0, 4))
    assert bound(model, torch.zeros(2, 4)).shape[-1] == 2
