"""``log_marginal_is``'s chunk is a memory/speed setting: the same seed and chunk give the same
estimate; another chunk draws other samples of the same estimator (torch fills a tensor by its
size), which agree within their standard errors; the default chunk is sized to the device."""

import math

import pytest
import torch

from torchlvm._checks import check_rows
from torchlvm.inference import iwae_bound, log_marginal_is
from torchlvm.inference.importance import (
    CPU_CHUNK_BYTES,
    GPU_CHUNK_BYTES,
    GPU_MEMORY_SHARE,
    auto_chunk,
)
from torchlvm.models import VAE, VAEConfig


@pytest.fixture(scope="module")
def model_and_data():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,))).eval()
    return model, torch.rand(20, 64).bernoulli()


@pytest.fixture(scope="module")
def odd_sized_model_and_data():
    """5 rows and 3 latent dimensions: 15 normal draws per sample, not a multiple of 16, so the
    random stream consumed depends on the chunk (with 20 rows × 4 dimensions it did not)."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=3, hidden=(32,))).eval()
    return model, torch.rand(5, 64).bernoulli()


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 50, 200, None], ids=lambda c: f"chunk={c}")
def test_the_same_seed_and_chunk_give_the_same_estimate(odd_sized_model_and_data, chunk):
    model, x = odd_sized_model_and_data
    estimates = []
    for _ in range(2):
        torch.manual_seed(1)
        estimates.append(log_marginal_is(model, x, num_samples=50, chunk=chunk))
    for name in ("mean", "stderr", "ess"):
        assert torch.equal(getattr(estimates[0], name), getattr(estimates[1], name)), name


@pytest.mark.parametrize("chunk", [1, 3, 7, 16, 200, None], ids=lambda c: f"chunk={c}")
def test_every_chunk_draws_the_same_estimator(odd_sized_model_and_data, chunk):
    """Another chunk is another draw of the same estimate of log p(x): within 4 combined
    standard errors of chunk 2000's, per example, at k = 2000, from 2000 distinct samples (a
    chunk that dropped or doubled a tail, or reused one draw across chunks, fails)."""
    model, x = odd_sized_model_and_data
    torch.manual_seed(1)
    reference = log_marginal_is(model, x, num_samples=2000, chunk=2000)
    torch.manual_seed(2)
    parts = []
    estimate = log_marginal_is(model, x, num_samples=2000, chunk=chunk, log_weights=parts.append)
    spread = (estimate.stderr**2 + reference.stderr**2).sqrt()
    assert ((estimate.mean - reference.mean).abs() < 4 * spread).all()
    log_w = torch.cat(parts)
    assert log_w.shape == (2000, len(x))
    assert len(log_w.unique(dim=0)) == 2000  # no draw reused across chunks


def test_the_default_chunk_fills_a_cache_on_the_cpu_and_much_more_on_a_gpu(monkeypatch):
    from torchlvm.inference import importance

    # 100 Fashion-MNIST images: 100 × 784 float32 logits per sample
    assert auto_chunk(100, 784, "cpu") == CPU_CHUNK_BYTES // (100 * 784 * 4) == 26
    assert auto_chunk(10**6, 10**4, "cpu") == 1  # never zero
    assert auto_chunk(100, 784, "cpu", itemsize=8) == 13  # float64 halves it
    # a GPU of much memory: GPU_CHUNK_BYTES; of little: a sixteenth of it
    monkeypatch.setattr(importance, "_device_memory", lambda device: 100 * 2**30)
    assert auto_chunk(100, 784, "cuda") == GPU_CHUNK_BYTES // (100 * 784 * 4) == 6847
    assert auto_chunk(2000, 784, "cuda:0") == 342  # 2 GiB of logits for 2,000 images
    monkeypatch.setattr(importance, "_device_memory", lambda device: 4 * 2**30)
    assert auto_chunk(100, 784, "cuda") == 2**28 // (100 * 784 * 4) == 855
    monkeypatch.setattr(importance, "_device_memory", lambda device: 0)
    assert auto_chunk(100, 784, "cuda") == 1  # never zero


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_the_gpu_default_chunk_is_sized_by_the_memory_of_the_device():
    _, total = torch.cuda.mem_get_info()
    expected = min(GPU_CHUNK_BYTES, total // GPU_MEMORY_SHARE) // (100 * 784 * 4)
    chunk = auto_chunk(100, 784, "cuda")
    assert chunk == auto_chunk(100, 784, "cuda:0")
    assert abs(chunk - expected) <= expected // 100  # (the driver's total and the properties')


def test_a_bad_chunk_is_refused(model_and_data):
    from torchlvm.errors import ConfigError

    model, x = model_and_data
    with pytest.raises(ConfigError, match="chunk must be a positive integer, got 0"):
        log_marginal_is(model, x, num_samples=5, chunk=0)


def test_the_hooks_see_each_chunk_and_leave_the_estimate_bit_identical(model_and_data):
    """gaps' importance-sampling bar jumped from 0 to done: log_marginal_is had no hook. With
    ``advance`` it is told each chunk's samples; evaluate cuts its IWAE bounds from the
    estimate's samples: ``log_weights`` receives each chunk's (n, B) log weights in the order
    drawn, the estimate's own. Either way the estimate is the same to the bit."""
    model, x = model_and_data
    torch.manual_seed(1)
    reference = log_marginal_is(model, x, num_samples=50, chunk=16)
    done, chunks = [], []
    torch.manual_seed(1)
    estimate = log_marginal_is(
        model, x, num_samples=50, chunk=16, advance=done.append, log_weights=chunks.append
    )
    assert done == [16, 16, 16, 2] == [len(part) for part in chunks]
    for name in ("mean", "stderr", "ess"):
        assert torch.equal(getattr(estimate, name), getattr(reference, name)), name
    log_w = torch.cat(chunks)
    assert log_w.shape == (50, len(x))
    torch.testing.assert_close(torch.logsumexp(log_w, 0) - math.log(50), estimate.mean)


@pytest.mark.parametrize(
    "estimate",
    [
        lambda model, x: log_marginal_is(model, x, num_samples=12, chunk=1),
        lambda model, x: iwae_bound(model, x, num_samples=12, chunk=1),
    ],
    ids=["log_marginal_is", "iwae_bound"],
)
def test_inputs_are_checked_once_not_once_per_chunk(model_and_data, estimate, monkeypatch):
    from torchlvm.inference import importance, objectives

    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return check_rows(*args, **kwargs)

    monkeypatch.setattr(importance, "check_rows", counted)
    monkeypatch.setattr(objectives, "check_rows", counted)
    model, x = model_and_data
    estimate(model, x)  # 12 chunks of one sample
    assert calls == ["x"]


@pytest.mark.parametrize("proposal", [None, "prior", "q"])
def test_the_model_device_is_looked_up_once(model_and_data, proposal, monkeypatch):
    """The model's device was looked up twice per call (for x, then again for the proposal,
    None included): once is enough for x, c and the proposal."""
    from torchlvm import _checks

    model, x = model_and_data
    proposal = model.encode(x) if proposal == "q" else proposal
    looked_up, model_device = [], _checks.model_device

    def counted(*args, **kwargs):
        looked_up.append(1)
        return model_device(*args, **kwargs)

    monkeypatch.setattr(_checks, "model_device", counted)
    log_marginal_is(model, x, num_samples=2, proposal=proposal)
    assert len(looked_up) == 1
