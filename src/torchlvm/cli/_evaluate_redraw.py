"""``torchlvm evaluate DIR --figures-only``: draw the figures of the evaluation that
``DIR/metrics.json`` holds, on the rows it evaluated (its split, ``--n`` and seed), without
evaluating again: what an evaluation whose figure step failed (a full disk, matplotlib) names,
its numbers being kept (:func:`torchlvm.cli._evaluate_figures.draw`).
"""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm._shell import quoted
from torchlvm.errors import RunDirectoryError


def redraw(run_: Any, args: argparse.Namespace) -> int:
    """Draw ``run_``'s figures from its ``metrics.json``; print where.

    Raises:
        RunDirectoryError: for a ``metrics.json`` that holds no evaluation, or one measured on
            other weights than the run's ``model.safetensors`` holds now.
    """
    from torchlvm.cli._evaluate_figures import draw
    from torchlvm.cli._tables import complete_rows
    from torchlvm.evaluation.records import Evaluation
    from torchlvm.evaluation.rows import evaluated_rows
    from torchlvm.models.conditions import Condition
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.loaded import load_split
    from torchlvm.run.metrics import read_metrics

    folder, layout = run_.folder, RunLayout(run_.folder)
    metrics = read_metrics(folder)
    protocol = _checked(folder, metrics)
    _same_rows(args, protocol, layout)
    result = Evaluation.from_json(metrics)
    split = load_split(run_, None, protocol.split, data_dir=args.data_dir, streamed=True)
    complete, _ = complete_rows(evaluated_rows(split, protocol.n, protocol.seed))
    condition = Condition.parse(run_.data.get("condition", "none") or "none")
    at = argparse.Namespace(**{**vars(args), "seed": protocol.seed})  # the evaluation's draws
    drawn = draw(run_.model, complete, result, folder, condition, at, metrics)
    print(
        f"drew {len(drawn)} figures in {layout.figures}/ of the evaluation in "
        f"{layout.metrics_json} ({protocol.split} split, n {_n(protocol)}, seed {protocol.seed})"
    )
    return 0


def _same_rows(args: argparse.Namespace, protocol: Any, layout: Any) -> None:
    """Refuse a --split, --n or --seed given beside --figures-only that is not the evaluation's
    (userI #10: they were ignored without a word); one left at its default is the evaluation's.

    Raises:
        ConfigError: naming each, the evaluation's value and the command that evaluates them.
    """
    from torchlvm.cli.evaluate import DEFAULT_N
    from torchlvm.errors import ConfigError

    n = _n(protocol)
    given = {"--split": (args.split, "test", protocol.split), "--seed": (args.seed, 0,
             protocol.seed), "--n": (args.n, str(DEFAULT_N), n)}  # fmt: skip
    other = [
        f"{flag} {value}" for flag, (value, default, own) in given.items()
        if value != default and str(value) != str(own)
    ]  # fmt: skip
    if other:
        raise ConfigError(
            f"--figures-only draws the figures of the evaluation in {layout.metrics_json} ("
            f"{protocol.split} split, n {n}, seed {protocol.seed}), not {', '.join(other)}; leave "
            f"{'them' if len(other) > 1 else 'it'} out, or evaluate those rows: torchlvm "
            f"evaluate {quoted(layout.folder)} {' '.join(other)}"
        )


def _n(protocol: Any) -> Any:
    """The evaluation's --n: ``all`` where it evaluated every row of its split."""
    return "all" if protocol.n is not None and protocol.n == protocol.split_rows else protocol.n


def _checked(folder: Any, metrics: Any) -> Any:
    """The protocol of the evaluation ``metrics`` holds, refused where it has none or where it
    was measured on other weights."""
    from torchlvm.evaluation.records import Protocol
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.metrics import measured_on_other_weights

    layout = RunLayout(folder)
    protocol = Protocol.from_json((metrics or {}).get("protocol"))
    if protocol.split is None or protocol.seed is None or protocol.command is None:
        raise RunDirectoryError(
            f"{layout.metrics_json} holds no evaluation whose figures --figures-only could draw; "
            f"run torchlvm evaluate {quoted(folder)} (it draws them)"
        )
    if measured_on_other_weights(folder, metrics):
        raise RunDirectoryError(
            f"{layout.metrics_json} was measured on other weights than {layout.weights} holds "
            f"now (the run was trained on since); run torchlvm evaluate {quoted(folder)} to "
            "measure them and draw their figures"
        )
    return protocol
