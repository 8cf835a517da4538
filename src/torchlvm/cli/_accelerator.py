"""``--accelerator {auto,cpu,gpu}`` and ``--threads N`` for every command that runs a model: one
option each, one rule.

``auto`` runs on a GPU when one is visible and on the CPU otherwise; ``gpu`` (also spelt ``cuda``,
torch's name) without a visible GPU is one error line that names the CPU fallback. Commands add
the options with :func:`add_accelerator` and turn the parsed arguments into a ``torch.device``
with :func:`device_for`, which also applies ``--threads`` (:func:`apply_threads`).
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from torchlvm._device import ACCELERATORS, accelerator_name, no_gpu_error
from torchlvm.errors import ConfigError

THREADS_HELP = (
    "torch intra-op threads on the CPU (on a machine shared with other jobs, --threads 1 is often "
    "several times faster)"
)

if TYPE_CHECKING:
    import torch


def add_accelerator(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    what: str = "the model runs",
    *,
    default: str | None = "auto",
    threads: bool = True,
) -> None:
    """Add ``--accelerator {auto,cpu,gpu}`` to ``parser``, ``cuda`` read as ``gpu``
    (:func:`~torchlvm._device.accelerator_name`); the help says where ``what`` happens.
    ``default`` None leaves it to the parser's (``train``'s: absent, for its own defaults).
    ``threads``: add ``--threads N`` too (``train`` adds its own, with its defaults)."""
    if threads:
        add_threads(parser)
    parser.add_argument(
        "--accelerator",
        type=accelerator_name,
        choices=ACCELERATORS,
        **({} if default is None else {"default": default}),
        help=f"where {what}: auto (a GPU when one is visible, else the CPU), cpu or gpu (or cuda)",
    )


def add_threads(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, *, table_default: bool = False
) -> None:
    """Add ``--threads N`` (applied by :func:`device_for`, or :func:`apply_threads`);
    ``table_default``: the command takes one thread for a table's rows unless told otherwise."""
    from torchlvm.cli._types import positive_int  # (_types adds these options itself)

    default = "one for a table, else torch's" if table_default else "torch's"
    help = THREADS_HELP.replace("(on a", f"(default: {default}, one per core; on a")
    parser.add_argument("--threads", type=positive_int, help=help)


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

    apply_threads(getattr(args, "threads", None))
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


def apply_threads(threads: int | None) -> None:
    """Run torch on ``threads`` intra-op threads, and export them as ``OMP_NUM_THREADS`` (which
    Lightning's DDP processes and other children respect); ``cli.main`` puts the caller's back.
    None (no ``--threads``) leaves torch's count. The rule for a table's default is
    :mod:`torchlvm._threads`'.

    Raises:
        ConfigError: for more threads than the CPU cores this process may use
            (:func:`~torchlvm._threads.check_threads`).
    """
    import torch

    from torchlvm._threads import check_threads

    if threads is None:
        return
    torch.set_num_threads(check_threads(threads, "--threads"))
    os.environ["OMP_NUM_THREADS"] = str(threads)


def open_run(args: argparse.Namespace):
    """The run ``args.run_dir`` names, loaded with its model on ``--accelerator``'s device
    (:func:`torchlvm.run.load_run`); a command's ``--encoding`` or ``--na-values`` is refused
    at once where no table file is read with it (readC C4: an image or array path took them
    and read the file as if they were not given). ``args.run_dir`` is resolved first, where it
    passes through a link (:func:`~torchlvm.run.layout.resolved_folder`): a command reads, and
    writes into, the run it named at its start, not one a flipped ``runs/current`` names later
    (userV #4)."""
    from torchlvm.cli._tables import check_reading
    from torchlvm.run import load_run
    from torchlvm.run.layout import resolved_folder

    args.run_dir = resolved_folder(args.run_dir)
    return check_reading(load_run(args.run_dir, device=device_for(args)), args)
