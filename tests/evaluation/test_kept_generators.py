"""Evaluation's seeded parts leave every generator of the caller as it was (review12 #17): each
seeds torch inside ``torchlvm._kept_state.seeded``, which puts back the CPU's generator, each
CUDA device's, and a seed queued for CUDA's start. ``fork_rng`` of the CPU alone (or of the
model's device alone) around ``torch.manual_seed`` let the seed reach the other generators:
queued on a CPU-only machine, it seeded the caller's first CUDA draws."""

from __future__ import annotations

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.evaluation import evaluate
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.distributed import log_marginal_is_sharded
from torchlvm.evaluation.timing import expected_time
from torchlvm.models import VAE, VAEConfig

CONFIG = EvalConfig(k=8, ks=(1,), ood=(), n=20, ais_steps=2, ais_chains=2, sample_quality=False,
                    separability=False)  # fmt: skip


def _model(device: str = "cpu") -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).to(device).eval()


def _evaluated(model: VAE) -> None:
    evaluate(model, load_dataset("digits", "test", binarize="dynamic"), CONFIG)


def _timed(model: VAE) -> None:
    expected_time(model, load_dataset("digits", "test", binarize="dynamic"), CONFIG, ood_sets=0)


def _sharded(model: VAE) -> None:
    x = load_dataset("digits", "test", binarize="dynamic").fixed_binarized(0)[:20]
    x = x.to(next(model.parameters()).device)
    log_marginal_is_sharded(model, x, num_samples=4, block=8, seed=3)


PARTS = [_evaluated, _timed, _sharded]
IDS = ["evaluate", "expected-time-probes", "sharded-likelihood"]


@pytest.mark.skipif(torch.cuda.is_initialized(), reason="CUDA started: its seeds are not queued")
@pytest.mark.parametrize("part", PARTS, ids=IDS)
def test_a_seed_queued_for_cuda_is_the_callers_after(part) -> None:
    model = _model()
    tracker = torch.cuda._lazy_seed_tracker
    torch.manual_seed(5)  # the caller's own, queued for CUDA's start
    callers, cpu = tracker.manual_seed_all_cb, torch.get_rng_state()
    part(model)
    assert tracker.manual_seed_all_cb is callers and tracker.get_calls()[-1] is callers
    assert torch.equal(torch.get_rng_state(), cpu)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("part", PARTS, ids=IDS)
def test_a_models_cuda_generator_is_the_callers_after(part) -> None:
    model = _model("cuda")
    torch.cuda.manual_seed_all(5)
    before = [torch.cuda.get_rng_state(d) for d in range(torch.cuda.device_count())]
    part(model)
    assert all(torch.equal(torch.cuda.get_rng_state(d), state) for d, state in enumerate(before))
