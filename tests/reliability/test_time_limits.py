"""The reliability tests' time limits: each guards against a hang, so it is its idle value
stretched by the machine's load (several times the idle time on 2 shared cores), within bounds
that still fail a hung test."""

from __future__ import annotations

import os

import _reliability
import pytest


@pytest.mark.parametrize(
    ("load", "factor"), [(0.3, 1.0), (2.0, 1.0), (5.0, 2.5), (40.0, 6.0)], ids=str
)
def test_limits_stretch_with_the_load_per_core_within_bounds(
    load: float, factor: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert _reliability.load_factor() == factor
    assert _reliability.patience(30) == 30 * factor
