"""The train commands that the messages of an interrupted or failed `train` offer: each is a
command that works as written, with the options it needs to (the world size of a resume) and the
way the interrupted command reported (--quiet, --progress)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from torchlvm.cli import _train_again
from torchlvm.cli import train_options as opts


def _parsed(command: str) -> argparse.Namespace:
    words = shlex.split(command)
    assert words[:2] == ["torchlvm", "train"], command
    parser = argparse.ArgumentParser()
    opts.configure(parser)
    return parser.parse_args(words[2:])


def test_the_resume_command_keeps_where_and_how_the_run_trains_and_reports() -> None:
    given = {"data": "digits", "epochs": 5, "latent_dim": 4, "devices": 2, "num_nodes": 1}
    given |= {"accelerator": "cpu", "threads": 1, "compile": True, "progress": True}
    resume = _train_again.commands("vae", given, Path("my runs/v"), overwrite=False)["resume"]
    assert resume == (
        'torchlvm train vae --resume --out "my runs/v" --accelerator cpu --devices 2 '
        "--num-nodes 1 --threads 1 --compile --progress"
    )
    args = _parsed(resume)
    assert (args.resume, args.out, args.devices, args.compile) == (True, Path("my runs/v"), 2, True)
    assert not hasattr(args, "epochs") and not hasattr(args, "latent_dim")  # the run has them


def test_the_start_again_command_keeps_quiet_and_overwrite() -> None:
    """The 'start it again' command left --quiet (and --progress) out: the run started again
    printed a progress bar that the interrupted one did not."""
    given = {"data": "digits", "epochs": 3, "quiet": True}
    again = _train_again.commands("vae", given, Path("r"), overwrite=True)["again"]
    assert again == "torchlvm train vae --data digits --epochs 3 --out r --quiet --overwrite"
    assert _parsed(again).quiet and _parsed(again).overwrite
