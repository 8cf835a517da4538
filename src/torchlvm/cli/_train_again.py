"""The ``torchlvm train`` command that trains a run like a recorded one anew, for the messages
that offer it (a run whose training state, ``checkpoints/last.ckpt``, is gone cannot resume).

The options come from the run record's ``cli`` section (the options ``train`` was given, with
those of each later ``--resume`` over them), spelled as ``train``'s parser spells them; the data
is the recorded one (a file by its absolute path, so the command works from any folder).
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torchlvm._shell import quoted
from torchlvm.cli import train_options as opts

SHOWN_ONLY = frozenset({"command", "model", "out", "resume", "overwrite", "quiet", "progress"})
"""Entries of the ``cli`` section that are not options of the run itself."""

REPORTING = ("quiet", "progress")
"""The options of how a command reports, which the commands a message offers keep."""

RESUME_KEEPS = ("accelerator", "devices", "num_nodes", "strategy", "threads", "compile")
RESUME_KEEPS += ("cuda_graph", *REPORTING)
"""The options a resume does not take from the run record (where and how the run trains, how
the command reports; ``--devices`` and ``--num-nodes`` must give the run's world size): a
command that resumes a run repeats those its train command was given."""


def recorded_options(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ``train`` options of the run whose record is ``record`` (empty where it has none)."""
    cli = record.get("cli")
    return {k: v for k, v in cli.items() if k not in SHOWN_ONLY} if isinstance(cli, dict) else {}


def train_command(record: Mapping[str, Any], out: Path, changes: Mapping[str, Any]) -> str | None:
    """``torchlvm train MODEL --data ... --out OUT``: the run of ``record`` trained anew into
    ``out``, with the options in ``changes`` (this command's, e.g. ``--epochs``) over the
    recorded ones; None where the record names no model type or data (a record of a run made
    before the ``cli`` section kept the first command's options through a resume)."""
    given = {**recorded_options(record), **{k: v for k, v in changes.items() if v is not None}}
    data = (record.get("data") or {}).get("name")
    model = record.get("model_type")
    if not isinstance(model, str) or not isinstance(data, str) or "data" not in given:
        return None
    given["data"] = data
    if given.get("data_dir") is not None:  # as recorded: an absolute path
        given["data_dir"] = (record.get("data") or {}).get("data_dir") or given["data_dir"]
    words = ["torchlvm", "train", model, *option_words(given, skip=SHOWN_ONLY), "--out", str(out)]
    return " ".join(quoted(word) for word in words)  # (within '...')


@functools.cache
def _train_flags() -> dict[str, argparse.Action]:
    """``train``'s options by their parsed name (``dest``)."""
    parser = argparse.ArgumentParser(add_help=False)
    opts.configure(parser)
    return {a.dest: a for a in parser._actions if a.option_strings}


def flag(dest: str) -> str:
    """How ``train`` (and every command that shares the option) spells option ``dest``:
    ``--drop-columns`` for ``drop_columns``."""
    return _train_flags()[dest].option_strings[0]


def option_words(given: Mapping[str, Any], *, skip: frozenset[str] = frozenset()) -> list[str]:
    """The words that give ``train`` the parsed options ``given`` (but those in ``skip``, and
    those None), as its parser spells them; other commands spell the options they share with
    it alike."""
    flags = _train_flags()
    words = []
    for dest, value in given.items():
        if dest in flags and dest not in skip and value is not None:
            words += _spelled(flags[dest], value)
    return words


def commands(model: str, given: Mapping[str, Any], out: Path, *, overwrite: bool) -> dict[str, str]:
    """The commands the messages of an interrupted (or failed) ``train`` offer: ``again``, the
    one that starts a new run that kept nothing (a Ctrl-C or a full disk before an epoch
    finished) again, with its own options; ``resume``, the one that continues a run whose
    finished epochs were kept (without ``--epochs``, which the message adds), with the options
    of :data:`RESUME_KEEPS` it was given. Both keep ``--quiet`` or ``--progress``."""
    record = {"model_type": model, "data": {"name": str(given.get("data"))}}
    again = train_command({**record, "cli": cli_record(model, given, False)}, out, {})
    again = again or f"torchlvm train {model} ... --out {quoted(out)}"
    reporting = option_words({k: given[k] for k in REPORTING if k in given})
    again = " ".join([again, *reporting, *(["--overwrite"] if overwrite else [])])
    keeps = option_words({k: given[k] for k in RESUME_KEEPS if k in given})
    resume = ["torchlvm", "train", model, "--resume", "--out", str(out), *keeps]
    return {"again": again, "resume": " ".join(quoted(word) for word in resume)}


def resume_as(model: str, out: Path, given: Mapping[str, Any]) -> str:
    """This ``train --resume`` command (options ``given``) for a run of ``model``, whole (a
    message offered 'torchlvm train vae ... --resume', which cannot be pasted): with its
    --epochs and --patience, and the options of :data:`RESUME_KEEPS`."""
    resume = commands(model, given, out, overwrite=False)["resume"]
    more = option_words({k: given[k] for k in ("epochs", "patience") if k in given})
    return " ".join([resume, *more])


def _spelled(action: argparse.Action, value: Any) -> list[str]:
    """The words that give ``action`` the parsed ``value`` (none for a switch left off)."""
    if isinstance(action, argparse.BooleanOptionalAction):  # --standardize / --no-standardize
        return [action.option_strings[0 if value else 1]]
    if action.nargs == 0:  # a store_true switch
        return [action.option_strings[0]] if value else []
    values = value if isinstance(value, list) else [value]
    return [action.option_strings[0], *(str(v) for v in values)]


def cli_record(model: str, given: Mapping[str, Any], resumed: Path | bool) -> dict[str, Any]:
    """config.json's ``cli`` section: the options of this ``train`` command, over those the run
    in ``resumed`` recorded, if a path (a resume passes only what it changes, and must not erase
    the rest)."""
    from torchlvm.run.record import read_record

    earlier = recorded_options(read_record(resumed)) if isinstance(resumed, Path) else {}
    options = {**earlier, **{k: v for k, v in given.items() if v is not None or k not in earlier}}
    shown = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
    return {"command": "train", "model": model, **shown}


def check_training_state(out: Path, record: Mapping[str, Any], given: Mapping[str, Any]) -> None:
    """Refuse to resume the run in ``out`` when its ``checkpoints/last.ckpt`` is gone (deleted to
    save space, say), naming the command that trains it anew.

    Raises:
        RunDirectoryError: without ``last.ckpt``.
    """
    from torchlvm.errors import RunDirectoryError
    from torchlvm.run.layout import RunLayout, free_sibling

    layout = RunLayout(out)
    if layout.last_checkpoint.is_file():
        return
    fresh = free_sibling(out)
    again = train_command(record, fresh, given)
    again = f"'{again}'" if again else f"'torchlvm train ... --out {quoted(fresh)}' (its options)"
    kept = " (its model stays and loads)" if layout.weights.is_file() else ""
    raise RunDirectoryError(
        f"--resume: {out} has no {layout.last_checkpoint.relative_to(out)}, the training state "
        f"a resume continues from, so its training cannot go on{kept}; train it anew with "
        f"{again}, or replace it by that command with --out {quoted(out)} --overwrite"
    )
