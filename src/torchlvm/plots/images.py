"""Figures made of images: sample grids, reconstructions, conditional samples, imputations,
latent traversals, interpolations and the 2-D latent manifold.

Every function takes images as arrays or tensors, either flat ``(N, D)`` with ``D = C·H·W`` or
``(N, C, H, W)``, plus the image ``shape`` (``(H, W)`` or ``(C, H, W)``, C = 1 or 3), and returns
a :class:`matplotlib.figure.Figure`. Values in [0, 1] are shown as intensities (0 black, 1 white);
anything else is scaled from its minimum to its maximum, unless the caller gives the ``scale`` to
draw on (every image function takes one: ``evaluate`` and ``sample`` give the range the run was
trained on, so a faint decoding looks faint, not stretched to the grid's own extremes). A pixel
with no value (NaN in any channel: a diverged model's output, or a user's data) is drawn red, not
as the scale's low end (black, which a figure cannot tell from a 0), and the figure's key counts
them. Where a model's output is set beside the data (reconstructions, transfers, imputations),
both are drawn on the data's scale, [0, 1] for intensities: a Gaussian decoder's mean outside it
is clipped for display (it would otherwise widen the scale and draw the data's black as grey),
and the figure says what share was clipped; so is anything drawn on a given ``scale``. The
tiles are drawn as one mosaic, so a grid of hundreds of images costs one ``imshow``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from torchlvm.errors import ConfigError
from torchlvm.plots._style import (
    GAP_COLOUR,
    MISSING_COLOUR,
    as_array,
    as_images,
    gap,
    grid_figure_size,
    image_shape,
    label_tiles,
    mosaic,
    new_figure,
    to_rgb,
    value_range,
)

Shape = Sequence[int]


#: points of a mosaic's labels: at least, and per inch of its width (a wide grid is shown
#: shrunk to a column of the report, 521 px of a 1280-px window, where text stays >= 8 px)
TEXT_POINTS = 10.0
TEXT_POINTS_PER_INCH = 1.25
#: a mosaic's title, relative to its labels
TITLE_SCALE = 1.2


def _rgb(images: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, int]:
    """(N, C, H, W) ``images`` as (N, H, W, 3) tiles on the scale [lo, hi] (:func:`to_rgb`),
    a pixel with a NaN value in any channel drawn in ``MISSING_COLOUR``; and how many are."""
    tiles = to_rgb(images, lo, hi)
    nan = np.isnan(images).any(axis=1)  # (N, H, W)
    tiles[nan] = MISSING_COLOUR
    return tiles, int(nan.sum())


def _on_scale(
    name: str, images: np.ndarray, scale: tuple[float, float] | None
) -> tuple[np.ndarray, int, str | None]:
    """``images`` drawn as tiles (:func:`_rgb`) on ``scale``, with the line saying what share of
    them it clips (:func:`_clip_note`, ``name``: what they are), or on their own range
    (:func:`value_range`) where no scale is given, clipping nothing."""
    lo, hi = value_range(images) if scale is None else _span(scale)
    tiles, nan = _rgb(images, lo, hi)
    return tiles, nan, None if scale is None else _clip_note(name, images, lo, hi)


def _span(scale: tuple[float, float]) -> tuple[float, float]:
    """A given scale ``(lo, hi)`` to draw on; one of no width (a run trained on one constant
    value) widened by 0.5 each way, as :func:`value_range` widens constant images."""
    lo, hi = float(scale[0]), float(scale[1])
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _lines(*lines: str | None) -> str | None:
    """The lines given that are not None, one below the other; None where none are."""
    kept = [line for line in lines if line]
    return "\n".join(kept) if kept else None


def _nan_key(count: int) -> list[Patch]:
    """The key's entry for ``count`` pixels drawn red because they hold NaN (none for 0)."""
    if not count:
        return []
    pixels = f"{count} pixel{'s' * (count != 1)}"
    return [Patch(facecolor=MISSING_COLOUR, label=f"{pixels} with no value (NaN)")]


def _label_width(labels: Sequence[Any] | None) -> float:
    """Inches of left margin that row labels need."""
    return 0.0 if not labels else 0.075 * max(len(str(label)) for label in labels)


def _draw_mosaic(
    tiles: np.ndarray,
    ncol: int,
    *,
    title: str | None,
    row_labels: Sequence[Any] | None = None,
    col_labels: Sequence[Any] | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    key: Sequence[Patch] = (),
) -> Figure:
    """Draw (N, H, W, 3) RGB tiles ``ncol`` per row, ``gap(H, W)`` pixels apart, on the
    figure's one axes, with the colours of ``key`` (e.g. :func:`_nan_key`) explained below."""
    n, h, w = tiles.shape[:3]
    nrow = math.ceil(n / ncol)
    pad = gap(h, w)
    extra = _label_width(row_labels) + (0.3 if ylabel else 0.0)
    width, height = grid_figure_size(nrow, ncol, h, w, extra_w=extra)
    height += 0.25 * bool(col_labels) + 0.25 * bool(xlabel)
    fig = new_figure(width, height)
    ax = fig.add_subplot()
    ax.imshow(mosaic(tiles, ncol, pad))
    label_tiles(ax, (h, w), pad, rows=row_labels, cols=col_labels)
    size = max(TEXT_POINTS, TEXT_POINTS_PER_INCH * width)  # shown shrunk: its text grows
    ax.tick_params(labelsize=size)
    if title:
        ax.set_title(title, fontsize=size * TITLE_SCALE)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=size)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=size)
    if key:
        fig.legend(handles=list(key), loc="outside lower center", frameon=False, fontsize=size)
    return fig


def _blank(h: int, w: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(GAP_COLOUR), (h, w, 3))


def _interleave(groups: Sequence[np.ndarray], ncol: int) -> tuple[np.ndarray, int]:
    """Stack equally long (N, H, W, 3) groups as blocks of rows: ncol of group 1, of group 2, ...

    Returns the tiles and the number of blocks; short last blocks are padded with blank tiles.
    """
    n, h, w = groups[0].shape[:3]
    blocks = math.ceil(n / ncol)
    tiles = []
    for b in range(blocks):
        for group in groups:
            row = list(group[b * ncol : (b + 1) * ncol])
            tiles.extend(row + [_blank(h, w)] * (ncol - len(row)))
    return np.stack(tiles), blocks


def _check_same_count(**arrays: np.ndarray) -> int:
    counts = {name: a.shape[0] for name, a in arrays.items()}
    if len(set(counts.values())) != 1:
        raise ConfigError(f"these must hold the same number of images, got {counts}")
    return next(iter(counts.values()))


def image_grid(
    images: Any,
    shape: Shape,
    *,
    nrow: int | None = None,
    title: str | None = "Samples",
    row_labels: Sequence[Any] | None = None,
    scale: tuple[float, float] | None = None,
) -> Figure:
    """A grid of images, e.g. samples from the model.

    Args:
        images: (N, D) or (N, C, H, W).
        shape: one image's (H, W) or (C, H, W).
        nrow: images per row, as in ``torchvision.utils.make_grid``; by default ⌈√N⌉, or
            N / len(row_labels) when row labels are given.
        title: the figure title.
        row_labels: one label per row of the grid.
        scale: the values drawn black and white, e.g. the range a model's data span: values
            outside it are clipped for display and the figure says what share; by default
            [0, 1] for intensities, else the images' own minimum and maximum.

    Raises:
        ConfigError: if the images do not fit ``shape`` or the labels do not fit the rows.
    """
    array = as_images(images, shape)
    n = array.shape[0]
    if nrow is None:
        nrow = n // len(row_labels) if row_labels else math.ceil(math.sqrt(n))
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow <= 0:
        raise ConfigError(f"nrow must be a positive integer (images per row), got {nrow!r}")
    rows = math.ceil(n / nrow)
    if row_labels is not None and len(row_labels) != rows:
        raise ConfigError(
            f"row_labels has {len(row_labels)} labels but the grid has {rows} rows "
            f"({n} images, {nrow} per row)"
        )
    tiles, nan, clipped = _on_scale("samples", array, scale)
    return _draw_mosaic(
        tiles, nrow, title=title, row_labels=row_labels, xlabel=clipped, key=_nan_key(nan)
    )


def reconstruction_pairs(
    inputs: Any,
    reconstructions: Any,
    shape: Shape,
    *,
    ncol: int | None = None,
    title: str | None = "Inputs and their reconstructions",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Inputs above their reconstructions, in labelled row pairs.

    Args:
        inputs: (N, D) or (N, C, H, W) data images.
        reconstructions: the same shape: e.g. the decoder mean at the posterior mean.
        shape: one image's (H, W) or (C, H, W).
        ncol: images per row; by default all N up to 10, wrapping into more row pairs.
        scale: the values drawn black and white (:func:`image_grid`), e.g. the range the
            model was trained on; by default the inputs' scale.

    Both rows are drawn on ``scale``, else on the inputs' scale ([0, 1] for intensities);
    values outside it are clipped for display, and the figure says what share.
    """
    return _row_pairs(
        ("inputs", inputs), ("reconstructions", reconstructions), shape,
        labels=("input", "reconstruction"), ncol=ncol, title=title, scale=scale,
    )  # fmt: skip


def transfer_grid(
    originals: Any,
    transferred: Any,
    shape: Shape,
    *,
    source: Any,
    target: Any,
    ncol: int | None = None,
    title: str | None = None,
) -> Figure:
    """Images of one class above their transfers to another, in labelled row pairs.

    Args:
        originals: (N, D) or (N, C, H, W): what a reader should recognise, the data's own grey
            levels, not the binarized draw the model encoded (a random pattern of black and
            white pixels reads poorly at a glance).
        transferred: the same shape: each original redrawn under the target class.
        shape: one image's (H, W) or (C, H, W).
        source: name of the originals' class; target: of the class they are redrawn as.
        ncol: images per row; by default all N up to 10, wrapping into more row pairs.
        title: the figure title; by default "Style transfer: class SOURCE → TARGET".

    Both rows are drawn on the originals' scale; transfers outside it are clipped for display,
    and the figure says what share.
    """
    return _row_pairs(
        ("originals", originals), ("transferred", transferred), shape,
        labels=(f"original ({source})", f"as {target}"), ncol=ncol,
        title=title if title is not None else f"Style transfer: class {source} → {target}",
    )  # fmt: skip


def _clip_note(name: str, images: np.ndarray, lo: float, hi: float) -> str | None:
    """The line saying what share of ``images``' values lie outside the data's [lo, hi] (drawn
    as lo or hi); None when none do."""
    finite = images[np.isfinite(images)]
    outside = np.count_nonzero((finite < lo) | (finite > hi))
    if not outside:
        return None
    return (
        f"{name} shown clipped to the data's range [{lo:.3g}, {hi:.3g}]: "
        f"{outside / finite.size:.1%} of their values lie outside"
    )


def _row_pairs(
    first: tuple[str, Any],
    second: tuple[str, Any],
    shape: Shape,
    *,
    labels: tuple[str, str],
    ncol: int | None,
    title: str | None,
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Two equally long image sets as interleaved rows (ncol of the first, then of the second),
    both on ``scale``, else on the scale of the first, the data (what lies outside it clipped
    to it, and the figure says so); ``first`` and ``second`` are (argument name, images)."""
    a = as_images(first[1], shape, first[0])
    b = as_images(second[1], shape, second[0])
    n = _check_same_count(**{first[0]: a, second[0]: b})
    ncol = ncol or min(n, 10)
    lo, hi = value_range(a) if scale is None else _span(scale)
    (tiles_a, nan_a), (tiles_b, nan_b) = _rgb(a, lo, hi), _rgb(b, lo, hi)
    tiles, blocks = _interleave([tiles_a, tiles_b], ncol)
    notes = (
        None if scale is None else _clip_note(first[0], a, lo, hi),
        _clip_note(second[0], b, lo, hi),
    )
    return _draw_mosaic(
        tiles, ncol, title=title, row_labels=list(labels) * blocks,
        xlabel=_lines(*notes), key=_nan_key(nan_a + nan_b),
    )  # fmt: skip


def conditional_grid(
    images: Any,
    shape: Shape,
    row_labels: Sequence[Any],
    *,
    title: str | None = "Samples per condition",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Conditional samples, one row per condition labelled with its name.

    Args:
        images: (C·n, D) or (C·n, C, H, W): n samples for the first condition, then the second...
        shape: one image's (H, W) or (C, H, W).
        row_labels: the C condition names (e.g. class names).
        scale: the values drawn black and white (:func:`image_grid`).

    Raises:
        ConfigError: if the number of images is not a multiple of the number of labels.
    """
    array = as_images(images, shape)
    if not row_labels or array.shape[0] % len(row_labels):
        raise ConfigError(
            f"conditional_grid needs n images per condition: got {array.shape[0]} images for "
            f"{len(row_labels)} conditions"
        )
    nrow = array.shape[0] // len(row_labels)
    return image_grid(array, shape, nrow=nrow, title=title, row_labels=row_labels, scale=scale)


def imputation_panels(
    observed: Any,
    mask: Any,
    imputed: Any,
    true: Any,
    shape: Shape,
    *,
    title: str | None = "Imputation of missing pixels",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Observed images (missing part red and hatched), the model's imputations and the truth.

    Args:
        observed: (N, D) or (N, C, H, W); values at missing pixels are ignored (may be NaN).
        mask: the same shape (or one channel of it), true or 1 where a pixel is **observed**.
        imputed: the same shape: observed pixels kept, missing ones filled in by the model.
        true: the same shape: the complete images.
        shape: one image's (H, W) or (C, H, W).
        scale: the values drawn black and white (:func:`image_grid`); by default the data's.

    All rows are drawn on ``scale``, else on the data's scale (observed and true pixels);
    values outside it are clipped for display, and the figure says what share (of the true
    images, which hold the observed pixels, on a given scale; of the imputed ones always).
    """
    c, h, w = image_shape(shape)
    obs = as_images(observed, shape, "observed")
    imp = as_images(imputed, shape, "imputed")
    ref = as_images(true, shape, "true")
    seen = as_array(mask, "mask")
    if seen.ndim == 0 or seen[0].size not in (h * w, c * h * w):
        raise ConfigError(
            f"mask must be (N, H·W), (N, C·H·W) or (N, C, H, W) for shape {(c, h, w)}, "
            f"got an array of shape {seen.shape}"
        )
    seen = seen.reshape(seen.shape[0], -1, h, w)[:, 0] > 0.5  # (N, H, W)
    n = _check_same_count(observed=obs, mask=seen, imputed=imp, true=ref)
    lo, hi = (
        value_range(np.where(seen[:, None], obs, np.nan), ref) if scale is None else _span(scale)
    )
    shown = to_rgb(obs, lo, hi)
    missing = ~seen
    shown[missing] = 0.35 * shown[missing] + 0.65 * MISSING_COLOUR
    ncol = min(n, 10)
    (imp_tiles, nan_imp), (ref_tiles, nan_ref) = _rgb(imp, lo, hi), _rgb(ref, lo, hi)
    tiles, blocks = _interleave([shown, imp_tiles, ref_tiles], ncol)
    labels = ["observed", "imputed", "true"] * blocks
    notes = (  # (on a given scale the data may lie outside it too: the true rows hold them)
        None if scale is None else _clip_note("true", ref, lo, hi),
        _clip_note("imputed", imp, lo, hi),
    )
    fig = _draw_mosaic(tiles, ncol, title=title, row_labels=labels, xlabel=_lines(*notes))
    ax, pad = fig.axes[0], gap(h, w)
    # hatch the missing region of the "observed" rows
    hatch_tiles = np.zeros((len(tiles), h, w))
    for b in range(blocks):
        part = missing[b * ncol : (b + 1) * ncol]
        hatch_tiles[3 * b * ncol : 3 * b * ncol + len(part)] = part
    hatch = mosaic(hatch_tiles[..., None], ncol, pad, fill=0.0)[..., 0]
    if hatch.any():
        ax.contourf(hatch, levels=[0.5, 1.5], colors="none", hatches=["////"])
        ax.contour(hatch, levels=[0.5], colors=[MISSING_COLOUR * 0.6], linewidths=0.8)
    key = Patch(facecolor=0.35 + 0.65 * MISSING_COLOUR, hatch="////", label="missing pixels")
    fig.legend(
        handles=[key, *_nan_key(nan_imp + nan_ref)], loc="outside lower center", frameon=False
    )
    return fig


#: what a traversal's column values are (figure_data: the centre of p(z), or a CVAE's p(z | c),
#: plus value × its standard deviation; an autoencoder's: its codes' mean and standard
#: deviation); ``{of}`` names that distribution when the caller says which
TRAVERSAL_AXIS = "standard deviations from the centre{of} (the others at the centre)"


def traversal_grid(
    images: Any,
    shape: Shape,
    dims: Sequence[int],
    values: Sequence[float],
    *,
    title: str | None = "Latent traversals",
    centre: str | None = None,
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Decodings while one latent dimension sweeps ``values`` and the others stay fixed.

    Args:
        images: (K·steps, D) or (K·steps, C, H, W): row k holds the ``steps`` decodings for
            ``dims[k]``, in the order of ``values``.
        shape: one image's (H, W) or (C, H, W).
        dims: the K latent dimensions traversed (0-based indices).
        values: the ``steps`` values each dimension takes, in standard deviations from the
            centre (:data:`TRAVERSAL_AXIS`).
        centre: what the values are measured from, for the axis label (``"p(z)"``,
            ``"p(z | c)"``); None: the axis names no distribution (the caption says it).
        scale: the values drawn black and white (:func:`image_grid`).
    """
    array = as_images(images, shape)
    if array.shape[0] != len(dims) * len(values):
        raise ConfigError(
            f"traversal_grid needs len(dims) × len(values) = {len(dims)} × {len(values)} images, "
            f"got {array.shape[0]}"
        )
    tiles, nan, clipped = _on_scale("decodings", array, scale)
    return _draw_mosaic(
        tiles,
        len(values),
        key=_nan_key(nan),
        title=title,
        row_labels=[f"z{int(d) + 1}" for d in dims],
        col_labels=[f"{float(v):.3g}" for v in values],  # 2.25, not 2.2
        xlabel=_lines(TRAVERSAL_AXIS.format(of=f" of {centre}" if centre else ""), clipped),
    )


def interpolation_strip(
    images: Any,
    shape: Shape,
    *,
    title: str | None = "Interpolation in latent space",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Decodings along a straight line between the latent codes of two inputs.

    Args:
        images: (steps, D) or (steps, C, H, W), from the first input's code to the second's.
        shape: one image's (H, W) or (C, H, W).
        scale: the values drawn black and white (:func:`image_grid`).
    """
    array = as_images(images, shape)
    steps = array.shape[0]
    weights = np.linspace(0.0, 1.0, steps)
    tiles, nan, clipped = _on_scale("decodings", array, scale)
    return _draw_mosaic(
        tiles,
        steps,
        key=_nan_key(nan),
        title=title,
        col_labels=[f"{a:.2g}" for a in weights],
        xlabel=_lines("interpolation weight α  (z = (1 − α)·z_start + α·z_end)", clipped),
    )


def manifold_grid(
    images: Any,
    shape: Shape,
    extent: Sequence[float],
    *,
    title: str | None = "Decoded 2-D latent manifold",
    scale: tuple[float, float] | None = None,
) -> Figure:
    """Decodings of a regular n × n grid of 2-D latent codes, placed at their coordinates.

    Args:
        images: (n·n, D) or (n·n, C, H, W); image ``i·n + j`` is the decoding of
            z = (xs[j], ys[i]) with ``xs = linspace(x0, x1, n)``, ``ys = linspace(y0, y1, n)``
            (the order of ``torch.meshgrid(ys, xs, indexing="ij")``), drawn with z₂ growing upward.
        shape: one image's (H, W) or (C, H, W).
        extent: ``(lo, hi)`` for both axes or ``(x0, x1, y0, y1)``: the first and last grid values.
        scale: the values drawn black and white (:func:`image_grid`).
    """
    array = as_images(images, shape)
    n = math.isqrt(array.shape[0])
    if n * n != array.shape[0]:
        raise ConfigError(f"manifold_grid needs n × n images, got {array.shape[0]}")
    bounds = [float(e) for e in extent]
    if len(bounds) == 2:
        bounds = bounds * 2
    if len(bounds) != 4:
        raise ConfigError(f"extent must be (lo, hi) or (x0, x1, y0, y1), got {tuple(extent)}")
    x0, x1, y0, y1 = bounds
    tiles, nan, clipped = _on_scale("decodings", array, scale)
    rows = tiles.reshape(n, n, *array.shape[2:], 3)[::-1]
    h, w = array.shape[2:]
    big = mosaic(rows.reshape(n * n, h, w, 3), n, 0)
    dx = (x1 - x0) / max(n - 1, 1) / 2
    dy = (y1 - y0) / max(n - 1, 1) / 2
    side = min(7.5, max(3.5, 0.55 * n + 1.0))
    fig = new_figure(side, side)
    ax = fig.add_subplot()
    ax.imshow(big, extent=(x0 - dx, x1 + dx, y0 - dy, y1 + dy), aspect="auto")
    ax.set_box_aspect(h / w)
    ax.set_xlabel(_lines("z₁ (latent units)", clipped))
    ax.set_ylabel("z₂ (latent units)")
    if title:
        ax.set_title(title)
    if nan:
        fig.legend(handles=_nan_key(nan), loc="outside lower center", frameon=False)
    return fig
