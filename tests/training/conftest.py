"""Fixtures shared by the training tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


class ProtocolOnly(torch.nn.Module):
    """A model of the protocol's methods alone (latent_dim, prior, encode, decode), delegated
    to ``inner``: what every estimator takes and no registered objective trains."""

    latent_dim = 2

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def prior(self, c=None, batch_shape=()):
        return self.inner.prior(c, batch_shape)

    def encode(self, x, c=None):
        return self.inner.encode(x, c)

    def decode(self, z, c=None):
        return self.inner.decode(z, c)


@pytest.fixture
def protocol_only() -> Callable[[torch.nn.Module], ProtocolOnly]:
    """Wraps a model as :class:`ProtocolOnly`."""
    return ProtocolOnly
