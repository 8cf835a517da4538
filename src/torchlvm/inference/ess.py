"""When an importance-sampled quantity rests on a few draws: the one rule that ``evaluate`` (its
mean log p(x)), the report's headline, ``gaps`` (the log p(x) its gaps are built on), ``score``
(each row's −log p(x)) and imputation (each row's conditional mean, in Python and ``impute``)
warn by.

Kish's effective sample size of S weights, ESS = (Σ w)² / Σ w² (Kong 1992;
:mod:`torchlvm.inference.importance`), counts the draws that carry an estimate. Its delta-method
standard error is ≈ 1/√ESS nats and is computed from the same weights, so where a handful carry
it, the ± measures their noise, not the error, and the estimate may sit nats off (userC: ESS 5.0
of 1,000, "−298.998 ± 0.179", where k = 10,000 gave −297.864 and AIS −295.960; userM #20: rows of
ESS 1–2 of 1,000 each said ± 0.6–0.85 where seeds moved them 5 nats).

The rule is a count, :data:`FEW_EFFECTIVE` draws (half the samples, where fewer than twice that
are drawn), not a share of S: where q is far from the posterior, ESS grows more slowly than S, so
a share flags the same rows at S = 1,000 and not at S = 100 (readB #10; userL measured 7.5 of 100
and 37 of 1,000 for the same imputations, drawn from q alone; 5.8 and 35 from the defensive
mixture), and the fix it names is a larger S.
"""

from __future__ import annotations

from typing import Any

FEW_EFFECTIVE = 10
"""Fewer effective draws than this (or than half the samples, where fewer than 20 are drawn):
the estimate rests on a few weights (:func:`few_effective`)."""


def least_effective(samples: int) -> float:
    """The effective sample size below which an estimate of ``samples`` importance draws rests
    on a few of them: :data:`FEW_EFFECTIVE`, or ``samples / 2`` where that is smaller (one draw
    is never flagged: its ESS is 1, the most it can be)."""
    return min(FEW_EFFECTIVE, samples / 2)


def few_effective(ess: Any, samples: int) -> Any:
    """Whether effective sample sizes ``ess`` (a number, or an array or tensor of any shape) of
    ``samples`` importance draws each rest on a few draws: below :func:`least_effective`."""
    return ess < least_effective(samples)


def few_text(samples: int) -> str:
    """The rule in words for a message: ``"under 10"``, or ``"under 4 (half)"`` of 8 samples."""
    least = least_effective(samples)
    return f"under {least:g}" + (" (half)" if least < FEW_EFFECTIVE else "")
