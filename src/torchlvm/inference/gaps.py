"""Inference gaps: how far the encoder's ELBO falls below log p(x), and why.

Cremer, Li & Duvenaud 2018, "Inference Suboptimality in Variational Autoencoders" (ICML), §3,
split the gap between log p(x) and the ELBO of the encoder's q into two parts, in nats per example:

    log p(x) − ELBO(q_enc) = [log p(x) − ELBO(q*)]      approximation gap: the family is too
                           + [ELBO(q*) − ELBO(q_enc)]   amortization gap: the encoder misses q*,
                                                        narrow to hold the posterior

where q* is the best q of the family for that point, found by per-point optimization
(:func:`~torchlvm.inference.local.fit_local_posterior`, here started from the encoder's q). Since
log p(x) = ELBO(q) + KL(q ‖ p(z | x)), the approximation gap is KL(q* ‖ p(z | x)).

log p(x) is exact for models with ``log_marginal`` (PPCA); otherwise it is importance sampled
with k samples (:func:`~torchlvm.inference.log_marginal_is`) or, as Cremer et al. do, estimated
by annealed importance sampling (:func:`~torchlvm.inference.log_marginal_ais`): an estimate with a
standard error, low-biased like the IWAE bound.

Cremer et al. also fit a flow q per point (their q*_Flow): how much of the approximation gap a
more expressive family closes. ``flow_steps`` adds that ELBO
(:func:`~torchlvm.inference.local_flow.fit_local_flow`, started from q*). For a model whose own
q is a flow, q* keeps the encoder's coupling networks and optimizes what the encoder emits per
point: the base Gaussian and the context h (the best q of the family the encoder ranges over).

Standard errors, per example: each Monte Carlo ELBO's from the spread of its chunk means (batch
means), log p(x)'s from the estimator; a gap's is the root sum of squares of its two terms'
(conservative where the two share random numbers).

PPCA, exactly. Its posterior is N(m, Σ) with Σ = σ² (WᵀW + σ² I)⁻¹, the same for every x. With
the exact posterior as q both gaps are zero. The best *diagonal* q under reverse KL has mean m and
precisions diag(Σ⁻¹) (a standard result: Bishop, PRML §10.1.2, eq. 10.12–10.13), so its variances
1/(Σ⁻¹)_ii ≤ Σ_ii shrink (reverse KL is zero-forcing) and its gap is

    KL(q* ‖ p(z | x)) = ½ (Σ_i log (Σ⁻¹)_ii + log det Σ) ≥ 0  (Hadamard's inequality),

zero iff Σ is diagonal. PPCA's maximum-likelihood W is fixed only up to a rotation R; in the
canonical rotation WᵀW is diagonal, so is Σ, and the mean-field gap is exactly zero. Any other
rotation gives the same p(x) and a correlated posterior: :func:`rotate_latents` makes one.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal
from tqdm.auto import tqdm

from torchlvm._kept_state import seeded
from torchlvm.distributions.kl import kl
from torchlvm.errors import ConfigError
from torchlvm.inference.exact import exact_log_px
from torchlvm.inference.gaps_parts import (
    GapSettings,
    gap_parts,
    has_exact_elbo,
    prepare,
)
from torchlvm.inference.local import Family, fit_local_posterior
from torchlvm.inference.objectives import elbo
from torchlvm.inference.settling import Settling, settling
from torchlvm.models.posteriors import FlowQ
from torchlvm.protocol import LatentVariableModel


@dataclass(frozen=True)
class GapReport:
    """Per-example log p(x), best-q ELBO and encoder ELBO, in nats, and how each was obtained.

    Attributes:
        log_px: log p(x) (B,), exact or importance sampled.
        log_px_stderr: its standard error (B,); zero when exact.
        best_elbo: ELBO of the per-point optimized q* (B,).
        encoder_elbo: ELBO of the encoder's q (B,).
        log_px_method: ``"exact"`` or ``"importance sampling"``.
        elbo_method: ``"exact"`` (closed-form expected log-likelihood) or ``"monte carlo"``.
        k: importance samples for log p(x) (None when exact).
        elbo_samples: draws per example for a Monte Carlo ELBO (None when exact).
        family: the family of q* (``"diagonal"`` or ``"full"``).
        local_steps: optimization steps for q*. lr, num_samples: its initial learning rate
            and draws per step.
        ess: effective sample size of the importance sampler (B,), or None.
        best_elbo_stderr, encoder_elbo_stderr: Monte Carlo standard errors (B,) (None: exact).
        flow_elbo, flow_elbo_stderr: ELBO of a flow q fitted per point (B,) and its standard
            error, when asked for (``flow_steps`` coupling transforms).
        settling: whether the fit of q* (``"q*"``) and of the flow q (``"flow q*"``) had settled
            when their steps ended (:func:`~torchlvm.inference.settling.settling`; None: fewer
            than 4 steps).
    """

    log_px: Tensor
    log_px_stderr: Tensor
    best_elbo: Tensor
    encoder_elbo: Tensor
    log_px_method: str
    elbo_method: str
    k: int | None
    elbo_samples: int | None
    family: str
    local_steps: int
    ess: Tensor | None = field(default=None)
    lr: float | None = None
    num_samples: int | None = None
    best_elbo_stderr: Tensor | None = None
    encoder_elbo_stderr: Tensor | None = None
    flow_elbo: Tensor | None = None
    flow_elbo_stderr: Tensor | None = None
    flow_steps: int | None = None
    settling: dict[str, Settling | None] = field(default_factory=dict)

    @property
    def approximation_gap(self) -> Tensor:
        """log p(x) − ELBO(q*) (B,): what the family cannot represent."""
        return self.log_px - self.best_elbo

    @property
    def amortization_gap(self) -> Tensor:
        """ELBO(q*) − ELBO(q_enc) (B,): what the encoder misses within the family."""
        return self.best_elbo - self.encoder_elbo

    @property
    def inference_gap(self) -> Tensor:
        """log p(x) − ELBO(q_enc) (B,), the sum of the two gaps."""
        return self.log_px - self.encoder_elbo

    @property
    def flow_approximation_gap(self) -> Tensor | None:
        """log p(x) − ELBO(q*_Flow) (B,): what even the per-point flow cannot represent."""
        return None if self.flow_elbo is None else self.log_px - self.flow_elbo

    def stderrs(self) -> dict[str, Tensor]:
        """Per-example standard errors (B,) of each reported quantity (zero where exact)."""
        zero = torch.zeros_like(self.log_px)
        px = self.log_px_stderr
        best = zero if self.best_elbo_stderr is None else self.best_elbo_stderr
        enc = zero if self.encoder_elbo_stderr is None else self.encoder_elbo_stderr
        out = {
            "log_px": px,
            "best_elbo": best,
            "encoder_elbo": enc,
            "approximation_gap": (px.square() + best.square()).sqrt(),
            "amortization_gap": (best.square() + enc.square()).sqrt(),
            "inference_gap": (px.square() + enc.square()).sqrt(),
        }
        if self.flow_elbo is not None:
            flow = zero if self.flow_elbo_stderr is None else self.flow_elbo_stderr
            out["flow_elbo"] = flow
            out["flow_approximation_gap"] = (px.square() + flow.square()).sqrt()
        return out

    def per_example(self) -> dict[str, Tensor]:
        """Every per-example quantity (B,), nats."""
        out = {
            "log_px": self.log_px,
            "best_elbo": self.best_elbo,
            "encoder_elbo": self.encoder_elbo,
            "approximation_gap": self.approximation_gap,
            "amortization_gap": self.amortization_gap,
            "inference_gap": self.inference_gap,
        }
        if self.flow_elbo is not None:
            out["flow_elbo"] = self.flow_elbo
            out["flow_approximation_gap"] = self.flow_approximation_gap  # type: ignore[assignment]
        return out

    def summary(self) -> dict[str, float | None]:
        """Means over the examples (nats per example), ``log_px_stderr`` (the estimator's noise
        in mean log p(x)) and, for each quantity, ``<name>_se``: the standard error of the mean
        over these examples (their spread / √n, which includes the estimators' noise; None for
        one example, which has no spread)."""
        n = self.log_px.numel()
        out: dict[str, float | None] = {}
        for name, values in self.per_example().items():
            out[name] = values.mean().item()
            out[f"{name}_se"] = (values.std() / n**0.5).item() if n > 1 else None
        out["log_px_stderr"] = (self.log_px_stderr.square().sum().sqrt() / n).item()
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record: units, methods, means and per-example values with their
        standard errors (``<name>_stderr``)."""
        per = {name: t.tolist() for name, t in self.per_example().items()}
        per |= {f"{name}_stderr": t.tolist() for name, t in self.stderrs().items()}
        return {
            "unit": "nats per example",
            "n": self.log_px.numel(),
            "log_px_method": self.log_px_method,
            "k": self.k,
            "elbo_method": self.elbo_method,
            "elbo_samples": self.elbo_samples,
            "family": self.family,
            "local_steps": self.local_steps,
            "local_lr": self.lr,
            "local_samples_per_step": self.num_samples,
            "flow_steps": self.flow_steps,
            "mean": self.summary(),
            "mean_ess": None if self.ess is None else self.ess.mean().item(),
            "settling": {
                name: None if fit is None else fit.to_dict() for name, fit in self.settling.items()
            },
            "per_example": per,
        }


def evaluate_elbo(*args: Any, **kwargs: Any) -> Tensor:
    """ELBO(q) per example (B,): the first value of :func:`elbo_with_stderr` (same
    arguments)."""
    return elbo_with_stderr(*args, **kwargs)[0]


@torch.no_grad()
def elbo_with_stderr(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    q: Distribution,
    *,
    num_samples: int = 1000,
    chunk: int = 100,
    advance: Callable[[int], None] | None = None,
) -> tuple[Tensor, Tensor]:
    """ELBO(q) per example and its Monte Carlo standard error, each (B,), nats.

    Exact (standard error 0) when the model has ``expected_log_likelihood`` and q is Gaussian;
    otherwise
    E_q[log p(x | z)] over ``num_samples`` draws in chunks of ``chunk``, minus the KL — analytic
    where the pair has a closed form, estimated from the same draws for a flow q (the explicit
    ``kl_method="mc"``). The standard error is that of the chunk means (batch means): it needs
    at least two chunks, else it is infinite. ``advance(n)`` is called after each chunk of n
    draws (a progress bar's update).
    """
    if has_exact_elbo(model) and not isinstance(q, FlowQ):
        value = elbo(model, x, c, q=q, log_lik_method="analytic").elbo
        return value, torch.zeros_like(value)
    method = "mc" if isinstance(q, FlowQ) else None
    means, sizes = [], []
    for start in range(0, num_samples, chunk):
        n = min(chunk, num_samples - start)
        means.append(elbo(model, x, c, q=q, num_samples=n, kl_method=method).elbo)
        sizes.append(n)
        if advance is not None:
            advance(n)
    parts = torch.stack(means)  # (J, B)
    weights = torch.tensor(sizes, dtype=parts.dtype, device=parts.device) / num_samples
    weights = weights.unsqueeze(-1)  # (J, 1)
    mean = (weights * parts).sum(0)
    J = len(sizes)
    if J < 2:
        return mean, torch.full_like(mean, float("inf"))
    variance = (weights * (parts - mean).square()).sum(0) / (J - 1)  # of the weighted mean
    return mean, variance.sqrt()


def check_gaps(
    model: LatentVariableModel, x: Tensor, c: Tensor | None = None, **settings: Any
) -> None:
    """Check what :func:`inference_gaps` is given (the same keywords), as it does before any
    long work: a caller can fail fast before its own (a probe of the expected time).

    Raises: as inference_gaps.
    """
    prepare(model, x, c, GapSettings(**settings))


def inference_gaps(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    k: int = 5000,
    local_steps: int = 300,
    lr: float = 0.02,
    family: Family | None = None,
    num_samples: int = 8,
    elbo_samples: int = 1000,
    proposal: Literal["local", "encoder"] = "local",
    chunk: int = 250,
    seed: int = 0,
    ais_steps: int | None = None,
    ais_chains: int = 16,
    flow_steps: int | None = None,
    flow_lr: float = 0.01,
    progress: bool = False,
    advance: Callable[[str, int], None] | None = None,
) -> GapReport:
    """Cremer et al. 2018's decomposition of the inference gap, per example.

    Args:
        model: a model with a Gaussian or flow encoder (VAE, CVAE, PPCA).
        x: data (B, D), e.g. a test subset. c: condition (B, C) for conditional models.
        k: importance samples for log p(x) (ignored for models with an exact ``log_marginal``,
            and when ``ais_steps`` is set).
        local_steps, lr, num_samples: per-point Adam optimization of q* (started from the
            encoder's q, learning rate decayed from ``lr`` to 0 on a cosine), with
            ``num_samples`` draws per step. On a Monte Carlo ELBO a constant, large step with
            one draw leaves q* jittering *below* the encoder's q (a negative amortization gap):
            measured on a digits VAE, lr 0.05 with 1 draw put 69% of points below the encoder,
            cosine decay with lr 0.02 and 8 draws none.
        family: of q*; default the encoder's (``"diagonal"`` for a VAE, ``"full"`` for PPCA and
            a full-covariance q; a flow q's base is ``"diagonal"``).
        elbo_samples: draws per example for the Monte Carlo ELBOs (same draws for q* and the
            encoder's q when both are diagonal: common random numbers).
        proposal: importance sampler of log p(x): ``"local"`` (q*; then the estimate is at least
            ELBO(q*) in expectation) or ``"encoder"``.
        chunk: samples per chunk for importance sampling and ELBO evaluation.
        seed: seeds every random draw here; the global RNG is left as it was.
        ais_steps: estimate log p(x) by AIS with this many annealing steps (and ``ais_chains``
            chains) instead of importance sampling.
        flow_steps: also fit a flow q per point with this many coupling transforms (the richer
            family, started from q*, ``local_steps`` steps at learning rate ``flow_lr``).
        progress: a progress bar (tqdm, on stderr) for each part as it runs
            (:func:`~torchlvm.inference.gaps_parts.gap_parts`).
        advance: called as ``advance(part, 0)`` when a part starts and ``advance(part, n)``
            as it runs n more of its units (its progress bar's steps), e.g. to re-state the
            expected time from the run's own pace
            (:class:`~torchlvm.inference.gaps_timing.GapsPace`).

    Returns:
        :class:`GapReport`.

    Raises:
        ConfigError: for a bad argument, a model without a Gaussian or flow encoder,
            ``family="full"`` with latent_dim > 64, or a call under ``torch.inference_mode``.
        DataError: for x without rows.
    """
    settings = GapSettings(
        k=k, local_steps=local_steps, lr=lr, family=family, num_samples=num_samples,
        elbo_samples=elbo_samples, proposal=proposal, chunk=chunk, seed=seed,
        ais_steps=ais_steps, ais_chains=ais_chains, flow_steps=flow_steps, flow_lr=flow_lr,
    )  # fmt: skip
    state = prepare(model, x, c, settings)
    if state["narrower"] or state["wider"]:
        warnings.warn(NARROWER if state["narrower"] else WIDER, stacklevel=2)
    with seeded(seed):
        for part in gap_parts(model, x, c, settings, state):
            with tqdm(
                total=part.units, desc=part.name, unit=part.unit, disable=not progress, leave=False
            ) as bar:
                if advance is None:
                    part.run(part.units, bar.update)
                    continue
                advance(part.name, 0)
                part.run(part.units, lambda n, name=part.name: (bar.update(n), advance(name, n)))
    report = _report(model, settings, state)
    warn_unsettled(report)
    return report


def _report(model: LatentVariableModel, s: GapSettings, state: dict[str, Any]) -> GapReport:
    """The :class:`GapReport` of the parts' results in ``state``."""
    exact_px, exact_elbo = state["px_method"] == "exact", has_exact_elbo(model)
    if exact_px:
        log_px, stderr, ess = state["log_px"], torch.zeros_like(state["log_px"]), None
    else:
        est = state["log_px"]
        log_px, stderr, ess = est.mean, est.stderr, est.ess
    flow = state.get("elbo:flow")
    family = state["family"]
    if state["base"] is not state["enc"]:
        family = f"{family} base and context under the encoder's flow"
    return GapReport(
        log_px=log_px,
        log_px_stderr=stderr,
        best_elbo=state["elbo:best"][0],
        encoder_elbo=state["elbo:enc"][0],
        log_px_method=state["px_method"],
        elbo_method="exact" if exact_elbo else "monte carlo",
        k=None if exact_px or s.ais_steps is not None else s.k,
        elbo_samples=None if exact_elbo else s.elbo_samples,
        family=family,
        local_steps=s.local_steps,
        ess=ess,
        lr=s.lr,
        num_samples=s.num_samples,
        best_elbo_stderr=None if exact_elbo else state["elbo:best"][1],
        encoder_elbo_stderr=None if exact_elbo else state["elbo:enc"][1],
        flow_elbo=None if flow is None else flow[0],
        flow_elbo_stderr=None if flow is None else flow[1],
        flow_steps=s.flow_steps,
        settling={
            name: settling(state[f"history:{key}"])
            for key, name in (("best", "q*"), ("flow", "flow q*"))
            if f"history:{key}" in state
        },
    )


def warn_unsettled(report: GapReport) -> None:
    """Warn (scikit-learn's ``ConvergenceWarning``) for each per-point fit of ``report`` that
    was still rising when its steps ended, with how much it rose and the fix."""
    from sklearn.exceptions import ConvergenceWarning

    for name, fit in report.settling.items():
        if fit is None or not fit.still_rising:
            continue
        warnings.warn(
            f"{name}, fitted to each example, was still rising when its {fit.steps} steps ended: "
            f"its mean ELBO rose {fit.rise:.3g} ± {fit.rise_se:.2g} nats over the second half "
            f"({fit.share}), so {_UNDERSTATED[name]}; give it more steps (--steps; local_steps= in "
            "Python) or a larger learning rate (--lr; lr=)",
            ConvergenceWarning,
            stacklevel=3,
        )


_UNDERSTATED = {  # what more steps of each per-point fit would have changed (its ELBO is low)
    "q*": "the amortization gap is understated and the approximation gap overstated",
    "flow q*": "the gap left by the flow is overstated",  # (log p(x) − ELBO(flow q*) only)
}


# --------------------------------------------------------------------------- PPCA, exactly


def _posterior_precision(ppca: Any) -> Tensor:
    """Σ⁻¹ = (WᵀW + σ² I) / σ² (K, K), PPCA's posterior precision (any complete x)."""
    if getattr(ppca, "W", None) is None or not exact_log_px(ppca):
        raise ConfigError(f"expected a fitted PPCA, got {type(ppca).__name__}")
    W, sigma2 = ppca.W, ppca.sigma2
    eye = torch.eye(W.shape[1], dtype=W.dtype, device=W.device)
    return (W.T @ W + sigma2 * eye) / sigma2


def ppca_mean_field_gap(ppca: Any) -> float:
    """The approximation gap of the best diagonal q on PPCA, in nats per example (the same for
    every x): ½ (Σ_i log (Σ⁻¹)_ii − log det Σ⁻¹).

    Raises:
        ConfigError: if ``ppca`` is not a fitted PPCA.
    """
    precision = _posterior_precision(ppca)
    log_diag = torch.diagonal(precision).log().sum()
    return 0.5 * (log_diag - torch.linalg.slogdet(precision).logabsdet).item()


def ppca_mean_field_posterior(ppca: Any, x: Tensor) -> Independent:
    """The best diagonal q under reverse KL for each row of ``x`` (B, D): mean = the posterior
    mean, variances 1/(Σ⁻¹)_ii (≤ Σ_ii, the exact marginal variances). Batch (B,)."""
    precision = _posterior_precision(ppca)
    loc = ppca.encode(x).loc  # (B, K)
    scale = torch.diagonal(precision).rsqrt().expand_as(loc)
    return Independent(Normal(loc, scale), 1)


NARROWER = (
    "the family of q*, 'diagonal', is narrower than the encoder's q (a full covariance with "
    "correlations): q* cannot reach the encoder's own q, so the amortization gap ELBO(q*) − "
    "ELBO(q_enc) holds the family's loss and can be negative; for the gaps as Cremer et al. "
    "define them, use the encoder's family, 'full'"
)
"""The warning of a q* family narrower than the encoder's q (userL #1: on a rotated digits PPCA
the amortization gap read −0.758 nats and the approximation gap +0.758, nothing said)."""


WIDER = (
    "the family of q*, 'full', is wider than the encoder's q (diagonal): the amortization gap "
    "ELBO(q*) − ELBO(q_enc) then also holds what a full covariance gains over the encoder's "
    "family, which Cremer et al. count in the approximation gap; for the gaps as they define "
    "them, use the encoder's family, 'diagonal' (the default)"
)
"""The warning of a q* family wider than the encoder's q (userY #6: on a digits CVAE of a
diagonal q, ``--family full`` printed an amortization gap of 0.170 nats where the encoder's own
family gives 0.112, nothing said)."""


def rotate_latents(ppca: Any, rotation: Tensor | None = None, *, seed: int = 0) -> Any:
    """A copy of a fitted PPCA with W replaced by W R: the same p(x), a rotated latent space.

    Args:
        rotation: an orthogonal (K, K) matrix; ``None`` draws a random one (seeded QR of a
            Gaussian matrix).

    Returns:
        The rotated copy (``ppca`` is unchanged).
    """
    K = _posterior_precision(ppca).shape[0]
    W = ppca.W
    if rotation is None:
        g = torch.Generator().manual_seed(seed)
        rotation, _ = torch.linalg.qr(torch.randn(K, K, generator=g, dtype=torch.float64))
    rotation = rotation.to(dtype=W.dtype, device=W.device)
    eye = torch.eye(K, dtype=W.dtype, device=W.device)
    if rotation.shape != (K, K) or not torch.allclose(rotation.T @ rotation, eye, atol=1e-6):
        raise ConfigError(f"rotation must be an orthogonal ({K}, {K}) matrix")
    rotated = copy.deepcopy(ppca)
    rotated.load_state_dict({**ppca.state_dict(), "W": W @ rotation})
    return rotated


@dataclass(frozen=True)
class IdentityTrace:
    """Exact quantities along the optimization of q on PPCA, per step and example (nats).

    Attributes:
        log_px: exact log p(x) (B,).
        elbo: exact ELBO(q_t) (T + 1, B), row t before step t, the last row after the last step.
        kl: exact KL(q_t ‖ p(z | x)) (T + 1, B).
    """

    log_px: Tensor
    elbo: Tensor
    kl: Tensor

    @property
    def residual(self) -> Tensor:
        """ELBO + KL − log p(x) (T + 1, B): zero up to rounding, the identity."""
        return self.elbo + self.kl - self.log_px


def identity_trace(
    ppca: Any,
    x: Tensor,
    *,
    steps: int = 200,
    lr: float = 0.05,
    family: Family = "diagonal",
    init: Distribution | None = None,
) -> IdentityTrace:
    """Optimize a per-point q on PPCA and record, at every step, the exact log p(x), ELBO(q) and
    KL(q ‖ p(z | x)): the identity log p(x) = ELBO + KL made visible.

    Args:
        ppca: a fitted PPCA with ``expected_log_likelihood``.
        x: data (B, D). steps, lr, family, init: see
            :func:`~torchlvm.inference.local.fit_local_posterior` (``None`` starts at the prior).

    Returns:
        :class:`IdentityTrace`.

    Raises:
        ConfigError: if ``ppca`` has no closed-form expected log-likelihood.
    """
    if not has_exact_elbo(ppca):
        raise ConfigError(
            f"{type(ppca).__name__} has no closed-form E_q[log p(x | z)]; the exact identity "
            "trace needs PPCA"
        )
    with torch.no_grad():
        posterior = ppca.encode(x)
        log_px = ppca.log_marginal(x)
    kls: list[Tensor] = []

    def record(t: int, q: Distribution) -> None:
        with torch.no_grad():
            kls.append(kl(q, posterior))

    _, history = fit_local_posterior(
        ppca,
        x,
        family=family,
        steps=steps,
        lr=lr,
        init=init,
        log_lik_method="analytic",
        callback=record,
    )
    return IdentityTrace(log_px=log_px, elbo=history, kl=torch.stack(kls))


def ppca_variance_shrinkage(ppca: Any) -> tuple[Tensor, Tensor]:
    """``(mean_field_variances, posterior_variances)``, each (K,): 1/(Σ⁻¹)_ii and Σ_ii. The
    first is never larger (reverse KL under-estimates marginal variances)."""
    precision = _posterior_precision(ppca)
    return 1 / torch.diagonal(precision), torch.diagonal(torch.linalg.inv(precision))


__all__ = [
    "GapReport",
    "IdentityTrace",
    "check_gaps",
    "elbo_with_stderr",
    "evaluate_elbo",
    "identity_trace",
    "inference_gaps",
    "ppca_mean_field_gap",
    "ppca_mean_field_posterior",
    "ppca_variance_shrinkage",
    "rotate_latents",
]
