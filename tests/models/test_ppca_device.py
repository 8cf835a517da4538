"""PPCA on the device its data live on: both fits and every density where the model is.

On a GPU (marked ``cuda``, ``pytest -m cuda``): EM started from loadings made on the CPU (and
its identity matrix and column of ones), and ``prior()`` built p(z) on the CPU, so a PPCA fitted
on CUDA data failed with torch's device-mismatch error in ``fit(method="em")`` and in ``elbo``.
The CPU runs of the same tests hold the results the GPU's must equal.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchlvm.inference import elbo
from torchlvm.models.ppca import PPCA

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU"),
        ],
    ),
]


def _data(missing: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    z, W = (torch.randn(*shape, generator=g, dtype=torch.float64) for shape in ((200, 2), (2, 6)))
    X = z @ W + 0.1 * torch.randn(200, 6, generator=g, dtype=torch.float64)
    if missing:
        X[torch.rand(200, 6, generator=g) < 0.1] = float("nan")
    return X


@pytest.mark.filterwarnings("ignore:PPCA EM did not converge")
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    ("method", "missing"),
    [("closed_form", False), ("em", False), ("em", True)],
    ids=["closed-form", "em", "em-missing"],
)
def test_a_fit_on_a_device_stays_there_and_equals_the_cpus(device, method, missing) -> None:
    X = _data(missing)
    model = PPCA(latent_dim=2, method=method, max_iter=50).fit(X.to(device))
    reference = PPCA(latent_dim=2, method=method, max_iter=50).fit(X)
    assert model.W.device.type == device
    np.testing.assert_allclose(model.W_, reference.W_, rtol=1e-7, atol=1e-9)
    x = X[:4].nan_to_num(0.0).to(device)
    prior = model.prior(batch_shape=(4,))
    assert prior.mean.device.type == device
    bound = elbo(model, x, log_lik_method="analytic").elbo  # exact q: log p(x)
    assert bound.device.type == device
    torch.testing.assert_close(bound.cpu(), model.log_marginal(x).cpu(), rtol=0, atol=1e-8)
