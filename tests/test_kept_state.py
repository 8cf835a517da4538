"""caller_state_kept: a block that changes the process's global state leaves the caller's as it
was; and the CLI's main, called in-process, changes none of it (grad mode, random states,
environment, threads, warnings, log levels)."""

from __future__ import annotations

import logging
import os
import random
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from torchlvm._kept_state import caller_state_kept
from torchlvm.cli import main


def _state() -> dict:
    log = logging.getLogger("lightning.pytorch")
    return {
        "grad": torch.is_grad_enabled(),
        "dtype": torch.get_default_dtype(),
        "threads": torch.get_num_threads(),
        "torch_rng": torch.get_rng_state().tolist(),
        "numpy_rng": np.random.get_state()[1].tolist(),
        "python_rng": random.getstate(),
        "environ": dict(os.environ),
        "filters": list(warnings.filters),
        "formatwarning": warnings.formatwarning,
        "level": log.level,
        "root_level": logging.getLogger().level,
    }


def test_every_global_change_inside_the_block_is_undone() -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        before = _state()
        with caller_state_kept():
            torch.set_grad_enabled(True)
            torch.set_default_dtype(torch.float64)
            torch.set_num_threads(before["threads"] + 1)
            torch.manual_seed(0), np.random.seed(0), random.seed(0)
            os.environ["PL_GLOBAL_SEED"] = "0"
            os.environ.pop("HOME", None)
            warnings.simplefilter("ignore")
            logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
            logging.getLogger().setLevel(logging.CRITICAL)
        assert _state() == before


def test_a_block_that_raises_is_undone_too() -> None:
    before = _state()
    try:
        with caller_state_kept():
            torch.set_grad_enabled(False)
            torch.manual_seed(0)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert _state() == before


@pytest.mark.skipif(torch.cuda.is_initialized(), reason="CUDA started: its seeds are not queued")
def test_a_cuda_seed_the_block_queues_does_not_reach_the_caller() -> None:
    """torch.manual_seed (seed_everything's) before CUDA starts is queued for CUDA's start: a
    train in-process on the CPU left its --seed queued, to seed the caller's first CUDA draws."""
    tracker = torch.cuda._lazy_seed_tracker
    torch.manual_seed(5)  # the caller's own, queued
    callers = tracker.manual_seed_all_cb
    with caller_state_kept():
        torch.manual_seed(0)
        assert tracker.manual_seed_all_cb is not callers
    assert tracker.manual_seed_all_cb is callers and tracker.get_calls()[-1] is callers


def _train_sample_evaluate(run: Path) -> None:
    argv = ["train", "vae", "--data", "digits", "--latent-dim", "2", "--epochs", "1", "--quiet"]
    assert main([*argv, "--threads", "1", "--out", str(run)]) == 0
    assert main(["sample", str(run), "--n", "2"]) == 0
    assert (
        main(["evaluate", str(run), "--k", "5", "--n", "10", "--ood", "none", "--no-figures"]) == 0
    )


def test_commands_called_in_process_leave_the_callers_state_as_it_was(tmp_path: Path) -> None:
    """Lightning's fit loop turned gradients on inside the caller's no_grad; seed_everything
    reseeded the caller's generators and exported PL_GLOBAL_SEED; --threads set the thread
    count and OMP_NUM_THREADS; main set Python's warning format. (A first round imports what
    the commands import: an import's own changes, such as scipy's warnings filter, stay.)"""
    _train_sample_evaluate(tmp_path / "first")
    torch.manual_seed(123)
    with torch.no_grad():
        before = _state()
        _train_sample_evaluate(tmp_path / "vae")
        assert _state() == before


def test_a_refused_command_leaves_the_callers_state_as_it_was(tmp_path: Path) -> None:
    """(A first call imports what the command imports, whose own changes stay: run alone, the
    test saw scipy's warnings filter.)"""
    assert main(["sample", str(tmp_path / "no-run")]) == 2
    with torch.no_grad():
        before = _state()
        assert main(["sample", str(tmp_path / "no-run")]) == 2
        assert _state() == before


@pytest.mark.skipif(torch.cuda.is_initialized(), reason="CUDA started: its seeds are not queued")
def test_seeded_draws_repeat_and_leave_every_generator_as_it_was() -> None:
    """torch.manual_seed inside fork_rng(devices=[]) kept the CPU's state alone: the seed reached
    every CUDA generator (queued, on this machine), resetting the caller's GPU stream (userL #3).
    ``seeded`` puts back both; PPCA.sample(random_state=...) and a seeded prior draw go through
    it."""
    from torchlvm._kept_state import seeded
    from torchlvm.models import PPCA
    from torchlvm.models.priors import draw

    tracker = torch.cuda._lazy_seed_tracker
    torch.manual_seed(5)  # the caller's own, queued for CUDA
    callers, cpu = tracker.manual_seed_all_cb, torch.get_rng_state()
    with seeded(3):
        first = torch.randn(4)
    with seeded(3):
        assert torch.equal(torch.randn(4), first)
    ppca = PPCA(latent_dim=2).fit(np.random.default_rng(0).normal(size=(40, 5)))
    assert np.array_equal(ppca.sample(3, random_state=0), ppca.sample(3, random_state=0))
    normal = torch.distributions.Normal(torch.zeros(2), torch.ones(2))
    draw(normal, 3, torch.Generator().manual_seed(1))
    assert tracker.manual_seed_all_cb is callers and tracker.get_calls()[-1] is callers
    assert torch.equal(torch.get_rng_state(), cpu)


def test_no_seeded_block_forks_some_generators_alone() -> None:
    """The slip of userL #3, by its shape: a ``fork_rng`` (of the CPU, of one device, or of
    every started one) whose block calls torch.manual_seed, which seeds every CUDA device and
    queues the seed where CUDA has not started. Seeded blocks use ``_kept_state.seeded``."""
    import re

    import torchlvm

    shape = re.compile(r"fork_rng\([^\n]*\n\s*torch\.manual_seed")
    src = Path(torchlvm.__file__).parent
    slips = [str(p.relative_to(src)) for p in src.rglob("*.py") if shape.search(p.read_text())]
    assert slips == []


@pytest.mark.skipif(torch.cuda.is_initialized(), reason="CUDA started: its seeds are not queued")
def test_a_draw_on_the_cpu_forks_and_seeds_the_cpu_alone(monkeypatch) -> None:
    """seeded forked every started CUDA device on each call, a prior's draw and a flow q's
    per-iteration draw included (closing13 'Left'): told the device, it saves and restores that
    one (and the CPU's), draws the same numbers, and on the CPU queues no seed for CUDA."""
    from torchlvm._device import device_of
    from torchlvm._kept_state import seeded

    forked = []
    fork_rng = torch.random.fork_rng

    def recording(devices=None, **kwargs):
        forked.append(list(devices))
        return fork_rng(devices=devices, **kwargs)

    monkeypatch.setattr(torch.random, "fork_rng", recording)
    tracker = torch.cuda._lazy_seed_tracker
    torch.manual_seed(5)
    callers, cpu = tracker.manual_seed_all_cb, torch.get_rng_state()
    with seeded(3):
        every = torch.randn(4)
    with seeded(3, device="cpu"):
        assert tracker.manual_seed_all_cb is callers  # (no seed queued for CUDA's start)
        assert torch.equal(torch.randn(4), every)
    assert forked[-1] == [] and torch.equal(torch.get_rng_state(), cpu)
    mixture = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=torch.zeros(3)),
        torch.distributions.Normal(torch.zeros(3), torch.ones(3)),
    )
    assert device_of(mixture) == torch.device("cpu")
    from torchlvm.models.priors import draw

    draw(mixture, 2, torch.Generator().manual_seed(0))
    assert forked[-1] == []  # (the prior's draw names its device)
