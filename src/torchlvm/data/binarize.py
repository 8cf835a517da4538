"""Binarization protocols for binary-likelihood models, named so every result can record them.

- ``"none"``: keep grey levels; pair with a likelihood that suits them.
- ``"dynamic"``: each pixel is redrawn as Bernoulli(intensity) on every pass over the data, the
  protocol of the IWAE paper (Burda, Grosse and Salakhutdinov, "Importance Weighted
  Autoencoders", ICLR 2016, section 5.1). Evaluation uses one fixed, seeded draw.
- ``"threshold"``: ``x > 0.5``, applied once at load.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from torchlvm._checks import check_choice
from torchlvm.errors import DataError, in_python, spelled

Protocol = Literal["none", "dynamic", "threshold"]
PROTOCOLS: tuple[str, ...] = ("none", "dynamic", "threshold")


def check_intensities(x: Tensor, protocol: str, name: str = "data") -> None:
    """Check that ``x`` can be binarized: every value finite and in [0, 1].

    Args:
        x: Tensor of any shape.
        protocol: The protocol being applied, for the message.
        name: What ``x`` is, for the message.

    Raises:
        DataError: If a value is NaN or outside [0, 1].
    """
    if x.numel() == 0:
        return
    missing = torch.isnan(x)
    seen = x[~missing]
    low, high = (float(seen.min()), float(seen.max())) if seen.numel() else (0.0, 0.0)
    if not missing.any() and low >= 0.0 and high <= 1.0:
        return
    if missing.any():
        n = int(missing.sum())
        found, fix = f"{n} missing value{'s' * (n != 1)} (NaN)", "fill them in"
    else:
        found, fix = f"{low:g}..{high:g}", "rescale the data to [0, 1]"
        whole = low >= 0 and bool((seen == seen.round()).all())
        bits = next((b for b in (8, 16) if whole and high <= 2**b - 1), None)  # grey levels
        if bits is not None:
            fix += f" ({bits}-bit pixels: divide them by {2**bits - 1})"
    raise spelled(
        DataError,
        lambda spell: (
            f"{name}: {spell('binarize', protocol)} needs values in [0, 1] with no NaN, got "
            f"{found}; {fix} or model the values as they are with "
            + ("binarize='none'" if spell is in_python else "--binarize none --likelihood gaussian")
        ),
    )


def binarize(x: Tensor, protocol: str, *, generator: torch.Generator | None = None) -> Tensor:
    """Apply a binarization protocol to intensities ``x``.

    Args:
        x: Tensor of any shape, values in [0, 1] for ``"dynamic"`` and ``"threshold"``.
        protocol: ``"none"``, ``"dynamic"`` or ``"threshold"``.
        generator: Random source of the ``"dynamic"`` draw.

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
    return torch.bernoulli(x, generator=generator)
