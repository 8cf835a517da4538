"""Data, codes or conditions holding NaN or inf are refused at the models' public entry points
with a DataError that names the problem and a fix (not torch's ValueError from distribution
argument validation); the training step, which builds its distributions without validation,
skips the check."""

from __future__ import annotations

import pytest
import torch

from torchlvm.errors import DataError
from torchlvm.inference import elbo, iwae_bound, log_marginal_is
from torchlvm.inference.imputation import impute_rows
from torchlvm.inference.miwae import log_marginal_observed
from torchlvm.models.autoencoder import Autoencoder, AutoencoderConfig
from torchlvm.models.cvae import CVAE, CVAEConfig
from torchlvm.models.vae import VAE, VAEConfig
from torchlvm.training.losses import no_argument_validation

NAN, INF = float("nan"), float("inf")


def _x(value: float = NAN) -> torch.Tensor:
    x = torch.rand(3, 6, generator=torch.Generator().manual_seed(0))
    x[1, 2] = value
    return x


def _vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(6, latent_dim=2, hidden=(8,), likelihood="gaussian"))


def _cvae() -> CVAE:
    torch.manual_seed(0)
    return CVAE(CVAEConfig(6, 2, latent_dim=2, hidden=(8,), likelihood="gaussian"))


C = torch.eye(2)[[0, 1, 0]]
DATA_FIX = "drop or correct those rows"
Z_FIX = r"pass finite codes, e.g. the posterior means model.encode\(x"

CASES = {
    "vae-encode": (lambda: _vae().encode(_x()), "data holds NaN in 1 of 3 rows; " + DATA_FIX),
    "vae-encode-inf": (
        lambda: _vae().encode(_x(INF)),
        "data holds infinite values in 1 of 3 rows",
    ),
    "vae-reconstruct": (lambda: _vae().reconstruct(_x()), "data holds NaN in 1 of 3 rows"),
    "vae-posterior-mean": (lambda: _vae().posterior_mean(_x()), "data holds NaN"),
    "vae-decode": (lambda: _vae().decode(torch.full((4, 2), NAN)), "z holds NaN in 4 of 4 rows; "),
    "vae-elbo": (lambda: elbo(_vae(), _x()), "data holds NaN"),
    "vae-iwae": (lambda: iwae_bound(_vae(), _x(), num_samples=2), "data holds NaN"),
    "vae-log-marginal": (lambda: log_marginal_is(_vae(), _x(), num_samples=2), "data holds NaN"),
    "cvae-encode": (lambda: _cvae().encode(_x(), C), "data holds NaN in 1 of 3 rows; " + DATA_FIX),
    "cvae-decode": (lambda: _cvae().decode(torch.full((3, 2), NAN), C), "z holds NaN"),
    "cvae-condition": (
        lambda: _cvae().encode(_x(0.5), C * NAN),
        r"c holds NaN in 3 of 3 rows; pass finite conditions \(condition_from_labels",
    ),
    "cvae-transfer": (lambda: _cvae().transfer(_x(), C, C), "data holds NaN"),
    "ae-encode": (
        lambda: Autoencoder(AutoencoderConfig(6, latent_dim=2, hidden=(8,))).encode(_x()),
        "data holds NaN in 1 of 3 rows; " + DATA_FIX,
    ),
    "ae-decode": (
        lambda: Autoencoder(AutoencoderConfig(6, latent_dim=2, hidden=(8,))).decode(
            torch.full((3, 2), INF)
        ),
        "z holds infinite values in 3 of 3 rows; " + Z_FIX,
    ),
}


@pytest.mark.parametrize("call, match", list(CASES.values()), ids=list(CASES))
def test_nonfinite_input_is_a_data_error_naming_the_problem_and_a_fix(call, match):
    with pytest.raises(DataError, match=match):
        call()


CALLS = {
    "encode": lambda m, x: m.encode(x),
    "is": lambda m, x: log_marginal_is(m, x, num_samples=8),
}


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_the_fixes_a_vae_names_for_missing_cells_work(call):
    """userQ #1: a log p(x) of NaN rows named only impute_rows, whose filled rows' log p(x) is
    no likelihood of the data (and a Bernoulli VAE refuses the probabilities it fills): the
    refusal names log_marginal_observed for log p(x_o) too, which equals log p(x) of a complete
    row."""
    model, x = _vae(), _x()
    offered = r"log_marginal_observed\(model, x, num_samples=1000, proposal='defensive'\)"
    with pytest.raises(DataError, match=offered):
        call(model, x)
    with pytest.raises(DataError, match=r"imputation.impute_rows\(model, x\) fills them"):
        call(model, x)
    filled = impute_rows(model, x, num_samples=8, generator=torch.Generator().manual_seed(0))
    assert model.encode(filled).mean.isfinite().all()
    torch.manual_seed(0)
    observed = log_marginal_observed(model, x, num_samples=1000, proposal="defensive")  # (3,)
    complete = log_marginal_is(model, x[[0, 2]], num_samples=1000)  # (2,)
    assert observed.mean.isfinite().all()
    error = (observed.stderr[[0, 2]] ** 2 + complete.stderr**2).sqrt()
    assert ((observed.mean[[0, 2]] - complete.mean).abs() < 4 * error).all()


def test_the_training_step_skips_the_check():
    """Without argument validation (the training step) no host read is made: NaN goes through
    to a NaN loss, which the non-finite guard flags."""
    with no_argument_validation():
        q = _vae().encode(_x())
    assert q.mean[1].isnan().all() and q.mean[[0, 2]].isfinite().all()
