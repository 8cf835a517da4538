"""Posterior families by name: shapes, densities against their definitions, the KL choice each
declares, and saving/loading a model with each."""

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal

from torchlvm.distributions import kl
from torchlvm.errors import ConfigError
from torchlvm.inference import elbo
from torchlvm.io import load
from torchlvm.models.base import config_fingerprint
from torchlvm.models.config import config_to_dict
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.posteriors import (
    MIN_SCALE,
    OFF_DIAGONAL_SCALE,
    POSTERIORS,
    FlowQ,
    posterior_family,
)
from torchlvm.models.vae import VAE, VAEConfig

FAMILIES = ["diag", "full", "flow"]


def vae(posterior: str, **kwargs) -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(12, latent_dim=3, hidden=(16,), posterior=posterior, **kwargs))


@pytest.fixture
def x():
    return (torch.rand(5, 12, generator=torch.Generator().manual_seed(1)) > 0.5).float()


def test_registry_holds_the_three_families():
    assert set(POSTERIORS) >= {"diag", "full", "flow"}


@pytest.mark.parametrize("posterior", FAMILIES, ids=FAMILIES)
def test_encode_returns_a_distribution_over_k_per_example(posterior, x):
    q = vae(posterior).encode(x)
    z = q.rsample((7,))  # (S, B, K)
    assert q.batch_shape == (5,) and q.event_shape == (3,) and z.shape == (7, 5, 3)
    assert q.log_prob(z).shape == (7, 5) and torch.isfinite(q.log_prob(z)).all()


@pytest.mark.parametrize(
    ("posterior", "kind", "method"),
    [
        ("diag", Independent, "analytic"),
        ("full", MultivariateNormal, "analytic"),
        ("flow", FlowQ, "mc"),
    ],
    ids=FAMILIES,
)
def test_each_family_declares_its_kl_method(posterior, kind, method, x):
    model = vae(posterior)
    assert isinstance(model.encode(x), kind) and model.kl_method == method


def test_full_covariance_has_correlations_and_a_cholesky_factor(x):
    model = vae("full")
    torch.nn.init.normal_(model.encoder[-1].weight, std=0.1)  # as after some training
    q = model.encode(x)
    L = q.scale_tril
    assert torch.equal(L, L.tril()) and (torch.diagonal(L, dim1=-2, dim2=-1) > 0).all()
    assert (L.tril(-1).abs() > 0).any()  # not diagonal: the strict lower triangle is amortized


def test_full_covariance_analytic_kl_matches_monte_carlo(x):
    model = vae("full")
    torch.nn.init.normal_(model.encoder[-1].weight[6:], std=5.0)  # M: correlations
    q, p = model.encode(x), model.prior(batch_shape=(5,))
    corr = q.covariance_matrix / (q.variance[:, :, None] * q.variance[:, None, :]).sqrt()
    assert (corr.tril(-1).abs() > 0.3).any()
    torch.manual_seed(0)
    mc = kl(q, p, method="mc", num_samples=40000)
    assert torch.allclose(kl(q, p), mc, atol=0.03)


def test_full_covariance_factor_is_unit_lower_triangular_times_the_diagonal_sigma():
    family = posterior_family("full", 3)
    params = torch.tensor([[0.1, 0.2, 0.3, -1.0, 0.0, 2.0, 4.0, 5.0, 6.0]])  # μ, pre-σ, M
    q = family(params)
    sigma = torch.nn.functional.softplus(torch.tensor([-1.0, 0.0, 2.0])) + MIN_SCALE
    unit = torch.tensor([[1.0, 0.0, 0.0], [0.4, 1.0, 0.0], [0.5, 0.6, 1.0]])  # I + 0.1 M
    assert OFF_DIAGONAL_SCALE == 0.1
    assert torch.allclose(q.scale_tril[0], unit @ torch.diag(sigma))
    assert torch.allclose(q.loc[0], torch.tensor([0.1, 0.2, 0.3]))
    # σ_i² is z_i's variance given z_1..z_(i-1): the conditionals of Σ = L Lᵀ
    cov = q.covariance_matrix[0]
    conditional = cov[2, 2] - cov[2, :2] @ torch.linalg.solve(cov[:2, :2], cov[:2, 2])
    assert torch.allclose(conditional, sigma[2] ** 2)


def test_full_covariance_q_with_zero_off_diagonals_is_the_diagonal_q(x):
    """The full family contains the diagonal one: at the diagonal model's weights (and zero
    off-diagonal outputs) it gives the same draws, densities, KL and ELBO."""
    diag, full = vae("diag"), vae("full")
    with torch.no_grad():
        for p, r in zip(full.parameters(), diag.parameters(), strict=True):
            p.zero_()
            p[tuple(slice(0, n) for n in r.shape)] = r  # the extra rows are L's off-diagonals
    qd, qf = diag.encode(x), full.encode(x)
    torch.manual_seed(0)
    z = qd.rsample((4,))
    torch.manual_seed(0)
    assert torch.equal(qf.rsample((4,)), z)
    assert torch.allclose(qf.log_prob(z), qd.log_prob(z), atol=1e-5)
    torch.manual_seed(1)
    ed = elbo(diag, x, num_samples=3)
    torch.manual_seed(1)
    ef = elbo(full, x, num_samples=3)
    assert torch.allclose(ef.kl, ed.kl, atol=1e-5) and torch.allclose(ef.elbo, ed.elbo, atol=1e-5)


def test_flow_density_is_the_change_of_variables_of_its_base(x):
    q = vae("flow").encode(x)
    z, log_q = q.rsample_and_log_prob((4,))
    assert torch.allclose(q.log_prob(z), log_q, atol=1e-4)
    u, ladj = q.transform.call_and_ladj(z)
    assert torch.allclose(log_q, q.base.log_prob(u) + ladj, atol=1e-4)
    assert not torch.allclose(z, u)  # the coupling transforms act


def test_flow_elbo_refuses_an_analytic_kl_and_uses_monte_carlo_by_default(x):
    """The refusal named kl()'s parameter, method='mc', which elbo does not take (userI #9)."""
    model = vae("flow")
    with pytest.raises(
        ConfigError,
        match=r"^no analytic KL is registered for \(\w+ ‖ StandardNormal\); pass kl_method='mc' "
        r"for a Monte Carlo estimate \(or leave kl_method out: this model declares 'mc'\)$",
    ):
        elbo(model, x, kl_method="analytic")
    torch.manual_seed(0)
    terms = elbo(model, x, num_samples=4)
    assert torch.isfinite(terms.elbo).all() and terms.elbo.shape == (5,)


def test_flow_moments_are_deterministic_and_leave_the_random_state(x):
    q = vae("flow").encode(x)
    state = torch.get_rng_state()
    first = q.mean
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(first, q.mean) and first.shape == (5, 3) and (q.stddev > 0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"posterior": "gauss"}, "posterior must be one of"),
        ({"posterior": "flow", "latent_dim": 1}, "a flow q needs latent_dim >= 2"),
        ({"posterior": "full", "latent_dim": 65}, "limited to latent_dim <= 64"),
        ({"posterior": "flow", "flow_steps": 0}, "flow_steps must be a positive integer, got 0"),
    ],
    ids=["unknown", "flow-1d", "full-too-big", "no-steps"],
)
def test_bad_posterior_settings_are_named(kwargs, match):
    settings = {"latent_dim": 3, **kwargs}
    with pytest.raises(ConfigError, match=match):
        VAEConfig(12, hidden=(16,), **settings)


@pytest.mark.parametrize(
    ("kwargs", "python", "command_line"),
    [
        ({"posterior": "flow", "latent_dim": 1}, "posterior='diag' or posterior='full'",
         "--posterior diag or --posterior full"),
        ({"posterior": "full", "latent_dim": 65}, "posterior='diag' or posterior='flow'",
         "--posterior diag or --posterior flow"),
    ],
    ids=["flow-1d", "full-too-big"],
)  # fmt: skip
def test_a_posterior_refusal_names_the_fix_in_each_interfaces_words(kwargs, python, command_line):
    """train --posterior full --latent-dim 80 said "use posterior='diag' or 'flow'", Python's
    spelling, on the command line (userI #21)."""
    with pytest.raises(ConfigError) as error:
        VAEConfig(12, hidden=(16,), **kwargs)
    assert str(error.value).endswith(f"; use {python}")
    assert error.value.on_command_line.endswith(f"; use {command_line}")


def test_default_configs_keep_the_fingerprint_of_earlier_saves():
    """Models saved before the posterior and prior fields existed must still load."""
    earlier = {  # what config.json held for this model before the fields were added
        "input_dim": 12,
        "latent_dim": 3,
        "hidden": [16],
        "activation": "relu",
        "arch": "mlp",
        "image_shape": None,
        "likelihood": "bernoulli",
        "variance": "fixed",
        "scale": 1.0,
        "linear_decoder": False,
    }
    record = config_to_dict(VAEConfig(12, latent_dim=3, hidden=(16,)))
    assert config_fingerprint("vae", record) == config_fingerprint("vae", earlier)
    flow = config_to_dict(VAEConfig(12, latent_dim=3, hidden=(16,), posterior="flow"))
    assert flow["posterior"] == "flow"


@pytest.mark.parametrize("posterior", FAMILIES, ids=FAMILIES)
def test_save_and_load_restore_the_same_q(posterior, x, tmp_path):
    model = vae(posterior, flow_steps=3).eval()
    model.save_pretrained(tmp_path / "m")
    loaded = load(tmp_path / "m")
    assert loaded.config == model.config
    z = model.encode(x).sample((3,))
    assert torch.allclose(model.encode(x).log_prob(z), loaded.encode(x).log_prob(z))


@pytest.mark.parametrize("posterior", FAMILIES, ids=FAMILIES)
def test_cvae_takes_every_family(posterior, x):
    model = CVAE(CVAEConfig(12, 2, latent_dim=3, hidden=(16,), posterior=posterior))
    c = torch.eye(2)[torch.tensor([0, 1, 0, 1, 1])]
    terms = elbo(model, x, c, num_samples=2)
    assert terms.elbo.shape == (5,) and torch.isfinite(terms.elbo).all()
    assert model.kl_method == ("mc" if posterior == "flow" else "analytic")


def test_family_output_widths():
    assert posterior_family("diag", 4).param_dim == 8
    assert posterior_family("full", 4).param_dim == 4 + 4 * 5 // 2
    assert posterior_family("flow", 4).param_dim == 16


def test_importing_the_flow_library_keeps_torch_argument_validation():
    """zuko turns validation off for every distribution on import; torchlvm relies on it to
    refuse NaN parameters (weights that turned non-finite)."""
    import torchlvm.models.posteriors  # noqa: F401  (imports zuko)

    assert torch.distributions.Distribution._validate_args is True
    with pytest.raises(ValueError):
        torch.distributions.Normal(torch.tensor(float("nan")), 1.0)


@pytest.mark.parametrize("model", ["vae", "cvae"])
def test_full_covariance_q_starts_diagonal(model):
    if model == "vae":
        net = VAE(VAEConfig(12, latent_dim=4, hidden=(16,), posterior="full"))
        q = net.encode(torch.rand(3, 12))
    else:
        net = CVAE(CVAEConfig(12, 2, latent_dim=4, hidden=(16,), posterior="full"))
        q = net.encode(torch.rand(3, 12), torch.eye(2)[[0, 1, 0]])
    assert torch.equal(q.scale_tril.tril(-1), torch.zeros(3, 4, 4))
