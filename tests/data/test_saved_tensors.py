"""torch.save files given as data: refused in one line whose Python line makes the .npy / .npz
that torchlvm reads, with the same images (and labels), overwriting nothing."""

from __future__ import annotations

import os
import re

import pytest
import torch

from torchlvm.data import load_dataset
from torchlvm.errors import ConfigError

IMAGES = torch.rand(40, 8, 8)
LABELS = torch.arange(40) % 4


def _run_the_fix(message: str, folder) -> None:
    """Run the message's Python line in ``folder``, as the user would."""
    line = re.search(r"\(in Python: (.*)\) and pass that$", message)
    assert line, message
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        exec(line.group(1), {})
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize(
    "held, made, labelled",
    [
        (IMAGES, "x.npy", False),
        ((IMAGES.mul(255).to(torch.uint8), LABELS), "x.npz", True),  # torchvision's training.pt
        ([IMAGES, LABELS], "x.npz", True),
        ({"images": IMAGES, "labels": LABELS, "n": torch.tensor(40)}, "x.npz", True),
        ({"data": IMAGES.bfloat16()}, "x.npz", False),
    ],
    ids=["tensor", "torchvision-pair", "list-pair", "dict", "bfloat16"],
)
@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_a_torch_save_file_names_the_line_that_makes_a_file_torchlvm_reads(
    tmp_path, held, made, labelled, suffix
):
    """A .pt file said only 'unsupported extension; torchlvm reads .npy, .npz, .csv ...'."""
    path = tmp_path / f"x{suffix}"
    torch.save(held, path)
    with pytest.raises(ConfigError, match=r"unsupported extension .*torch\.save file of") as e:
        load_dataset(path, "all")
    _run_the_fix(str(e.value), tmp_path)
    data = load_dataset(tmp_path / made, "all")
    assert data.shape == (1, 8, 8) and len(data) == 40
    torch.testing.assert_close(data.x, IMAGES.reshape(40, -1), atol=1 / 255, rtol=0)
    assert (data.y is not None) == labelled
    if labelled:
        assert torch.equal(data.y, LABELS)


def test_the_line_given_overwrites_no_file_of_the_users(tmp_path):
    torch.save(IMAGES, tmp_path / "x.pt")
    (tmp_path / "x.npy").write_bytes(b"the user's own")
    with pytest.raises(ConfigError, match=r"numpy\.save\('.*x-1\.npy'") as e:
        load_dataset(tmp_path / "x.pt", "all")
    _run_the_fix(str(e.value), tmp_path)
    assert (tmp_path / "x.npy").read_bytes() == b"the user's own"


@pytest.mark.parametrize(
    "content, said",
    [
        (b"not a torch file", r"no tensors that torch.load opens safely \(weights_only=True\), su"),
        ([1, 2, 3], "a torch.save file of a list, with no tensor of rows or images in it"),
    ],
    ids=["damaged", "no-tensor"],
)
def test_a_torch_file_without_data_gets_the_general_line(tmp_path, content, said):
    path = tmp_path / "x.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ConfigError, match=rf"{said}.*; save the data as an array \(numpy\.save\("):
        load_dataset(path, "all")


def test_a_saved_model_is_refused_unopened(tmp_path):
    """weights_only=True: a pickled object is not unpickled (its code would run)."""
    torch.save(torch.nn.Linear(2, 2), tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="such as a saved model or dataset object"):
        load_dataset(tmp_path / "model.pt", "all")
