"""The expected time of inference_gaps: each of its parts (the list it runs) timed for a few
units and multiplied out. Measured against the command (notes/fuqa.md, notes/shell3.md): a
digits VAE (K=8), n=200, 300 steps, k=5000: 3 s expected, 3.25 s taken; with --ais 200
--flow-steps 2: 20 s, 19.9 s.
"""

import os

import pytest
import torch

from torchlvm.data import load_dataset, make_linear_gaussian
from torchlvm.errors import ConfigError
from torchlvm.inference.gaps_timing import expected_seconds
from torchlvm.models.ppca import PPCA
from torchlvm.models.vae import VAE, VAEConfig

HUGE = 10**9


def test_closed_form_parts_are_one_unit():
    """PPCA's log p(x) and ELBO are exact: a billion importance samples or ELBO draws cost
    nothing, as inference_gaps does not draw them."""
    data = make_linear_gaussian(n=200, dim=8, latent_dim=3, noise_variance=0.2, seed=0)
    model = PPCA(latent_dim=3).fit(data.x.double())
    seconds, probe = expected_seconds(
        model, data.x.double()[:20], None, local_steps=1, num_samples=2, k=HUGE,
        elbo_samples=HUGE,
    )  # fmt: skip
    assert 0 <= seconds < 60 and probe > 0


@pytest.mark.parametrize(
    "huge, settings",
    [
        ("k", {}),
        ("elbo_samples", {}),
        ("local_steps", {}),
        ("local_steps", {"flow_steps": 1}),  # q* and the flow's steps
        ("ais_steps", {"ais_chains": 2}),
    ],
    ids=["importance-samples", "elbo-draws", "q*-steps", "flow-steps", "ais-transitions"],
)
def test_each_part_is_multiplied_out(huge, settings):
    """Every part inference_gaps runs is timed and multiplied out by its units (it lists them
    in one place, gaps_parts.gap_parts, that both run): a billion of any one is over a minute."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:50]
    few = {**dict(local_steps=1, num_samples=2, k=2, elbo_samples=1), **settings}
    assert expected_seconds(model, x, None, **few)[0] < 60
    many = {**few, huge: HUGE}
    if huge == "ais_steps":
        few["ais_steps"] = 1
        assert expected_seconds(model, x, None, **few)[0] < 60
    assert expected_seconds(model, x, None, **many)[0] > 60


def test_a_bad_setting_fails_before_any_probe(monkeypatch):
    """gaps' probe ran (about a second) before inference_gaps refused k=1: the settings are
    checked first, as inference_gaps checks them."""
    from torchlvm.inference import gaps_timing

    def probing(*args, **kwargs):
        raise AssertionError("probed before the settings were checked")

    monkeypatch.setattr(gaps_timing, "seconds_per_unit", probing)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:5]
    with pytest.raises(ConfigError, match="k=1 .one importance sample"):
        expected_seconds(model, x, None, k=1)
    with pytest.raises(ConfigError, match="lr must be a positive finite number, got 0"):
        expected_seconds(model, x, None, lr=0)
    with pytest.raises(ConfigError, match="flow_steps must be at most"):
        expected_seconds(model, x, None, flow_steps=10**6)


def test_sampling_parts_are_probed_in_whole_chunks(monkeypatch):
    """gaps' probe drew 1, 2, 4, ... importance samples and ELBO draws at a time, operations
    hundreds of times smaller than the run's chunks of 250, and under a load of 14 expected 11 s
    for a run that took 258 s: those parts are now timed in whole chunks of the run's size."""
    from torchlvm.inference import gaps, gaps_parts

    drawn = {"is": [], "elbo": []}
    is_, elbo = gaps_parts.log_marginal_is, gaps.elbo_with_stderr

    def recorded_is(*args, num_samples, chunk, **kwargs):
        drawn["is"].append((num_samples, chunk))
        return is_(*args, num_samples=num_samples, chunk=chunk, **kwargs)

    def recorded_elbo(*args, num_samples, chunk, **kwargs):
        drawn["elbo"].append((num_samples, chunk))
        return elbo(*args, num_samples=num_samples, chunk=chunk, **kwargs)

    monkeypatch.setattr(gaps_parts, "log_marginal_is", recorded_is)
    monkeypatch.setattr(gaps, "elbo_with_stderr", recorded_elbo)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:20]
    expected_seconds(model, x, None, local_steps=2, k=600, elbo_samples=90, chunk=30)
    assert drawn["is"] and drawn["elbo"]
    for samples, chunk in drawn["is"] + drawn["elbo"]:
        assert chunk == 30 and samples % 30 == 0


def test_gaps_names_a_busy_machine_on_stderr_and_keeps_its_line(monkeypatch, capsys):
    """Under a load of 14 gaps expected 11 s for a run that took 258 s and said nothing of the
    load: on a machine busier than its cores a line on stderr says that the time will follow
    it; the expected-time line itself is unchanged."""
    from torchlvm import _probe
    from torchlvm.cli._progress import progress_printer
    from torchlvm.cli.gaps import _expected

    monkeypatch.setattr(_probe.os, "getloadavg", lambda: (14.0, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_probe.torch, "get_num_threads", lambda: 2)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:10]
    settings = dict(local_steps=2, num_samples=2, k=4, elbo_samples=2)
    line, _ = _expected(model, x, None, settings, progress_printer(True))
    assert line.startswith("expected time: ") and line.endswith("probe of each part)")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "the machine is busy (load average 14.0 on 2 cores): the time will follow its load; with "
        "other jobs on the cores, --threads 1 is often several times faster\n"
    )
    _expected(model, x, None, settings, progress_printer(False))  # piped: as the bars, nothing
    assert capsys.readouterr() == ("", "")


def test_gaps_restates_its_time_from_its_own_steps_once(ticks):
    """Under a load of 14 gaps expected 11 s for 258 s: after RESTATE_SECONDS of its parts'
    own steps, the time left is said again at the ratio of their time to the probes'."""
    from torchlvm._probe import RESTATE_SECONDS, duration
    from torchlvm.inference.gaps_timing import GapsPace

    plan = {"q*": (300, 0.01), "log p(x)": (5000, 0.001)}  # 3 s and 5 s probed
    said, clock = [], ticks
    pace = GapsPace(plan, said.append, clock)
    clock.now = 4.0
    pace("q*", 0)  # its start
    for _ in range(199):
        clock.now += 0.05  # 5 times as long as probed
        pace("q*", 1)
    assert said == [] and RESTATE_SECONDS == 10.0
    clock.now += 0.05
    pace("q*", 1)
    left = 100 * 0.01 + 5000 * 0.001
    assert said == [
        f"expected time, re-stated from its first 10 s: {duration(5 * left)} more (its steps "
        "take 5 times as long as the probes found)"
    ]
    pace("log p(x)", 0)
    clock.now += 100.0
    pace("log p(x)", 5000)
    assert len(said) == 1


def test_inference_gaps_tells_advance_of_each_part_and_its_steps():
    from torchlvm.inference.gaps import inference_gaps

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=4, hidden=(32,)))
    x = load_dataset("digits", "test", binarize="threshold").x[:10]
    told = []
    inference_gaps(
        model, x, None, local_steps=3, num_samples=2, k=20, elbo_samples=10, chunk=5,
        advance=lambda part, n: told.append((part, n)),
    )  # fmt: skip
    starts = [part for part, n in told if n == 0]
    assert starts == ["q*", "ELBO of q_enc", "ELBO of q*", "log p(x) by importance sampling"]
    done = {part: sum(n for p, n in told if p == part) for part in starts}
    assert done == {"q*": 3, "ELBO of q_enc": 10, "ELBO of q*": 10,
                    "log p(x) by importance sampling": 20}  # fmt: skip


def test_the_expected_time_gives_its_probe_its_digits(monkeypatch):
    """A probe of 33 ms was printed "from a 0.0 s probe" beside the time it multiplies out to
    (userJ #5's slip, in gaps): the probe is printed to three significant digits."""
    from torchlvm.cli._progress import progress_printer
    from torchlvm.cli.gaps import _expected
    from torchlvm.inference import gaps_timing

    plan = {"elbo": (40, 0.5)}  # (40 units of 0.5 s: 20 s)
    monkeypatch.setattr(gaps_timing, "expected_parts", lambda *a, **k: (plan, 0.0333))
    line, _ = _expected(None, None, None, {}, progress_printer(False))
    assert line == "expected time: 20 s (from a 33.3 ms probe of each part)"
