"""Likelihood of held-out data: the ELBO (a bound), IWAE bounds at several k, the importance-
sampled log p(x) with its standard error and effective sample size, the exact log p(x) where the
model has one (PPCA); an imputation model's log p(x_m | x_o) is
:mod:`torchlvm.evaluation.missing_part`'s.

Definitions (per example, in nats; averaged over the evaluation set for the summary):

- ELBO = E_q[log p(x | z)] − KL(q(z | x) ‖ p(z)) ≤ log p(x) (Kingma & Welling 2014, eq. 3);
  the KL analytic; the first term the mean over S = :func:`elbo_draws` draws of z per example
  (min(k, 100): an unbiased estimate of the bound, so a set's average can land slightly above
  log p(x); the difference of its two halves' means gives its Monte Carlo standard error; with
  two draws it was ~36 times L_1's, the same quantity in expectation, userI #7), or in closed
  form where the model has ``expected_log_likelihood`` (PPCA), which makes the ELBO exact.
- L_k = log (1/k) Σ_i p(x, z_i) / q(z_i | x), z_i ~ q: the IWAE bound (Burda et al. 2016, eq. 8),
  E[L_k] ≤ E[L_{k+1}] ≤ log p(x). Reported at each k of ``ks``. Where k ≤ S/2 (S = ``k``, the
  estimate's samples), the S samples drawn for log p̂(x) are cut into G = ⌊S/k⌋ disjoint groups of
  k in the order drawn; each group gives an independent, unbiased draw of L_k, and their mean is
  reported with its Monte Carlo standard error, sqrt(Σ_n s_n² / G) / N (s_n: the groups' standard
  deviation for example n). One draw of k samples would leave that error unmeasured, and at the
  small n of a table's test split it reads as bounds out of order (L_1 above L_10). A larger k
  gets one draw of its own, with the delta-method standard error of the estimate below.
- log p̂(x) at k (``k``, default 5000): the same estimator at large k, reported as an estimate of
  log p(x) with the Monte Carlo standard error of the mean over the set,
  sqrt(Σ_n se_n²) / N (se_n from :func:`torchlvm.inference.log_marginal_is`), and the mean
  effective sample size. It is low-biased (Jensen); a small ESS means the error is understated.
  Not drawn where log p(x) is exact and q is the model's own posterior (:func:`estimates_log_px`:
  PPCA's encoder, the exact p(z | x), makes every weight p(x) itself, so the estimate is the
  closed form again at k samples per example, most of a PPCA's evaluation); each IWAE bound
  then draws its own.
- bits/dim = −log p(x) / (D ln 2). For a continuous likelihood (grey levels) this is a density
  and is not comparable with discrete bits/dim without dequantization.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution
from tqdm.auto import tqdm

from torchlvm._checks import check_positive_int
from torchlvm.evaluation._batching import map_batches
from torchlvm.evaluation._records import bits_per_dim, metric
from torchlvm.evaluation.records import example_noun, nats_per
from torchlvm.evaluation.stats import mean_and_stderr
from torchlvm.inference import elbo, log_marginal_ais, log_marginal_is
from torchlvm.inference.objectives import model_kl_method
from torchlvm.protocol import LatentVariableModel

Posterior = Callable[[Tensor, Tensor | None], Distribution]
"""``q(x, c) -> Distribution``: the inference distribution to evaluate with (default: encoder)."""


def per_example_likelihood(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    k: int,
    ks: Sequence[int] = (1, 10, 100),
    chunk: int | None = None,
    batch_size: int = 100,
    posterior: Posterior | None = None,
    progress: bool = False,
) -> dict[str, Tensor]:
    """ELBO terms, IWAE bounds and the importance-sampled log p(x) of every example.

    Args:
        model: a model with a density q (VAE, CVAE, PPCA).
        x: data ``(N, D)``; c: conditions ``(N, C)`` or None.
        k: importance samples of the log p(x) estimate.
        ks: the k of each IWAE bound.
        chunk: samples drawn at a time (memory O(chunk · batch_size · D)); None: sized to
            the device (:func:`~torchlvm.inference.importance.auto_chunk`).
        batch_size: examples per batch.
        posterior: q(x, c) to use instead of the encoder (e.g. a refined posterior).
        progress: show a progress bar.

    Returns:
        Tensors of shape ``(N,)``: ``elbo``, ``log_lik``, ``kl``, ``iwae_<k>`` and its Monte
        Carlo standard error ``iwae_<k>_stderr`` for each k (see the module docstring for how
        a bound at k ≤ ``k``/2 reuses the estimate's samples), and the estimate ``is_mean``,
        ``is_stderr``, ``is_ess`` (not where :func:`estimates_log_px` says it adds nothing), and
        ``exact`` where log p(x) is exact (:func:`exact_log_marginal`). All in nats.
    """
    check_positive_int("k", k)
    for value in ks:
        check_positive_int("ks", value)

    analytic = callable(getattr(model, "expected_log_likelihood", None))
    method = "analytic" if analytic else "mc"

    exact = exact_log_marginal(model, conditioned=c is not None)
    estimated = estimates_log_px(model, conditioned=c is not None, refined=posterior is not None)
    own = separate_draws(k, ks) if estimated else list(ks)
    grouped = [kk for kk in ks if kk not in own]  # from the estimate's samples

    def batch(xb: Tensor, cb: Tensor | None) -> dict[str, Tensor]:
        q = model.encode(xb, cb) if posterior is None else posterior(xb, cb)
        with torch.no_grad():
            out = _elbo_terms(model, xb, cb, q, method, elbo_draws(k))
            for kk in ks:
                if kk in own:
                    estimate = log_marginal_is(
                        model, xb, cb, num_samples=kk, chunk=chunk, proposal=q
                    )
                    out[f"iwae_{kk}"], out[f"iwae_{kk}_stderr"] = estimate.mean, estimate.stderr
            if exact is not None:
                out["exact"] = exact(xb)
            if not estimated:
                return out
            chunks: list[Tensor] = []
            estimate = log_marginal_is(
                model, xb, cb, num_samples=k, chunk=chunk, proposal=q,
                log_weights=chunks.append if grouped else None,
            )  # fmt: skip
            out.update(is_mean=estimate.mean, is_stderr=estimate.stderr, is_ess=estimate.ess)
            log_w = torch.cat(chunks) if grouped else None  # (k, B), once for every bound
            for kk in grouped:
                out[f"iwae_{kk}"], out[f"iwae_{kk}_stderr"] = grouped_bound(log_w, kk)
        return out

    return map_batches(batch, x, c, batch_size=batch_size, desc="likelihood", progress=progress)


def estimates_log_px(model: Any, *, conditioned: bool, refined: bool) -> bool:
    """Whether evaluation importance-samples log p(x) at k: not where log p(x) is exact
    (:func:`exact_log_marginal`) and q is the model's own encoder (``refined``: another q, as
    ``--refine`` gives), PPCA's exact posterior, under which every weight p(x, z) / q(z | x) is
    p(x) and the estimate only repeats the closed form, at k samples per example."""
    return refined or exact_log_marginal(model, conditioned=conditioned) is None


def exact_log_marginal(model: Any, *, conditioned: bool) -> Callable[[Tensor], Tensor] | None:
    """The model's closed-form log p(x) (PPCA's ``log_marginal``, ``(B, D)`` → ``(B,)``) where
    it has one and no condition is given; else None: the one rule of when evaluation's
    likelihood (with no importance-sampled estimate of it), its outlier score and its expected
    time take log p(x) as exact."""
    from torchlvm.inference.exact import exact_log_px

    return model.log_marginal if exact_log_px(model) and not conditioned else None


ELBO_DRAWS = 100
"""The most draws of z per example of the ELBO's E_q[log p(x|z)] (:func:`elbo_draws`)."""


def elbo_draws(k: int) -> int:
    """Draws of z per example of the ELBO's Monte Carlo terms beside an estimate of ``k``
    samples: min(k, :data:`ELBO_DRAWS`), rounded down to an even number (two halves), two at
    least."""
    return max(2, min(k, ELBO_DRAWS) // 2 * 2)


def _elbo_terms(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None,
    q: Distribution,
    method: str,
    draws: int = 2,
) -> dict[str, Tensor]:
    """The ELBO and its terms per example; by Monte Carlo, the mean of ``draws`` draws of z in
    two independent halves, whose means' difference gives the Monte Carlo standard error
    ``elbo_stderr``, |e₁ − e₂| / 2 (an unbiased variance estimate of the mean of the two:
    (e₁ − e₂)² / 4); so too ``log_lik_stderr`` for E_q[log p(x|z)] and, where the model's KL has
    no closed form (a flow q, a mixture prior:
    :func:`~torchlvm.inference.objectives.model_kl_method` ``"mc"``), ``kl_stderr`` for the
    KL."""
    half = draws // 2
    first = elbo(model, x, c, q=q, log_lik_method=method, num_samples=half)
    out = {"elbo": first.elbo, "log_lik": first.log_lik, "kl": first.kl}
    if method == "analytic":
        return out  # exact: no Monte Carlo error
    second = elbo(model, x, c, q=q, log_lik_method=method, num_samples=half)
    out = {key: (value + getattr(second, key)) / 2 for key, value in out.items()}
    out["elbo_stderr"] = (first.elbo - second.elbo).abs() / 2
    out["log_lik_stderr"] = (first.log_lik - second.log_lik).abs() / 2
    if model_kl_method(model) == "mc":
        out["kl_stderr"] = (first.kl - second.kl).abs() / 2
    return out


def separate_draws(k: int, ks: Sequence[int]) -> list[int]:
    """The k of ``ks`` whose IWAE bound draws samples of its own beside an estimate of ``k``
    samples: those above ``k``/2 (the others are cut from the estimate's samples)."""
    return [kk for kk in ks if k // kk < 2]


def grouped_bound(log_w: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """L_k per example from S log importance weights ``(S, B)`` (i.i.d. draws from one proposal,
    S ≥ 2k): the mean of L_k over the ⌊S/k⌋ disjoint groups of k consecutive samples (a remainder
    of fewer than k is left out), and its Monte Carlo standard error (the groups' standard
    deviation / √groups), both of shape ``(B,)``."""
    groups = log_w.shape[0] // k
    if groups < 2:
        raise ValueError(f"grouped_bound needs at least 2k = {2 * k} weights, got {log_w.shape[0]}")
    per_group = torch.logsumexp(log_w[: groups * k].reshape(groups, k, -1), 1) - math.log(k)
    return per_group.mean(0), per_group.std(0, correction=1) / math.sqrt(groups)


def per_example_ais(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    num_steps: int,
    num_chains: int = 16,
    batch_size: int = 100,
    progress: bool = False,
) -> dict[str, Tensor]:
    """log p(x) of every example by annealed importance sampling
    (:func:`~torchlvm.inference.log_marginal_ais`): ``ais_mean``, ``ais_stderr``, ``ais_ess``,
    each ``(N,)``, nats. Its progress bar counts HMC transitions, not batches: a batch of a
    large model's chains runs for minutes, over which a bar of batches read 0/1."""
    batches = -(-len(x) // batch_size) if isinstance(x, Tensor) else 0
    with tqdm(
        total=batches * num_steps, desc="ais", unit="step", disable=not progress, leave=False
    ) as bar:

        def batch(xb: Tensor, cb: Tensor | None) -> dict[str, Tensor]:
            estimate = log_marginal_ais(
                model, xb, cb, num_steps=num_steps, num_chains=num_chains, advance=bar.update
            )
            return {
                "ais_mean": estimate.mean,
                "ais_stderr": estimate.stderr,
                "ais_ess": estimate.ess,
            }

        return map_batches(batch, x, c, batch_size=batch_size, desc="ais")


def summarize_likelihood(
    values: dict[str, Tensor],
    *,
    dim: int,
    k: int,
    ks: Sequence[int],
    what: str = "log p(x)",
    ais_steps: int | None = None,
    ais_k: int | None = None,
    table: bool = False,
    units: str | None = None,
    rows: str | None = None,
) -> dict[str, Any]:
    """Labelled averages of :func:`per_example_likelihood`'s output.

    Args:
        values: its output (with :func:`per_example_ais`'s, when run). dim: D, for bits/dim.
            k, ks: as passed to it. ais_steps, ais_k: AIS steps and chains, when run.
        what: the quantity, e.g. ``"log p(x)"`` or ``"log p(x | c)"``.
        table: whether the data are a table's rows (units ``nats/row``, not ``nats/example``).
        units: for a table, whose density it is (:func:`~torchlvm.evaluation.records.
            table_units`: the run's standardized columns or the data's values).
        rows: for a split with missing cells, the rows it covers
            (:func:`~torchlvm.evaluation.records.complete_rows`).

    Returns:
        ``{"elbo", "iwae", "log_marginal", "ais"?, "exact"?}``, each in nats per example (or
        row) with bits/dim, and ``units`` and ``rows`` when given: said once, for the whole
        section (the report shows them as the section's own rows).
    """
    n = values["elbo"].shape[0]
    example = example_noun(table)
    examples = example + "s"

    def mean_and_se(t: Tensor) -> tuple[float, float | None]:
        return mean_and_stderr(t)  # (no spread over one example: None, not written)

    def both_units(mean: float, kind: str, **extra: Any) -> dict[str, Any]:
        in_bits = {
            key: (value / (dim * math.log(2)) if key in ("stderr", "data_stderr") else value)
            for key, value in extra.items()
            if value is not None
        }
        return {
            "nats": metric(mean, nats_per(table), kind, **extra),
            "bits_per_dim": metric(bits_per_dim(mean, dim), "bits/dim", kind, **in_bits),
        }

    elbo_mean, elbo_se = mean_and_se(values["elbo"])
    estimated = "is_mean" in values  # (none where log p(x) is exact)
    out: dict[str, Any] = {
        "quantity": what,
        **{key: text for key, text in (("units", units), ("rows", rows)) if text},
        "elbo": both_units(
            elbo_mean,
            "bound",
            **({"draws": elbo_draws(k)} if "elbo_stderr" in values else {}),
            **_mc_stderr(values.get("elbo_stderr"), n),
            data_stderr=elbo_se,
            note=f"ELBO, a lower bound on {what}; E_q[log p(x|z)] "
            + (
                f"from {elbo_draws(k)} draws of z per {example}; its standard error is the "
                "Monte Carlo error of the mean"
                if "elbo_stderr" in values
                else "in closed form: exact"
            ),
        ),
        "iwae": {
            str(kk): both_units(
                mean_and_se(values[f"iwae_{kk}"])[0],
                "bound",
                k=kk,
                **_mc_stderr(values.get(f"iwae_{kk}_stderr"), n),
                note=f"IWAE bound L_k on {what}: {_draws(kk, k, example, estimated)}; its "
                "standard error "
                "is the Monte Carlo error of the mean",
            )
            for kk in ks
        },
    }
    if estimated:
        mc_se = float(values["is_stderr"].double().pow(2).sum().sqrt() / n)
        is_mean, is_se = mean_and_se(values["is_mean"])
        ess = float(values["is_ess"].double().mean())
        out["log_marginal"] = both_units(
            is_mean,
            "estimate",
            k=k,
            stderr=mc_se,
            data_stderr=is_se,
            ess=ess,
            note=(
                f"importance-sampled {what} with q as proposal; its standard error is the Monte "
                f"Carlo error of the mean, and its standard error over {examples} is how much "
                f"{what} varies from {example} to {example} (their standard deviation / √n)"
                + few_effective_note(ess, k)
            ),
        )
    if "ais_mean" in values:
        ais_mean, ais_se = mean_and_se(values["ais_mean"])
        ais_mc = float(values["ais_stderr"].double().pow(2).sum().sqrt() / n)
        out["ais"] = both_units(
            ais_mean,
            "estimate",
            k=ais_k,
            stderr=ais_mc,
            data_stderr=ais_se,
            ess=float(values["ais_ess"].double().mean()),
            note=(
                f"{what} by annealed importance sampling from the prior with HMC, {ais_steps} "
                f"steps, k={ais_k} chains; its standard error is the Monte Carlo error of the "
                "mean (over chains; it does not see the bias of a short schedule), and its "
                f"standard error over {examples} how much {what} varies from {example} to "
                f"{example}" + (apart(is_mean, mc_se, ais_mean, ais_mc) if estimated else "")
            ),
        )
    if "exact" in values:
        exact_mean, exact_se = mean_and_se(values["exact"])
        out["exact"] = both_units(
            exact_mean,
            "exact",
            data_stderr=exact_se,
            note=f"exact {what} (closed form); no Monte Carlo error, and its standard error over "
            f"{examples} is how much {what} varies from {example} to {example} (their standard "
            "deviation / √n)",
        )
    return out


def few_effective_note(ess: float, k: int) -> str:
    """The caveat of an importance-sampled estimate whose mean ESS is below the rule of
    :func:`torchlvm.inference.ess.few_effective` for its ``k`` samples, as a sentence to append
    to its note; "" otherwise. A few weights carry the estimate: its delta-method standard error
    measures their noise, not its bias, and it is a lower bound in expectation that can sit nats
    low (userC: ESS 5.0 of 1,000, '−298.998 ± 0.179', where k = 10,000 gave −297.864 and AIS
    −295.960)."""
    from torchlvm.inference.ess import few_effective, few_text

    if not few_effective(ess, k):
        return ""
    return (
        f". Its mean ESS is {ess:.1f} of k = {k} ({few_text(k)}): a few weights "
        "carry it, its standard error understates its error, and it may sit nats below the "
        "true value (a lower bound in expectation); more samples (--k), --refine, or AIS "
        "(--ais) tell how far"
    )


def apart(is_mean: float, is_se: float, ais_mean: float, ais_se: float) -> str:
    """The sentence to append to AIS's note where it and the importance-sampled estimate differ
    by more than 3 of their joint Monte Carlo standard errors; "" where they agree. Both are
    lower bounds in expectation, so the larger is the better; their ± see neither one's bias
    (userD: IS −334.095 ± 0.140 and AIS −325.799 ± 0.077, printed a line apart, no word)."""
    gap, joint = ais_mean - is_mean, math.hypot(is_se, ais_se)
    if abs(gap) <= 3 * joint:
        return ""
    higher, lower = (
        ("AIS", "the importance-sampled estimate")
        if gap > 0
        else ("the importance-sampled estimate", "AIS")
    )
    return (
        f". It differs from the importance-sampled estimate by {abs(gap):.3g} nats, "
        f"{abs(gap) / joint:.0f} times their joint standard error: both are lower bounds in "
        f"expectation, so {higher} is the better one and {lower} is at least that far low; "
        "the ± measure neither one's bias"
    )


def _mc_stderr(per_example: Tensor | None, n: int) -> dict[str, float]:
    """``{"stderr": sqrt(Σ se_n²) / N}`` from per-example Monte Carlo standard errors; empty
    where there are none, or they are not finite (one sample says nothing of its spread)."""
    if per_example is None:
        return {}
    stderr = float(per_example.double().pow(2).sum().sqrt() / n)
    return {"stderr": stderr} if math.isfinite(stderr) else {}


def _draws(kk: int, k: int, example: str, estimated: bool = True) -> str:
    """How the IWAE bound at ``kk`` was drawn beside an estimate of ``k`` samples (none where
    not ``estimated``: log p(x) is exact)."""
    groups = k // kk
    if groups >= 2 and estimated:
        return (
            f"per {example}, the mean over {groups} disjoint groups of {kk} of the estimate's "
            f"{k} importance samples"
        )
    return f"one draw of {kk} samples per {example}"
