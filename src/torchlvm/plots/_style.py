"""Shared figure plumbing: creating figures, turning arrays into image tiles, saving PNGs.

Figures are built with the object-oriented API (``matplotlib.figure.Figure`` drawn by the Agg
canvas), never through ``pyplot``'s global state, so plotting works headless, in threads and in
notebooks alike. :func:`save_figure` writes a PNG atomically (a reader never sees half a file),
cropped to what is drawn: an image grid whose tiles fill less than the figure's box (one row of
samples, a short strip) leaves no blank band around it. Its PNG's ``Software`` text names
torchlvm, which :func:`drawn_by_torchlvm` reads back: a figure torchlvm wrote into a run folder
is torchlvm's to redraw, any other file there is the user's and is never replaced unasked. A
figure's label, where set, is its PNG's ``Description`` text (:func:`figure_description`).
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from torchlvm._files import write_atomic
from torchlvm.errors import ConfigError

#: resolution of saved figures, dots per inch
DPI = 110
#: colour of the gaps between image tiles (RGB in [0, 1])
GAP_COLOUR = (1.0, 1.0, 1.0)
#: blank margin kept around the drawn content of a saved figure, inches
PAD_INCHES = 0.06
#: colour that marks missing pixels in imputation panels (RGB in [0, 1])
MISSING_COLOUR = np.array([0.86, 0.24, 0.24])
#: the start of the ``Software`` text of every PNG torchlvm saves (a tEXt chunk before the pixels)
SOFTWARE = "torchlvm"


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` × ``height`` inches with constrained layout, on an Agg canvas."""
    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save_png(fig: Figure, target: Any) -> None:
    """``fig`` as a PNG cropped to its drawn content plus :data:`PAD_INCHES`; the figure's label
    (``fig.set_label``), where set, as its ``Description`` text: what it shows, in the words of
    the command that drew it, which the report captions it by (``sample``'s figures)."""
    import matplotlib

    metadata = {"Software": f"{SOFTWARE} (Matplotlib {matplotlib.__version__})"}
    if fig.get_label():
        metadata["Description"] = fig.get_label()
    fig.savefig(
        target, format="png", dpi=DPI, bbox_inches="tight", pad_inches=PAD_INCHES,
        metadata=metadata,
    )  # fmt: skip


def drawn_by_torchlvm(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a PNG that :func:`save_figure` wrote (its ``Software`` text, which
    matplotlib writes before the pixels, starts with :data:`SOFTWARE`); False for anything else,
    an unreadable file included."""
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and b"tEXtSoftware\x00" + SOFTWARE.encode() in head


def figure_description(png: bytes) -> str | None:
    """The ``Description`` text of the PNG bytes ``png`` (the label of the figure
    :func:`save_figure` wrote), or None where it has none or is no PNG."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(png)) as image:
            text = getattr(image, "text", {}).get("Description")
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    return text or None


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``fig`` as a PNG at ``path`` atomically, then close it.

    The PNG is cropped to what is drawn (see the module docstring). The parent folder is created
    if needed. A figure made through ``pyplot`` is also removed from pyplot's registry so it
    frees its memory.

    Raises:
        ConfigError: for a ``path`` whose extension names another format that matplotlib writes
            (``.pdf``, ``.svg``, ``.jpg``: PNG bytes under such a name open nowhere); the figure
            stays open, for ``fig.savefig`` in that format. Other names (a staged
            ``.name.png.torchlvm-new``) get the PNG.
    """
    suffix = Path(path).suffix.lower()
    if suffix != ".png" and suffix[1:] in fig.canvas.get_supported_filetypes():
        raise ConfigError(
            f"save_figure writes PNG, and {os.fspath(path)!r} names a {suffix[1:]} file; name "
            f"it .png, or call fig.savefig({os.fspath(path)!r}) for a {suffix[1:]}"
        )
    write_atomic(path, lambda tmp: _save_png(fig, tmp))
    close_figure(fig)


def figure_png_bytes(fig: Figure) -> bytes:
    """The PNG encoding of ``fig`` (for embedding), cropped as by :func:`save_figure`; closes
    the figure."""
    buffer = io.BytesIO()
    _save_png(fig, buffer)
    close_figure(fig)
    return buffer.getvalue()


def close_figure(fig: Figure) -> None:
    """Release ``fig``; pyplot is touched only if the figure came from pyplot."""
    if getattr(fig.canvas, "manager", None) is not None:
        import matplotlib.pyplot as plt

        plt.close(fig)


def as_array(values: Any, name: str) -> np.ndarray:
    """``values`` (tensor, array or nested sequence) as a float64 NumPy array."""
    if hasattr(values, "detach"):  # a torch.Tensor, without importing torch here
        values = values.detach().cpu().numpy()
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{name} must be numeric, got {type(values).__name__} ({err})") from None


def image_shape(shape: Sequence[int]) -> tuple[int, int, int]:
    """``shape`` as (C, H, W): ``(H, W)`` means one channel."""
    try:
        shape = tuple(int(s) for s in shape)
    except (TypeError, ValueError):  # one number, or entries that are no numbers
        raise ConfigError(
            f"shape must be (H, W), (1, H, W) or (3, H, W) with positive sizes, got {shape!r}"
        ) from None
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or min(shape) <= 0 or shape[0] not in (1, 3):
        raise ConfigError(
            f"shape must be (H, W), (1, H, W) or (3, H, W) with positive sizes, got {shape}"
        )
    return shape  # type: ignore[return-value]


def as_images(images: Any, shape: Sequence[int], name: str = "images") -> np.ndarray:
    """Images as an (N, C, H, W) float array.

    Args:
        images: (N, D) flat vectors with D = C·H·W, or (N, C, H, W) / (N, H, W) arrays.
        shape: (C, H, W) or (H, W) of one image.
    """
    c, h, w = image_shape(shape)
    array = as_array(images, name)
    if array.ndim == 0 or array.shape[0] == 0:
        raise ConfigError(f"{name} must hold at least one image, got shape {array.shape}")
    size = array[0].size
    if size != c * h * w:
        raise ConfigError(
            f"{name} has {size} values per image but shape {(c, h, w)} needs {c * h * w}; "
            f"got an array of shape {array.shape}"
        )
    return array.reshape(array.shape[0], c, h, w)  # (N, C, H, W)


def value_range(*arrays: np.ndarray) -> tuple[float, float]:
    """[0, 1] when every finite value lies in it (intensities), else the joint min and max."""
    finite = np.concatenate([a[np.isfinite(a)].ravel() for a in arrays])
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0.0 and hi <= 1.0:
        return 0.0, 1.0
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def to_rgb(images: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """(N, C, H, W) images as (N, H, W, 3) RGB in [0, 1]: grey levels for one channel."""
    scaled = np.clip((np.nan_to_num(images, nan=vmin) - vmin) / (vmax - vmin), 0.0, 1.0)
    rgb = np.repeat(scaled, 3, axis=1) if scaled.shape[1] == 1 else scaled  # (N, 3, H, W)
    return rgb.transpose(0, 2, 3, 1)  # (N, H, W, 3)


def mosaic(tiles: np.ndarray, ncol: int, pad: int, fill: Any = GAP_COLOUR) -> np.ndarray:
    """Tile (N, H, W, ...) arrays row by row into one array, ``pad`` pixels between tiles.

    The last row is filled with ``fill`` where there are fewer than ``ncol`` tiles.
    """
    n, h, w = tiles.shape[:3]
    nrow = math.ceil(n / ncol)
    out = np.empty((nrow * (h + pad) - pad, ncol * (w + pad) - pad, *tiles.shape[3:]))
    out[...] = fill
    for i in range(n):
        r, c = divmod(i, ncol)
        out[r * (h + pad) : r * (h + pad) + h, c * (w + pad) : c * (w + pad) + w] = tiles[i]
    return out


def gap(h: int, w: int) -> int:
    """Gap between tiles, in image pixels: about 1/14 of a tile, at least one pixel."""
    return max(1, round(max(h, w) / 14))


def grid_figure_size(nrow: int, ncol: int, h: int, w: int, extra_w: float = 0.0) -> tuple:
    """Width and height in inches for a grid of ``nrow`` × ``ncol`` tiles of h × w pixels."""
    cell = min(1.1, max(0.35, 9.0 / max(ncol, 1)), max(0.35, 8.0 / max(nrow, 1)))
    width = ncol * cell * (w / max(h, w)) + 0.6 + extra_w
    height = nrow * cell * (h / max(h, w)) + 0.7
    return max(width, 2.5), max(height, 1.6)


def label_tiles(ax: Any, tile: tuple[int, int], pad: int, rows=None, cols=None) -> None:
    """Put row labels at the left and column labels below a mosaic drawn with ``imshow``."""
    h, w = tile
    ax.set_xticks([])
    ax.set_yticks([])
    if rows is not None:
        ax.set_yticks([i * (h + pad) + (h - 1) / 2 for i in range(len(rows))])
        ax.set_yticklabels([str(r) for r in rows])
    if cols is not None:
        ax.set_xticks([j * (w + pad) + (w - 1) / 2 for j in range(len(cols))])
        ax.set_xticklabels([str(c) for c in cols])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
