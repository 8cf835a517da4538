"""Turning a model's frozen config dataclass into JSON and back, with validation.

A config read from a file is data from outside: unknown keys, missing keys and values of the
wrong type are refused with a clear error before any tensor is allocated. Range checks (absurd
sizes included) live in each config's ``__post_init__``.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from torchlvm.errors import ConfigError

C = TypeVar("C")

MAX_WIDTH = 1 << 16  # no layer or latent size above this is accepted from a file

#: ``dataclasses.field(metadata=ADDED_FIELD)`` marks a field added after models were saved
#: without it: it is left out of the dict while it holds its default, so ``config.json`` and the
#: weights' config fingerprint of every earlier save still match the config rebuilt from them
ADDED_FIELD = {"omit_default": True}


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists); fields marked
    :data:`ADDED_FIELD` appear only when they differ from their default."""
    fields = [
        (f.name, getattr(config, f.name))
        for f in dataclasses.fields(config)
        if not (f.metadata.get("omit_default") and getattr(config, f.name) == f.default)
    ]
    return {name: list(v) if isinstance(v, tuple) else v for name, v in fields}


def _matches(value: Any, hint: Any) -> bool:
    origin = get_origin(hint)
    if hint is Any:
        return True
    if origin is Literal:
        return value in get_args(hint)
    if origin in (Union, types.UnionType):
        return any(_matches(value, h) for h in get_args(hint))
    if hint is type(None):
        return value is None
    if origin in (tuple, list):
        args = [a for a in get_args(hint) if a is not Ellipsis]
        return isinstance(value, (list, tuple)) and all(
            any(_matches(v, a) for a in args) for v in value
        )
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True


def config_from_dict(cls: type[C], data: Any, *, source: str = "config") -> C:
    """Build config dataclass ``cls`` from a JSON-decoded dict, checking keys and types.

    Raises:
        ConfigError: for a non-dict, an unknown or missing key, or a value of the wrong type;
            the message names ``source``, the key and what was expected.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; known keys are {sorted(fields)}")
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            has_default = field.default is not dataclasses.MISSING or (
                field.default_factory is not dataclasses.MISSING
            )
            if not has_default:
                raise ConfigError(f"{source}: missing required key {name!r}")
            continue
        value = data[name]
        if not _matches(value, hints[name]):
            raise ConfigError(
                f"{source}: {name} has the wrong type or value {value!r}; "
                f"expected {typing_repr(hints[name])}"
            )
        kwargs[name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)


def typing_repr(hint: Any) -> str:
    """A short readable name of a type hint, for error messages."""
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
