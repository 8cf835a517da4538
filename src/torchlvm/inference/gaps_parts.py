"""The parts of :func:`~torchlvm.inference.gaps.inference_gaps`, in the one list that runs them,
times them (:mod:`~torchlvm.inference.gaps_timing`) and shows their progress.

Each part's time is linear in one count: fitting q* and a flow q* in Adam steps on all n
examples at once, each q's Monte Carlo ELBO in draws, log p(x) in importance samples or AIS
transitions; a closed-form part (PPCA's log p(x), an analytic ELBO) is one unit. A part runs m
units into a shared ``state`` (the q's it starts from and those it fits), so that a probe runs
the very code of the run with a few units: a part added here is timed and shown with the others.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

from torchlvm._checks import (
    check_autograd,
    check_choice,
    check_int,
    check_positive,
    check_positive_int,
    check_rows,
)
from torchlvm.errors import ConfigError
from torchlvm.inference.ais import log_marginal_ais
from torchlvm.inference.exact import exact_log_px
from torchlvm.inference.importance import log_marginal_is
from torchlvm.inference.local import Family, check_family, fit_local_posterior, gaussian_parts
from torchlvm.inference.local_flow import fit_local_flow
from torchlvm.inference.refine import encoder_posterior
from torchlvm.models.posteriors import MAX_FLOW_STEPS, FlowQ
from torchlvm.protocol import LatentVariableModel, latent_size

Advance = Callable[[int], None]
"""``advance(u)``: u more units are done (a progress bar's update)."""


@dataclass(frozen=True)
class GapSettings:
    """The settings of :func:`~torchlvm.inference.gaps.inference_gaps` (its arguments of the
    same names, documented there)."""

    k: int = 5000
    local_steps: int = 300
    lr: float = 0.02
    family: Family | None = None
    num_samples: int = 8
    elbo_samples: int = 1000
    proposal: Literal["local", "encoder"] = "local"
    chunk: int = 250
    seed: int = 0
    ais_steps: int | None = None
    ais_chains: int = 16
    flow_steps: int | None = None
    flow_lr: float = 0.01

    def check(self, model: LatentVariableModel) -> None:
        """Raise ``ConfigError`` for a bad setting, or one this model cannot take."""
        for name in ("k", "local_steps", "num_samples", "elbo_samples", "chunk", "ais_chains"):
            check_positive_int(name, getattr(self, name))
        check_positive("lr", self.lr)
        check_positive("flow_lr", self.flow_lr)
        check_choice("proposal", self.proposal, ("local", "encoder"))
        if self.ais_steps is not None:
            check_positive_int("ais_steps", self.ais_steps)
        if self.flow_steps is not None:
            check_positive_int("flow_steps", self.flow_steps)
            if self.flow_steps > MAX_FLOW_STEPS:
                raise ConfigError(
                    f"flow_steps must be at most {MAX_FLOW_STEPS}, got {self.flow_steps}"
                )
        check_int("seed", self.seed)
        if self.family is not None:
            check_family(self.family, latent_size(model))
        if not exact_log_px(model) and self.ais_steps is None and self.k < 2:  # one weight
            raise ConfigError(
                "k=1 (one importance sample) estimates log p(x) with no standard error: it is "
                "one draw's ELBO; use k of 2 or more (gaps --k, default 5000), or AIS (gaps --ais)"
            )


def has_exact_elbo(model: LatentVariableModel) -> bool:
    """True for models with a closed-form E_q[log p(x | z)] (``expected_log_likelihood``)."""
    return callable(getattr(model, "expected_log_likelihood", None))


def prepare(
    model: LatentVariableModel, x: Tensor, c: Tensor | None, settings: GapSettings
) -> dict[str, Any]:
    """Check everything before any long work, and return the state the parts start from: the
    encoder's q (``"enc"``) and its base Gaussian, the family of q*, and whether that family is
    narrower than the encoder's (``"narrower"``: a diagonal q* of a full-covariance q) or wider
    (``"wider"``: a full-covariance q* of a diagonal q).

    Raises:
        ConfigError: for a bad setting, a model without a Gaussian or flow encoder, a family
            this latent size cannot take, or a call under ``torch.inference_mode``.
        DataError: for x without rows.
    """
    check_rows("x", x, model, c=c)
    check_autograd("inference_gaps", "per-point Adam steps on q*")
    settings.check(model)
    with torch.no_grad():
        q_enc = encoder_posterior(model, x, c)
    base = q_enc.base if isinstance(q_enc, FlowQ) else q_enc
    own = "diagonal" if gaussian_parts(base)[2] else "full"
    family = settings.family or own
    check_family(family, latent_size(model))
    narrower = family == "diagonal" and own == "full" and _correlated(base)
    wider = family == "full" and own == "diagonal"
    return {"enc": q_enc, "base": base, "family": family, "narrower": narrower, "wider": wider}


def _correlated(q: Any) -> bool:
    """Whether full-covariance Gaussian ``q`` has correlations a diagonal q cannot hold: a PPCA
    from ``fit ppca`` has W in its canonical rotation, so its exact posterior is diagonal and a
    diagonal q* reaches it (readB #3); a rotated one's is not."""
    cov = q.covariance_matrix  # (B, K, K)
    diagonal = torch.diagonal(cov, dim1=-2, dim2=-1)
    off = (cov - torch.diag_embed(diagonal)).abs().amax()
    return bool(off > 1e-6 * diagonal.abs().amax())


@dataclass(frozen=True)
class Part:
    """One part of inference_gaps."""

    name: str  # what it computes, as its progress bar names it
    units: int  # how many the run takes: steps, draws, samples, transitions (1: closed form)
    unit: str  # what one unit is
    run: Callable[[int, Advance | None], None]  # run(m, advance): m units into the state


def gap_parts(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    s: GapSettings,
    state: dict[str, Any],
) -> list[Part]:
    """The parts in the order inference_gaps runs them (that order draws its random numbers),
    each filling ``state`` (from :func:`prepare`): ``"best"`` (q*), ``"flow"``, ``"elbo:NAME"``
    (ELBO and its standard error of each q), ``"log_px"`` (an Estimate or exact values) and
    ``"px_method"``."""
    exact_elbo = has_exact_elbo(model)

    def fit_best(m: int, advance: Advance | None) -> None:
        tick = None if advance is None else (lambda t, q: t and advance(1))  # (t=0: before)
        state["best"], state["history:best"] = fit_local_posterior(
            model, x, c, family=state["family"], steps=m, lr=s.lr, num_samples=s.num_samples,
            init=state["enc"], log_lik_method="analytic" if exact_elbo else "mc",
            schedule="cosine", callback=tick,
        )  # fmt: skip

    def fit_flow(m: int, advance: Advance | None) -> None:
        tick = None if advance is None else (lambda t, q: t and advance(1))
        state["flow"], state["history:flow"] = fit_local_flow(
            model, x, c, init=state["best"], flow_steps=s.flow_steps, steps=m, lr=s.flow_lr,
            num_samples=s.num_samples, callback=tick,
        )  # fmt: skip

    parts = [Part("q*", s.local_steps, "step", fit_best)]
    if s.flow_steps is not None:
        parts.append(Part("flow q*", s.local_steps, "step", fit_flow))
    names = {"enc": "q_enc", "best": "q*", "flow": "flow q*"}
    for key in ("enc", "best", "flow") if s.flow_steps is not None else ("enc", "best"):
        closed = exact_elbo and not (key == "flow" or isinstance(state["enc"], FlowQ))
        units, unit = (1, "closed form") if closed else (s.elbo_samples, "draw")
        run = _elbo_part(model, x, c, s, state, key)
        parts.append(Part(f"ELBO of {names[key]}", units, unit, run))
    parts.append(_log_px_part(model, x, c, s, state))
    return parts


def _elbo_part(
    model: LatentVariableModel, x: Tensor, c: Tensor | None, s: GapSettings,
    state: dict[str, Any], key: str,
) -> Callable[[int, Advance | None], None]:  # fmt: skip
    """ELBO(q) of ``state[key]`` from m draws, each q from the same random state as the first
    (common random numbers where the families draw alike)."""
    from torchlvm.inference.gaps import elbo_with_stderr

    def run(m: int, advance: Advance | None) -> None:
        if key == "enc":
            state["rng"] = torch.get_rng_state()
        torch.set_rng_state(state["rng"])
        state[f"elbo:{key}"] = elbo_with_stderr(
            model, x, c, state[key], num_samples=m, chunk=s.chunk, advance=advance
        )

    return run


def _log_px_part(
    model: LatentVariableModel, x: Tensor, c: Tensor | None, s: GapSettings, state: dict[str, Any]
) -> Part:
    """log p(x): exact, by AIS, or importance sampled from q* (``proposal="local"``) or the
    encoder's q."""
    if exact_log_px(model):

        def exact(m: int, advance: Advance | None) -> None:
            with torch.no_grad():
                state["log_px"] = model.log_marginal(x)  # type: ignore[attr-defined]
            state["px_method"] = "exact"

        return Part("log p(x)", 1, "closed form", exact)
    if s.ais_steps is not None:

        def ais(m: int, advance: Advance | None) -> None:
            state["log_px"] = log_marginal_ais(
                model, x, c, num_steps=m, num_chains=s.ais_chains, advance=advance
            )
            state["px_method"] = f"AIS ({m} HMC steps, {s.ais_chains} chains)"

        return Part("log p(x) by AIS", s.ais_steps, "transition", ais)

    def importance(m: int, advance: Advance | None) -> None:
        q = state["best"] if s.proposal == "local" else state["enc"]
        state["log_px"] = log_marginal_is(
            model, x, c, num_samples=m, chunk=s.chunk, proposal=q, advance=advance
        )
        state["px_method"] = f"importance sampling (proposal: {s.proposal} q)"

    return Part("log p(x) by importance sampling", s.k, "sample", importance)
