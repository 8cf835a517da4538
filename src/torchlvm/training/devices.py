"""Which devices a run may ask for: the checks that name an impossible request before Lightning
starts any process."""

from __future__ import annotations

import torch

from torchlvm._device import no_gpu_error
from torchlvm._threads import cpu_cores
from torchlvm.errors import ConfigError, OptionError, spelled


def available_devices(accelerator: str) -> tuple[int, str]:
    """How many processes ``devices`` may ask for on this machine, and of what: usable CPU
    cores for ``"cpu"``, visible GPUs for ``"gpu"``/``"cuda"`` (and ``"auto"`` when there are
    any)."""
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if accelerator in ("gpu", "cuda") or (accelerator == "auto" and gpus):
        return gpus, "GPUs"
    return cpu_cores(), "CPU cores"


def check_devices(accelerator: str, devices: int | str, num_nodes: int) -> None:
    """Refuse a device or node count this machine cannot give.

    Raises:
        ConfigError: for ``devices`` or ``num_nodes`` that is not a positive integer (or
            ``"auto"`` devices); :class:`~torchlvm.errors.OptionError` (each interface's
            spelling of the options) for more devices than :func:`available_devices`.
    """
    if isinstance(num_nodes, bool) or not isinstance(num_nodes, int) or num_nodes < 1:
        raise ConfigError(f"num_nodes must be a positive integer, got {num_nodes!r}")
    if devices == "auto":
        return
    if isinstance(devices, bool) or not isinstance(devices, int) or devices < 1:
        raise ConfigError(f"devices must be a positive integer or 'auto', got {devices!r}")
    available, kind = available_devices(accelerator)
    if devices > available and available == 0:
        raise no_gpu_error(accelerator)
    if devices > available:
        asked = f"asks for {devices} processes on this node but only {available} {kind}"
        asked += " are available"
        raise spelled(OptionError, lambda spell: (
            f"{spell('devices', devices)} {asked}; pass {spell('devices', available)} or fewer "
            f"(and {spell('num_nodes')} for more machines)"
        ))  # fmt: skip


def many_processes(devices: int | str, num_nodes: int) -> bool:
    """Whether ``devices`` × ``num_nodes`` is more than one process (then DDP is the default)."""
    return num_nodes > 1 or (isinstance(devices, int) and devices > 1)
