"""Requests checked against the memory available before any work is done."""

from __future__ import annotations

import pytest

from torchlvm import _memory
from torchlvm.errors import ConfigError


@pytest.mark.parametrize(
    "nbytes, text", [(512, "512 B"), (25_600_000_000, "25.6 GB"), (3e15, "3000.0 TB")]
)
def test_sizes_read_in_decimal_units(nbytes, text):
    assert _memory.size_text(nbytes) == text


def test_a_request_beyond_the_available_memory_names_both_and_the_fix(monkeypatch):
    monkeypatch.setattr(_memory, "available_bytes", lambda: 8_000_000_000)
    _memory.check_fits(8_000_000_000, "exactly all", "never needed")
    with pytest.raises(
        ConfigError, match=r"^x need 8\.0 GB of memory, more than the 8\.0 GB avail"
    ):
        _memory.check_fits(8_000_000_001, "x", "ask for less")
    monkeypatch.setattr(_memory, "available_bytes", lambda: None)  # a system that does not say
    _memory.check_fits(10**20, "anything", "never needed")


def test_this_machine_reports_its_available_memory():
    available = _memory.available_bytes()
    assert available is None or available > 0
