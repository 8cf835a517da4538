"""Latent-space figures: codes of the data coloured by class, KL per latent dimension.

``latent_scatter`` draws 2-D codes directly and projects higher-dimensional ones on their first
two principal components (scikit-learn ``PCA``); the axis labels say which. ``kl_per_dimension``
shows where the KL term (the rate) is spent, with an optional threshold line for active units.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from torchlvm._checks import check_choice
from torchlvm.errors import ConfigError
from torchlvm.plots._style import as_array, new_figure

#: largest number of classes drawn with a categorical legend; more get a colour bar
MAX_LEGEND_CLASSES = 20
#: area of a scatter panel in points² (about 5 × 4 inches) and the share of it markers cover
PANEL_AREA = 360 * 290
INK = 0.2


def marker_size(n: int) -> tuple[float, float]:
    """Marker area (points²) and opacity for a scatter of ``n`` points on a ~5 × 4 inch panel.

    The markers together cover about :data:`INK` of the panel: few points are drawn large
    (an area of 60 pt², about 9 pt across, at most), many points small and translucent so
    dense regions still show their density (4 pt² and opacity 0.3 at the least).
    """
    area = float(np.clip(INK * PANEL_AREA / max(n, 1), 4.0, 60.0))
    alpha = float(np.clip((1000 / max(n, 1)) ** 0.5, 0.3, 0.85))
    return area, alpha


def _project(z: np.ndarray, method: str, what: str) -> tuple[np.ndarray, str, str]:
    """Two coordinates per row of ``z`` and the two axis labels (``what``: one code's name)."""
    k = z.shape[1]
    if method == "auto":
        method = "direct" if k <= 2 else "pca"
    if method == "direct":
        if k > 2:
            raise ConfigError(f"method='direct' needs a latent size of 1 or 2, got {k}")
        if k == 1:
            jitter = np.random.default_rng(0).uniform(-1.0, 1.0, len(z))
            return np.c_[z[:, 0], jitter], f"z₁ ({what})", "random jitter (no meaning)"
        return z, f"z₁ ({what})", f"z₂ ({what})"
    if k < 2:
        raise ConfigError(f"method='pca' needs a latent size of at least 2, got {k}")
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).set_output(transform="default").fit(z)  # (an array: readH H7)
    share = pca.explained_variance_ratio_ * 100
    labels = [f"PC {i + 1} of the {what}s ({share[i]:.1f}% of variance)" for i in (0, 1)]
    return pca.transform(z), labels[0], labels[1]


def latent_scatter(
    z: Any,
    labels: Any = None,
    class_names: Sequence[str] | None = None,
    *,
    method: Literal["auto", "direct", "pca"] = "auto",
    title: str | None = None,
    what: str = "posterior mean",
) -> Figure:
    """Latent codes (e.g. posterior means) of data points, coloured by class.

    Args:
        z: (N, K) codes. K ≤ 2 is drawn directly, K > 2 projected by PCA (``method="auto"``).
        labels: (N,) class labels: integers (named by ``class_names``) or text (named by
            themselves); other numbers are drawn as values on a colour bar; None: one colour.
        class_names: names of the classes, indexed by an integer label.
        method: ``"direct"`` (K ≤ 2 only), ``"pca"`` (K ≥ 2) or ``"auto"``.
        title: the figure title; by default it says the latent size and the projection.
        what: what one row of ``z`` is, for the axes: ``"posterior mean"`` (E_q[z|x]), or
            ``"code"`` for an autoencoder, which has no posterior.

    Raises:
        ConfigError: for codes that are not (N, K), labels of another length, or a bad method.
    """
    check_choice("method", method, ("auto", "direct", "pca"))
    codes = as_array(z, "z")
    if codes.ndim != 2 or codes.shape[0] == 0:
        raise ConfigError(f"z must be an (N, K) array with N > 0, got shape {codes.shape}")
    keep = np.isfinite(codes).all(axis=1)
    xy, xlabel, ylabel = _project(codes[keep], method, what)
    fig = new_figure(7.0 if labels is not None else 5.6, 5.0)
    ax = fig.add_subplot()
    size, alpha = marker_size(len(xy))
    style = dict(s=size, alpha=alpha, linewidths=0, rasterized=True)
    if labels is None:
        ax.scatter(xy[:, 0], xy[:, 1], color="tab:blue", **style)
    else:
        values, names, classes = _labels(labels, codes.shape[0], class_names)
        if classes:
            _coloured(fig, ax, xy, values[keep].astype(int), names, style)
        else:  # not whole numbers: what they are, on a colour bar
            points = ax.scatter(xy[:, 0], xy[:, 1], c=values[keep], cmap="viridis", **style)
            fig.colorbar(points, ax=ax, label="label")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is None:
        how = "PCA projection" if "PC" in xlabel else "coordinates"
        title = f"Latent codes of {len(xy)} data points (K = {codes.shape[1]}, {how})"
    ax.set_title(title)
    ax.grid(True, alpha=0.25)
    return fig


def _labels(
    labels: Any, n: int, class_names: Sequence[str] | None
) -> tuple[np.ndarray, Sequence[str] | None, bool]:
    """``labels`` (N,) as numbers, the names they index and whether they are classes: text
    labels are classes named by themselves (in sorted order), whole numbers classes named by
    ``class_names``; other numbers are values, not classes."""
    if hasattr(labels, "detach"):  # a torch.Tensor, without importing torch here
        labels = labels.detach().cpu().numpy()
    raw = np.asarray(labels).ravel()
    if raw.shape[0] != n:
        raise ConfigError(f"labels has {raw.shape[0]} entries but z has {n} rows")
    if raw.dtype.kind in "USO" and not all(isinstance(v, numbers.Number) for v in raw):
        text, index = np.unique(raw.astype(str), return_inverse=True)
        return index, [str(t) for t in text], True
    values = as_array(raw, "labels")
    return values, class_names, bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _coloured(fig, ax, xy, classes, class_names, style) -> None:
    """Scatter coloured by class: a legend for few classes, a colour bar for many."""
    present = np.unique(classes)
    if len(present) > MAX_LEGEND_CLASSES:
        points = ax.scatter(xy[:, 0], xy[:, 1], c=classes, cmap="viridis", **style)
        fig.colorbar(points, ax=ax, label="class label")
        return
    cmap = colormaps["tab10" if len(present) <= 10 else "tab20"]
    for i, label in enumerate(present):
        chosen = classes == label
        known = class_names is not None and 0 <= label < len(class_names)
        name = class_names[label] if known else str(label)
        ax.scatter(xy[chosen, 0], xy[chosen, 1], color=cmap(i), label=str(name), **style)
    fig.legend(
        title="class",
        loc="outside right upper",
        markerscale=max(1.0, 8 / style["s"] ** 0.5),
        frameon=False,
    )


def kl_per_dimension(
    kl: Any,
    *,
    sort: bool = False,
    threshold: float | None = None,
    threshold_label: str = "active-unit threshold",
    title: str | None = "KL divergence per latent dimension",
    conditional: bool = False,
) -> Figure:
    """Bar chart of KL(q(z_i | x) ‖ p(z_i)) per latent dimension, averaged over the data.

    Args:
        kl: (K,) KL per dimension, in nats.
        sort: order bars from largest to smallest (tick labels keep the dimension numbers).
        threshold: draw a horizontal line here and colour bars above it as active.
        threshold_label: legend text of the threshold line.
        title: the figure title.
        conditional: a model conditioned on c (a CVAE): the KL is KL(q(zᵢ|x,c) ‖ p(zᵢ|c)).
    """
    values = as_array(kl, "kl")
    if values.ndim > 1:  # per example and dimension: raveled, N·K bars read as N·K dimensions
        raise ConfigError(
            f"kl must be (K,), one value per latent dimension, got shape {values.shape}; for "
            "per-example values (N, K), pass their mean over the data, kl.mean(0)"
        )
    values = values.ravel()
    if values.size == 0:
        raise ConfigError("kl must hold at least one value, got an empty array")
    order = np.argsort(-np.nan_to_num(values, nan=-np.inf), kind="stable") if sort else None
    if order is None:
        order = np.arange(values.size)
    shown = values[order]
    fig = new_figure(min(12.0, max(4.5, 0.32 * values.size + 2.0)), 3.8)
    ax = fig.add_subplot()
    colours = ["tab:blue"] * values.size
    if threshold is not None:
        colours = ["tab:blue" if v > threshold else "tab:gray" for v in shown]
    x = np.arange(values.size)
    ax.bar(x, np.nan_to_num(shown), color=colours)
    step = max(1, values.size // 32)
    ax.set_xticks(x[::step])
    ax.set_xticklabels([f"z{i + 1}" for i in order[::step]], rotation=90 if values.size > 16 else 0)
    ax.set_xlabel("latent dimension" + (" (sorted by KL)" if sort else ""))
    kl_of = "KL(q(zᵢ|x,c) ‖ p(zᵢ|c))" if conditional else "KL(q(zᵢ|x) ‖ p(zᵢ))"
    ax.set_ylabel(f"{kl_of} [nats, mean over data]")
    if threshold is not None:
        active = int(np.sum(values > threshold))
        ax.axhline(threshold, color="tab:red", linestyle="--", linewidth=1.2)
        fig.legend(  # below the axes, where it covers no bar
            handles=[
                Line2D([], [], color="tab:red", linestyle="--", label=threshold_label),
                Patch(color="tab:blue", label=f"above ({active} of {values.size})"),
                Patch(color="tab:gray", label="below"),
            ],
            loc="outside lower center",
            ncol=3,
            frameon=False,
        )
    ax.grid(True, axis="y", alpha=0.3)
    ax.set_xlim(-0.6, values.size - 0.4)
    if title:
        ax.set_title(title)
    return fig
