"""The expected time ``torchlvm evaluate`` prints: image-samples counted from the settings, and a
probe that measures seconds per image-sample."""

import math
import os

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.timing import Expectation, expected_time, planned_parts
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
    assert sum(planned_parts(config, 50, ood_sets=ood_sets, classes=classes)) == expected


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
    assert sum(planned_parts(config, 10, ood_sets=0)) == 10 * (k + own)


def test_the_probe_gives_a_positive_rate_and_multiplies_it_out():
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30)
    found = expected_time(model, data, config, ood_sets=0)
    assert found.samples == 30 * 40
    assert 0 < found.per_sample < 1 and math.isclose(found.seconds, found.per_sample * 30 * 40)


def test_a_first_calls_one_time_cost_is_not_multiplied_out():
    """A CVAE's first prior imports sympy (1.5 s), and the probe of a short job is its first
    timed run: a digits CVAE at k = 100, n = 300 was said 17-20 s of sampling that took 9 s."""
    import time

    class SlowFirstCall(VAE):
        first = True

        def decode(self, z, c=None):
            if SlowFirstCall.first:
                SlowFirstCall.first = False
                time.sleep(0.5)  # (a lazy import, once)
            return super().decode(z, c)

    torch.manual_seed(0)
    model = SlowFirstCall(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30)
    found = expected_time(model, data, config, ood_sets=0)
    assert found.samples == 30 * 40 and found.seconds < 0.25


def test_an_autoencoder_is_not_importance_sampled_so_no_time_is_expected():
    from torchlvm.models import Autoencoder, AutoencoderConfig

    model = Autoencoder(AutoencoderConfig(64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    assert expected_time(model, data, EvalConfig(k=40, ood=(), n=30), ood_sets=0) is None


def test_the_line_says_minutes_or_seconds():
    line = Expectation(150.0, 5e-6, 30_000_000, 0.4).describe()
    assert line == (
        "expected time of the importance sampling: 2.5 min (30,000,000 image-samples at "
        "5.00 µs each, from a 400 ms probe)"
    )
    short = Expectation(12.0, 1e-6, 1, 0.0).describe()
    assert short.startswith("expected time of the importance sampling: 12 s")


def test_the_line_names_the_steps_it_leaves_out():
    """userS #9: 'expected time of the importance sampling: 4.0 min' on Fashion-MNIST, and the
    command took 9.2 min, 53 s of it in the separability probes, which the line did not name."""
    line = Expectation(150.0, 5e-6, 30_000_000, 0.4).describe
    assert line(["a"]).endswith(" probe); not counting a")
    assert line(["a", "b", "c"]).endswith(" probe); not counting a, b and c")
    assert line().endswith(" probe)")


@pytest.mark.parametrize(
    "settings, y, table, expected",
    [
        ({}, True, False, ["the separability probes", "the sample quality"]),
        ({}, False, False, []),
        ({}, True, True, ["the separability probes"]),
        (dict(separability=False), True, False, ["the sample quality"]),
        (dict(sample_quality=False), True, False, ["the separability probes"]),
    ],
    ids=["labelled-pictures", "no-labels", "labelled-table", "no-probes", "no-sample-quality"],
)
def test_the_steps_left_out_are_those_that_run(settings, y, table, expected):
    from types import SimpleNamespace

    from torchlvm.evaluation.timing import left_out

    data = SimpleNamespace(y=torch.zeros(3, dtype=torch.long) if y else None, is_table=table)
    assert left_out(EvalConfig(**settings), data) == expected


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
        "from a 400 ms probe); of AIS: 14.0 min (2,872,000 image-chain-transitions at 290.00 µs "
        "each, from a 600 ms probe)"
    )


@pytest.mark.parametrize("chunk, k", [(7, 40), (64, 40)], ids=["k-in-chunks", "chunk-above-k"])
def test_the_probe_draws_whole_chunks_of_the_evaluations_size(monkeypatch, chunk, k):
    """The probe drew 1, 2, 4, ... samples at a time, operations far smaller than the
    evaluation's chunks, and multiplied their per-operation cost out (expected times of 0.16 to
    40 times the time taken under load, benchmarks/results/evaluate_time.md): every timed run
    now draws whole chunks of the evaluation's
    own size, never more than k samples, and the rate is per image-sample."""
    from torchlvm.evaluation import timing

    calls = []
    real = timing.log_marginal_is

    def recorded(model, x, c, *, num_samples, chunk=None):
        if len(x) > 1:  # (not the untimed first call, of one row and one sample)
            calls.append((num_samples, chunk))
        return real(model, x, c, num_samples=num_samples, chunk=chunk)

    monkeypatch.setattr(timing, "log_marginal_is", recorded)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=k, ks=(1,), ood=(), n=30, chunk=chunk)
    per_sample = timing.probe(model, data, config)
    used = min(chunk, k)
    assert calls and {c for _, c in calls} == {used}
    assert all(n % used == 0 and n <= k for n, _ in calls)
    assert 0 < per_sample < 1


@pytest.mark.parametrize("n, rows", [(7, 7), (50, 50), (None, 100)], ids=["7", "50", "all"])
def test_the_probes_batch_has_no_more_rows_than_evaluate_scores(monkeypatch, n, rows):
    """userE/review9: evaluate --n 50 --ais 50 probed AIS on a batch of 100 rows, twice the
    work of each transition of the 50 rows evaluated (at these sizes a transition costs nearly
    as much on 50 rows as on 100, and the expected time per row was 0.4 times the time taken):
    the likelihood's and AIS's probes time batches of n rows at most, as evaluate's are."""
    from torchlvm.evaluation import timing

    seen = []
    real = timing.log_marginal_ais

    def recorded(model, x, c, **settings):
        seen.append(len(x))
        return real(model, x, c, **settings)

    monkeypatch.setattr(timing, "log_marginal_ais", recorded)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=10, ks=(1,), ood=(), n=n, ais_steps=2, ais_chains=2)
    timing.probe_ais(model, data, config, steps=1000)
    assert seen and set(seen) == {rows}


@pytest.mark.parametrize(
    "load, cores, busy",
    [(9.1, 2, True), (1.5, 2, False), (3.9, 2, False), (4.1, 2, True), (30.0, 64, False)],
    ids=["far-above", "below", "its-own-2-threads-beside", "above-them", "a-big-machine"],
)  # fmt: skip
def test_a_busy_machine_is_named_with_its_load(monkeypatch, load, cores, busy):
    """Under loads of 2 to 15 on 2 cores the expected time was 0.07 to 5.3 times the time
    taken, and nothing said that the machine was busy: where the load average is above the
    cores (by more than the command's own threads, which it counts), a line names both and
    says that the time will follow the load."""
    from torchlvm import _probe

    monkeypatch.setattr(_probe.os, "getloadavg", lambda: (load, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(_probe.torch, "get_num_threads", lambda: 2)
    found = _probe.Busy.now()
    assert (found is not None) == busy
    if busy:
        with monkeypatch.context() as one:  # on one thread already: nothing to offer
            one.setattr(_probe.torch, "get_num_threads", lambda: 1)
            assert found.describe().endswith("the time will follow its load")
        assert found.describe() == (
            f"the machine is busy (load average {load:.1f} on {cores} cores): the time will "
            "follow its load; with other jobs on the cores, --threads 1 is often several times "
            "faster"
        )


def test_evaluates_first_line_is_the_same_on_a_busy_machine_and_the_rest_goes_to_stderr(
    monkeypatch, capsys
):
    """The first line is what the README shows and its test compares: on a busy machine it
    stays as it is, and the note that the time will follow the load goes to stderr, with the
    progress bars and the re-stated time."""
    from torchlvm import _probe
    from torchlvm.cli._progress import progress_printer
    from torchlvm.cli.evaluate import _print_expected_time

    monkeypatch.setattr(_probe.os, "getloadavg", lambda: (9.1, 0.0, 0.0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(_probe.torch, "get_num_threads", lambda: 2)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=(), n=30)
    pace = _print_expected_time(model, data, config, progress_printer(True))
    out, err = capsys.readouterr()
    assert out.startswith("expected time of the importance sampling: ") and "busy" not in out
    assert err == (
        "the machine is busy (load average 9.1 on 2 cores): the time will follow its load; with "
        "other jobs on the cores, --threads 1 is often several times faster\n"
    )
    assert pace is not None
    _print_expected_time(model, data, config, progress_printer(False))  # piped: as the bars
    out, err = capsys.readouterr()
    assert out.startswith("expected time of the importance sampling: ") and err == ""


def test_no_load_average_no_word_of_it(monkeypatch):
    from torchlvm import _probe

    def unknown():
        raise OSError("no load average here")

    monkeypatch.setattr(_probe.os, "getloadavg", unknown)
    assert _probe.Busy.now() is None


def test_the_expected_time_is_restated_once_from_the_evaluations_own_batches(ticks):
    """A probe at the start measured 0.07 to 5.3 times the time taken under a changing load:
    after RESTATE_SECONDS of the evaluation's own importance-sampled batches, the time left is
    said again at the ratio of their seconds to the probe's. The time of sections that draw no
    importance samples, and between sections, is not counted."""
    from torchlvm._probe import RESTATE_SECONDS, duration
    from torchlvm.evaluation.timing import Pace

    config = EvalConfig(k=100, ks=(1, 10), ood_k=7)  # 100 image-samples per likelihood row
    samples, ood_samples = planned_parts(config, 1000, ood_sets=1)
    said, clock = [], ticks
    expectation = Expectation(1.0, 100e-6, samples, 0.1, ood_samples=ood_samples,
                              ood_per_sample=100e-6)  # fmt: skip
    pace = Pace(expectation, config, said.append, clock)

    def batches(section: str, count: int, seconds: float, start: float = 0.0) -> None:
        clock.now += start
        pace(section, 0)  # (its start)
        for _ in range(count):
            clock.now += seconds
            pace(section, 100)

    batches("likelihood", 3, 2.0, start=50.0)  # 100 rows x 100 samples in 2 s: twice the probe's
    batches("reconstruction", 1, 30.0)  # other work: not counted
    pace("figures", 0)
    batches("likelihood", 1, 2.0, start=7.0)  # (the 7 s before its start: not counted)
    assert said == []  # 8 s counted
    clock.now += 2.0
    pace("likelihood", 100)
    assert RESTATE_SECONDS == 10.0
    left = (samples - 5 * 100 * 100 + ood_samples) * 100e-6  # probed seconds left
    assert said == [
        "expected time of the importance sampling, re-stated from its first 10 s: "
        f"{duration(2 * left)} more (its batches take 2 times as long as the probe found)"
    ]
    clock.now += 100.0
    pace("likelihood", 100)
    assert len(said) == 1  # once


def test_outlier_score_batches_are_weighed_at_their_own_probed_rate(ticks):
    """An outlier-score sample (ood_k per row, one small chunk) cost 82-140 µs where a
    likelihood sample cost 12-16 µs (shell7, load 9-11): Pace priced them alike, and its
    re-stated '2 s more' was followed by 7.9 s of outlier scoring. Each section's rows now
    weigh their own probed seconds: outlier batches that run at the probe's rate re-state
    the probed time left, not a tenth of it."""
    from torchlvm._probe import duration
    from torchlvm.evaluation.timing import Pace

    config = EvalConfig(k=100, ks=(1, 10), ood_k=10)
    samples, ood_samples = planned_parts(config, 5000, ood_sets=1)
    assert ood_samples == 3 * 5000 * 10
    said = []
    expectation = Expectation(1.0, 10e-6, samples, 0.1, ood_samples=ood_samples,
                              ood_per_sample=100e-6)  # fmt: skip
    pace = Pace(expectation, config, said.append, ticks)
    pace("likelihood", 0)
    ticks.now += 1.0
    pace("likelihood", 1000)  # at the probe's rate: 1000 rows x 100 samples x 10 µs
    pace("ood", 0)
    for _ in range(9):  # 1000 rows x 10 samples at the probe's 100 µs each: 1 s
        ticks.now += 1.0
        pace("ood", 1000)
    left = (samples - 1000 * 100) * 10e-6 + (ood_samples - 9 * 1000 * 10) * 100e-6
    assert math.isclose(left, 4.0 + 6.0)
    assert said == [
        "expected time of the importance sampling, re-stated from its first 10 s: "
        f"{duration(left)} more (its batches take 1 times as long as the probe found)"
    ]


def test_the_outlier_score_is_probed_at_its_own_k(monkeypatch):
    """The probe timed only the likelihood at k; the outlier score draws ood_k per image, in
    smaller chunks whose fixed costs weigh more per sample: a second probe draws ood_k."""
    from torchlvm.evaluation import timing

    calls = []
    real = timing.log_marginal_is

    def recorded(model, x, c, *, num_samples, chunk=None):
        if len(x) > 1:  # (not the untimed first call, of one row and one sample)
            calls.append(num_samples)
        return real(model, x, c, num_samples=num_samples, chunk=chunk)

    monkeypatch.setattr(timing, "log_marginal_is", recorded)
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=40, ks=(1,), ood=("noise",), ood_k=7, n=30, chunk=40)
    found = expected_time(model, data, config, ood_sets=1, val_rows=0)
    assert found.samples == 30 * 40 and found.ood_samples == 2 * 30 * 7  # test rows, noise
    assert 40 in calls and 7 in calls and set(calls) <= {40, 7}
    assert 0 < found.ood_per_sample < 1
    assert math.isclose(found.seconds, found.per_sample * 1200 + found.ood_per_sample * 420)
    line = found.describe()
    assert "1,200 image-samples of the likelihood at " in line
    assert ", 420 of the outlier scores at " in line
    calls.clear()
    alone = expected_time(model, data, EvalConfig(k=40, ks=(1,), ood=(), n=30), ood_sets=0)
    assert alone.ood_samples == 0 and 7 not in calls  # no outlier scores: no second probe


def test_the_validation_rows_scored_are_counted_as_given():
    """The outlier section scores the validation split's rows (up to n) beside the test rows;
    with no validation split, none: the count took 2 in-distribution sets always."""
    config = EvalConfig(k=10, ks=(1,), ood_k=5)
    assert planned_parts(config, 50, ood_sets=1) == (500, 3 * 50 * 5)
    assert planned_parts(config, 50, ood_sets=1, val_rows=0) == (500, 2 * 50 * 5)
    assert planned_parts(config, 50, ood_sets=1, val_rows=20) == (500, (2 * 50 + 20) * 5)
    assert planned_parts(config, 50, ood_sets=1, val_rows=900) == (500, 3 * 50 * 5)


def test_evaluate_tells_advance_of_every_batch_by_its_section():
    """The hook Pace is given through: evaluate(advance=...) is called after each batch of
    every section, with its label and rows."""
    from torchlvm.evaluation import evaluate

    torch.manual_seed(0)
    model = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).eval()
    data = load_dataset("digits", "test", binarize="dynamic")
    config = EvalConfig(k=4, ks=(1,), ood=("noise",), ood_k=3, n=30, batch_size=20)
    told = []
    evaluate(model, data, config, advance=lambda section, rows: told.append((section, rows)))
    assert [t for t in told if t[0] == "likelihood"] == [
        ("likelihood", 0),  # its start
        ("likelihood", 20),
        ("likelihood", 10),
    ]
    ood = [rows for section, rows in told if section == "ood"]
    assert ood[0] == 0
    assert sum(ood) == 2 * 30  # the test images and the noise set (no validation set given)


def test_an_exact_outlier_score_is_not_counted_as_samples(ticks):
    """PPCA's outlier score is its exact log p(x) now: the expected time counted ood_k samples
    for each of its rows in every outlier set, and the re-stated time would have counted its
    instant batches as samples drawn."""
    from torchlvm.evaluation.timing import Pace, exact_outlier_score
    from torchlvm.models.ppca import PPCA

    config = EvalConfig(k=100, ks=(1, 10), ood_k=7)
    exact = sum(planned_parts(config, 50, ood_sets=4, exact_ood=True))
    assert exact == 50 * 100
    bounds = sum(planned_parts(config, 50, ood_sets=4, exact_ood=True, estimated=False))
    assert bounds == 50 * (1 + 10)  # the bounds' own draws: no estimate, no outlier samples
    assert sum(planned_parts(config, 50, ood_sets=4)) == 50 * 100 + 6 * 50 * 7
    data = load_dataset("digits", "test", binarize="none")
    ppca = PPCA(latent_dim=3).fit(data.x[:200])
    assert exact_outlier_score(ppca, config)
    found = expected_time(ppca, data, EvalConfig(k=40, ks=(1,), ood_k=7, n=30), ood_sets=1)
    assert found.exact_ood and found.samples == 30 * 1  # L_1's: no k = 40 estimate
    said, clock = [], ticks
    expectation = Expectation(1.0, 1e-6, 10**6, 0.1, exact_ood=True)
    pace = Pace(expectation, config, said.append, clock)
    pace("ood", 0)
    clock.now += 20.0
    pace("ood", 100)  # an exact score's batch: no samples, nothing counted
    assert pace.done == 0 and said == []
    vae = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,)))
    assert not exact_outlier_score(vae, config)
    assert not exact_outlier_score(ppca, EvalConfig(condition="label"))


def test_scores_expected_time_is_restated_from_its_own_batches(ticks):
    """`score` on 200,000 rows said '13.7 min more' from its first batch of 256 rows, took
    6.5 min, and said nothing after it (userA); userK #1: "33 s more" of rows that took 4.9 s.
    The line is printed after the second batch, at its rate (the first holds the start-up
    costs), and once its batches have run RESTATE_SECONDS the time left is said again at their
    rate, once, where progress goes."""
    from torchlvm._probe import RESTATE_SECONDS
    from torchlvm.evaluation.timing import RowsPace

    printed, said = [], []
    pace = RowsPace(200_000, 100, said.append, printed.append, ticks)
    ticks.now += 1.1  # the first batch, its warm-up included
    pace(256)
    assert printed == []
    ticks.now += 0.55  # the next batches, twice as fast: 0.55 s each
    pace(256)
    assert printed == [  # 0.55 s / 256 rows x 199,488 rows = 7.1 min, not 14.3 at the first's
        "expected time of the importance sampling: 7.1 min more for 199,488 rows (100 samples "
        "each; the second 256 rows took 550 ms, the first 256 1.1 s with start-up costs)"
    ]
    assert RESTATE_SECONDS == 10.0
    for _ in range(15):
        ticks.now += 0.55
        pace(256)
    assert said == []  # 1.1 + 16 x 0.55 = 9.9 s
    ticks.now += 0.55
    pace(256)
    left = 200_000 - 18 * 256
    assert said == [  # at 10.45 s / 18 batches: 2.27 ms a row, 7.4 min for the rest
        "expected time of the importance sampling, re-stated from its first 10 s: 7.4 min more "
        f"({left:,} rows left at 2.27 ms each)"
    ]
    ticks.now += 100.0
    pace(256)
    assert len(said) == 1 and len(printed) == 1  # once each


def test_a_short_first_batch_is_said_with_the_digits_its_time_is_multiplied_from(ticks):
    """`score` of 100,000 rows said "13 s more for 99,744 rows (...; the first 256 rows took 0.0
    s)" (userJ #5): 0.0 s multiplies out to no time; the 33 ms it took does to 13 s."""
    from torchlvm.evaluation.timing import RowsPace

    printed = []
    pace = RowsPace(100_000, 1, lambda _: None, printed.append, ticks)
    ticks.now += 1.78
    pace(256)
    ticks.now += 0.0333
    pace(256)
    assert printed == [  # (one draw: "1 sample", userK #1's nit)
        "expected time of the importance sampling: 13 s more for 99,488 rows (1 sample each; "
        "the second 256 rows took 33.3 ms, the first 256 1.78 s with start-up costs)"
    ]


@pytest.mark.parametrize(
    "seconds, said",
    [(0.0, "0 ms"), (4.2e-5, "0.042 ms"), (0.0333, "33.3 ms"), (0.99949, "999 ms"),
     (0.9996, "1 s"), (1.849, "1.85 s"), (999.4, "999 s"), (999.6, "1000 s"), (4321.0, "4321 s")],
    ids=["none", "microseconds", "milliseconds", "just-under-a-second", "rounds-up-to-a-second",
         "seconds", "just-under-1000-s", "rounds-up-to-1000-s", "over-an-hour"],
)  # fmt: skip
def test_a_measured_time_has_three_significant_digits_in_ms_or_s(seconds, said):
    from torchlvm.evaluation.timing import taken

    assert taken(seconds) == said


def test_a_score_of_one_batch_says_no_time():
    from torchlvm.evaluation.timing import RowsPace

    printed, said = [], []
    pace = RowsPace(100, 10, said.append, printed.append)
    pace(100)
    assert printed == [] and said == []


def test_an_exact_likelihoods_sampling_is_said_to_be_the_bounds():
    """A PPCA's line read "expected time of the importance sampling: 8 s" for a log p(x) that is
    exact (userE): what it samples is the IWAE bounds, no estimate of log p(x)."""
    from torchlvm.models.ppca import PPCA

    data = load_dataset("digits", "test")
    model = PPCA(latent_dim=3).fit(load_dataset("digits", "train").x)
    found = expected_time(model, data, EvalConfig(k=20, ks=(1,), ood=(), n=10), ood_sets=0)
    assert found.describe().startswith(
        "expected time of the importance sampling of the IWAE bounds (log p(x) itself is exact): "
    )


def test_an_ood_set_that_will_be_skipped_is_not_counted_in_the_expected_time(tmp_path, monkeypatch):
    """closing13 Left: evaluate's expected time counted every OOD set asked, also those then
    skipped (MNIST not on the machine, grey images for a colour model): only sets the outlier
    section can make are counted."""
    from torchlvm.data import locate
    from torchlvm.evaluation.outlier_section import scored_sets

    monkeypatch.setattr(locate, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.setenv("TORCHLVM_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # (no MNIST anywhere)
    test = load_dataset("digits", "test")
    assert scored_sets(test, EvalConfig(ood=("mnist", "noise", "flip"))) == 2
    assert scored_sets(test, EvalConfig(ood=("noise",))) == 1
    assert scored_sets(test, EvalConfig(ood=())) == 0


def test_a_label_cvaes_log_px_over_its_classes_is_counted_with_or_without_ood_sets() -> None:
    """userU #3: a label CVAE's likelihood section draws ood_k samples per class of every test
    row for its log p(x) over the classes, which the outlier score reuses: counted once, and
    counted where no OOD set is scored."""
    config = EvalConfig(condition="label", k=10, ks=(1,), ood=(), ood_k=7)
    assert planned_parts(config, 50, ood_sets=0, classes=3) == (50 * 10, 50 * 7 * 3)
    with_ood = EvalConfig(condition="label", k=10, ks=(1,), ood=("noise",), ood_k=7)
    test, noise, val = 50, 50, 20
    assert planned_parts(with_ood, 50, ood_sets=1, classes=3, val_rows=val) == (
        500, (test + noise + val) * 7 * 3
    )  # fmt: skip
