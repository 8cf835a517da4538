"""Where a model's tensors live, and seeded random draws that work on any device.

A model runs where its parameters are. Data elsewhere is treated in one of two ways, by the kind
of entry point:

- The inference functions (``elbo``, ``iwae_bound``, ``log_importance_weights``,
  ``log_marginal_is``, ``log_marginal_ais``, ``fit_local_posterior``, ``refine``,
  ``fit_local_flow``, ``inference_gaps``) take tensors and return tensors, on the training
  step's path. As torch's own modules do, they take x, c and a q of the caller's (``q=``,
  ``proposal=``, ``init=``) on the model's device only: one elsewhere is refused at the entry
  point in one line that names both devices and the fix (:func:`torchlvm._checks.check_rows`),
  so no copy between host and device hides in a caller's loop.
- The faces that take a user's data whole, where it is: the scikit-learn estimators and PPCA's
  methods (arrays, or tensors on any device), and the uses that return rows
  (``imputation.impute_rows`` and ``impute_missing``), move the data to the model
  (:func:`to_model`) and compute there; the estimators return NumPy, the imputation functions
  rows on x's device, PPCA's tensor methods tensors on the model's.

Random draws come from a ``torch.Generator``. A generator lives on one device and torch refuses
to draw with it for another, so the draws here are made on the generator's device and then moved
to where they are used: a ``torch.Generator()`` serves a model on a GPU (the draws then equal the
CPU's), and ``torch.Generator(device="cuda")`` draws on the GPU itself (:func:`generator`, what
the command line uses: reproducible per device).
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
from torch import Tensor

from torchlvm.errors import OptionError, spelled

ACCELERATORS: tuple[str, ...] = ("auto", "cpu", "gpu")
"""Where a model trains or runs, as ``--accelerator`` and the estimators' ``accelerator`` take
it: ``auto`` (a GPU when one is visible, else the CPU), ``cpu`` or ``gpu``."""
_CPU = torch.device("cpu")


def accelerator_name(text: str) -> str:
    """``text`` as one of :data:`ACCELERATORS` names it: in lower case, and ``cuda`` (torch's
    and Lightning's name of an NVIDIA GPU, which users type) as ``gpu``. Other text is returned
    for the caller's check to refuse."""
    name = text.strip().lower()
    return "gpu" if name == "cuda" else name


def no_gpu_error(accelerator: str = "gpu") -> OptionError:
    """The refusal of ``accelerator`` (``gpu``, or Lightning's ``cuda``) on a machine with no
    visible GPU: one wording for every command and for Python, each spelling its own option."""
    return spelled(OptionError, lambda spell: (
        f"{spell('accelerator', accelerator)} asks for a GPU but this machine has none visible (no "
        f"CUDA device); run on the CPU with {spell('accelerator', 'cpu')}"
    ))  # fmt: skip


def model_device(model: torch.nn.Module, default: Any = _CPU) -> Any:
    """The device of a model's first parameter or buffer (``default``, the CPU, if it has
    none). Reads the first one only, not every tensor of the model."""
    first = next(itertools.chain(model.parameters(), model.buffers()), None)
    return default if first is None else first.device


def to_model(model: torch.nn.Module, *tensors: Tensor | None) -> tuple[Any, ...]:
    """``tensors`` on ``model``'s device (None passes through), one per argument."""
    device = model_device(model)
    return tuple(None if t is None else t.to(device) for t in tensors)


def lightning_accelerator(device: torch.device | str) -> str:
    """Lightning's name for where ``device`` trains: ``"gpu"`` for a CUDA device, else ``"cpu"``."""
    return "gpu" if torch.device(device).type == "cuda" else "cpu"


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``: the same seed gives the same draws on the
    same kind of device (a GPU's stream differs from the CPU's)."""
    return torch.Generator(device=device).manual_seed(seed)


def _source(generator: torch.Generator | None, like: Tensor) -> torch.device:
    return like.device if generator is None else generator.device


def randn(shape: Any, *, generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Standard normal draws of ``shape`` from ``generator``, on ``like``'s device and dtype."""
    eps = torch.randn(shape, generator=generator, device=_source(generator, like), dtype=like.dtype)
    return eps.to(like.device)


def rand(shape: Any, *, generator: torch.Generator | None, like: Tensor) -> Tensor:
    """Uniform draws in [0, 1) of ``shape`` from ``generator``, on ``like``'s device and dtype."""
    u = torch.rand(shape, generator=generator, device=_source(generator, like), dtype=like.dtype)
    return u.to(like.device)


def bernoulli(probs: Tensor, *, generator: torch.Generator | None) -> Tensor:
    """Bernoulli(``probs``) draws from ``generator``, on ``probs``' device."""
    source = _source(generator, probs)
    return torch.bernoulli(probs.to(source), generator=generator).to(probs.device)


def multinomial(probs: Tensor, n: int, *, generator: torch.Generator | None) -> Tensor:
    """``n`` indices per row of ``probs`` ``(B, S)`` drawn with replacement, ``(B, n)``, on
    ``probs``' device."""
    source = _source(generator, probs)
    picks = torch.multinomial(probs.to(source), n, replacement=True, generator=generator)
    return picks.to(probs.device)


def device_of(distribution: Any) -> Any:
    """The device of the first tensor among ``distribution``'s attributes, or its inner
    distributions' (a mixture's components, a flow's base), where it draws; None where none is
    found (then :func:`~torchlvm._kept_state.seeded` keeps every device)."""
    import torch

    todo = [distribution]
    while todo:
        for value in vars(todo.pop()).values():
            if isinstance(value, torch.Tensor):
                return value.device
            if isinstance(value, torch.distributions.Distribution):
                todo.append(value)
    return None
