"""The class mixture of a class-conditional model: p(x) = Σ_c π_c p(x | c), where π_c is the
share of class c among the training rows (the weights of a generative classifier, as
``LinearDiscriminantAnalysis.priors_`` and ``GaussianMixture.weights_``; Bishop 2006, eq. 4.7).

One place for π and the mixture, used by ``CVAEEstimator`` and by ``evaluate``'s outlier score
of a run, so the two score the same x alike:

- :func:`class_counts`: a split's examples per class, by class name (what a run records);
- :func:`recorded_counts`: those counts in the model's label order, or None for a run that
  recorded none;
- :func:`class_log_prior`: log π (C,) from counts (uniform for None);
- :func:`class_log_joint` and :func:`log_mixture`: log π_c + log p(x | c) (C, N) and
  log Σ_c π_c p(x | c) (N,), from the per-class log-likelihoods;
- :func:`mixture_stderr`: the standard error of that log Σ where each log p(x | c) is an
  independent estimate with its own standard error (``score`` of a CVAE run).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from torchlvm.errors import ConfigError


def class_counts(y: Tensor, num_classes: int, names: Sequence[str] | None) -> dict[str, int]:
    """Examples per class of labels ``y`` (N,) in ``0..num_classes-1``, keyed by class name
    (``names``, else the label's number as text), every class included (0 for an absent one)."""
    counts = torch.bincount(y.long(), minlength=num_classes).tolist()
    keys = list(names) if names is not None else [str(j) for j in range(num_classes)]
    return dict(zip(keys, (int(count) for count in counts), strict=True))


def recorded_counts(data: Mapping[str, Any], names: Sequence[str] | None) -> tuple[int, ...] | None:
    """The training split's examples per class that a run's ``data`` record holds, in the
    order of ``names`` (the model's classes; None: numbered 0..C-1), or None where the record
    has none (a run written before they were recorded) or they do not name the same classes."""
    recorded = data.get("class_counts")
    if not isinstance(recorded, Mapping) or not recorded:
        return None
    keys = list(names) if names else [str(j) for j in range(len(recorded))]
    if set(keys) != set(recorded):
        return None
    return tuple(int(recorded[key]) for key in keys)


def class_log_prior(counts: Sequence[int] | None, num_classes: int) -> Tensor:
    """log π (C,), float64: log of each class's share of ``counts``; uniform log(1/C) where
    ``counts`` is None. A class without training rows has π_c = 0 (log π_c = −inf).

    Raises:
        ConfigError: for counts of another number of classes, negative or all 0."""
    if counts is None:
        return torch.full((num_classes,), -math.log(num_classes), dtype=torch.float64)
    if len(counts) != num_classes or any(count < 0 for count in counts) or sum(counts) <= 0:
        raise ConfigError(
            f"class_counts must hold {num_classes} non-negative counts, one per class, not all "
            f"0, got {tuple(counts)!r}"
        )
    total = torch.tensor(counts, dtype=torch.float64)
    return torch.log(total / total.sum())


def class_log_joint(log_px_c: Tensor, log_prior: Tensor) -> Tensor:
    """log π_c + log p(x | c) (C, N), from ``log_px_c`` (C, N) and ``log_prior`` (C,)."""
    return log_prior.to(log_px_c)[:, None] + log_px_c


def log_mixture(log_px_c: Tensor, log_prior: Tensor) -> Tensor:
    """log p(x) = log Σ_c π_c p(x | c) (N,), nats, from ``log_px_c`` (C, N) and ``log_prior``
    (C,) (:func:`class_log_prior`)."""
    return torch.logsumexp(class_log_joint(log_px_c, log_prior), 0)


def mixture_stderr(log_px_c: Tensor, stderr_c: Tensor, log_prior: Tensor) -> Tensor:
    """Standard error (N,) of :func:`log_mixture` where each log p(x | c) of ``log_px_c``
    (C, N) is an independent estimate with standard error ``stderr_c`` (C, N): to first order
    (the delta method), d log Σ_c π_c p_c / d log p_c = p(c | x), so the variance is
    Σ_c p(c | x)² se_c², p(c | x) = softmax_c(log π_c + log p(x | c)). A class with π_c = 0
    adds nothing."""
    weights = torch.softmax(class_log_joint(log_px_c, log_prior), 0)  # (C, N): p(c | x)
    return (weights.square() * stderr_c.to(weights).square()).sum(0).sqrt()


def mixture_of_estimates(estimates: list[Any], log_prior: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """log Σ_c π_c p(x | c) (N,), its standard error (N,) (:func:`mixture_stderr`) and the
    effective sample size (N,) of the class whose π_c p(x | c) is largest (the term that
    carries the sum), from one importance-sampled estimate of log p(x | c) per class
    (``estimates[c]``: ``mean``, ``stderr``, ``ess``, each (N,)), in float64 on the CPU."""
    log_px_c = torch.stack([e.mean.cpu().double() for e in estimates])  # (C, N)
    stderr_c = torch.stack([e.stderr.cpu().double() for e in estimates])  # (C, N)
    ess_c = torch.stack([e.ess.cpu().double() for e in estimates])  # (C, N)
    top = class_log_joint(log_px_c, log_prior).argmax(0)  # (N,)
    ess = ess_c.gather(0, top[None]).squeeze(0)
    return log_mixture(log_px_c, log_prior), mixture_stderr(log_px_c, stderr_c, log_prior), ess
