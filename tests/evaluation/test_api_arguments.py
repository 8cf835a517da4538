"""Python-API calls with the wrong kind of argument name it and the call that gives the right
one, instead of an AttributeError or a reshape error from deep inside torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from torchlvm.data.dataset import Dataset
from torchlvm.errors import ConfigError, DataError
from torchlvm.evaluation import active_units, evaluate, posterior_means
from torchlvm.evaluation.config import EvalConfig
from torchlvm.inference.imputation import impute_rows
from torchlvm.models.vae import VAE, VAEConfig


@pytest.fixture(scope="module")
def vae() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(input_dim=6, latent_dim=2, hidden=(4,), likelihood="gaussian"))


def test_impute_rows_names_a_numpy_array_and_how_to_convert_it(vae):
    x = np.zeros((3, 6))
    x[0, 1] = np.nan
    message = r"x must be a torch.Tensor, got numpy.ndarray; .*as_tensor"
    with pytest.raises(DataError, match=message):
        impute_rows(vae, x)
    filled = impute_rows(vae, torch.as_tensor(x, dtype=torch.float32), num_samples=10)
    assert filled.shape == (3, 6) and not filled.isnan().any()


def test_impute_rows_refuses_an_empty_batch(vae):
    with pytest.raises(DataError, match=r"x has no rows \(shape \(0, 6\)\)"):
        impute_rows(vae, torch.zeros(0, 6))


def test_evaluate_names_a_tensor_given_for_the_dataset(vae):
    """A DataError, as check_tensor's for a non-tensor: the data are of the wrong kind."""
    with pytest.raises(DataError, match="dataset must be a torchlvm.data.Dataset, got Tensor"):
        evaluate(vae, torch.zeros(4, 6), EvalConfig(k=2, n=2, ood=()))
    dataset = Dataset(torch.zeros(4, 6), None, "x", "test", (6,), None, None, "none")
    with pytest.raises(DataError, match="val_dataset must be a torchlvm.data.Dataset, got dict"):
        evaluate(vae, dataset, EvalConfig(k=2, n=2, ood=()), val_dataset={})
    with pytest.raises(ConfigError, match="config must be an EvalConfig, got dict"):
        evaluate(vae, dataset, {})


def test_active_units_names_a_model_given_for_the_means(vae):
    message = r"takes posterior means \(N, K\), got VAE; .*posterior_means"
    with pytest.raises(DataError, match=message):
        active_units(vae)
    count, activity = active_units(posterior_means(vae, torch.randn(5, 6)))
    assert activity.shape == (2,) and 0 <= count <= 2


def test_refining_an_exact_posterior_is_refused():
    """evaluate --refine on a PPCA moved its exact posterior away by Monte Carlo Adam steps and
    said it refined it: the ELBO fell from 15.255 = log p(x) to 15.069 at 10 steps (userI #19).
    A model whose q is its exact posterior is refused refine_steps, in each interface's words."""
    from torchlvm.data import load_dataset
    from torchlvm.errors import OptionError
    from torchlvm.models.ppca import PPCA

    data = load_dataset("digits", split="test")
    model = PPCA(latent_dim=4).fit(load_dataset("digits", split="train").x)
    with pytest.raises(OptionError, match=r"^refine_steps refines .* exact posterior") as error:
        evaluate(model, data, EvalConfig(refine_steps=2, n=20, ood=()))
    assert error.value.on_command_line.endswith("leave it at --refine 0")
