"""Files made by ``torch.save`` (``.pt``, ``.pth``), given as data: torchlvm reads arrays from
``.npy`` / ``.npz`` files, so the refusal gives the Python line that makes one from what the file
holds: a tensor (``numpy.save``), an ``(images, labels)`` pair as torchvision's MNIST once kept
its ``processed/training.pt`` (``numpy.savez`` with ``x`` and ``y``, which training on classes
reads), or a dict of tensors (its data array under ``x``).

The file is opened with ``torch.load(..., weights_only=True)``, which unpickles tensors and
containers only, never code; a file it cannot open gets the general line.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

TORCH_SUFFIXES: tuple[str, ...] = (".pt", ".pth")
"""The extensions of ``torch.save`` files."""


def torch_file_fix(path: str | os.PathLike[str]) -> str | None:
    """What a ``torch.save`` file at ``path`` holds and the Python line that saves it as a
    file torchlvm reads; None for a file of another extension."""
    path = Path(path)
    if path.suffix.lower() not in TORCH_SUFFIXES:
        return None
    load = f"import numpy, torch; data = torch.load({str(path)!r})"
    try:
        held = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 (whatever a damaged or foreign file raises: the general line)
        return (
            "it holds no tensors that torch.load opens safely (weights_only=True), such as a "
            f"saved model or dataset object; save the data as an array (numpy.save("
            f"{_free(path, '.npy')!r}, array)) and pass that"
        )
    if isinstance(held, torch.Tensor):
        return (
            f"it is a torch.save file of one tensor of shape {tuple(held.shape)}; save it as "
            f".npy (in Python: {load}; numpy.save({_free(path, '.npy')!r}, "
            f"{_numpy('data', held)})) and pass that"
        )
    if _is_pair(held):
        x, y = held
        return (
            f"it is a torch.save file of (images, labels), {tuple(x.shape)} and "
            f"{tuple(y.shape)}; save them as one .npz (in Python: {load}; "
            f"numpy.savez({_free(path, '.npz')!r}, x={_numpy('data[0]', x)}, "
            f"y={_numpy('data[1]', y)})) and pass that"
        )
    tensors = _tensors(held)
    if tensors:
        key = max(tensors, key=lambda k: tensors[k].ndim)  # the images, not labels or a count
        x = tensors[key]
        labels = [k for k, v in tensors.items() if _is_pair((x, v))]
        y = f", y={_numpy(f'data[{labels[0]!r}]', tensors[labels[0]])}" if labels else ""
        return (
            f"it is a torch.save file of a dict (tensors under {', '.join(map(repr, tensors))});"
            f" save its data as one .npz (in Python: {load}; numpy.savez("
            f"{_free(path, '.npz')!r}, x={_numpy(f'data[{key!r}]', x)}{y})) and pass that"
        )
    return (
        f"it is a torch.save file of a {type(held).__name__}, with no tensor of rows or images "
        "in it; "
        f"save the data as an array (numpy.save({_free(path, '.npy')!r}, array)) and pass that"
    )


def _is_pair(held: Any) -> bool:
    """Whether ``held`` is ``(images, labels)``: two tensors, one label per example."""
    if not isinstance(held, (tuple, list)) or len(held) != 2:
        return False
    x, y = held
    return (
        isinstance(x, torch.Tensor)
        and isinstance(y, torch.Tensor)
        and x.ndim >= 2
        and y.ndim == 1
        and not y.is_floating_point()
        and len(x) == len(y)
    )


def _tensors(held: Any) -> dict[Any, torch.Tensor]:
    """The tensors of a dict with at least one of two axes or more (data, not a count)."""
    if not isinstance(held, dict):
        return {}
    tensors = {k: v for k, v in held.items() if isinstance(v, torch.Tensor)}
    return tensors if any(v.ndim >= 2 for v in tensors.values()) else {}


def _numpy(expression: str, tensor: torch.Tensor) -> str:
    """``expression``, a tensor like ``tensor``, as a numpy array (bfloat16 has none: float)."""
    return (
        f"{expression}.float().numpy()"
        if tensor.dtype == torch.bfloat16
        else f"{expression}.numpy()"
    )


def _free(path: Path, suffix: str) -> str:
    """A name beside ``path`` with ``suffix`` that no file has yet, so that the line given
    overwrites nothing of the user's."""
    candidate, n = path.with_suffix(suffix), 1
    while candidate.exists():
        candidate, n = path.with_name(f"{path.stem}-{n}{suffix}"), n + 1
    return str(candidate)
