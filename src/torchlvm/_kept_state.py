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
    torch (the CPU, and the CUDA devices already in use); the environment variables; the warnings
    filters and ``warnings.formatwarning``; the levels of the loggers that existed before.

    Not restored: what cannot be undone in a process (an imported module, CUDA initialised,
    torch's inter-op thread count, fixed once parallel work has run)."""
    import numpy as np
    import torch

    grad, dtype, threads = (
        torch.is_grad_enabled(),
        torch.get_default_dtype(),
        torch.get_num_threads(),
    )
    py_random, np_random = random.getstate(), np.random.get_state()
    environ, levels, formatwarning = dict(os.environ), _logger_levels(), warnings.formatwarning
    cuda = range(torch.cuda.device_count()) if torch.cuda.is_initialized() else ()
    try:
        with torch.random.fork_rng(devices=cuda), warnings.catch_warnings():
            yield
    finally:
        torch.set_grad_enabled(grad)
        torch.set_default_dtype(dtype)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        random.setstate(py_random)
        np.random.set_state(np_random)
        _restore_environ(environ)
        warnings.formatwarning = formatwarning
        for name, level in levels.items():
            logger = logging.getLogger(name or None)
            if logger.level != level:
                logger.setLevel(level)
