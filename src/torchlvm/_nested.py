"""Reading JSON-like records (``metrics.json``, ``compare.json``, ``config.json`` as dicts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def lookup(tree: Any, *keys: str) -> Any:
    """``tree[k1][k2]...``, or None where the path breaks off (a missing key or a non-mapping)."""
    for key in keys:
        if not isinstance(tree, Mapping) or key not in tree:
            return None
        tree = tree[key]
    return tree
