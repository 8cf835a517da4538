"""Shared set-up of the reliability tests.

- This folder's helper module ``_reliability`` is made importable (pytest runs with
  ``--import-mode=importlib``, which puts no test folder on ``sys.path``).
- Every test runs under a wall-clock budget: ``@pytest.mark.budget(seconds)`` (default 60 s) on
  an idle machine, stretched by the machine's load (``_reliability.load_factor``: a budget guards
  against a hang, it is no claim about speed). A test over budget fails with ``TimeoutError``
  instead of hanging CI.
- Torch uses one thread (the CI machine has two cores, shared).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))

from _reliability import load_factor  # noqa: E402

DEFAULT_BUDGET_S = 60.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "budget(seconds): wall-clock limit of a reliability test")


@pytest.fixture(autouse=True)
def _time_budget(request: pytest.FixtureRequest):
    marker = request.node.get_closest_marker("budget")
    idle = float(marker.args[0]) if marker else DEFAULT_BUDGET_S
    budget = idle * load_factor()

    def over_budget(signum, frame):
        raise TimeoutError(
            f"{request.node.name} ran over its {idle:g} s budget ({budget:.0f} s at this load)"
        )

    previous = signal.signal(signal.SIGALRM, over_budget)
    signal.setitimer(signal.ITIMER_REAL, budget)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        torch.set_num_threads(threads)
