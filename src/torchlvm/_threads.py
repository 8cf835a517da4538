"""How many torch intra-op threads torchlvm's CPU work runs on: one rule for the command line's
``--threads`` and the Python estimators' ``threads`` parameter.

A table's work (batches of 64 rows through layers of 64-128 units, a PPCA's per-pattern solves)
is too small to share among threads. On free cores a second thread saves little. Where other
jobs hold the cores, it waits at every parallel region for a core the scheduler gave away, and
spins meanwhile. Measured on 2 shared cores: ``train`` on a table was 1.5-10x slower on two
threads than on one (benchmarks/results/train_threads.md), and the estimators' ``fit`` 5-6x
(the VAEs on wine) and 13x (PPCA's EM on breast_cancer: 105.5 s against 8.3 s;
benchmarks/results/estimator_threads.md). So a table's work runs on :data:`TABLE_THREADS`
unless the user says otherwise: ``--threads N`` on the command line, ``threads=N`` for an
estimator, or ``threads=None`` to keep the count the caller set (``torch.set_num_threads``).
Training on images keeps torch's count: the 784-400-20 Fashion-MNIST model trained 1.22x
faster on two free cores. A PPCA takes one thread whatever its data: on images too its fit was
faster on one at load 8-12 (exact, 20,000 Fashion-MNIST images: 3.6 s against 7.5 s; EM on
5,000: 27.9 s against 47.5 s; benchmarks/results/ppca_image_threads.md, review12 #10).

More threads than the cores this process may use are refused on the command line, where the
user types the count for this machine, and capped at the cores with a warning for an estimator,
whose ``threads`` is written in code that runs on other machines too (a laptop's ``threads=4``
on a CI machine of 2 cores; review12 #16).

- :func:`check_threads`: a count the process can use, checked, naming the fix.
- :func:`using_threads`: run a block on that many threads (capped), the caller's count put back
  after.
- :func:`on_threads`: an estimator's method run on its ``threads`` parameter.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from torchlvm.errors import ConfigError

TABLE_THREADS = 1
"""torch intra-op threads for a table's work, unless told otherwise (see the module docstring)."""

Method = TypeVar("Method", bound=Callable[..., Any])


def check_threads(threads: Any, name: str = "--threads") -> int:
    """The command line's ``--threads`` (``name``) as an int, checked to be a positive integer
    no larger than the CPU cores this process may use (:func:`cpu_cores`).

    Raises:
        ConfigError: naming ``name``, the value and what is allowed.
    """
    threads, cores = _positive(threads, name, none=False), cpu_cores()
    if threads > cores:
        raise ConfigError(
            f"{name} {threads} is more than the {cores} CPU core{'s' if cores > 1 else ''} "
            f"this process may use; pass {name} {cores}{' or fewer' if cores > 1 else ''}"
        )
    return threads


def capped_threads(threads: Any) -> int:
    """An estimator's ``threads``, checked to be a positive integer, capped at the CPU cores
    this process may use with a warning (once per count and cores in a process: an estimator's
    methods each run on it).

    Raises:
        ConfigError: for a count that is not a positive integer.
    """
    threads, cores = _positive(threads, "threads", none=True), cpu_cores()
    if threads <= cores:
        return threads
    if (threads, cores) not in _CAPPED:
        from torchlvm._callers import callers_level

        _CAPPED.add((threads, cores))
        warnings.warn(
            f"threads={threads} is more than the {cores} CPU core{'s' if cores > 1 else ''} "
            f"this process may use: it runs on {cores} (pass threads={cores}, or threads=None "
            "for the count torch has)",
            stacklevel=callers_level(),  # the user's line that called the method
        )
    return cores


_CAPPED: set[tuple[int, int]] = set()
"""The (threads, cores) already warned of in this process (:func:`capped_threads`)."""


def _positive(threads: Any, name: str, *, none: bool) -> int:
    """``threads`` as an int, refused unless a positive integer (``none``: say None is too)."""
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads <= 0:
        also = ", or None for the count torch has (torch.set_num_threads)" if none else ""
        raise ConfigError(f"{name} must be a positive integer{also}, got {threads!r}")
    return int(threads)


def cpu_cores() -> int:
    """The CPU cores this process may use: its affinity mask, as ``taskset`` or a container's
    cpuset sets it, or the machine's count where there is none (not Linux).

    Read here, not through :mod:`torchlvm.training`: a PPCA's fit counts cores, and importing
    Lightning to do so cost 10 s on its first fit, a window in which a Ctrl-C left modules half
    imported for every later call of the session (userT #7)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def using_threads(threads: int | None) -> Iterator[None]:
    """Run the block on ``threads`` torch intra-op threads (an estimator's parameter, checked
    and capped at the cores: :func:`capped_threads`), then put back the count the caller had;
    None runs it on the caller's count."""
    import torch

    if threads is None:
        yield
        return
    threads, before = capped_threads(threads), torch.get_num_threads()
    if threads != before:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def on_threads(method: Method) -> Method:
    """Run an estimator's ``method`` on the estimator's ``threads`` parameter
    (:func:`using_threads`: None keeps the caller's count)."""

    @functools.wraps(method)
    def on_own_threads(self: Any, *args: Any, **kwargs: Any) -> Any:
        threads = None if self.threads is None else capped_threads(self.threads)
        with using_threads(threads):  # (capped here: a warning then names the caller's line)
            return method(self, *args, **kwargs)

    return on_own_threads  # type: ignore[return-value]
