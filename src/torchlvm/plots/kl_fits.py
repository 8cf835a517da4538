"""A single Gaussian fitted to a bimodal target by forward and by reverse KL.

1-D: the three densities as curves. 2-D: the target as filled contours, each fit as the
1σ and 2σ ellipses of its covariance. The legend, below the axes, gives the mass each fit puts
on each mode.
Forward KL(p ‖ q) (maximum likelihood) covers both modes; reverse KL(q ‖ p) (what the ELBO
minimizes) locks onto one (see :mod:`torchlvm.distributions.fitting`).

Densities are evaluated from the ``torch.distributions`` objects passed in (no fitting here);
:func:`save_figure` writes a PNG atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch.distributions import Distribution

from torchlvm.errors import ConfigError
from torchlvm.plots._style import as_array, new_figure, save_figure

__all__ = ["kl_fits_figure", "save_figure"]

#: colours of the fits, by name (others cycle through matplotlib's defaults)
COLOURS = {"forward": "tab:blue", "reverse": "tab:red"}
LABELS = {
    "forward": "forward KL(p ‖ q): mass-covering (max. likelihood)",
    "reverse": "reverse KL(q ‖ p): mode-seeking (ELBO)",
}


def kl_fits_figure(
    target: Distribution,
    fits: Mapping[str, Distribution],
    *,
    mass_per_mode: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Figure:
    """The target density and each Gaussian fit.

    Args:
        target: p, event ``(1,)`` or ``(2,)``.
        fits: name (``"forward"``, ``"reverse"`` or any) → fitted Gaussian q, same event.
        mass_per_mode: optional name → mass on each mode (2,), shown in the legend.
        title: optional figure title.

    Returns:
        The figure.
    """
    (dim,) = target.event_shape
    if dim not in (1, 2):
        raise ConfigError(f"target must be 1-D or 2-D, got event shape {tuple(target.event_shape)}")
    extent = _extent(target, dim)
    fig = new_figure(7.5, 4.2 if dim == 1 else 4.6)
    ax = fig.subplots()
    labels = {name: _label(name, mass_per_mode) for name in fits}
    if dim == 1:
        _draw_1d(ax, target, fits, labels, extent)
    else:
        _draw_2d(ax, target, fits, labels, extent)
    ax.set_title(title or "One Gaussian fitted to a two-mode target", fontsize=10)
    fig.legend(fontsize=8, loc="outside lower center", frameon=False)  # below: over no curve
    return fig


def _label(name: str, masses: Mapping[str, Any] | None) -> str:
    text = LABELS.get(name, name)
    if masses is not None and name in masses:
        m = as_array(masses[name], "mass_per_mode")
        text += f"; mass per mode {m[0]:.2f} / {m[1]:.2f}"
    return text


def _extent(target: Distribution, dim: int) -> np.ndarray:
    """(dim, 2) plotting limits: the target's mean ± 4 standard deviations."""
    mean = target.mean.detach().double().reshape(dim)
    half = 4 * target.variance.detach().double().reshape(dim).sqrt()
    if dim == 2:  # equal aspect: a short y range would waste the figure's height
        half[1] = torch.maximum(half[1], 0.5 * half[0])
    return torch.stack([mean - half, mean + half], -1).numpy()


def _density(d: Distribution, points: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        t = torch.as_tensor(points)
        dtype = d.mean.dtype
        return d.log_prob(t.to(dtype)).exp().double().numpy()


def _draw_1d(ax: Any, target: Distribution, fits: Mapping, labels: Mapping, extent) -> None:
    grid = np.linspace(extent[0, 0], extent[0, 1], 400)
    ax.fill_between(grid, _density(target, grid[:, None]), color="0.8", label="target p")
    for i, (name, q) in enumerate(fits.items()):
        colour = COLOURS.get(name, f"C{i + 2}")
        ax.plot(grid, _density(q, grid[:, None]), color=colour, lw=2, label=labels[name])
    ax.set_xlabel("z")
    ax.set_ylabel("density")


def _draw_2d(ax: Any, target: Distribution, fits: Mapping, labels: Mapping, extent) -> None:
    gx = np.linspace(extent[0, 0], extent[0, 1], 160)
    gy = np.linspace(extent[1, 0], extent[1, 1], 120)
    X, Y = np.meshgrid(gx, gy)
    points = np.stack([X.ravel(), Y.ravel()], -1)  # (G, 2)
    ax.contourf(X, Y, _density(target, points).reshape(X.shape), levels=12, cmap="Greys")
    for i, (name, q) in enumerate(fits.items()):
        colour = COLOURS.get(name, f"C{i + 2}")
        mean = q.mean.detach().double().numpy()
        cov = q.covariance_matrix.detach().double().numpy()
        evals, evecs = np.linalg.eigh(cov)
        angle = np.linspace(0, 2 * np.pi, 200)
        circle = np.stack([np.cos(angle), np.sin(angle)])  # (2, 200)
        for radius, style in ((1, "-"), (2, ":")):
            ellipse = mean[:, None] + radius * evecs @ (np.sqrt(evals)[:, None] * circle)
            label = labels[name] if radius == 1 else None
            ax.plot(ellipse[0], ellipse[1], color=colour, ls=style, lw=2, label=label)
        ax.plot(*mean, marker="x", color=colour, ms=8)
    # what the line styles and marks are, once for both fits (no data: legend entries only)
    ax.fill_between([], [], color="0.45", label="target p (darker: denser)")
    ax.plot([], [], color="0.3", ls="-", lw=2, label="each fit's 1σ contour (Mahalanobis 1)")
    ax.plot([], [], color="0.3", ls=":", lw=2, label="its 2σ contour")
    ax.plot([], [], color="0.3", ls="none", marker="x", ms=8, label="its mean")
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_aspect("equal")
