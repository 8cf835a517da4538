"""The expected time ``torchlvm evaluate`` prints: image-samples counted from the settings, and a
probe that measures seconds per image-sample."""

import math

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.timing import Expectation, expected_time, planned_samples
from torchlvm.models import VAE, VAEConfig


@pytest.mark.parametrize(
    "settings, ood_sets, classes, expected",
    [
        (dict(k=100, ks=(1, 10), ood=()), 0, 1, 50 * 111),
        (dict(k=100, ks=(1, 10), ood_k=7), 4, 1, 50 * 111 + 6 * 50 * 7),
        (dict(k=100, ks=(1,), ood_k=7, condition="label"), 1, 10, 50 * 101 + 3 * 50 * 7 * 10),
        (dict(k=100, ks=(1,), ood=(), condition="mask:top"), 0, 1, 50 * 201),
    ],
    ids=["likelihood-only", "with-ood", "label-cvae-sums-over-classes", "imputation-adds-k"],
)
def test_planned_samples_count_every_importance_sample(settings, ood_sets, classes, expected):
    config = EvalConfig(**settings)
    assert planned_samples(config, 50, ood_sets=ood_sets, classes=classes) == expected


def test_the_probe_gives_a_positive_rate_and_multiplies_it_out():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30)
    found = expected_time(model, data, config, ood_sets=0)
    assert found.samples == 30 * 41
    assert 0 < found.per_sample < 1 and math.isclose(found.seconds, found.per_sample * 30 * 41)


def test_an_autoencoder_is_not_importance_sampled_so_no_time_is_expected():
    from torchlvm.models import Autoencoder, AutoencoderConfig

    model = Autoencoder(AutoencoderConfig(64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    assert expected_time(model, data, EvalConfig(k=40, ood=(), n=30), ood_sets=0) is None


def test_the_line_says_minutes_or_seconds():
    line = Expectation(150.0, 5e-6, 30_000_000, 0.4).describe()
    assert line == (
        "expected time of the importance sampling: 2.5 min (30,000,000 image-samples at "
        "5.00 µs each, from a 0.4 s probe)"
    )
    short = Expectation(12.0, 1e-6, 1, 0.0).describe()
    assert short.startswith("expected time of the importance sampling: 12 s")
