"""log p(x) of a CVAE conditioned on class labels: the marginal over its classes,
log p(x) = log Σ_c π_c p(x | c), π_c the train split's share of class c
(:mod:`torchlvm.inference.class_mixture`; Bishop 2006, eq. 4.7), each p(x | c) importance-sampled
with ``ood_k`` draws from q(z | x, c).

It is the one number of such a CVAE that ranks against a VAE's log p(x) on the same test rows:
its log p(x | c) is given the class, which a VAE is not. ``evaluate``'s likelihood section
reports it (:func:`over_classes_record`), and its outlier section scores the test rows by it, and
the OOD rows, which have no label, by the same function (:func:`per_example_over_classes`): one
computation, drawn once for the test rows.

Per row: the estimate log Σ_c π_c p̂(x | c) (a lower bound in expectation, as each log p̂(x | c)
is), its Monte Carlo standard error to first order
(:func:`~torchlvm.inference.class_mixture.mixture_stderr`) and the effective sample size of the
class whose π_c p(x | c) is largest (the term that carries the sum), as ``score`` of a CVAE run
without labels gives them.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import torch
from torch import Tensor

from torchlvm.evaluation._batching import map_batches, model_device, model_dtype
from torchlvm.evaluation._records import bits_per_dim, metric
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.quantity import example_noun, nats_per
from torchlvm.evaluation.stats import mean_and_stderr
from torchlvm.inference import log_marginal_is
from torchlvm.inference.class_mixture import class_log_prior, mixture_of_estimates

DESC = "over classes"
"""The progress bar's label of its batches (and :mod:`.timing`'s name of its samples)."""


def has_over_classes(o: EvalConfig, deterministic: bool = False) -> bool:
    """Whether ``evaluate`` with ``o`` reports log p(x) over the classes: a model with a density
    q conditioned on class labels (not a conditional autoencoder, which has no likelihood)."""
    return o.condition.kind == "label" and not deterministic


def class_prior_text(o: EvalConfig) -> str:
    """Where π_c comes from, in words."""
    if o.class_counts is not None:
        return "π_c the train split's class frequencies"
    return (
        "π_c = 1/C: the run records no class counts (trained before torchlvm recorded them; "
        "train it again to weigh the classes by their frequencies)"
    )


def per_example_over_classes(model: Any, x: Tensor, o: EvalConfig) -> dict[str, Tensor]:
    """log Σ_c π_c p(x | c) of every row of ``x`` ``(N, D)`` (a CVAE of ``C`` classes), each
    p(x | c) importance-sampled with ``o.ood_k`` samples from q(z | x, c), π from
    ``o.class_counts`` (uniform where None).

    Returns:
        ``{"over_classes", "over_classes_stderr", "over_classes_ess"}``, each ``(N,)``, float64,
        nats (the ESS: of the class whose π_c p(x | c) is largest).
    """
    classes = model.config.num_classes
    log_prior = class_log_prior(o.class_counts, classes)  # (C,)
    x = x.to(device=model_device(model), dtype=model_dtype(model))

    def of_class(j: int) -> SimpleNamespace:
        def batch(xb: Tensor, _: Tensor | None) -> dict[str, Tensor]:
            labels = torch.full((len(xb),), j, dtype=torch.long, device=xb.device)
            c = model.condition_from_labels(labels)
            estimate = log_marginal_is(model, xb, c, num_samples=o.ood_k, chunk=o.chunk)
            return {"mean": estimate.mean, "stderr": estimate.stderr, "ess": estimate.ess}

        return SimpleNamespace(
            **map_batches(batch, x, batch_size=o.batch_size, desc=DESC, progress=o.progress)
        )

    log_px, stderr, ess = mixture_of_estimates([of_class(j) for j in range(classes)], log_prior)
    return {"over_classes": log_px, "over_classes_stderr": stderr, "over_classes_ess": ess}


def over_classes_record(
    values: dict[str, Tensor], *, dim: int, classes: int, o: EvalConfig, table: bool
) -> dict[str, Any]:
    """The likelihood section's ``log_px_over_classes``: the mean of
    :func:`per_example_over_classes`'s ``values`` over the N rows, in nats per example (or row)
    and bits/dim, an estimate with its ``k`` per class, its Monte Carlo standard error
    sqrt(Σ_n se_n²) / N, its standard error over rows, the mean ESS, ``n``, ``classes`` and
    where π comes from (``class_prior``, in words)."""
    per_row = values["over_classes"]
    n = per_row.shape[0]
    mean, over_rows = mean_and_stderr(per_row)
    mc = float(values["over_classes_stderr"].double().pow(2).sum().sqrt() / n)
    ess = float(values["over_classes_ess"].double().mean())
    example = example_noun(table)
    note = (
        f"log p(x) = log Σ_c π_c p(x | c), the marginal over the {classes} classes (the class "
        f"not given), {class_prior_text(o)}; each p(x | c) importance-sampled with k={o.ood_k} "
        "draws from the encoder's q(z | x, c) (--ood-k), a lower bound in expectation. Unlike "
        f"log p(x | c), it is of x alone, so it ranks against a VAE's log p(x) on the same "
        f"{example}s; its standard error is the Monte Carlo error of the mean, and its "
        f"standard error over {example}s how much it varies from {example} to {example}"
    )
    extra = {"k": o.ood_k, "stderr": mc, "data_stderr": over_rows}
    per_dim = dim * math.log(2)
    in_bits = {
        key: value / per_dim if key in ("stderr", "data_stderr") and value else value
        for key, value in extra.items()
    }
    counts = {"n": n, "classes": classes, "class_prior": class_prior_text(o)}
    return {
        "nats": metric(mean, nats_per(table), "estimate", **extra, ess=ess, **counts, note=note),
        "bits_per_dim": metric(bits_per_dim(mean, dim), "bits/dim", "estimate", **in_bits),
    }
