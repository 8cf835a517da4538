"""A registry filled by a class decorator (STYLE.md habit 9), for the tables of named classes
(models, posteriors, priors): ``register = registrar(TABLE)``, then ``@register("name")`` on a
class records it in ``TABLE`` and sets its ``name`` (or the attribute the registrar names)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T", bound=type)


def registrar(table: dict[str, Any], attribute: str = "name") -> Callable[[str], Callable[[T], T]]:
    """A decorator factory that records classes in ``table`` under a name, which it also sets
    as the class's ``attribute``."""

    def register(name: str) -> Callable[[T], T]:
        def add(cls: T) -> T:
            setattr(cls, attribute, name)
            table[name] = cls
            return cls

        return add

    return register
