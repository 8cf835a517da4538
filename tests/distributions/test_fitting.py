"""The two KL directions on a two-mode target: forward KL(p‖q) covers both modes (maximum
likelihood ≈ moment matching), reverse KL(q‖p) — the ELBO's direction — locks onto one."""

import math

import pytest
import torch
from torch.distributions import MultivariateNormal

from torchlvm.distributions.fitting import (
    bimodal_target,
    fit_gaussian,
    mass_per_mode,
    moment_match,
    reverse_optimum,
)
from torchlvm.errors import ConfigError

STEPS = 300


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 1-D and 2-D problems: extra threads only add overhead
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module", params=[1, 2], ids=["1-D", "2-D"])
def fits(request):
    target = bimodal_target(request.param)
    forward = fit_gaussian(target, "forward", steps=STEPS, seed=0)
    reverse = fit_gaussian(target, "reverse", steps=STEPS, seed=0)
    return target, forward, reverse


def test_forward_fit_is_wider_than_reverse_fit(fits):
    _, forward, reverse = fits
    f, r = forward.q.covariance_matrix, reverse.q.covariance_matrix
    assert f[0, 0] >= r[0, 0]  # along the axis through the modes
    assert torch.linalg.det(f) >= torch.linalg.det(r)


def test_reverse_fit_locks_onto_one_mode(fits):
    target, _, reverse = fits
    modes = target.component_distribution.mean  # (2, dim)
    distance = (modes - reverse.q.loc).norm(dim=-1).min()
    assert distance < 0.3
    assert reverse.mass_per_mode.max() > 0.95
    assert reverse.q.covariance_matrix[0, 0] == pytest.approx(1.0, abs=0.3)  # one mode's width


def test_forward_fit_covers_both_modes_and_matches_moments(fits):
    target, forward, _ = fits
    assert torch.all(forward.mass_per_mode >= 0.3)
    exact = moment_match(target)
    torch.testing.assert_close(forward.q.loc, exact.loc, atol=0.3, rtol=0)
    torch.testing.assert_close(
        forward.q.covariance_matrix, exact.covariance_matrix, atol=0.3, rtol=0.1
    )


def test_history_records_a_falling_kl(fits):
    _, forward, reverse = fits
    for fit in (forward, reverse):
        assert fit.history.shape == (STEPS,)
        assert fit.history[-20:].mean() < fit.history[:20].mean()


def test_mass_per_mode_matches_monte_carlo():
    target = bimodal_target(2)
    q = torch.distributions.MultivariateNormal(
        torch.tensor([0.7, -0.2], dtype=torch.float64),
        torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64),
    )
    g = torch.Generator().manual_seed(0)
    eps = torch.randn(200_000, 2, generator=g, dtype=torch.float64)
    z = q.loc + eps @ q.scale_tril.T
    expected = (z[:, 0] > 0).double().mean()
    mass = mass_per_mode(q, target)
    assert mass.sum().item() == pytest.approx(1.0)
    assert mass[1].item() == pytest.approx(expected.item(), abs=0.005)


def test_seeded_and_leaves_the_global_rng_alone():
    target = bimodal_target(1)
    state = torch.get_rng_state()
    a = fit_gaussian(target, "reverse", steps=20, seed=5)
    b = fit_gaussian(target, "reverse", steps=20, seed=5)
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a.q.loc, b.q.loc)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: bimodal_target(3), "dim must be 1 or 2, got 3"),
        (lambda: bimodal_target(1, separation=0), "separation must be a positive number"),
        (lambda: bimodal_target(1, weights=(1.0, -1.0)), "weights must be two positive"),
        (lambda: fit_gaussian(bimodal_target(1), "sideways"), "direction must be one of"),
        (lambda: fit_gaussian(bimodal_target(1), steps=0), "steps must be a positive integer"),
    ],
    ids=["dim=3", "separation=0", "negative-weight", "unknown-direction", "steps=0"],
)
def test_bad_arguments(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("separation", [0.5, 3.0, 6.0, 200.0])
def test_the_reverse_optimum_is_a_minimum_of_the_monte_carlo_kl(dim, separation):
    """reverse_optimum's KL equals a 400,000-draw Monte Carlo KL(q* ‖ p) within 4 standard errors
    (and 1e-6 nats where q* sits on a mode, whose KL → log 2), and moving q*'s mean or variance
    along the mode axis raises the Monte Carlo KL (common draws)."""
    target = bimodal_target(dim, separation)
    best, best_kl = reverse_optimum(target)

    def mc_kl(shift: float, stretch: float) -> tuple[float, float]:
        """KL(q' ‖ p) by Monte Carlo, q' = q* moved by shift and its sd stretched, along z₁."""
        loc, cov = best.loc.clone(), best.covariance_matrix.clone()
        loc[0] += shift
        cov[0, 0] *= stretch**2
        q = MultivariateNormal(loc, covariance_matrix=cov)
        z = q.loc + eps @ q.scale_tril.T
        values = q.log_prob(z) - target.log_prob(z)
        return values.mean().item(), (values.std() / len(values) ** 0.5).item()

    gen = torch.Generator().manual_seed(0)
    eps = torch.randn(400_000, dim, generator=gen, dtype=torch.float64)
    value, stderr = mc_kl(0.0, 1.0)
    assert abs(value - best_kl) < 4 * stderr + 1e-9
    if separation >= 6:
        assert best.loc[0].abs().item() == pytest.approx(separation / 2, abs=0.05)
    if separation >= 20:
        assert best_kl == pytest.approx(math.log(2), abs=1e-6)
    if separation <= 3:  # close modes: one broad q centred between them
        assert best.loc[0].abs().item() < 1e-4
    for shift, stretch in ((0.3, 1.0), (-0.3, 1.0), (0.0, 1.3), (0.0, 0.7)):
        assert mc_kl(shift, stretch)[0] > value
