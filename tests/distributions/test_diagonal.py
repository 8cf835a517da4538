"""IndependentNormal draws what torch's Independent(Normal, 1) draws, bit for bit."""

import torch
from torch.distributions import Independent, Normal

from torchlvm.distributions.diagonal import IndependentNormal


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
