"""Timing a computation whose cost is linear in a count (Adam steps, importance samples, HMC
transitions), so that a command can say how long it will take before it takes it.

``run(n)`` runs n units. After one untimed run that warms up (lazy initialization, allocator and
thread pools, a GPU's first kernels), it is timed for n = 1, 2, 4, ... until a run takes
:data:`PROBE_SECONDS` or n reaches ``most``. On a loaded machine a run's time is its work plus
the time the process waited for a core, and other work on the machine comes in bursts: so the
count that ends the doubling, and the one before it, are run :data:`REPEATS` times and the
median time kept (a single wait of 0.3 s under a load of 12 on 2 cores ended a doubling at one
unit, and its expected time was 20 times too long; one timing of a part of ``evaluate`` read
5.67 and then 63.90 µs per sample in two identical runs). The seconds per unit are then

- the difference of the last two runs' times over the difference of their counts, so that the
  setup both runs share (an encoder pass, the chains' start) is not multiplied out with the
  units (a first run of one unit that is long enough is followed by one of two units for this),
  and at most the last run's time over its count (a setup is not negative), at least half of it:
  a difference of two times is the load's noise as much as the setup, and under a load of 14 on
  2 cores a shorter one made ``gaps``' expected time 11 s for a run that took 258 s, where a
  setup that is half of a run of :data:`PROBE_SECONDS` or more is not one this module's callers
  have;
- where ``most`` units ran in less than :data:`PROBE_SECONDS`, that time over ``most``: a
  difference of two short times is mostly noise, and a caller that passes the run's own count
  as ``most`` then measures a short computation whole;
- where noise makes the difference not positive, the last run's time over its count;
- for a caller whose runs share no setup worth taking out (``setup=False``), the last run's
  time over its count, without a difference: a difference of two times under load is mostly
  the load's noise (it made evaluate's expected time 0.16 times the time taken), and the second
  count's runs cost seconds where one unit does.

A probe told the ``total`` units of the whole computation stops (doubling, or repeating a
count) once it has spent :data:`SHORT_SHARE` of the time they would take at the rate measured so
far, and gives that rate: a job that short needs no better estimate, and a probe is worth its
time only while it is a small share of the job (``evaluate`` of 200 digits at k = 200 probed for
2.5 s a run it then expected to take 2 s; AIS was probed for 5.2 s before a job of 4 s, and
``gaps`` for 47.5 s before one of 2.6 min). The rate is then the last count's time over it, its
setup included, which can only overstate the time. A job of at most 1/:data:`SHORT_SHARE` units
gets the warm-up's rate: that run alone was that share of the job (``evaluate`` of a table's 18
test rows, whose k samples are one chunk, probed for 1.3 s, two runs of the job, before a job
of 0.5 s).

Each run waits for a GPU's queued work before the clock is read (its kernels run after the call
returns).

On a machine busier than its cores the rate is that of the moment the probe ran; the commands
say so (:class:`Busy`).

The one way both ``evaluate``'s and ``gaps``' expected times are found.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from torchlvm._threads import cpu_cores

PROBE_SECONDS = 0.3
"""A probe doubles its units until one run takes at least this long."""
SHORT_SHARE = 0.1
"""A probe of a job of known length stops once it has spent this share of the job's time."""
REPEATS = 3
"""The runs of a count whose median time a probe keeps (a wait for a core in one of them, or a
burst of other work, moves a median of three by nothing)."""
RESTATE_SECONDS = 10.0
"""A job's own steps are timed this long before its expected time is re-stated from them."""


def duration(seconds: float) -> str:
    """``42 s``, ``2.4 min`` or, under a second, ``<1 s``: an expected time as the commands
    print it (``0 s`` read as no time at all, or none measured)."""
    if seconds < 1:
        return "<1 s"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


@dataclass(frozen=True)
class Rate:
    """What a probe found."""

    per_unit: float  # seconds per unit
    seconds: float  # seconds the probe took, its warm-up included


@dataclass(frozen=True)
class Busy:
    """A machine with more runnable work than cores when a probe ran. The probe measures the
    share of the cores its process got in those seconds, which other work changes as it comes
    and goes: what it multiplies out can be far from the time the whole job takes
    (``benchmarks/results/evaluate_time.md``)."""

    load: float  # the 1-minute load average
    cores: int  # cores this process may run on

    @classmethod
    def now(cls) -> Busy | None:
        """The machine's load now, where it is above its cores by more than this process's
        own threads (which the load average counts too: a command run alone, or just after
        another, is not "busy"); None on a machine that is not busy, or where the load average
        is unknown (not a Unix)."""
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return None
        cores = cpu_cores()
        return cls(load, cores) if load > cores + torch.get_num_threads() else None

    def describe(self) -> str:
        """One line; where torch runs more than one thread, naming ``--threads 1``: at load 4.7 on
        2 cores an image-sample of a Fashion-MNIST VAE's likelihood took 236-244 µs on torch's 2
        threads and 13-16 µs on one (userH), since a thread waiting for a core stalls the other."""
        line = (
            f"the machine is busy (load average {self.load:.1f} on {self.cores} cores): the time "
            "will follow its load"
        )
        if torch.get_num_threads() > 1:
            line += "; with other jobs on the cores, --threads 1 is often several times faster"
        return line


class Restated:
    """An expected time said again from a job's own steps, once they have run
    :data:`RESTATE_SECONDS`: a probe at the start measures the machine of that moment, and a load
    that changes makes its time wrong either way (``benchmarks/results/evaluate_time.md``).

    Called as ``restated(part, n)`` when ``part`` starts (``n`` 0) and after each ``n`` more of
    its units, each worth ``weights[part]`` of the job's work (a part without weight is not
    counted); only time within a part is counted, from its start or its last step. Once
    counted, ``say(line(seconds, per_work, left))`` with the seconds counted, their seconds per
    unit of work and the work left, once.
    """

    def __init__(
        self,
        weights: Mapping[str, float],
        left: float,
        line: Callable[[float, float, float], str],
        say: Callable[[str], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.weights, self.left, self.line, self.say, self.clock = weights, left, line, say, clock
        self.part: str | None = None
        self.last = 0.0  # when the last step ended
        self.done, self.seconds = 0.0, 0.0  # work counted, and the seconds it took
        self.said = False

    def __call__(self, part: str, n: int) -> None:
        weight = self.weights.get(part, 0)
        if self.said or not weight:
            self.part = None
            return
        now = self.clock()
        self.left -= n * weight
        if n and part == self.part:
            self.done += n * weight
            self.seconds += now - self.last
        self.part, self.last = part, now
        if self.seconds >= RESTATE_SECONDS and self.done > 0 and self.left > 0:
            self.said = True
            self.say(self.line(self.seconds, self.seconds / self.done, self.left))


def device_sync(device: torch.device) -> Callable[[], None] | None:
    """What waits for ``device``'s queued work: ``torch.cuda.synchronize`` on a GPU, else None."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return None


def seconds_per_unit(
    run: Callable[[int], object],
    *,
    most: int,
    total: int | None = None,
    sync: Callable[[], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    setup: bool = True,
) -> Rate:
    """Time ``run(n)`` for growing n (see the module docstring) and return its seconds per unit.

    Args:
        run: runs n units (n ≥ 1).
        most: the most units a run may take (≥ 1): the probe never runs more than this at once.
        total: the units the whole computation will run, where known: a probe that has spent
            :data:`SHORT_SHARE` of their time stops there.
        sync: waits for queued device work (:func:`device_sync`), before each clock reading.
        clock: seconds, monotonic.
        setup: False where a run's work done once is negligible beside one unit: the rate is
            then the last run's time over its count, with no second count run to take a setup
            out (evaluate's probe in whole chunks: one encoder pass beside a chunk's decoder
            passes; under load each unit's run takes seconds).
    """
    begun = clock()

    def timed(n: int) -> float:
        return _timed(run, n, sync, clock)

    def spent(per_unit: float, then: float = 0.0) -> bool:  # a short job's share is spent, or
        # would be by a run of ``then`` seconds more
        return total is not None and clock() - begun + then >= SHORT_SHARE * total * per_unit

    runs: dict[int, list[float]] = {}  # each count's timed runs

    def settled(n: int) -> float:  # the median of up to REPEATS runs of n units
        while len(runs[n]) < REPEATS:
            median = statistics.median(runs[n])
            if spent(median / n, then=median):
                break
            runs[n].append(timed(n))
        return statistics.median(runs[n])

    warm = timed(1)  # (warms up)
    if total is not None and total * SHORT_SHARE <= 1:  # the warm-up was a share of the job
        return Rate(warm, clock() - begun)
    n = 1
    while True:
        runs[n] = [timed(n)]
        if spent(runs[n][0] / n):
            return Rate(runs[n][0] / n, clock() - begun)  # a short job: rate enough
        took = runs[n][0]
        if took >= PROBE_SECONDS or n >= most:  # confirmed: one wait moves a median of 3 by nothing
            took = settled(n)
        if took >= PROBE_SECONDS or n >= most or spent(took / n, then=2 * took):
            break
        n = min(most, 2 * n)
    if took < PROBE_SECONDS or not setup:  # (all ``most`` units ran in a short time)
        return Rate(took / n, clock() - begun)
    if len(runs) == 1 and most > 1 and not spent(took / n, then=2 * took):  # one unit is long:
        # one more count, to take the setup out
        n = min(most, 2)
        runs[n] = [timed(n)]
        took = settled(n)
    average = took / n  # (the setup included: at least the rate)
    if len(runs) == 1:
        return Rate(average, clock() - begun)
    before = list(runs)[-2]
    slope = (took - settled(before)) / (n - before)
    rate = min(max(slope, average / 2), average) if slope > 0 else average
    return Rate(rate, clock() - begun)


def _timed(
    run: Callable[[int], object],
    n: int,
    sync: Callable[[], None] | None,
    clock: Callable[[], float],
) -> float:
    start = clock()
    run(n)
    if sync is not None:
        sync()
    return clock() - start
