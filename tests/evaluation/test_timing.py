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
        (dict(k=100, ks=(1, 10), ood=()), 0, 1, 50 * 100),
        (dict(k=100, ks=(1, 10, 60), ood=()), 0, 1, 50 * 160),
        (dict(k=100, ks=(1, 10), ood_k=7), 4, 1, 50 * 100 + 6 * 50 * 7),
        (dict(k=100, ks=(1,), ood_k=7, condition="label"), 1, 10, 50 * 100 + 3 * 50 * 7 * 10),
        (dict(k=100, ks=(1,), ood=(), condition="mask:top"), 0, 1, 50 * 200),
    ],
    ids=[
        "likelihood-only",
        "a-bound-above-k/2-draws-its-own",
        "with-ood",
        "label-cvae-sums-over-classes",
        "imputation-adds-k",
    ],
)
def test_planned_samples_count_every_importance_sample(settings, ood_sets, classes, expected):
    """The bounds at k <= k/2 are cut from the estimate's samples and cost none of their own."""
    config = EvalConfig(**settings)
    assert planned_samples(config, 50, ood_sets=ood_sets, classes=classes) == expected


@pytest.mark.parametrize(
    "k, ks, expected, own",
    [
        (1000, None, (1, 10, 100), 0),
        (50, None, (1, 10), 0),
        (1, None, (1,), 1),
        (50, (1, 100), (1, 100), 100),
    ],
    ids=["default", "k=50-drops-L_100", "k=1", "asked-for-stays"],
)
def test_the_default_bounds_are_those_not_above_k(k, ks, expected, own):
    """evaluate --k 50 still drew 100 samples per image for the default L_100, twice the
    estimate's own, for a bound the estimate is weaker than: by default the bounds stop at k;
    bounds asked for are drawn."""
    config = EvalConfig(k=k, ks=ks, ood=())
    assert config.ks == expected
    assert planned_samples(config, 10, ood_sets=0) == 10 * (k + own)


def test_the_probe_gives_a_positive_rate_and_multiplies_it_out():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30)
    found = expected_time(model, data, config, ood_sets=0)
    assert found.samples == 30 * 40
    assert 0 < found.per_sample < 1 and math.isclose(found.seconds, found.per_sample * 30 * 40)


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


def test_ais_is_timed_too_when_evaluate_runs_it():
    """evaluate --ais 500 printed only the importance sampling's expected time (7 s on a digits
    VAE) and then ran AIS, 359 images × 16 chains × 500 HMC transitions, for minutes unannounced:
    a second probe times AIS transitions and the line gives AIS's expected time too."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30, ais_steps=8, ais_chains=3)
    found = expected_time(model, data, config, ood_sets=0)
    assert found.samples == 30 * 40 and found.ais.samples == 30 * 3 * 8
    assert 0 < found.ais.per_sample < 1
    assert math.isclose(found.ais.seconds, found.ais.per_sample * 30 * 3 * 8)
    line = found.describe()
    assert line.startswith("expected time of the importance sampling: ")
    assert "; of AIS: " in line and "720 image-chain-transitions at " in line
    assert expected_time(model, data, EvalConfig(k=40, ood=(), n=30), ood_sets=0).ais is None


def test_the_ais_part_of_the_line():
    ais = Expectation(840.0, 2.9e-4, 2_872_000, 0.6)
    line = Expectation(7.0, 1.105e-5, 614_249, 0.4, "image", ais).describe()
    assert line == (
        "expected time of the importance sampling: 7 s (614,249 image-samples at 11.05 µs each, "
        "from a 0.4 s probe); of AIS: 14.0 min (2,872,000 image-chain-transitions at 290.00 µs "
        "each, from a 0.6 s probe)"
    )
