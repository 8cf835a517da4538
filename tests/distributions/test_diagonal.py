"""IndependentNormal draws what torch's Independent(Normal, 1) draws, bit for bit, and
independent_normal builds what torch's constructors build."""

import pytest
import torch
from torch.distributions import Independent, Normal

from torchlvm.distributions.diagonal import IndependentNormal, independent_normal


def test_rsample_draws_what_torch_draws_and_keeps_the_gradients() -> None:
    loc = torch.randn(4, 3, requires_grad=True)
    scale = (torch.rand(4, 3) + 0.1).requires_grad_()
    q, reference = IndependentNormal(Normal(loc, scale), 1), Independent(Normal(loc, scale), 1)
    for shape in [(), (5,)]:
        torch.manual_seed(0)
        z = q.rsample(shape)
        torch.manual_seed(0)
        expected = reference.rsample(shape)
        torch.testing.assert_close(z, expected, rtol=0, atol=0)
        assert z.shape == (*shape, 4, 3)
        got = torch.autograd.grad(z.sum(), (loc, scale))
        for g, e in zip(got, torch.autograd.grad(expected.sum(), (loc, scale)), strict=True):
            torch.testing.assert_close(g, e, rtol=0, atol=0)
    torch.testing.assert_close(q.log_prob(z), reference.log_prob(z), rtol=0, atol=0)


def _same(a: object, b: object) -> None:
    """``a`` and ``b`` are the same distribution object: type, attributes, tensors (by identity)."""
    assert type(a) is type(b) and vars(a).keys() == vars(b).keys()
    for key, value in vars(a).items():
        other = vars(b)[key]
        if isinstance(value, torch.distributions.Distribution):
            _same(value, other)
        elif isinstance(value, torch.Tensor):
            assert value is other, key
        else:
            assert value == other, key


def test_independent_normal_builds_what_torchs_constructors_build() -> None:
    loc, scale = torch.randn(4, 3), torch.rand(4, 3) + 0.1
    for validate in (False, True):
        torch.distributions.Distribution.set_default_validate_args(validate)
        try:
            _same(independent_normal(loc, scale), IndependentNormal(Normal(loc, scale), 1))
        finally:
            torch.distributions.Distribution.set_default_validate_args(True)
    q = independent_normal(loc[0], scale)  # broadcast: torch's constructors
    assert q.batch_shape == (4,) and q.base_dist.loc.shape == (4, 3)


def test_independent_normal_validates_where_validation_is_on() -> None:
    with pytest.raises(ValueError, match="scale"):
        independent_normal(torch.zeros(2, 3), torch.full((2, 3), float("nan")))
