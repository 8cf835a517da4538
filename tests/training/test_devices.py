"""The device checks that refuse an impossible request before Lightning starts a process."""

import pytest
import torch

from torchlvm.errors import OptionError
from torchlvm.training.devices import check_devices


def test_a_gpu_request_without_one_names_the_options_of_each_interface(monkeypatch):
    """train --accelerator gpu on a machine without one said 'devices=1 asks for GPUs ...': a
    keyword the command line never took; then '--accelerator cpu' also to a Python caller
    (VAEEstimator(accelerator='gpu')). The CLI reads the flags, Python the keywords."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(OptionError) as caught:
        check_devices("gpu", 1, 1)
    none = "asks for a GPU but this machine has none visible (no CUDA device); run on the CPU"
    assert str(caught.value) == f"accelerator='gpu' {none} with accelerator='cpu'"
    assert caught.value.on_command_line == f"--accelerator gpu {none} with --accelerator cpu"


def test_train_and_the_other_commands_refuse_a_missing_gpu_in_one_wording(monkeypatch):
    """train said 'asks for GPUs ...; train on the CPU with --accelerator cpu', sample, evaluate
    and the others 'asks for a GPU ... (no CUDA device); run on the CPU with --accelerator cpu
    (or auto)': two wordings of one refusal."""
    import argparse

    from torchlvm.cli._accelerator import device_for

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    with pytest.raises(OptionError) as training:
        check_devices("gpu", 2, 1)
    with pytest.raises(OptionError) as running:
        device_for(argparse.Namespace(accelerator="gpu"))
    assert training.value.on_command_line == running.value.on_command_line
    assert str(training.value) == str(running.value)


def test_more_devices_than_cores_names_the_count_that_fits_in_each_spelling(monkeypatch):
    from torchlvm.training import devices

    monkeypatch.setattr(devices, "available_devices", lambda accelerator: (2, "CPU cores"))
    with pytest.raises(OptionError) as caught:
        check_devices("cpu", 3, 1)
    asked = "asks for 3 processes on this node but only 2 CPU cores are available"
    assert str(caught.value) == (
        f"devices=3 {asked}; pass devices=2 or fewer (and num_nodes for more machines)"
    )
    assert caught.value.on_command_line == (
        f"--devices 3 {asked}; pass --devices 2 or fewer (and --num-nodes for more machines)"
    )
