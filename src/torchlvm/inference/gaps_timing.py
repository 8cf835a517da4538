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
from typing import Any

import torch
from torch import Tensor

from torchlvm._probe import device_sync, seconds_per_unit
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
    s = GapSettings(**settings)
    state = prepare(model, x, c, s)
    spent = time.perf_counter()
    total = 0.0
    sync = device_sync(x.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(s.seed)
        for part in gap_parts(model, x, c, s, state):
            grain = min(s.chunk, part.units) if part.unit in CHUNKED else 1
            rate = seconds_per_unit(
                lambda m, run=part.run, grain=grain: run(m * grain, None),
                most=part.units // grain,
                total=-(-part.units // grain),
                sync=sync,
            )
            total += part.units * rate.per_unit / grain
    return total, time.perf_counter() - spent
