"""How an epoch is numbered where a person reads it: the one convention.

Everything torchlvm shows counts epochs from 1: the first pass over the data is epoch 1, so a run
of 10 epochs ends with epoch 10 (the printed summary's best epoch and ``resumed at epoch``, the
non-finite and checkpoint messages, the training-curve figures, and the ``best-epochNNN.ckpt``
names a person finds beside them: userM #17). The files' contents keep the index that Lightning
counts from 0, which programs read: ``metrics.csv``'s ``epoch`` column, the checkpoints'
``epoch``, and ``config.json``'s ``result.best_epoch`` (the metrics.csv row of the saved
weights). :func:`shown` turns an index into the number shown.
"""

from __future__ import annotations


def shown(index: float) -> float:
    """The epoch number a person reads for Lightning's 0-based epoch ``index``."""
    return index + 1


def epochs(n: int) -> str:
    """``1 epoch``, ``3 epochs``: a count of epochs in words."""
    return "1 epoch" if n == 1 else f"{n} epochs"
