"""The one probe that times a computation linear in a count, for evaluate's and gaps' expected
times: units doubled until a run is long enough, seconds per unit from the last two counts,
each the median of three runs."""

import pytest

from torchlvm._probe import PROBE_SECONDS, SHORT_SHARE, duration, seconds_per_unit


class FakeClock:
    """A clock that a run of n units moves by ``setup + n * per`` seconds, and the runs numbered
    in ``waits`` (0: the warm-up) by that much more: the process waited for a core."""

    def __init__(self, setup: float, per: float, waits: dict[int, float] | None = None) -> None:
        self.now, self.setup, self.per, self.waits = 0.0, setup, per, waits or {}
        self.runs: list[int] = []

    def __call__(self) -> float:
        return self.now

    def run(self, n: int) -> None:
        self.now += self.setup + n * self.per + self.waits.get(len(self.runs), 0.0)
        self.runs.append(n)


def test_the_setup_both_runs_share_is_not_counted_per_unit():
    """evaluate's probe divided the last run's time by its samples, so a setup (the encoder
    pass) of 0.05 s counted as 16% more per sample here; gaps' probe took the difference of a
    run of 1 and 5 units, each once, whatever their length. One way now: the difference of the
    last two runs, each of them doubling until one takes PROBE_SECONDS."""
    clock = FakeClock(setup=0.05, per=0.01)
    rate = seconds_per_unit(clock.run, most=1000, clock=clock)
    assert rate.per_unit == pytest.approx(0.01)
    assert clock.runs == [1, 1, 2, 4, 8, 16, 32, 32, 32, 16, 16]  # a warm-up, doubling until a
    # run takes 0.3 s, and the last two counts three times each
    assert clock.setup + 32 * clock.per >= PROBE_SECONDS > clock.setup + 16 * clock.per
    assert rate.seconds == pytest.approx(sum(clock.setup + n * clock.per for n in clock.runs))


def test_a_probe_never_runs_more_units_than_most_at_once():
    clock = FakeClock(setup=0.0, per=0.001)
    rate = seconds_per_unit(clock.run, most=20, clock=clock)
    assert clock.runs == [1, 1, 2, 4, 8, 16, 20, 20, 20]
    assert rate.per_unit == pytest.approx(0.001)  # 20 units in 0.02 s: measured whole


def test_a_long_first_run_is_followed_by_one_more_to_take_the_setup_out():
    clock = FakeClock(setup=0.2, per=0.2)  # one unit takes 0.4 s, of which 0.2 s setup
    assert seconds_per_unit(clock.run, most=8, clock=clock).per_unit == pytest.approx(0.2)
    assert clock.runs == [1, 1, 1, 1, 2, 2, 2]


def test_a_difference_shrunk_by_noise_gives_at_least_half_the_average():
    """Under a load of 14 on 2 cores gaps expected 11 s for a run that took 258 s: a wait in
    the shorter of the last two runs shrinks their difference towards nothing. The rate is at
    least half the last run's time over its count: noise can no longer make it more than 2
    times too short."""
    clock = FakeClock(setup=0.0, per=0.2, waits={1: 0.15, 2: 0.15, 3: 0.15})  # each 1-unit run
    rate = seconds_per_unit(clock.run, most=8, clock=clock)
    assert clock.runs == [1, 1, 1, 1, 2, 2, 2]
    assert rate.per_unit == pytest.approx(0.4 / 2 / 2)  # the difference: 0.05 s


def test_a_wait_for_a_core_does_not_end_the_doubling_early():
    """Under a load of 12 on 2 cores a run of one ELBO draw took 0.3 s of waiting: the doubling
    stopped there and the difference of two such runs gave 82 ms per draw for a real 4 ms, so
    gaps expected 20 min for a 3 min run. The count that ends the doubling is timed three times,
    and the median kept."""
    clock = FakeClock(setup=0.001, per=0.004, waits={1: 0.35})
    rate = seconds_per_unit(clock.run, most=1000, clock=clock)
    assert rate.per_unit == pytest.approx(0.004)
    assert clock.runs[:4] == [1, 1, 1, 1] and max(clock.runs) == 128  # doubled on
    clock = FakeClock(setup=0.0, per=0.004, waits={9: 0.2})  # the last count's second timing
    assert seconds_per_unit(clock.run, most=1000, clock=clock).per_unit == pytest.approx(0.004)


def test_a_burst_of_other_work_in_one_run_does_not_move_the_rate():
    """review9: one timing of evaluate's outlier score read 5.67 and then 63.90 µs per sample in
    two identical runs (load ~6 on 2 cores). A run ten times too slow, at any place among the
    final count's three, leaves the rate as it was; the shorter of two runs kept a wait in the
    count before it (then the difference of the two)."""
    for burst in (6, 7, 8, 9, 10):  # the runs of 16 units (6-8) and of 8 (9-10, 5)
        clock = FakeClock(setup=0.0, per=0.02, waits={burst: 3.2})
        rate = seconds_per_unit(clock.run, most=1000, clock=clock)
        assert clock.runs == [1, 1, 2, 4, 8, 16, 16, 16, 8, 8]
        assert rate.per_unit == pytest.approx(0.02)


def test_short_runs_are_not_differenced_and_noise_gives_no_negative_rate():
    """gaps' probe took the difference of two runs of a few milliseconds: on a loaded machine
    one preemption made 100 importance samples that took 0.01 s expected to take 3 s."""
    # 1 unit: 0.1 s; 2 units: 0.02, 0.03, 0.02 s
    times = iter([0, 0, 0, 0, 0.1, 0.1, 0.12, 0.12, 0.15, 0.15, 0.17, 0.2])
    rate = seconds_per_unit(lambda n: None, most=2, clock=lambda: next(times))
    assert rate.per_unit == pytest.approx(0.02 / 2)
    clock = FakeClock(setup=0.0, per=0.35 / 2, waits={1: 0.3, 2: 0.3, 5: 0.3})
    rate = seconds_per_unit(clock.run, most=8, clock=clock)  # 1 unit: 0.475 s, 2 units: 0.35 s
    assert rate.per_unit == pytest.approx(0.35 / 2)


def test_each_timed_run_waits_for_the_device_before_the_clock_is_read():
    """On a GPU a probe's kernels run after its call returns: without a synchronization each
    part was timed by its launches alone."""
    events = []
    seconds_per_unit(
        lambda n: events.append(f"run {n}"), most=2, sync=lambda: events.append("sync")
    )  # (short runs: 2 units ran whole, three times)
    assert events == [f"run {n}" if i % 2 == 0 else "sync" for n in (1, 1, 2, 2, 2) for i in (0, 1)]


def test_a_probe_of_a_short_job_stops_once_it_has_spent_a_share_of_it():
    """evaluate of 200 digits at k = 200 probed for 2.5 s a run it then expected to take 2 s,
    AIS for 5.2 s before a job of 4 s, gaps for 47.5 s before one of 2.6 min: told the job's
    units, the probe runs nothing (a doubled count, a repeat) that would take it past
    SHORT_SHARE (a tenth) of their time."""
    clock = FakeClock(setup=0.0, per=0.001)
    rate = seconds_per_unit(clock.run, most=1000, total=100, clock=clock)
    assert clock.runs == [1, 1, 2, 4]  # 8 more units would make 0.016 s > 0.1 * 100 * 0.001
    assert rate.per_unit == pytest.approx(0.001)
    assert rate.seconds == pytest.approx(0.008)
    for total in (20, 50, 300, 1000, 5000):
        for per in (0.001, 0.01, 0.2):  # 1-unit runs short and long (repeated, not doubled)
            clock = FakeClock(setup=0.0, per=per)
            rate = seconds_per_unit(clock.run, most=1000, total=total, clock=clock)
            assert rate.seconds <= SHORT_SHARE * total * per + 1e-12
            assert rate.per_unit == pytest.approx(per)
    clock = FakeClock(setup=0.0, per=0.001)  # a long job: the probe runs as before
    seconds_per_unit(clock.run, most=1000, total=10**6, clock=clock)
    assert clock.runs == [1, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 512, 512, 256, 256]


def test_without_a_setup_the_last_run_gives_the_rate_and_no_second_count_runs():
    """evaluate's probe in whole chunks has no setup worth taking out, and under load one chunk
    takes a second or more: the run of two units, twice, that took a setup out cost seconds and
    its difference was mostly noise. With setup=False the last run's shorter time over its
    count is the rate."""
    clock = FakeClock(setup=0.0, per=0.5, waits={2: 0.2})
    rate = seconds_per_unit(clock.run, most=100, clock=clock, setup=False)
    assert clock.runs == [1, 1, 1, 1]  # a warm-up, one unit long enough, three times
    assert rate.per_unit == pytest.approx(0.5)  # the median: a run without the wait


def test_a_job_of_a_few_units_is_timed_by_its_warm_up_alone():
    """evaluate of a table's 18 test rows at k = 5000 (one chunk) probed for 1.3 s, two whole
    runs of a job of 0.5 s: a job of at most four units takes the warm-up's rate, which can
    only overstate it. Ten units: the warm-up alone is the share a probe may take."""
    clock = FakeClock(setup=0.0, per=0.2)
    rate = seconds_per_unit(clock.run, most=1, total=1, clock=clock)
    assert clock.runs == [1] and rate.per_unit == pytest.approx(0.2)
    clock = FakeClock(setup=0.0, per=0.2)
    seconds_per_unit(clock.run, most=10, total=10, clock=clock)
    assert clock.runs == [1]
    clock = FakeClock(setup=0.0, per=0.2)
    seconds_per_unit(clock.run, most=10, total=11, clock=clock)
    assert len(clock.runs) > 1  # eleven units: probed as before


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0.004, "<1 s"),
        (0.5, "<1 s"),
        (0.99, "<1 s"),
        (1.2, "1 s"),
        (42.0, "42 s"),
        (144, "2.4 min"),
    ],
    ids=["ms", "half", "just-under", "a-second", "seconds", "minutes"],
)
def test_an_expected_time_under_a_second_is_not_zero(seconds, said):
    # userB: 'expected time of the importance sampling: 0 s' for a sub-second part read as
    # no time at all
    assert duration(seconds) == said
