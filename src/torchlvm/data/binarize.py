"""Binarization protocols for binary-likelihood models, named so every result can record them.

- ``"none"``: keep grey levels; pair with a likelihood that suits them.
- ``"dynamic"``: each pixel is redrawn as Bernoulli(intensity) on every pass over the data, the
  protocol of the IWAE paper (Burda, Grosse and Salakhutdinov, "Importance Weighted
  Autoencoders", ICLR 2016, section 5.1). Evaluation uses one fixed, seeded draw of each row,
  :func:`row_draw`, keyed by the row's values: the same 0s and 1s whatever rows come with it.
- ``"threshold"``: ``x > 0.5``, applied once at load.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal, NamedTuple

import numpy as np
import torch
from torch import Tensor

from torchlvm._checks import check_choice
from torchlvm.errors import DataError, in_python, spelled

Protocol = Literal["none", "dynamic", "threshold"]
PROTOCOLS: tuple[str, ...] = ("none", "dynamic", "threshold")


CHUNK = 1 << 20
"""Values a summary of a tensor reads at once (4 MiB of float32)."""


class Values(NamedTuple):
    """What the check of intensities needs of some values: how many are NaN and how many not,
    the least and greatest of the others (infinities included), and whether those are all whole
    numbers."""

    missing: int
    seen: int
    low: float
    high: float
    whole: bool

    @staticmethod
    def of(x: Tensor | np.ndarray) -> Values:
        """The summary of tensor or array ``x`` (any shape), read :data:`CHUNK` values at a
        time: whole, its copies without the NaN and rounded took 2.5 times its size (850 MiB
        more at Fashion-MNIST's training split, on every load that binarizes it)."""
        flat = x.reshape(-1)  # (a view of a contiguous x)
        return Values.summed(flat[start : start + CHUNK] for start in range(0, len(flat), CHUNK))

    @staticmethod
    def summed(parts: Iterable[Tensor | np.ndarray]) -> Values:
        """One summary of the values of ``parts`` (1-D tensors or arrays, e.g. a file read a
        chunk at a time), each read once: the least and greatest first, NaN looked for only
        where they say there is one, and wholeness only until a part is found not whole."""
        summaries: list[Values] = []
        whole = True
        for part in parts:
            summaries.append(Values._of_part(part, whole))
            whole = whole and summaries[-1].whole
        return Values.merged(summaries)

    @staticmethod
    def _of_part(x: Tensor | np.ndarray, whole: bool) -> Values:
        """The summary of 1-D ``x``; its ``whole`` False without looking where ``whole`` is
        False (the values summed before were not all whole, so neither is the sum)."""
        if not len(x):
            return Values(0, 0, 0.0, 0.0, True)
        low, high = _extremes(x)  # NaN where x holds one (torch and numpy alike)
        floating = x.is_floating_point() if isinstance(x, Tensor) else x.dtype.kind == "f"
        if not floating:
            return Values(0, len(x), low, high, True)
        missing = 0
        if math.isnan(low) or math.isnan(high):  # a NaN: summarize the others
            nan = x != x
            missing = int(nan.sum())
            x = x[~nan]
            if not len(x):
                return Values(missing, 0, 0.0, 0.0, True)
            low, high = _extremes(x)
        whole = whole and bool((x == x.round()).all())
        return Values(missing, len(x), low, high, whole)

    @staticmethod
    def merged(parts: Iterable[Values]) -> Values:
        """One summary of values summarized in parts."""
        parts = list(parts)
        seen = [p for p in parts if p.seen]
        return Values(
            sum(p.missing for p in parts),
            sum(p.seen for p in parts),
            min((p.low for p in seen), default=0.0),
            max((p.high for p in seen), default=0.0),
            all(p.whole for p in seen),
        )


def _extremes(x: Tensor | np.ndarray) -> tuple[float, float]:
    """The least and greatest value of 1-D ``x`` (not empty), as Python floats (comparing
    0-d tensors cost more than the pass itself), in one pass over a tensor."""
    if isinstance(x, Tensor):
        low, high = torch.aminmax(x)
        return float(low), float(high)
    return float(x.min()), float(x.max())


MNIST_NORMALIZE = (0.1307, 0.3081)
"""The mean and standard deviation every MNIST tutorial normalizes by (torchvision's
``Normalize((0.1307,), (0.3081,))``)."""


def check_intensities(x: Tensor, protocol: str, name: str = "data") -> None:
    """Check that ``x`` can be binarized: every value finite and in [0, 1].

    Args:
        x: Tensor of any shape.
        protocol: The protocol being applied, for the message.
        name: What ``x`` is, for the message.

    Raises:
        DataError: If a value is NaN or outside [0, 1].
    """
    if x.numel():
        check_values(Values.of(x), protocol, name)


def check_values(values: Values, protocol: str, name: str = "data") -> None:
    """:func:`check_intensities` of values summarized as ``values``.

    Raises:
        DataError: If a value is NaN or outside [0, 1]; the fix names the rescaling of 8- and
            16-bit grey levels, and the map back to [0, 1] of normalized images.
    """
    missing, _, low, high, whole = values
    if not missing and low >= 0.0 and high <= 1.0:
        return
    if missing:
        found, fix = f"{missing} missing value{'s' * (missing != 1)} (NaN)", "fill them in"
    else:
        found, fix = f"{low:g}..{high:g}", f"rescale the data to [0, 1] ({_back(low, high)})"
        if low >= 0 and whole:  # grey levels: of 8 or 16 bits where the brightest tells
            fix = f"rescale the data to [0, 1] ({_white(high)})"
    raise spelled(
        DataError,
        lambda spell: (
            f"{name}: {spell('binarize', protocol)} needs values in [0, 1] with no NaN, got "
            f"{found}; {fix} or model the values as they are with "
            + ("binarize='none'" if spell is in_python else "--binarize none --likelihood gaussian")
        ),
    )


def _white(high: float) -> str:
    """The division that makes whole-number grey levels whose brightest is ``high`` lie in
    [0, 1]: by 255 or 65535 where ``high`` is in the top half of 8 or 16 bits, else by the
    white level, which only the user knows (``high`` if the brightest pixel is white)."""
    bits = next((b for b in (8, 16) if 2 ** (b - 1) <= high <= 2**b - 1), None)
    if bits is not None:
        return f"{bits}-bit pixels: divide them by {2**bits - 1}"
    depth = "; 10-bit levels: 1023, 12-bit: 4095" if high > 255 else ""
    return (
        f"levels of 0..{high:g}: divide them by their white level, {high:g} if the brightest "
        f"is white{depth}"
    )


def _back(low: float, high: float) -> str:
    """A map of values in [low, high] onto [0, 1]: the inverse of a usual normalization where
    the values fit one (images normalized by (mean, std) from [0, 1] span at most
    [-mean/std, (1 - mean)/std]), else the affine map of [low, high]."""
    mean, std = MNIST_NORMALIZE
    if abs(low + mean / std) < 1e-3 and abs(high - (1 - mean) / std) < 1e-3:
        return f"x * {std} + {mean} undoes MNIST's Normalize(({mean},), ({std},))"
    if -1.0 <= low < 0.0 and high <= 1.0:
        return "x * 0.5 + 0.5 undoes Normalize(0.5, 0.5), which makes values in [-1, 1]"
    if low >= 0.0:
        return f"x / {high:g}"
    return f"x * {1 / (high - low):.4g} + {-low / (high - low):.4g} maps {low:g}..{high:g} onto it"


def binarize(
    x: Tensor,
    protocol: str,
    *,
    generator: torch.Generator | None = None,
    seed: int | None = None,
) -> Tensor:
    """Apply a binarization protocol to intensities ``x``.

    Args:
        x: Tensor of any shape, values in [0, 1] for ``"dynamic"`` and ``"threshold"``.
        protocol: ``"none"``, ``"dynamic"`` or ``"threshold"``.
        generator: Random source of the ``"dynamic"`` draw.
        seed: Instead of ``generator``, the fixed draw evaluation makes of rows ``x`` ``(N, D)``:
            each row's own (:func:`row_draw`).

    Returns:
        Tensor shaped and typed like ``x``: ``x`` itself for ``"none"``, values in {0, 1}
        otherwise.

    Raises:
        ConfigError: If ``protocol`` is not one of the three names.
        DataError: If ``x`` is not a tensor, or a binarizing protocol meets NaN or values
            outside [0, 1].
    """
    check_choice("binarize", protocol, PROTOCOLS)
    if not isinstance(x, Tensor):
        raise DataError(
            f"binarize takes a torch.Tensor, got {type(x).__name__}; convert it with "
            "torch.as_tensor(x, dtype=torch.float32)"
        )
    if protocol == "none":
        return x
    if not x.is_floating_point():
        raise DataError(
            f"binarize={protocol!r} needs a floating point tensor, got {x.dtype}; "
            "convert it with .float()"
        )
    check_intensities(x, protocol)
    if protocol == "threshold":
        return (x > 0.5).to(x.dtype)
    if seed is not None:
        return row_draw(x, seed)
    return torch.bernoulli(x, generator=generator)


DRAW_ROWS = 1024
"""Rows :func:`row_draw` draws at a time (its uint64 temporaries: ~8 bytes per value each)."""
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def row_draw(x: Tensor, seed: int) -> Tensor:
    """One seeded Bernoulli draw of each row of intensities ``x`` ``(N, D)`` in [0, 1], keyed
    by the row's own values and ``seed``: a row gets the same 0s and 1s alone, among other rows,
    in any order, in any batch, in memory or streamed from a file. (A draw of the whole tensor
    from one generator gave row i 0s and 1s that depended on the rows before it, so ``score`` of
    one image, or of the test rows in another order, scored another draw than ``evaluate``.)

    Pixel j of a row is 1 where u < x, u ~ U[0, 1) a counter-based hash (SplitMix64's
    finalizer, Steele, Lea and Flood, "Fast splittable pseudorandom number generators", OOPSLA
    2014) of (seed, the row's float32 values, j), 53 bits of it: P(1) = x as in
    ``torch.bernoulli``. Identical rows get identical draws.

    Returns:
        ``(N, D)`` tensor of 0s and 1s with the dtype of ``x``.
    """
    values = x.detach().to("cpu", torch.float32).numpy()
    key = _mix(np.full(1, seed % 2**64, dtype=np.uint64))
    out = np.empty(values.shape, dtype=bool)
    for start in range(0, len(values), DRAW_ROWS):
        block = values[start : start + DRAW_ROWS] + np.float32(0.0)  # (B, D); -0.0 -> 0.0
        out[start : start + DRAW_ROWS] = _uniforms(block, key) < block
    return torch.from_numpy(out).to(x.dtype)


def _uniforms(block: np.ndarray, key: np.ndarray) -> np.ndarray:
    """U[0, 1) ``(B, D)`` for float32 rows ``block`` ``(B, D)``: a function of ``key`` (1,),
    each row's values and the column alone."""
    columns = np.arange(block.shape[1], dtype=np.uint64) * _GOLDEN  # (D,)
    with np.errstate(over="ignore"):  # (uint64 arithmetic wraps, as the hash means it to)
        bits = block.view(np.uint32).astype(np.uint64)  # (B, D) the values' own bits
        row = _mix(bits + columns).sum(axis=1, dtype=np.uint64)  # (B,) the row's key
        row = _mix(row ^ key)  # (B,)
        return (_mix(row[:, None] + columns) >> np.uint64(11)) * 2.0**-53  # (B, D)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer of uint64 ``z``: each bit of the result depends on every bit of
    ``z``."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
