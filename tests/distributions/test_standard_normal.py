"""StandardNormal is torch's Independent(Normal(0, 1), 1) to every caller, and its closed-form KL
against a diagonal Gaussian equals torch's Normal-Normal KL against the tensors it leaves out."""

import pytest
import torch
from torch.distributions import Independent, MultivariateNormal, Normal, kl_divergence

from torchlvm.distributions import StandardNormal, kl
from torchlvm.distributions.diagonal import IndependentNormal

DTYPES = {"float32": (torch.float32, 1e-6), "float64": (torch.float64, 1e-12)}


def torch_standard_normal(k, batch, dtype):
    loc = torch.zeros(k, dtype=dtype)
    return Independent(Normal(loc, torch.ones_like(loc)), 1).expand(torch.Size(batch))


def diagonal_q(generator, batch, k, dtype, cls=Independent):
    loc = torch.randn(*batch, k, generator=generator, dtype=dtype) * 2
    scale = torch.rand(*batch, k, generator=generator, dtype=dtype) * 3 + 0.01
    return cls(Normal(loc.requires_grad_(), scale.requires_grad_()), 1)


def test_it_is_an_independent_normal_with_the_same_shapes_and_densities() -> None:
    p, reference = StandardNormal(3, (4, 2)), torch_standard_normal(3, (4, 2), torch.float32)
    assert isinstance(p, Independent) and isinstance(p.base_dist, Normal)
    assert (p.batch_shape, p.event_shape) == (reference.batch_shape, reference.event_shape)
    z = torch.randn(5, 4, 2, 3)
    torch.testing.assert_close(p.log_prob(z), reference.log_prob(z), rtol=0, atol=0)
    torch.testing.assert_close(p.entropy(), reference.entropy(), rtol=0, atol=0)
    torch.testing.assert_close(p.mean, reference.mean, rtol=0, atol=0)
    torch.testing.assert_close(p.variance, reference.variance, rtol=0, atol=0)
    torch.manual_seed(0)
    drawn = p.sample((6,))
    torch.manual_seed(0)
    torch.testing.assert_close(drawn, reference.sample((6,)), rtol=0, atol=0)
    wider = p.expand((7, 4, 2))
    assert isinstance(wider, StandardNormal) and wider.batch_shape == (7, 4, 2)


def test_it_makes_its_tensors_on_the_given_device_and_dtype_only_when_asked() -> None:
    p = StandardNormal(3, (2,), device="cpu", dtype=torch.float64)
    assert "base_dist" not in vars(p)  # nothing made yet
    assert p.sample().dtype == torch.float64 and p.base_dist.loc.shape == (2, 3)
    with pytest.raises(ValueError, match="value"):  # validation as torch's: a sample of shape (K,)
        StandardNormal(3, validate_args=True).log_prob(torch.tensor([0.0, float("nan"), 0.0]))


@pytest.mark.parametrize(("dtype", "rtol"), DTYPES.values(), ids=DTYPES.keys())
@pytest.mark.parametrize("cls", [Independent, IndependentNormal], ids=["Independent", "q"])
def test_closed_form_kl_equals_torchs_kl_and_its_gradients(dtype, rtol, cls) -> None:
    generator = torch.Generator().manual_seed(0)
    q = diagonal_q(generator, (64,), 20, dtype, cls)
    fast = kl(q, StandardNormal(20, (64,), dtype=dtype))
    reference = kl_divergence(q, torch_standard_normal(20, (64,), dtype))
    assert fast.shape == (64,) and fast.dtype == dtype
    torch.testing.assert_close(fast, reference, rtol=rtol, atol=0)
    weights = torch.randn(64, generator=generator, dtype=dtype)
    params = [q.base_dist.loc, q.base_dist.scale]
    fast_grads = torch.autograd.grad((fast * weights).sum(), params)
    reference_grads = torch.autograd.grad((reference * weights).sum(), params)
    for got, expected in zip(fast_grads, reference_grads, strict=True):
        torch.testing.assert_close(got, expected, rtol=rtol, atol=rtol * expected.abs().max())


def test_closed_form_kl_broadcasts_batch_shapes_as_torch_does() -> None:
    q = diagonal_q(torch.Generator().manual_seed(1), (5,), 3, torch.float64)
    fast = kl(q, StandardNormal(3, (4, 5), dtype=torch.float64))
    assert fast.shape == (4, 5)
    expected = kl_divergence(q, torch_standard_normal(3, (4, 5), torch.float64))
    torch.testing.assert_close(fast, expected, rtol=1e-12, atol=0)


def test_other_pairs_go_through_torchs_registry_against_the_made_tensors() -> None:
    generator = torch.Generator().manual_seed(2)
    loc = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    a = torch.randn(3, 3, generator=generator, dtype=torch.float64)
    full_q = MultivariateNormal(loc, covariance_matrix=a @ a.T + torch.eye(3, dtype=torch.float64))
    p = StandardNormal(3, (4,), dtype=torch.float64)
    expected = kl_divergence(full_q, torch_standard_normal(3, (4,), torch.float64))
    torch.testing.assert_close(kl(full_q, p), expected, rtol=1e-12, atol=0)
    nested = Independent(Normal(loc.reshape(4, 3, 1), torch.ones(4, 3, 1)), 2)  # other event
    with pytest.raises(ValueError):  # torch's own complaint about the shapes, as before
        kl(nested, p)
