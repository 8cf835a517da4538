"""The importance-sampled log-likelihood sharded over 2 gloo processes (torch.multiprocessing
spawn) equals the single-process result: every block of examples draws the same random numbers
whichever rank computes it, and the gather copies values without reducing them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError
from torchlvm.evaluation.distributed import log_marginal_is_sharded
from torchlvm.inference import log_marginal_is
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

ROOT = Path(__file__).resolve().parents[2]
N, BLOCK, K = 300, 64, 200  # 5 blocks: 3 for rank 0 (one of them partial), 2 for rank 1


def _model() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(64, latent_dim=4, hidden=(32,)))


def _data() -> torch.Tensor:
    return load_dataset("digits", "test", binarize="threshold").x[:N]


def _worker(rank: int, world: int, folder: str) -> None:
    """One process of the group: its estimate (all ranks get all rows) goes to rank<r>.pt."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/rendezvous", rank=rank, world_size=world
    )
    try:
        est = log_marginal_is_sharded(_model(), _data(), num_samples=K, chunk=64, block=BLOCK)
        torch.save(torch.stack([est.mean, est.stderr, est.ess]), f"{folder}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> list[torch.Tensor]:
    folder = tmp_path_factory.mktemp("sharded")
    if str(ROOT) not in sys.path:  # spawned children import this module by its name
        sys.path.insert(0, str(ROOT))
    mp.spawn(_worker, args=(2, str(folder)), nprocs=2, join=True)
    return [torch.load(folder / f"rank{r}.pt", weights_only=True) for r in range(2)]


def test_two_ranks_equal_one_process(sharded: list[torch.Tensor]) -> None:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        est = log_marginal_is_sharded(_model(), _data(), num_samples=K, chunk=64, block=BLOCK)
    finally:
        torch.set_num_threads(threads)
    single = torch.stack([est.mean, est.stderr, est.ess])
    assert single.shape == (3, N) and single.dtype == torch.float32
    for result in sharded:  # every rank holds the whole, ordered result
        torch.testing.assert_close(result, single, rtol=1e-6, atol=1e-6)


def test_it_estimates_log_p_x(sharded: list[torch.Tensor]) -> None:
    """The same estimator as log_marginal_is: averages agree within their standard errors."""
    torch.manual_seed(1)
    plain = log_marginal_is(_model(), _data(), num_samples=K, chunk=64)
    mean, stderr = sharded[0][0], sharded[0][1]
    gap = (mean - plain.mean).mean().abs()
    assert gap < 4 * torch.sqrt((stderr**2 + plain.stderr**2).mean() / N)


def test_exact_on_ppca_and_leaves_the_generator_alone() -> None:
    x = load_dataset("linear-gaussian", "all", n=150).x.double()
    model = PPCA(latent_dim=2).fit(x)
    state = torch.get_rng_state()
    est = log_marginal_is_sharded(model, x, num_samples=400, block=32, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert est.mean.dtype == torch.float64 and est.mean.shape == (150,)
    exact = model.log_marginal(x)
    assert ((est.mean - exact).abs() < 5 * est.stderr + 1e-6).float().mean() > 0.95


@pytest.mark.parametrize("name", ["num_samples", "chunk", "block"])
def test_bad_counts_are_refused(name: str) -> None:
    kwargs = {"num_samples": 10, "chunk": 5, "block": 5, name: 0}
    with pytest.raises(ConfigError, match=f"{name} must be a positive integer, got 0"):
        log_marginal_is_sharded(_model(), _data()[:10], **kwargs)
