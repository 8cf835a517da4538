"""``--accelerator {auto,cpu,gpu}`` for every command that runs a model: one option, one rule.

``auto`` runs on a GPU when one is visible and on the CPU otherwise; ``gpu`` (also spelt ``cuda``,
torch's name) without a visible GPU is one error line that names the CPU fallback. Commands add
the option with :func:`add_accelerator` and turn the parsed arguments into a ``torch.device``
with :func:`device_for`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from torchlvm._device import ACCELERATORS, accelerator_name, no_gpu_error
from torchlvm.errors import ConfigError

if TYPE_CHECKING:
    import torch


def add_accelerator(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    what: str = "the model runs",
    *,
    default: str | None = "auto",
) -> None:
    """Add ``--accelerator {auto,cpu,gpu}`` to ``parser``, ``cuda`` read as ``gpu``
    (:func:`~torchlvm._device.accelerator_name`); the help says where ``what`` happens.
    ``default`` None leaves it to the parser's (``train``'s: absent, for its own defaults)."""
    parser.add_argument(
        "--accelerator",
        type=accelerator_name,
        choices=ACCELERATORS,
        **({} if default is None else {"default": default}),
        help=f"where {what}: auto (a GPU when one is visible, else the CPU), cpu or gpu (or cuda)",
    )


def gpu_count() -> int:
    """CUDA GPUs visible to this process."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def device_for(args: argparse.Namespace) -> torch.device:
    """The device ``args.accelerator`` names on this machine.

    Raises:
        OptionError: for ``gpu`` when no GPU is visible (:func:`~torchlvm._device.no_gpu_error`).
    """
    import torch

    accelerator = getattr(args, "accelerator", "auto")
    if accelerator not in ACCELERATORS:
        raise ConfigError(f"--accelerator must be one of {ACCELERATORS}, got {accelerator!r}")
    if accelerator == "cpu":
        return torch.device("cpu")
    if gpu_count() > 0:
        return torch.device("cuda", torch.cuda.current_device())
    if accelerator == "gpu":
        raise no_gpu_error()
    return torch.device("cpu")


def open_run(args: argparse.Namespace):
    """The run ``args.run_dir`` names, loaded with its model on ``--accelerator``'s device
    (:func:`torchlvm.run.load_run`)."""
    from torchlvm.run import load_run

    return load_run(args.run_dir, device=device_for(args))
