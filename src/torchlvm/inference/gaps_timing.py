"""The expected time of :func:`~torchlvm.inference.gaps.inference_gaps`, from short timed probes.

Its time is that of its parts (:func:`~torchlvm.inference.gaps_parts.gap_parts`, the list
inference_gaps runs), each linear in its units. Each part is timed on the same examples by the
one probe of :mod:`torchlvm._probe`, its units doubled until a run is long enough or is the
part's whole run, and multiplied out; a closed-form part is one unit. A part shorter than the
probe's 0.3 s is thus run whole (at most twice over, in doublings): its time is measured, not
extrapolated from a difference of milliseconds. A part that draws samples in chunks
(:data:`CHUNKED`) is timed in whole chunks, as it runs: 1, 2, 4, ... samples at a time are
operations hundreds of times smaller, whose fixed cost per operation the probe multiplied out
(evaluate's probe did so, :func:`torchlvm.evaluation.timing.probe`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from torch import Tensor

from torchlvm._kept_state import seeded
from torchlvm._probe import Restated, device_sync, duration, seconds_per_unit
from torchlvm.inference.gaps_parts import GapSettings, gap_parts, prepare

CHUNKED = frozenset({"sample", "draw"})
"""The units of the parts that draw in chunks of ``GapSettings.chunk`` (importance samples, the
ELBO's draws): their probe doubles whole chunks."""


def expected_seconds(
    model: Any, x: Tensor, c: Tensor | None, **settings: Any
) -> tuple[float, float]:
    """(expected seconds of ``inference_gaps`` with these settings, seconds the probes took).

    Every setting is checked first, as inference_gaps checks them, so that a bad one fails
    before the probes.

    Args: as :func:`~torchlvm.inference.gaps.inference_gaps`'s; ``x`` ``(n, D)``.

    Raises: as inference_gaps.
    """
    plan, spent = expected_parts(model, x, c, **settings)
    return sum(units * per_unit for units, per_unit in plan.values()), spent


def expected_parts(
    model: Any, x: Tensor, c: Tensor | None, **settings: Any
) -> tuple[dict[str, tuple[int, float]], float]:
    """({part: (its units, expected seconds per unit)}, seconds the probes took): what
    :func:`expected_seconds` adds up, and :class:`GapsPace` re-states from. As it."""
    s = GapSettings(**settings)
    state = prepare(model, x, c, s)
    spent = time.perf_counter()
    plan: dict[str, tuple[int, float]] = {}
    sync = device_sync(x.device)
    with seeded(s.seed):
        for part in gap_parts(model, x, c, s, state):
            grain = min(s.chunk, part.units) if part.unit in CHUNKED else 1
            rate = seconds_per_unit(
                lambda m, run=part.run, grain=grain: run(m * grain, None),
                most=part.units // grain,
                total=-(-part.units // grain),
                sync=sync,
            )
            plan[part.name] = (part.units, rate.per_unit / grain)
    return plan, time.perf_counter() - spent


class GapsPace(Restated):
    """The expected time of ``inference_gaps`` re-stated from the run's own pace
    (:class:`~torchlvm._probe.Restated`): given to inference_gaps as its ``advance``, it weighs
    each unit of a part by the seconds the probes expected of it, and says the time left at the
    ratio of the seconds counted to those the probes expected (under a load that changes, gaps'
    expected time was 0.06 to 1.6 times the time taken).
    """

    def __init__(
        self,
        plan: dict[str, tuple[int, float]],
        say: Callable[[str], None],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        def line(seconds: float, ratio: float, left: float) -> str:
            return (
                f"expected time, re-stated from its first {seconds:.0f} s: "
                f"{duration(ratio * left)} more (its steps take {ratio:.2g} times as long as the "
                "probes found)"
            )

        rate = {name: per_unit for name, (_, per_unit) in plan.items()}
        left = sum(units * per_unit for units, per_unit in plan.values())  # probed seconds
        super().__init__(rate, left, line, say, clock)
