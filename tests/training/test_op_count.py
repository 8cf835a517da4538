"""fit()'s training step dispatches no more aten operators than a plain PyTorch loop with fused
Adam on the reference VAE: on a GPU nearly each operator is one kernel launch, and a small
model's step is bound by them (issue 15). Counted, not timed: the count is deterministic."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from op_count import count_ops, fit_step, plain_step  # noqa: E402

HIDDEN, LATENT, BATCH = 400, 20, 16  # the reference VAE 784-400-z20, a small batch


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_fits_step_dispatches_no_more_ops_than_the_plain_fused_adam_loop() -> None:
    plain = count_ops(plain_step(HIDDEN, LATENT, BATCH))
    fit = count_ops(fit_step("reference", HIDDEN, LATENT, BATCH))
    assert 100 <= plain <= 130  # the hand-written loop (a sanity bound on the counter)
    assert fit <= plain, f"fit()'s step dispatches {fit} aten ops, the plain loop {plain}"
