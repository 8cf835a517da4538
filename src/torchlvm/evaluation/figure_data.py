"""The arrays behind a run's figures: samples, reconstructions, traversals, interpolations, the
2-D manifold, conditional samples, imputations and latent codes.

This module computes them from a model (it decodes and samples); :mod:`torchlvm.plots` draws
them (arrays in, figures out), and the ``evaluate`` command saves the figures. Every random draw
comes from a generator seeded with ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from torchlvm.distributions.point_mass import PointMass
from torchlvm.models.conditions import Condition
from torchlvm.models.priors import draw

TRAVERSAL_VALUES: tuple[float, ...] = (-3.0, -2.25, -1.5, -0.75, 0.0, 0.75, 1.5, 2.25, 3.0)
MAX_TRAVERSED = 10
NUM_SAMPLES = 64
NUM_PAIRS = 10


@dataclass
class FigureData:
    """Arrays for each figure; a field is None when the figure does not apply to the model.

    Attributes:
        shape: per-example image shape.
        samples: ``(S, D)`` decoder means of prior draws; ``samples_note`` says which prior.
        inputs, reconstructions: ``(P, D)`` data and decoder means at the posterior means.
        traversal: ``(len(dims)·len(values), D)``; ``traversal_dims``, ``traversal_values``.
        interpolation: ``(steps, D)`` decodings between two inputs' posterior means.
        manifold: ``(n·n, D)`` decodings of a grid over [-3, 3]² (2-D latents only).
        conditional: ``(C·n, D)`` samples per class; ``class_names`` the row labels.
        imputation: ``observed``, ``mask``, ``imputed``, ``true``, each ``(P, D)``.
        codes, labels: posterior means ``(N, K)`` and labels ``(N,)`` for the latent scatter.
        condition: for a CVAE, the condition c the traversals, the interpolation and the 2-D
            manifold are decoded at (the first example's), e.g. ``"class 3 (the first
            example's)"``; None without a condition.
    """

    shape: tuple[int, ...]
    samples: Tensor | None = None
    samples_note: str = ""
    inputs: Tensor | None = None
    reconstructions: Tensor | None = None
    traversal: Tensor | None = None
    traversal_dims: list[int] = field(default_factory=list)
    traversal_values: list[float] = field(default_factory=list)
    interpolation: Tensor | None = None
    manifold: Tensor | None = None
    conditional: Tensor | None = None
    class_names: list[str] | None = None
    imputation: dict[str, Tensor] | None = None
    codes: Tensor | None = None
    labels: Tensor | None = None
    condition: str | None = None


def _base_condition(c: Tensor | None, n: int) -> Tensor | None:
    return None if c is None else c[:1].expand(n, -1)


@torch.no_grad()
def figure_data(
    model: Any,
    x: Tensor,
    y: Tensor | None,
    c: Tensor | None,
    *,
    shape: tuple[int, ...],
    condition: Condition | str = "none",
    missing: Tensor | None = None,
    class_names: list[str] | None = None,
    seed: int = 0,
) -> FigureData:
    """Compute every applicable figure's arrays.

    Args:
        model: a model on the protocol. x: data ``(N, D)`` as the model sees it; y: labels
            ``(N,)`` or None; c: conditions ``(N, C)`` or None.
        shape: per-example shape. condition: a :class:`Condition` or its text, ``"none"``,
            ``"label"`` or ``"mask:KIND"``.
        missing: bool ``(D,)``, True where an imputation model's input is missing.
        class_names: row labels for conditional samples. seed: seed of the random draws.

    Returns:
        A :class:`FigureData`.
    """
    generator = torch.Generator().manual_seed(seed)
    data = FigureData(shape=tuple(shape))
    q = model.encode(x, c)
    means = q.mean  # (N, K)
    deterministic = isinstance(q, PointMass)
    data.codes, data.labels = means[:2000], None if y is None else y[:2000]
    pairs = min(NUM_PAIRS, len(x))
    data.inputs = x[:pairs]
    data.reconstructions = model.decode(means[:pairs], None if c is None else c[:pairs]).mean
    condition = Condition.parse(condition)
    data.condition = _condition_text(condition, y, class_names)
    _samples(model, data, means, c, condition, missing, x, class_names, generator, deterministic)
    _traversal(model, data, means, c, deterministic)
    if len(x) >= 2:
        steps = torch.linspace(0, 1, 10, dtype=means.dtype)[:, None]  # (steps, 1)
        path = (1 - steps) * means[0] + steps * means[1]  # (steps, K)
        data.interpolation = model.decode(path, _base_condition(c, len(steps))).mean
    if means.shape[1] == 2:
        grid = torch.linspace(-3, 3, 15, dtype=means.dtype)
        ys, xs = torch.meshgrid(grid, grid, indexing="ij")
        z = torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1)  # (225, 2)
        if not deterministic:
            center, spread = _prior_center(model, c, means.dtype)
            z = center + spread * z  # ±3 standard deviations of p(z) around its mean
        data.manifold = model.decode(z, _base_condition(c, len(z))).mean
    return data


def _samples(
    model: Any,
    data: FigureData,
    means: Tensor,
    c: Tensor | None,
    condition: Condition,
    missing: Tensor | None,
    x: Tensor,
    class_names: list[str] | None,
    generator: torch.Generator,
    deterministic: bool,
) -> None:
    if deterministic:
        source = "fitted" if getattr(model, "is_code_distribution_fitted", False) else "standard"
        data.samples = model.sample(NUM_SAMPLES, source=source, generator=generator)
        data.samples_note = {
            "fitted": "decoder fed codes from a Gaussian fitted to the training codes",
            "standard": "decoder fed N(0, I) codes (the autoencoder has no prior)",
        }[source]
        return
    if condition.kind == "none":
        z = draw(model.prior(), NUM_SAMPLES, generator).to(means.dtype)  # a learned prior too
        data.samples = model.decode(z).mean
        data.samples_note = "decoder means at z ~ p(z)"
        return
    if condition.kind == "label":
        classes = model.config.num_classes
        labels = torch.arange(classes).repeat_interleave(8)  # (C·8,)
        data.conditional = model.sample(
            len(labels), model.condition_from_labels(labels), generator=generator
        )
        data.class_names = class_names or [str(j) for j in range(classes)]
        return
    assert missing is not None and c is not None
    rows = min(8, len(x))
    prior = model.prior(c[:rows])
    z = prior.sample()  # (rows, K)
    filled = model.decode(z, c[:rows]).mean
    observed = torch.where(missing, torch.full_like(x[:rows], float("nan")), x[:rows])
    data.imputation = {
        "observed": observed,
        "mask": (~missing).expand(rows, -1),
        "imputed": torch.where(missing, filled, x[:rows]),
        "true": x[:rows],
    }


def _condition_text(
    condition: Condition, y: Tensor | None, class_names: list[str] | None
) -> str | None:
    """Which c the figures decoded at ``c[:1]`` show, in words: the first example's class, or
    its observed part; None without a condition."""
    if condition.kind == "label" and y is not None and len(y):
        label = int(y[0])
        name = class_names[label] if class_names and label < len(class_names) else str(label)
        return f"class {name} (the first example's)"
    if condition.kind == "mask":
        return "the observed part of the first example"
    return None


def _prior_center(model: Any, c: Tensor | None, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """The mean and standard deviation of p(z) (of p(z | c) at the first condition), each
    ``(K,)``: where traversals and the 2-D manifold are centered and how far they reach, so a
    learned prior (VampPrior, mixture, a CVAE's p(z | c)) is walked where its mass is; N(0, I)
    gives 0 and 1."""
    prior = model.prior(None if c is None else c[:1])
    return prior.mean.reshape(-1).to(dtype), prior.stddev.reshape(-1).to(dtype)


def _changing_most(model: Any, base: Tensor, reach: Tensor, c: Tensor | None) -> list[int]:
    """The :data:`MAX_TRAVERSED` latent dimensions whose traversal changes the decoded image most
    (the distance between the images at ``base`` ∓ ``reach`` along each, ``(K,)``), in index
    order. By the posterior means' variance, PPCA's dimensions all score (λ_i − σ²)/λ_i ≈ 1 and
    the choice was noise: it left out z1, the first principal direction (userM #10); the image
    change follows ‖W_i‖, the canonical order, and leaves out a VAE's inactive dimensions."""
    K = len(base)
    z = base.repeat(2 * K, 1)  # (2K, K): each dimension at -reach, then +reach
    steps = torch.arange(K)
    z[2 * steps, steps] -= reach
    z[2 * steps + 1, steps] += reach
    images = model.decode(z, _base_condition(c, len(z))).mean  # (2K, D)
    change = (images[1::2] - images[0::2]).double().norm(dim=-1)  # (K,)
    return sorted(change.argsort(descending=True)[:MAX_TRAVERSED].tolist())


def _traversal(
    model: Any, data: FigureData, means: Tensor, c: Tensor | None, deterministic: bool
) -> None:
    K = means.shape[1]
    values = torch.tensor(TRAVERSAL_VALUES, dtype=means.dtype)
    if deterministic:
        base = means.mean(0)
        spread = means.std(0) if len(means) > 1 else torch.ones(K, dtype=means.dtype)
    else:
        base, spread = _prior_center(model, c, means.dtype)
    dims = list(range(min(K, MAX_TRAVERSED)))
    if K > MAX_TRAVERSED:
        dims = _changing_most(model, base, spread * values.abs().max(), c)
    z = base.repeat(len(dims) * len(values), 1)  # (dims·steps, K)
    for row, dim in enumerate(dims):  # a loop over latent dimensions, not data points
        z[row * len(values) : (row + 1) * len(values), dim] = base[dim] + values * spread[dim]
    data.traversal = model.decode(z, _base_condition(c, len(z))).mean
    data.traversal_dims, data.traversal_values = dims, values.tolist()
