"""The entry-point checks of torchlvm._checks, at the public functions that use them: a batch
without rows, and gradient-taking inference under torch.inference_mode, are each one torchlvm
error that says what to do, not torch's message from deep inside a distribution or autograd."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Independent, Normal

from torchlvm.errors import ConfigError, DataError
from torchlvm.inference import (
    elbo,
    fit_local_posterior,
    identity_trace,
    inference_gaps,
    iwae_bound,
    log_importance_weights,
    log_marginal_ais,
    log_marginal_is,
    refine,
)
from torchlvm.inference.local_flow import fit_local_flow
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

CALLS = {
    "log_marginal_ais": lambda m, x: log_marginal_ais(m, x, num_steps=2, num_chains=2),
    "fit_local_posterior": lambda m, x: fit_local_posterior(m, x, steps=2),
    "refine": lambda m, x: refine(m, x, steps=2, log_lik_method=exact(m)),
    "fit_local_flow": lambda m, x: fit_local_flow(m, x, steps=2, num_samples=2),
    "inference_gaps": lambda m, x: inference_gaps(m, x, k=4, local_steps=2, elbo_samples=4),
}


def exact(model) -> str:
    """The log_lik_method refine takes on a model: 'analytic' on PPCA's exact posterior, which
    Monte Carlo steps are refused (userL #2)."""
    return "analytic" if hasattr(model, "log_marginal") else "mc"


CONDITIONED = {
    "log_marginal_ais": lambda m, x, c: log_marginal_ais(m, x, c, num_steps=2, num_chains=2),
    "fit_local_posterior": lambda m, x, c: fit_local_posterior(m, x, c, steps=2),
    "refine": lambda m, x, c: refine(m, x, c, steps=2),
    "fit_local_flow": lambda m, x, c: fit_local_flow(m, x, c, steps=2, num_samples=2),
    "inference_gaps": lambda m, x, c: inference_gaps(m, x, c, k=4, local_steps=2, elbo_samples=4),
}
"""CALLS with a condition c, for a conditional model."""


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(6, latent_dim=2, hidden=(5,))).eval()


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is"])
def test_a_batch_without_rows_is_refused(vae, name):
    call = CALLS.get(name, lambda m, x: log_marginal_is(m, x, num_samples=4))
    with pytest.raises(DataError, match=r"x has no rows \(shape \(0, 6\)\); pass at least one"):
        call(vae, torch.zeros(0, 6))


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is"])
def test_one_example_without_its_batch_axis_is_refused(vae, name):
    # a VAE reads (D,) as an example with no batch axis, and each of these functions sized its
    # per-row state from x.shape[0]: 6 per-point q for one example (fit_local_posterior), the
    # chains' axis returned as if rows (log_marginal_ais), 'loc must have shape (B, K)' (refine)
    call = CALLS.get(name, lambda m, x: log_marginal_is(m, x, num_samples=4))
    x = torch.bernoulli(torch.full((6,), 0.5))
    with pytest.raises(
        DataError,
        match=r"^x must be \(B, D\), got shape \(6,\); pass one example "
        r"as x\.reshape\(1, -1\)$",
    ):
        call(vae, x)
    call(vae, x.reshape(1, -1))  # the fix the message names


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is", "elbo"])
def test_an_estimator_where_its_model_goes_names_model_(vae, name):
    """elbo(est, x) with a fitted VAEEstimator, a researcher's first try, reached
    "AttributeError: 'VAEEstimator' object has no attribute 'encode'" (inference_gaps: 'use
    fit_local_posterior', which failed the same way); a state dict likewise."""
    from torchlvm.estimators import VAEEstimator

    call = {
        **CALLS,
        "log_marginal_is": lambda m, x: log_marginal_is(m, x, num_samples=4),
        "elbo": lambda m, x: elbo(m, x),
    }[name]
    x = torch.bernoulli(torch.full((3, 6), 0.5))
    est = VAEEstimator(epochs=1, hidden=(4,), latent_dim=2, random_state=0).fit(x.numpy())
    with pytest.raises(
        ConfigError,
        match=r"^model must be a torchlvm model .* got VAEEstimator; "
        r"pass the estimator's trained model, est.model_$",
    ):
        call(est, x)
    with pytest.raises(ConfigError, match=r"got OrderedDict; load the model with torchlvm.load"):
        call(vae.state_dict(), x)
    call(est.model_, x.double())  # the fix it names


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is", "elbo", "iwae_bound"])
def test_x_on_another_device_than_the_model_is_named(vae, name):
    """A model on one device and x on another (a GPU model, CPU rows) met torch's error from
    inside a layer (on the CPU stand-in here, a meta tensor: 'Tensor.item() cannot be called on
    meta tensors'); it names both devices and the moves that fix it."""
    call = {
        **CALLS,
        "log_marginal_is": lambda m, x: log_marginal_is(m, x, num_samples=4),
        "elbo": lambda m, x: elbo(m, x),
        "iwae_bound": lambda m, x: iwae_bound(m, x, num_samples=2),
    }[name]
    with pytest.raises(
        DataError,
        match=r"^x is on meta and the model on cpu; move x there with "
        r"x\.to\('cpu'\) \(or the model with model\.to\('meta'\)\)$",
    ):
        call(vae, torch.zeros(3, 6, device="meta"))


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is", "elbo", "iwae_bound"])
def test_a_condition_on_another_device_than_the_model_is_named(name):
    """x on the model's device but c elsewhere (labels one-hot on the CPU beside a GPU model)
    passed the device check, which looked at x alone, and met torch's error from inside a
    layer (here, on the meta stand-in, 'Tensor.item() cannot be called on meta tensors')."""
    torch.manual_seed(0)
    cvae = CVAE(CVAEConfig(6, 3, latent_dim=2, hidden=(5,), num_classes=3)).eval()
    call = {
        **CONDITIONED,
        "log_marginal_is": lambda m, x, c: log_marginal_is(m, x, c, num_samples=4),
        "elbo": lambda m, x, c: elbo(m, x, c),
        "iwae_bound": lambda m, x, c: iwae_bound(m, x, c, num_samples=2),
    }[name]
    x, c = torch.bernoulli(torch.full((3, 6), 0.5)), torch.eye(3)
    with pytest.raises(
        DataError,
        match=r"^c is on meta and the model on cpu; move c there with "
        r"c\.to\('cpu'\) \(or the model with model\.to\('meta'\)\)$",
    ):
        call(cvae, x, c.to("meta"))
    call(cvae, x, c)  # where the message says


GIVEN_Q = {
    "elbo": ("q", lambda m, x, q: elbo(m, x, q=q)),
    "iwae_bound": ("proposal", lambda m, x, q: iwae_bound(m, x, num_samples=2, proposal=q)),
    "log_importance_weights": (
        "proposal",
        lambda m, x, q: log_importance_weights(m, x, num_samples=2, proposal=q),
    ),
    "log_marginal_is": (
        "proposal",
        lambda m, x, q: log_marginal_is(m, x, num_samples=2, proposal=q),
    ),
    "fit_local_posterior": ("init", lambda m, x, q: fit_local_posterior(m, x, steps=2, init=q)),
    "fit_local_flow": (
        "init",
        lambda m, x, q: fit_local_flow(m, x, steps=2, num_samples=2, init=q),
    ),
}


@pytest.mark.parametrize("name", GIVEN_Q)
def test_a_q_built_on_another_device_than_the_model_is_named(vae, name):
    """A q of the caller's (elbo's q, a proposal, a per-point fit's init) built from tensors on
    another device than the model's met torch's error from inside a density (on the meta
    stand-in: 'Tensor.item() cannot be called on meta tensors'); a distribution has no .to,
    so the message says to build it there."""
    label, call = GIVEN_Q[name]
    x = torch.bernoulli(torch.full((3, 6), 0.5))

    def q(device: str) -> Independent:
        loc = torch.zeros(3, 2, device=device)
        # (unvalidated: validating a meta tensor's values is itself torch's meta error)
        return Independent(Normal(loc, torch.ones_like(loc), validate_args=False), 1)

    with pytest.raises(
        DataError,
        match=rf"^{label} is on meta and the model on cpu; build {label} from tensors there "
        r"\(or move the model with model\.to\('meta'\)\)$",
    ):
        call(vae, x, q("meta"))
    call(vae, x, q("cpu"))


@pytest.mark.parametrize("name", [*CALLS, "log_marginal_is", "elbo", "iwae_bound"])
def test_boolean_rows_are_refused_for_every_model(name):
    """x > 0.5, the binarized rows a researcher makes first, passed PPCA's encoder (its
    scikit-learn face casts) and met torch's 'Subtraction, the `-` operator, with a bool tensor
    is not supported' in the density of x; a VAE's encoder refused it. Both now refuse it at the
    entry point, naming .float()."""
    ppca = PPCA(latent_dim=2).fit(torch.randn(40, 6, generator=torch.Generator().manual_seed(0)))
    call = {
        **CALLS,
        "log_marginal_is": lambda m, x: log_marginal_is(m, x, num_samples=4),
        "elbo": lambda m, x: elbo(m, x),
        "iwae_bound": lambda m, x: iwae_bound(m, x, num_samples=2),
    }[name]
    x = torch.rand(3, 6, generator=torch.Generator().manual_seed(1)) > 0.5
    with pytest.raises(DataError, match=r"^x must be a floating-point tensor, got torch.bool; "):
        call(ppca, x)
    call(ppca, x.float())  # the fix it names


@pytest.mark.parametrize("name", CALLS)
def test_gradient_steps_under_inference_mode_say_to_use_no_grad(vae, name):
    x = torch.bernoulli(torch.full((3, 6), 0.5))
    with (
        torch.inference_mode(),
        pytest.raises(ConfigError, match=rf"^{name} takes gradients.*no_grad"),
    ):
        CALLS[name](vae, x)
    with torch.no_grad():  # the fix the message names
        CALLS[name](vae, x)


BOUNDS = {
    "elbo": lambda m, x: elbo(m, x),
    "iwae_bound": lambda m, x: iwae_bound(m, x, num_samples=2),
    "log_importance_weights": lambda m, x: log_importance_weights(m, x, num_samples=2),
    "identity_trace": lambda m, x: identity_trace(m, x, steps=2),
    "log_marginal_is": lambda m, x: log_marginal_is(m, x, num_samples=4),
}


@pytest.mark.parametrize("kind", ["numpy", "list"])
@pytest.mark.parametrize("name", [*CALLS, *BOUNDS])
def test_x_that_is_no_tensor_is_named_for_a_model_that_encodes_arrays(name, kind):
    """PPCA's encode takes arrays (scikit-learn's contract), so a NumPy x went through it to
    torch's ValueError in log_prob, or an AttributeError (.detach, .shape)."""
    X = torch.randn(20, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ppca = PPCA(latent_dim=2).fit(X)
    call = {**CALLS, **BOUNDS}[name]
    x = X[:3].numpy() if kind == "numpy" else X[:3].tolist()
    with pytest.raises(DataError, match=r"^x must be a torch.Tensor, got .*torch.as_tensor"):
        call(ppca, x)
    call(ppca, X[:3])  # the fix the message names


def test_importance_sampling_runs_under_inference_mode(vae):
    with torch.inference_mode():
        assert log_marginal_is(vae, torch.ones(3, 6), num_samples=4).mean.shape == (3,)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda m, x: fit_local_posterior(m, x, steps=2, lr="a"), "lr must be a positive finite"),
        (lambda m, x: fit_local_posterior(m, x, steps=2, lr=float("inf")), "lr must be a positive"),
        (lambda m, x: refine(m, x, steps=2, lr="a"), "lr must be a positive finite number, got"),
        (
            lambda m, x: log_marginal_ais(m, x, num_steps=2, num_chains=2, target_acceptance="a"),
            r"target_acceptance must be in \(0, 1\), got 'a'",
        ),
        (
            lambda m, x: inference_gaps(m, x, k=4, local_steps=2, elbo_samples=4, seed="a"),
            "seed must be an integer, got 'a'",
        ),
    ],
)
def test_an_argument_of_the_wrong_type_is_named(vae, call, match):
    with pytest.raises(ConfigError, match=match):
        call(vae, torch.ones(3, 6))


def normal(shape: tuple[int, ...]) -> Normal:
    return Normal(torch.zeros(shape), torch.ones(shape))


@pytest.mark.parametrize(
    "q, match",
    [
        (lambda: Independent(normal((2, 2)), 1), r"has batch shape \(2,\) but x has \(3,\) rows"),
        (lambda: Normal(0.0, 1.0), r"has batch shape \(\) but x has \(3,\) rows"),
        (
            lambda: normal((3, 2)),
            r"has batch shape \(3, 2\) and no event dimension, .*: "
            r"torch.distributions.Independent\(\w+, 1\)$",
        ),
        (
            lambda: Independent(normal((3, 5)), 1),
            r"is a distribution over \(5,\), but the model's z has shape \(2,\)",
        ),
    ],
    ids=["other-rows", "one-scalar", "no-event", "other-z"],
)
@pytest.mark.parametrize("name", GIVEN_Q)
def test_a_given_q_that_is_not_one_per_row_over_z_is_named(vae, name, q, match):
    """elbo's q, iwae_bound's and log_marginal_is' proposal of another batch than x's rows
    reached torch's 'The size of tensor a (2) must match the size of tensor b (3)', and a
    scalar Normal(0., 1.) the decoder's refusal of 'z', which the caller never passed (userL
    #14); fit_local_posterior's init had the one check, now check_rows' for all."""
    label, call = GIVEN_Q[name]
    x = torch.bernoulli(torch.full((3, 6), 0.5))
    with pytest.raises(DataError, match=rf"^{label} {match}"):
        call(vae, x, q())


def test_a_count_may_be_any_non_negative_integer_numpy_too(vae):
    """One check for a seed or a step count (PPCA and refine each had their own, and refine's
    refused GridSearchCV's NumPy integers)."""
    import numpy as np

    from torchlvm._checks import check_non_negative_int
    from torchlvm.models.ppca import PPCAConfig

    assert check_non_negative_int("seed", np.int64(3)) == 3
    assert type(check_non_negative_int("seed", np.int64(3))) is int
    for bad in (-1, True, 1.0):
        with pytest.raises(ConfigError, match=f"seed must be a non-negative integer, got {bad}"):
            check_non_negative_int("seed", bad)
    config = PPCAConfig(latent_dim=np.int64(2), max_iter=np.int32(5), seed=np.uint8(1))
    assert [type(v) for v in (config.latent_dim, config.max_iter, config.seed)] == [int] * 3
    assert refine(vae, torch.ones(3, 6), steps=np.int64(2)).mean.shape == (3, 2)
