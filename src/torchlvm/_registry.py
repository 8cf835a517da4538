"""A registry filled by a class decorator (STYLE.md habit 9), for the tables of named families
(posteriors, priors): ``register = registrar(TABLE)``, then ``@register("name")`` on a class
records it in ``TABLE`` and sets its ``name``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def registrar(table: dict[str, Any]) -> Callable[[str], Callable[[T], T]]:
    """A decorator factory that records classes in ``table`` under a name."""

    def register(name: str) -> Callable[[T], T]:
        def add(cls: T) -> T:
            cls.name = name
            table[name] = cls
            return cls

        return add

    return register
