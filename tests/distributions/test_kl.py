"""KL through the registry: analytic vs Monte Carlo, KL(p‖p) = 0, KL ≥ 0, asymmetry."""

import pytest
import torch
from torch.distributions import Categorical, Independent, MultivariateNormal, Normal

from torchlvm.distributions import kl, kl_monte_carlo
from torchlvm.errors import ConfigError, DataError


def diagonal(loc, scale):
    return Independent(Normal(torch.as_tensor(loc), torch.as_tensor(scale)), 1)


def full(loc, cov):
    return MultivariateNormal(torch.as_tensor(loc), covariance_matrix=torch.as_tensor(cov))


def random_full(generator, batch, k):
    a = torch.randn(batch, k, k, generator=generator, dtype=torch.float64)
    cov = a @ a.mT + 0.5 * torch.eye(k, dtype=torch.float64)
    return full(torch.randn(batch, k, generator=generator, dtype=torch.float64), cov)


def random_diagonal(generator, batch, k):
    loc = torch.randn(batch, k, generator=generator, dtype=torch.float64)
    scale = torch.rand(batch, k, generator=generator, dtype=torch.float64) + 0.3
    return diagonal(loc, scale)


PAIRS = {
    "diag-diag": (random_diagonal, random_diagonal),
    "full-diag": (random_full, random_diagonal),
    "diag-full": (random_diagonal, random_full),
    "full-full": (random_full, random_full),
}


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
def test_analytic_kl_matches_monte_carlo(pair):
    g = torch.Generator().manual_seed(0)
    q, p = pair[0](g, 4, 3), pair[1](g, 4, 3)
    torch.manual_seed(1)
    exact = kl(q, p)
    estimate = kl(q, p, method="mc", num_samples=200_000)
    assert exact.shape == (4,)
    # Monte Carlo standard error from the same draws bounds the allowed difference
    z = q.sample((200_000,))
    stderr = (q.log_prob(z) - p.log_prob(z)).std(0) / 200_000**0.5
    assert torch.all((exact - estimate).abs() < 5 * stderr)


@pytest.mark.parametrize("pair", PAIRS.values(), ids=PAIRS.keys())
def test_kl_is_non_negative_and_zero_only_for_equal(pair):
    g = torch.Generator().manual_seed(2)
    q, p = pair[0](g, 8, 3), pair[1](g, 8, 3)
    assert torch.all(kl(q, p) > 0)
    assert torch.allclose(kl(q, q), torch.zeros(8, dtype=torch.float64), atol=1e-12)


def test_kl_is_not_symmetric():
    q, p = diagonal([0.0], [1.0]), diagonal([1.0], [3.0])
    assert not torch.isclose(kl(q, p), kl(p, q))


def test_full_against_diagonal_is_the_textbook_value():
    # KL(N(0, 2I) ‖ N(0, I)) in 2-D = ½(tr 2I − 2 − log det 2I) = 1 − log 2
    q = full(torch.zeros(2), 2 * torch.eye(2))
    p = diagonal(torch.zeros(2), torch.ones(2))
    assert kl(q, p).item() == pytest.approx(1 - torch.log(torch.tensor(2.0)).item(), rel=1e-6)


def test_categorical_kl():
    p = Categorical(probs=torch.tensor([0.5, 0.25, 0.25]))
    q = Categorical(probs=torch.tensor([0.25, 0.5, 0.25]))
    expected = 0.5 * torch.log(torch.tensor(2.0)) + 0.25 * torch.log(torch.tensor(0.5))
    assert kl(p, q).item() == pytest.approx(expected.item(), rel=1e-6)
    assert kl(p, p).item() == pytest.approx(0.0, abs=1e-7)
    torch.manual_seed(0)
    assert kl(p, q, method="mc", num_samples=100_000).item() == pytest.approx(
        expected.item(), abs=0.01
    )


def test_monte_carlo_reuses_given_samples():
    q, p = diagonal([0.0], [1.0]), diagonal([1.0], [2.0])
    z = torch.zeros(5, 1)
    assert kl_monte_carlo(q, p, z=z).item() == pytest.approx(
        (q.log_prob(z) - p.log_prob(z)).mean().item()
    )


def test_unregistered_pair_names_the_mc_option():
    q = Categorical(probs=torch.tensor([0.5, 0.5]))
    with pytest.raises(ConfigError, match="method='mc'"):
        kl(q, Normal(torch.tensor(0.0), 1.0))


def test_unknown_method():
    with pytest.raises(ConfigError, match="method must be one of"):
        kl(diagonal([0.0], [1.0]), diagonal([0.0], [1.0]), method="exact")


def test_an_unregistered_pair_over_other_spaces_names_the_spaces_not_mc():
    """Independent over (2, K) against StandardNormal over (K,) has no registered formula, and
    the error offered method='mc', which refuses the pair for its event shapes: the shapes are
    the problem, and are named first."""
    from torchlvm.distributions import StandardNormal

    q = Independent(Normal(torch.zeros(3, 2, 4), torch.ones(3, 2, 4)), 2)
    p = StandardNormal(4, batch_shape=(3,))
    for method in ("analytic", "mc"):
        with pytest.raises(DataError, match=r"event shapes \(2, 4\) and \(4,\)"):
            kl(q, p, method=method)


@pytest.mark.parametrize("method", ["analytic", "mc"])
@pytest.mark.parametrize(
    ("p", "match"),
    [
        (diagonal(torch.zeros(3, 5), torch.ones(3, 5)), r"event shapes \(2,\) and \(5,\)"),
        (diagonal(torch.zeros(4, 2), torch.ones(4, 2)), r"batch shapes \(3,\) and \(4,\)"),
    ],
    ids=["other-latent-dim", "other-batch"],
)
def test_distributions_over_other_spaces_are_named(p, match, method):
    """KL of q over R^2 against p over R^5 (or 3 rows against 4) was torch's 'size of tensor a
    must match the size of tensor b' from deep inside the registry's formula."""
    q = diagonal(torch.zeros(3, 2), torch.ones(3, 2))
    with pytest.raises(DataError, match=rf"^KL\(q ‖ p\) needs .*{match}"):
        kl(q, p, method=method)
    assert kl(q, diagonal(torch.zeros(1, 2), torch.ones(1, 2)), method=method).shape == (3,)


@pytest.mark.parametrize("method", ["analytic", "mc"])
def test_an_argument_that_is_no_distribution_is_named(method):
    """kl(q.mean, p), a tensor where q goes, said 'no analytic KL is registered for (Tensor ‖
    Independent); pass method='mc'', which then failed inside; it names the argument."""
    p = Independent(Normal(torch.zeros(3), torch.ones(3)), 1)
    with pytest.raises(
        ConfigError, match=r"^q must be a torch.distributions.Distribution, got torch.Tensor; "
    ):
        kl(torch.zeros(3), p, method=method)
    with pytest.raises(
        ConfigError, match=r"^p must be a torch.distributions.Distribution, got float"
    ):
        kl(p, 0.0, method=method)
