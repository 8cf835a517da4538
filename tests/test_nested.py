"""lookup: the value at a path of keys in a JSON-like record, or None where the path breaks."""

import pytest

from torchlvm._nested import lookup

RECORD = {"a": {"b": {"c": 1.5}, "list": [1, 2]}, "none": None}


@pytest.mark.parametrize(
    "keys, expected",
    [(("a", "b", "c"), 1.5), (("a", "b"), {"c": 1.5}), ((), RECORD), (("none",), None),
     (("a", "x"), None), (("a", "list", "0"), None), (("none", "b"), None)],
    ids=["leaf", "branch", "root", "null-value", "missing-key", "through-a-list", "through-null"],
)  # fmt: skip
def test_lookup(keys, expected):
    assert lookup(RECORD, *keys) == expected
