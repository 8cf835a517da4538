"""``torchlvm._device``: a model's device, and seeded draws from a generator on any device.

On a GPU (marked ``cuda``): a model there, given a CPU generator, draws exactly what the same
model draws on the CPU, so its samples and imputations equal the CPU's to float rounding.
"""

import pytest
import torch

from torchlvm import _device
from torchlvm.models import CVAE, VAE, Autoencoder, AutoencoderConfig, CVAEConfig, VAEConfig


def test_draws_follow_the_generator_and_land_where_they_are_used() -> None:
    like = torch.zeros((), dtype=torch.float64)
    eps = _device.randn((3, 2), generator=_device.generator(5), like=like)
    expected = torch.randn(3, 2, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.equal(eps, expected)
    picks = _device.multinomial(torch.tensor([[0.0, 1.0]]), 4, generator=_device.generator(0))
    assert picks.tolist() == [[1, 1, 1, 1]]
    assert _device.bernoulli(torch.ones(3), generator=None).tolist() == [1.0, 1.0, 1.0]
    x, none = _device.to_model(torch.nn.Linear(2, 2), torch.ones(2), None)
    assert x.device.type == "cpu" and none is None


def test_lightning_names_the_device() -> None:
    assert _device.lightning_accelerator("cuda:1") == "gpu"
    assert _device.lightning_accelerator(torch.device("cpu")) == "cpu"


def _models() -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    ae = Autoencoder(AutoencoderConfig(16, latent_dim=2, hidden=(8,)))
    return {
        "vae": VAE(VAEConfig(16, latent_dim=2, hidden=(8,))),
        "cvae": CVAE(CVAEConfig(16, 3, latent_dim=2, hidden=(8,), num_classes=3)),
        "ae": ae,
    }


def _sample(model: torch.nn.Module, name: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(7)
    if name == "cvae":
        c = model.condition_from_labels(torch.tensor([0, 1, 2, 0]))
        return model.sample(4, c, generator=generator)
    if name == "ae":
        return model.sample(4, source="standard", generator=generator)
    return model.sample(4, generator=generator)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", ["vae", "cvae", "ae"])
def test_a_gpu_model_with_a_cpu_generator_draws_what_the_cpu_draws(name: str) -> None:
    from torchlvm.inference.imputation import draw_rows, impute_rows

    model = _models()[name].eval()
    on_cpu = _sample(model, name)
    model.cuda()
    on_gpu = _sample(model, name)
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, rtol=1e-4, atol=1e-5)
    if name == "vae":
        x = torch.rand(5, 16)
        x[:, :4] = float("nan")
        filled = impute_rows(model, x, num_samples=20, generator=torch.Generator().manual_seed(1))
        assert filled.device.type == "cpu"  # where x was
        model.cpu()
        again = impute_rows(model, x, num_samples=20, generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(filled, again, rtol=1e-4, atol=1e-5)
        rows = draw_rows(model, 3, torch.Generator().manual_seed(2))
        model.cuda()
        torch.testing.assert_close(
            draw_rows(model, 3, torch.Generator().manual_seed(2)).cpu(), rows, rtol=1e-4, atol=1e-5
        )
