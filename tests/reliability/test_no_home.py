"""A command run where the user's home cannot be written (a container's uid without a home):
quiet on stderr and whole (userV #12: matplotlib's two multi-line complaints, and a warning that
the file written could not be recorded, so that ``--overwrite`` then refused to replace it)."""

from __future__ import annotations

import os

import pytest
import torch
from _reliability import run_cli

from torchlvm.models import VAE, VAEConfig

DATA = {"name": "digits", "binarize": "none", "seed": 0, "condition": "none", "shape": [1, 8, 8]}


def _home(tmp_path, how: str):
    if how == "under-a-file":  # (no one can make a folder there, root neither)
        (tmp_path / "file").write_text("")
        return tmp_path / "file" / "home"
    home = tmp_path / "home"
    home.mkdir(mode=0o500)
    return home


@pytest.mark.parametrize(
    "how",
    [
        "under-a-file",
        pytest.param(
            "read-only",
            marks=pytest.mark.skipif(
                not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root writes anyway"
            ),
        ),
    ],
)
def test_a_command_is_quiet_and_whole_where_home_cannot_be_written(tmp_path, how):
    torch.manual_seed(0)
    run = VAE(VAEConfig(input_dim=64, latent_dim=2, hidden=(8,))).save_pretrained(
        tmp_path / "run", data=DATA
    )
    (tmp_path / "tmp").mkdir()
    env = {"HOME": str(_home(tmp_path, how)), "TMPDIR": str(tmp_path / "tmp")}
    env |= {name: "" for name in ("MPLCONFIGDIR", "TORCHLVM_WRITTEN", "XDG_CACHE_HOME")}
    env |= {"XDG_CONFIG_HOME": ""}
    out = tmp_path / "s.png"
    first = run_cli(["sample", str(run), "--n", "4", "--out", str(out)], extra_env=env)
    assert (first.returncode, first.stderr) == (0, "")
    again = [*("sample", str(run), "--n", "4", "--seed", "1", "--out", str(out), "--overwrite")]
    second = run_cli(again, extra_env=env)
    assert (second.returncode, second.stderr) == (0, "")  # (the first one's file was recorded)
    kept = tmp_path / "tmp" / f"torchlvm-{os.getuid()}"
    assert sorted(p.name for p in kept.iterdir()) == ["matplotlib", "written"]
    assert (kept.stat().st_mode & 0o777) == 0o700
