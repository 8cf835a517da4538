"""``evaluate``'s likelihood section: the ELBO, the IWAE bounds, the importance-sampled log p(x)
(with the encoder's q, or q refined per example), AIS where asked and PPCA's exact log p(x), per
example (:mod:`.likelihood`), summarized into the section record with what its nats are of (a
table's units; a split with missing cells: its complete rows); and why a deterministic
autoencoder has none.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from torchlvm.data.dataset import Dataset
from torchlvm.evaluation import likelihood as lik
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.eval_data import EvalData
from torchlvm.evaluation.over_classes import (
    has_over_classes,
    over_classes_record,
    per_example_over_classes,
)
from torchlvm.evaluation.records import Likelihood, complete_rows, table_units


def no_ais(option: str) -> str:
    """Why ``option`` (AIS) is refused for a deterministic autoencoder, naming what to do."""
    return (
        f"{option} estimates log p(x) by AIS, which is undefined for a deterministic "
        "autoencoder (it has no bound or estimate of log p(x)); leave out "
        f"{option}, or train a VAE for it (torchlvm train vae)"
    )


AUTOENCODER_NO_LIKELIHOOD = (
    "undefined for a deterministic autoencoder: its encoder is a point mass with no density, so "
    "the ELBO is −∞ and there is no bound or estimate of log p(x)"
)


def likelihood_scope(dataset: Dataset, n: int, rows: int) -> dict[str, str | None]:
    """What the likelihood section's nats are of: for a table, the units the run's model was
    trained in; on a split with missing cells (``n`` of its ``rows`` complete), its complete
    rows only."""
    units = table_units(dataset.standardizer is not None) if dataset.is_table else None
    return {"units": units, "rows": None if n == rows else complete_rows(n, rows)}


def likelihood_section(
    model: Any, data: EvalData, table: bool, scope: dict[str, str | None], o: EvalConfig
) -> tuple[Likelihood, dict[str, Tensor]]:
    """The likelihood section of ``data`` and its per-example terms ``(N,)`` by name
    (:func:`~torchlvm.evaluation.likelihood.per_example_likelihood`; AIS's with
    ``o.ais_steps``; a label CVAE's log p(x) over its classes,
    :func:`~torchlvm.evaluation.over_classes.per_example_over_classes`), which the latent,
    observed-likelihood and outlier sections reuse."""
    posterior = None
    if o.refine_steps > 0:
        from torchlvm.inference import refine

        def posterior(xb: Tensor, cb: Tensor | None):  # type: ignore[no-redef]
            return refine(model, xb, cb, steps=o.refine_steps, lr=o.refine_lr)

    values = lik.per_example_likelihood(
        model,
        data.x,
        data.c,
        k=o.k,
        ks=o.ks,
        chunk=o.chunk,
        batch_size=o.batch_size,
        posterior=posterior,
        progress=o.progress,
    )
    if o.ais_steps is not None:
        values |= lik.per_example_ais(
            model, data.x, data.c, num_steps=o.ais_steps, num_chains=o.ais_chains,
            batch_size=o.batch_size, progress=o.progress,
        )  # fmt: skip
    what = f"log p(x | {o.condition.given})" if o.condition.conditional else "log p(x)"
    summary = lik.summarize_likelihood(
        values, dim=data.x.shape[1], k=o.k, ks=o.ks, what=what, ais_steps=o.ais_steps,
        ais_k=o.ais_chains, table=table, **scope,
    )  # fmt: skip
    if has_over_classes(o):  # (the number of x alone that ranks against a VAE's log p(x))
        over = per_example_over_classes(model, data.x, o)
        values |= over
        summary["log_px_over_classes"] = over_classes_record(
            over, dim=data.x.shape[1], classes=model.config.num_classes, o=o, table=table
        )
    if o.refine_steps > 0:
        summary["posterior"] = f"encoder q refined by {o.refine_steps} Adam steps per example"
    return Likelihood.from_json(summary), values
