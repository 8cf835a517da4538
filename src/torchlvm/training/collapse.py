"""A trained model whose posterior collapsed: no latent dimension active on its data, and what to
change, said the same way by the estimators (a warning at ``fit``) and ``torchlvm train`` (a
line after training).

Active units follow Burda, Grosse & Salakhutdinov (2016), section 5.2
(:func:`torchlvm.evaluation.latent.active_units`): unit i is active when the variance over x of
its posterior mean exceeds 0.01. With none active, q(z | x) is the same for every x: the model
is a Gaussian (or Bernoulli) around the data's mean, its codes read nothing of x and its samples
are that mean plus noise. userE found it silent on the README's own example (σ fixed at 1 on
digits / 16: 0 of 8 active units, 64 % of samples outside [0, 1]).
"""

from __future__ import annotations

import warnings
from typing import Any

from torch import Tensor

from torchlvm.errors import Spell

ROWS = 10_000
"""Rows whose posterior means tell a collapsed fit (one pass of the encoder)."""


def inactive_activity(model: Any, x: Any, c: Tensor | None = None) -> Tensor | None:
    """The activity ``(K,)`` of each latent dimension of ``model`` on the first :data:`ROWS`
    rows of ``x`` ``(N, D)`` (a tensor, or a memory-mapped file's rows; NaN cells, missing,
    read as 0, as the MIWAE encoder reads them) with conditions ``c`` ``(N, C)`` or None,
    where none is active; None where one is, or where the model has no posterior (an
    autoencoder's point mass) or fewer than 2 rows are given."""
    from torchlvm.evaluation.eval_data import is_deterministic
    from torchlvm.evaluation.latent import active_units, posterior_means, prior_means
    from torchlvm.inference.miwae import zero_filled

    rows = x[:ROWS]
    if len(rows) < 2:
        return None
    rows = zero_filled(rows, ~rows.isnan())
    c = None if c is None else c[: len(rows)]
    if is_deterministic(model, rows, c):
        return None  # an autoencoder: no q to collapse
    centres = prior_means(model, rows, c)  # a prior moving with c: what q adds to its mean
    count, activity = active_units(posterior_means(model, rows, c).double(), centres=centres)
    return None if count else activity


def collapse_fixes(spell: Spell, *, likelihood: str, sigma: float | None) -> str:
    """What to change for a fit that collapsed, each setting as ``spell`` writes it (Python's
    keyword or the command line's flag): a smaller σ of a Gaussian p(x | z) (``sigma``, its
    largest value now), more epochs, a smaller β."""
    fixes = f"more {spell('epochs', None)}, a smaller {spell('beta', None)}"
    if likelihood == "gaussian" and sigma is not None:
        fixes = f"a smaller {spell('scale', None)} (σ of p(x | z) is {sigma:.3g} here), " + fixes
    return fixes


def warn_collapsed(model: Any, dm: Any) -> None:
    """Warn, at the caller's line, where no latent dimension of the trained ``model`` is active
    on the validation split of the data module ``dm`` (its first :data:`ROWS` rows, with their
    conditions), naming the settings to change as Python spells them, and as the command line
    does in the warning's ``on_command_line`` (:func:`~torchlvm.errors.spelled`), which the CLI
    prints; nothing for an autoencoder. :func:`~torchlvm.training.fit` calls it, so a run
    trained from Python is told as ``torchlvm train`` is (userQ #4)."""
    from torchlvm._callers import callers_level
    from torchlvm.errors import spelled
    from torchlvm.evaluation.eval_data import conditions_for
    from torchlvm.evaluation.latent import ACTIVE_THRESHOLD

    x, y = dm.val_x[:ROWS], dm.val_data.y
    y = None if y is None else y[:ROWS]
    c, _ = conditions_for(model, x, y, dm.condition, dm.shape, dm.seed)
    activity = inactive_activity(model, x, c)
    if activity is None:
        return
    likelihood = model.config.likelihood
    sigma = float(model.likelihood.scale().detach().max()) if likelihood == "gaussian" else None

    def message(spell: Spell) -> str:
        return (
            f"no latent dimension is active on the validation data (the variance of every "
            f"posterior mean is at most {float(activity.max()):.2g}, below {ACTIVE_THRESHOLD}): "
            "the posterior collapsed to the prior, so the codes read nothing of x and samples "
            f"are noise around the data's mean; try "
            f"{collapse_fixes(spell, likelihood=likelihood, sigma=sigma)}"
        )

    warnings.warn(spelled(UserWarning, message), stacklevel=callers_level())
