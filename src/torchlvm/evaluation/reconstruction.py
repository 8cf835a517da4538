"""Reconstruction error: how well x is recovered from its code.

The reconstruction of x is the mean of p(x | z) at z = E_q[z | x] (the posterior mean; the code
itself for a deterministic autoencoder). Per example:

- squared error ‖x − x̂‖² (summed over the D dimensions), reported per example and per pixel
  (divided by D);
- for a Bernoulli likelihood, the binary cross-entropy −log p(x | z = E_q[z]) =
  −Σ_d [x_d log x̂_d + (1 − x_d) log(1 − x̂_d)], in nats per example (soft targets allowed).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.distributions import Bernoulli

from torchlvm.evaluation._batching import map_batches
from torchlvm.evaluation._records import metric
from torchlvm.evaluation.records import example_noun, nats_per, table_units
from torchlvm.protocol import LatentVariableModel


def per_example_reconstruction(
    model: LatentVariableModel,
    x: Tensor,
    c: Tensor | None = None,
    *,
    batch_size: int = 256,
    progress: bool = False,
) -> dict[str, Tensor]:
    """Squared error and (for Bernoulli decoders) cross-entropy of each example.

    Args:
        model: any model on the protocol. x: ``(N, D)``. c: ``(N, C)`` or None.

    Returns:
        ``sq_error`` ``(N,)`` (sum over dimensions) and, for a Bernoulli decoder, ``bce``
        ``(N,)`` in nats.
    """

    @torch.no_grad()
    def batch(xb: Tensor, cb: Tensor | None) -> dict[str, Tensor]:
        z = model.encode(xb, cb).mean  # (B, K)
        p = model.decode(z, cb)
        out = {"sq_error": (xb - p.mean).pow(2).sum(-1)}
        if isinstance(getattr(p, "base_dist", None), Bernoulli):
            out["bce"] = -p.log_prob(xb)
        return out

    return map_batches(batch, x, c, batch_size=batch_size, desc="reconstruction", progress=progress)


def summarize_reconstruction(
    values: dict[str, Tensor],
    *,
    dim: int,
    table: bool = False,
    standardized: bool = False,
    conditional: bool = False,
    flat: bool = False,
) -> dict[str, Any]:
    """Labelled means of :func:`per_example_reconstruction`'s output; on a ``table`` the units
    are per row and per feature (``standardized``: in standardized units), on other ``flat``
    rows (an .npy of feature vectors: per-example shape ``(D,)``) per example and per feature
    (userW #2: a 2-column ring's was 'per pixel', where evaluate's table said 'per feature'),
    else per example and per pixel; ``conditional``: a CVAE's, each input with its own
    condition c (its note said p(x | z) and E_q[z | x] of a CVAE: userK #12)."""
    mse = float(values["sq_error"].double().mean())
    note = "x̂ = mean of p(x | z) at z = E_q[z | x]"
    if conditional:
        note = "x̂ = mean of p(x | z, c) at z = E_q[z | x, c], with each input's own c"
    example, dimension = example_noun(table), "feature" if table or flat else "pixel"
    if table:
        note += f", {table_units(standardized)}"
    out: dict[str, Any] = {
        "mse_per_example": metric(mse, f"squared error/{example}", "measured", note=note),
        "mse_per_pixel": metric(mse / dim, f"squared error/{dimension}", "measured", note=note),
    }
    if "bce" in values:
        out["bce"] = metric(
            float(values["bce"].double().mean()),
            nats_per(table),
            "measured",
            note="binary cross-entropy −log p(x | z = E_q[z | x]) of the Bernoulli decoder"
            if not conditional
            else "binary cross-entropy −log p(x | z = E_q[z | x, c], c) of the Bernoulli decoder",
        )
    return out
