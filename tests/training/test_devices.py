"""The device checks that refuse an impossible request before Lightning starts a process."""

import pytest
import torch

from torchlvm.errors import ConfigError
from torchlvm.training.devices import check_devices


def test_a_gpu_request_without_one_names_the_options_a_cli_user_passed(monkeypatch):
    """train --accelerator gpu on a machine without one said 'devices=1 asks for GPUs ...':
    a keyword the command line never took. It names --accelerator, and the keyword for Python."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError) as caught:
        check_devices("gpu", 1, 1)
    message = str(caught.value)
    assert message.startswith("--accelerator gpu (in Python accelerator='gpu') asks for GPUs")
    assert message.endswith("none visible; train on the CPU with --accelerator cpu")
    assert "devices=1 asks" not in message
