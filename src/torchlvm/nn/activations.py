"""Activation functions by name, through a registry filled by a decorator (STYLE.md habit 9).

Configs store the name (``"relu"``, ``"tanh"``, ...); networks call :func:`make_activation` to get
a fresh module. The IWAE paper (Burda et al. 2016, §5) uses ``"tanh"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

from torch import nn

from torchlvm._checks import check_choice

Activation = Literal["relu", "tanh", "elu", "leaky_relu", "softplus"]

T = TypeVar("T", bound=Callable[[], nn.Module])

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {}


def register_activation(name: str) -> Callable[[T], T]:
    """Decorator: make a zero-argument module factory constructible by ``name``."""

    def add(factory: T) -> T:
        ACTIVATIONS[name] = factory
        return factory

    return add


register_activation("relu")(nn.ReLU)
register_activation("tanh")(nn.Tanh)
register_activation("elu")(nn.ELU)
register_activation("leaky_relu")(nn.LeakyReLU)
register_activation("softplus")(nn.Softplus)


def make_activation(name: str) -> nn.Module:
    """A new activation module by name.

    Raises:
        ConfigError: for an unknown name (the message lists the known ones).
    """
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]()
