"""first_parameter finds the parameter next(module.parameters()) finds."""

import pytest
import torch
from torch import nn

from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.nn.reference import first_parameter

CONFIGS = [
    {},
    {"posterior": "flow"},
    {"posterior": "full"},
    {"prior": "vamp"},
    {"prior": "mog"},
    {"linear_decoder": True},
    {"arch": "conv", "image_shape": (1, 8, 8)},
]


@pytest.mark.parametrize("options", CONFIGS, ids=lambda o: ",".join(o) or "default")
def test_first_parameter_is_the_first_of_parameters(options: dict) -> None:
    model = VAE(VAEConfig(64, latent_dim=2, hidden=(4,), **options))
    assert first_parameter(model) is next(model.parameters())


def test_first_parameter_walks_in_registration_order_past_empty_modules() -> None:
    inner = nn.Linear(2, 2)
    module = nn.Sequential(nn.ReLU(), nn.Sequential(nn.Identity(), inner), nn.Linear(2, 2))
    module.register_parameter("none", None)
    assert first_parameter(module) is inner.weight is next(module.parameters())
    module.own = nn.Parameter(torch.zeros(1))  # a module's own parameters come first
    assert first_parameter(module) is module.own is next(module.parameters())


def test_first_parameter_of_a_module_without_one_stops_as_next_does() -> None:
    with pytest.raises(StopIteration):
        first_parameter(nn.Sequential(nn.ReLU()))
