"""The process-wide state a command or a training run changes, kept for its caller.

A command called in-process (``torchlvm.cli.main([...])``, from a notebook or a test) or an
estimator's ``fit`` is a function call: it must leave the caller's session as it found it.
Training changes global state as a side effect: Lightning's fit loop switches gradients on
(``torch.set_grad_enabled(True)``, never switched back), ``lightning.seed_everything`` reseeds
Python's, NumPy's and torch's global generators and exports ``PL_GLOBAL_SEED``/``PL_SEED_WORKERS``,
``--threads`` sets torch's thread count and ``OMP_NUM_THREADS``, and the commands quiet loggers and
filter warnings while they run. :func:`caller_state_kept` puts all of it back, as
``torch.random.fork_rng`` does for the random state alone.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import warnings
from collections.abc import Iterator
from typing import Any


def _logger_levels() -> dict[str, int]:
    """The level of the root logger ('') and of every logger made so far, by name."""
    loggers = logging.Logger.manager.loggerDict
    levels = {name: log.level for name, log in loggers.items() if isinstance(log, logging.Logger)}
    return {**levels, "": logging.getLogger().level}


def _restore_environ(saved: dict[str, str]) -> None:
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


@contextlib.contextmanager
def caller_state_kept() -> Iterator[None]:
    """Run the block, then restore what it changed of the process's global state: torch's grad
    mode, default dtype and intra-op thread count; the global random states of Python, NumPy and
    torch (the CPU and the CUDA devices: :func:`_cuda_seeds_kept`); the environment variables;
    the warnings filters; the levels of the loggers that existed before.

    Not restored: what cannot be undone in a process (an imported module, CUDA initialised,
    torch's inter-op thread count, fixed once parallel work has run). ``warnings.formatwarning``
    is the command line's to set and put back (:func:`torchlvm.cli.main`): nothing in a block
    changes it (Lightning's import does, and every caller has imported Lightning before)."""
    import numpy as np
    import torch

    grad, dtype, threads = (
        torch.is_grad_enabled(),
        torch.get_default_dtype(),
        torch.get_num_threads(),
    )
    py_random, np_random = random.getstate(), np.random.get_state()
    environ, levels = dict(os.environ), _logger_levels()
    try:
        with _cuda_seeds_kept(), warnings.catch_warnings():
            yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        random.setstate(py_random)
        np.random.set_state(np_random)
        _restore_environ(environ)
        for name, level in levels.items():
            logger = logging.getLogger(name or None)
            if logger.level != level:
                logger.setLevel(level)


@contextlib.contextmanager
def seeded(seed: int, device: Any = None) -> Iterator[None]:
    """Run the block with torch's global random state seeded with ``seed``, then put back every
    generator the seed reached: the CPU's and each CUDA device's (:func:`_cuda_seeds_kept`).

    ``torch.manual_seed`` seeds every CUDA device too (or queues the seed until CUDA starts), so
    ``torch.random.fork_rng(devices=[])`` around it keeps the CPU's state alone: on a GPU the
    caller's CUDA stream was reset to ``seed`` (userL #3). Draws that must repeat, and leave the
    caller's random state as it was, run inside this block.

    Args:
        seed: the seed of the block's draws.
        device: the one device the block draws on, where the caller knows it: then only the
            CPU's generator and that device's are seeded and put back (a block drawing on the
            CPU leaves CUDA alone), where ``None`` saves and restores every started device's
            state on each call (a prior's draw, a flow q's per-iteration draw). The numbers
            drawn on that device are the same either way.
    """
    import torch

    one = None if device is None else torch.device(device)
    if one is not None and one.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)  # (the CPU's alone: CUDA is not reached)
            yield
        return
    if one is not None and one.type == "cuda" and torch.cuda.is_initialized():
        index = torch.cuda.current_device() if one.index is None else one.index
        with torch.random.fork_rng(devices=[index]):
            torch.default_generator.manual_seed(seed)
            torch.cuda.default_generators[index].manual_seed(seed)
            yield
        return
    with _cuda_seeds_kept():
        torch.manual_seed(seed)
        yield


@contextlib.contextmanager
def _cuda_seeds_kept() -> Iterator[None]:
    """Run the block, then put back torch's random state: the CPU's, and the CUDA devices'.

    Where CUDA has started, ``torch.random.fork_rng`` keeps each device's generator. Where it has
    not, torch keeps a seed asked for (``torch.manual_seed``, which ``seed_everything`` calls)
    in ``torch.cuda._lazy_seed_tracker`` and applies the latest on CUDA's start: a block's seed
    would seed the caller's later CUDA draws. The caller's queued seeds are put back; where the
    block started CUDA, each device's generator is put where a start with them would have put
    it (torch's default seed, then the caller's queued seeds)."""
    import torch

    started = torch.cuda.is_initialized()
    tracker = None if started else getattr(torch.cuda, "_lazy_seed_tracker", None)
    queued = None if tracker is None else dict(vars(tracker))
    devices = range(torch.cuda.device_count()) if started else ()
    try:
        with torch.random.fork_rng(devices=devices):
            yield
    finally:
        if tracker is not None and queued is not None:
            vars(tracker).clear()
            vars(tracker).update(queued)
            if torch.cuda.is_initialized():  # the block started CUDA
                default = torch.Generator().initial_seed()  # (every new generator starts from it)
                for generator in torch.cuda.default_generators:
                    generator.manual_seed(default)
                for call in tracker.get_calls():
                    if call is not None:
                        call[0]()
