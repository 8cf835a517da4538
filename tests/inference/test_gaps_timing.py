"""The expected time of inference_gaps: each part timed for a few steps and multiplied out, the
closed-form parts left out. Measured against the command (notes/fuqa.md): a digits VAE (K=8),
n=200, 300 steps, k=5000: 3 s expected, 3.25 s taken; with --ais 200 --flow-steps 2: 20 s, 19.9 s.
"""

import torch

from torchlvm.data import load_dataset, make_linear_gaussian
from torchlvm.inference.gaps_timing import expected_seconds
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

HUGE = 10**9


def test_closed_form_parts_are_not_counted():
    """PPCA's log p(x) and ELBO are exact: a billion importance samples or ELBO draws cost
    nothing, as inference_gaps does not draw them."""
    data = make_linear_gaussian(n=200, dim=8, latent_dim=3, noise_variance=0.2, seed=0)
    model = PPCA(latent_dim=3).fit(data.x.double())
    seconds, probe = expected_seconds(
        model, data.x.double()[:20], None, steps=1, num_samples=2, k=HUGE, elbo_samples=HUGE
    )
    assert 0 <= seconds < 60 and probe > 0


def test_importance_samples_are_multiplied_out():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:200]
    few, _ = expected_seconds(model, x, None, steps=1, num_samples=2, k=2, elbo_samples=1)
    many, _ = expected_seconds(model, x, None, steps=1, num_samples=2, k=HUGE, elbo_samples=1)
    assert few < 60 < many


def test_each_timed_run_waits_for_the_device_before_the_clock_is_read():
    """On a GPU a probe's kernels run after its call returns: without a synchronization each
    part was timed by its launches alone (the probe ran unsynchronized)."""
    from torchlvm.inference import gaps_timing

    events = []
    gaps_timing._per(lambda n: events.append(f"run {n}"), lambda: events.append("sync"), m=4)
    assert events == ["run 1", "sync", "run 1", "sync", "run 5", "sync"]
