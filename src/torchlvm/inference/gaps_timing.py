"""The expected time of :func:`~torchlvm.inference.gaps.inference_gaps`, from short timed probes.

Its time is that of its parts, each linear in one setting: fitting q* (and a flow q*) costs per
Adam step on all n examples at once, log p(x) per importance sample (or per AIS transition),
the Monte Carlo ELBOs per draw of each q. Each part is timed for a few steps or samples on the
same examples and multiplied out; the closed-form parts (PPCA's log p(x), an analytic ELBO) are
left out as negligible.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from torchlvm.inference import gaps

PROBE = 4
"""Steps (or samples, transitions) a probe adds to a run of one, whose time it subtracts."""


def expected_seconds(
    model: Any, x: Tensor, c: Tensor | None, *, steps: int, num_samples: int, k: int,
    elbo_samples: int, family: str | None = None, ais_steps: int | None = None,
    ais_chains: int = 16, flow_steps: int | None = None,
) -> tuple[float, float]:  # fmt: skip
    """(expected seconds of ``inference_gaps`` with these settings, seconds the probes took).

    Args: as :func:`~torchlvm.inference.gaps.inference_gaps`'s; ``x`` ``(n, D)``.
    """
    spent = time.perf_counter()
    total = 0.0
    sync = (lambda: torch.cuda.synchronize(x.device)) if x.device.type == "cuda" else None
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        with torch.no_grad():
            q = gaps.encoder_posterior(model, x, c)
        base = q.base if isinstance(q, gaps.FlowQ) else q
        family = family or ("diagonal" if gaps.gaussian_parts(base)[2] else "full")
        exact_elbo = gaps.has_exact_elbo(model)
        method = "analytic" if exact_elbo else "mc"
        fit = dict(family=family, lr=0.02, num_samples=num_samples, init=q, log_lik_method=method)
        total += steps * _per(lambda m: gaps.fit_local_posterior(model, x, c, steps=m, **fit), sync)
        if flow_steps is not None:
            total += steps * _per(
                lambda m: gaps.fit_local_flow(
                    model, x, c, init=base, flow_steps=flow_steps, steps=m, num_samples=num_samples
                ),
                sync,
            )
        with torch.no_grad():
            per_sample = _per(
                lambda m: gaps.log_marginal_is(model, x, c, num_samples=m, proposal=q),
                sync,
                8 * PROBE,
            )
            if ais_steps is not None:

                def ais(m: int) -> Any:
                    return gaps.log_marginal_ais(model, x, c, num_steps=m, num_chains=ais_chains)

                one = _per(ais, sync)
                total += ais_steps * one
            elif not callable(getattr(model, "log_marginal", None)):
                total += k * per_sample
            if not exact_elbo:  # the encoder's q, q* and a flow q*, each elbo_samples draws
                total += (2 + (flow_steps is not None)) * elbo_samples * per_sample
    return total, time.perf_counter() - spent


def _per(run: Callable[[int], Any], sync: Callable[[], None] | None, m: int = PROBE) -> float:
    """Seconds per unit of ``run(n)`` (n steps or samples): the time of ``run(1 + m)`` less that
    of ``run(1)``, over m, so that the setup both share (an encoder pass) is not multiplied.
    ``sync`` waits for a GPU's queued work (its kernels run after the call returns)."""
    times = []
    for n in (1, 1, 1 + m):  # (the first warms up)
        start = time.perf_counter()
        run(n)
        if sync is not None:
            sync()
        times.append(time.perf_counter() - start)
    return max(times[2] - times[1], 0.0) / m
