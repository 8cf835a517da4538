"""MLP and the activation registry: shapes with leading dimensions, layer layout, bad arguments."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from torchlvm.errors import ConfigError
from torchlvm.nn import ACTIVATIONS, MLP, make_activation


@pytest.mark.parametrize(
    "lead", [(), (5,), (3, 5), (2, 3, 5)], ids=["no-batch", "B", "S-B", "T-S-B"]
)
def test_mlp_maps_last_dimension_keeping_leading_dims(lead):
    torch.manual_seed(0)
    mlp = MLP(4, (8, 6), 3, "tanh")
    assert mlp(torch.randn(*lead, 4)).shape == (*lead, 3)


def test_mlp_layers_alternate_linear_and_activation_without_final_activation():
    mlp = MLP(784, (200, 200), 100, "tanh")
    kinds = [type(layer) for layer in mlp]
    assert kinds == [nn.Linear, nn.Tanh, nn.Linear, nn.Tanh, nn.Linear]
    widths = [(m.in_features, m.out_features) for m in mlp if isinstance(m, nn.Linear)]
    assert widths == [(784, 200), (200, 200), (200, 100)]


def test_mlp_without_hidden_layers_is_one_linear_map():
    mlp = MLP(6, (), 2, "relu")
    assert len(mlp) == 1 and isinstance(mlp[0], nn.Linear)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS), ids=sorted(ACTIVATIONS))
def test_every_registered_activation_builds_a_module(name):
    assert isinstance(make_activation(name), nn.Module)
    assert MLP(3, (4,), 2, name)(torch.zeros(1, 3)).shape == (1, 2)


def test_activation_registry_holds_the_documented_names():
    assert {"relu", "tanh", "elu", "leaky_relu", "softplus"} <= set(ACTIVATIONS)


def test_unknown_activation_is_refused_even_without_hidden_layers():
    with pytest.raises(ConfigError, match="activation must be one of .* got 'swishy'"):
        MLP(3, (), 2, "swishy")


@pytest.mark.parametrize(
    "args, match",
    [
        ((0, (4,), 2), "in_dim must be a positive integer, got 0"),
        ((3, (4, -1), 2), "hidden width must be a positive integer, got -1"),
        ((3, (4,), 0), "out_dim must be a positive integer, got 0"),
    ],
    ids=["in-dim-0", "negative-hidden", "out-dim-0"],
)
def test_bad_widths_are_refused(args, match):
    with pytest.raises(ConfigError, match=match):
        MLP(*args, "relu")
