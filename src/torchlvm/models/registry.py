"""Models by name: a registry filled by a class decorator (STYLE.md habit 9).

Each registered model class has a frozen config dataclass ``Config``, an instance attribute
``config``, and ``from_config(config)``. The name is what ``config.json`` records as
``model_type``, so a saved model can be rebuilt without unpickling anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torchlvm._checks import check_choice

T = TypeVar("T", bound=type)

MODELS: dict[str, type] = {}


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: register a model class under ``name`` and set ``cls.model_type``."""

    def add(cls: T) -> T:
        cls.model_type = name
        MODELS[name] = cls
        return cls

    return add


def model_class(name: str) -> type:
    """The model class registered under ``name``.

    Raises:
        ConfigError: for an unknown name (the message lists the known ones).
    """
    return MODELS[check_choice("model_type", name, sorted(MODELS))]
