"""Whether a per-point fit (:func:`~torchlvm.inference.local.fit_local_posterior`, the q* of
``gaps``; :func:`~torchlvm.inference.local_flow.fit_local_flow`) had settled when its steps
ended: how the mean over the points of its objective moved over the second half of the steps.

A q* still rising when its steps end understates the amortization gap (ELBO(q*) − ELBO(q_enc))
and overstates the approximation gap by what more steps would have added; ``gaps`` said nothing
of it (userB). Read per point, a Monte Carlo ELBO of a few draws jitters by more than that rise
(a digits VAE, 8 draws per step: ~0.4 nats per point per step, against a whole rise of ~0.2):
the mean over the points is what can be read, with its standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor

SETTLED_SHARE = 0.1
"""A fit whose mean objective rose by more than this share of its whole rise over the second
half of its steps (and by more than twice that rise's noise) was still rising when it ended."""


@dataclass(frozen=True)
class Settling:
    """How the mean over the points of a per-point fit's objective moved in its second half.

    The windows are the last tenth of the iterates and the tenth before the middle (at least 2
    iterates each); their means differ by ``rise``, whose standard error ``rise_se`` comes from
    the spread of the per-iterate means within them (a Monte Carlo objective jitters; an exact
    one does not).
    """

    rise: float  # nats: mean of the last window minus that of the window before the middle
    rise_se: float  # its standard error
    total: float  # nats: mean of the last window minus the first iterate's
    steps: int

    @property
    def still_rising(self) -> bool:
        """Risen in all, and over the second half by more than twice its noise and
        :data:`SETTLED_SHARE` of the whole rise: more steps (or a larger learning rate) would
        have moved it further. A rise within its noise is not seen: with a Monte Carlo ELBO of
        a few draws a slow fit can pass (a digits VAE at lr 5e-4: a second-half rise of 0.010 ±
        0.013 nats, its amortization gap half the settled fit's)."""
        return (
            self.total > 0  # (a fit that ends below its start came back from a dip: Adam's first
            # steps move a q that starts at the optimum, e.g. PPCA's exact posterior)
            and self.rise > 2 * self.rise_se
            and self.rise > SETTLED_SHARE * self.total
        )

    @property
    def share(self) -> str:
        """The second-half rise as a share of the whole one, in the words ``gaps`` prints and
        warns in: "25% of its rise of 0.2 in all"; for a fit that fell first, then rose past
        its start (a second-half rise larger than the whole), "more than its rise of 0.467 in
        all: it fell first", where a share read "1051% of its rise" (userN #2). For a fit
        that ended above its start (``total`` > 0)."""
        if self.rise > self.total:
            return f"more than its rise of {self.total:.3g} in all: it fell first"
        return f"{self.rise / self.total:.0%} of its rise of {self.total:.3g} in all"

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": "nats per example (mean over the points)",
            "rise_second_half": self.rise,
            "rise_second_half_se": self.rise_se,
            "rise_in_all": self.total,
            "steps": self.steps,
            "still_rising": self.still_rising,
        }


def settling(history: Tensor) -> Settling | None:
    """:class:`Settling` of a fit's ``history`` ``(steps + 1, B)`` (as
    :func:`fit_local_posterior` returns it); None for fewer than 4 steps (no two windows)."""
    steps = history.shape[0] - 1
    if steps < 4:
        return None
    mean = history.double().mean(1)  # (steps + 1,) over the points
    w = max(2, steps // 10)
    last, middle = mean[-w:], mean[steps // 2 - w : steps // 2]
    rise = float(last.mean() - middle.mean())
    se = float((last.var() / w + middle.var() / w).sqrt())
    return Settling(rise, se, float(last.mean() - mean[0]), steps)
