"""Warnings of a train split whose standardization would mislead the model, given when
:meth:`~torchlvm.data.standardize.Standardizer.fit` fits it (userK #8, #21): both left a later
file's outlier scores wrong without a word.

- A column whose standard deviation a few cells set (one proline typed 1e9: every other row
  then standardized to about -0.075, and a later row 12 times the data's maximum was no
  outlier): a cell is *far* when it lies more than :data:`FAR` robust standard deviations
  (1.4826 × the median absolute deviation; where that is 0, 1.2533 × the mean absolute
  deviation from the median, both equal to σ for normal data) from the column's median, and
  the far cells *set the scale* when they are few and the column's standard deviation is at
  least :data:`SETS` times that of its other cells (which vary).
- A column observed in few train rows (under :data:`SPARSE` of them, or fewer than :data:`FEW`
  and at most half of them: one hole in a file of 10 rows is not a sparse column, readC C2):
  its mean and scale rest on those few.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from torchlvm.errors import Spell, spelled

FAR = 10.0
"""Robust standard deviations from the median beyond which a cell is far."""
SETS = 3.0
"""How many times the standard deviation of a column's other cells its far cells must make it."""
FEW = 10
"""A column observed in fewer train rows rests its mean and scale on them."""
SPARSE = 0.1
"""A column observed in under this share of the train rows does too."""
_ROWS = 20  # fewer observed cells than this tell no robust spread


def warn_misleading(
    x: Tensor,
    observed: Tensor,
    name: Callable[[int], str],
    drop: Callable[[Spell, list[int]], str],
    at: str,
    lines: Sequence[int] | None = None,
) -> None:
    """Warn of each column of the train split ``x`` ``(N, D)`` (float64; NaN where not
    ``observed``) observed in few rows, or whose scale a few far cells set; ``name(j)`` says
    column ``j`` in a message (``column 'ash'``), ``drop(spell, [j])`` is the option that
    drops it, ``at`` the message's start (``"FILE: "`` or ``""``), ``lines`` the file line of
    each row of ``x`` (a CSV's), where a far cell is named with its line."""
    n = x.shape[0]
    count = observed.sum(0)
    few = (count < FEW) & (count <= n // 2)  # (a small file's every column rests on few rows)
    for j in ((count < n) & (few | (count < SPARSE * n))).nonzero()[:, 0].tolist():
        c = int(count[j])
        warnings.warn(
            spelled(
                UserWarning,
                lambda spell, j=j, c=c: (
                    f"{at}{name(j)} is observed in {c} of the {n} train rows: its mean "
                    f"and scale rest on {'that one' if c == 1 else f'those {c}'}, and every "
                    f"later row's value there is judged by them; drop it ({drop(spell, [j])}) "
                    "or fill in more of it"
                ),
            ),
            stacklevel=3,
        )
    for j, said in _scale_set_by_few(x, observed, count, lines):
        warnings.warn(f"{at}{name(j)}: {said}", stacklevel=3)


def _scale_set_by_few(
    x: Tensor, observed: Tensor, count: Tensor, lines: Sequence[int] | None
) -> list[tuple[int, str]]:
    """The columns of ``x`` whose standard deviation a few far cells set, and what to say of
    each: its far cells (on their file ``lines``, where given: the warning named no line, so
    the cell to correct was to be searched for, review14 R24), how far, and the standard
    deviation with and without them."""
    median = torch.nanmedian(x, 0).values  # (D,), the lower of two middle values
    dev = (x - median).abs()  # (N, D), NaN where not observed
    robust = 1.4826 * torch.nanmedian(dev, 0).values
    robust = torch.where(robust > 0, robust, 1.2533 * torch.nanmean(dev, 0))
    far = dev > FAR * robust  # (N, D); NaN compares False
    few = far.sum(0) <= torch.clamp(0.01 * count, min=3)
    found = []
    for j in (far.any(0) & few & (count >= _ROWS)).nonzero()[:, 0].tolist():
        column, others = x[observed[:, j], j], x[observed[:, j] & ~far[:, j], j]
        sd, sd_others = float(column.std(correction=0)), float(others.std(correction=0))
        if sd_others == 0 or sd < SETS * sd_others:
            continue  # (the far cells are all it varies by, or they do not set its scale)
        rows = far[:, j].nonzero()[:, 0].tolist()
        cells = x[far[:, j], j]
        most = float((dev[far[:, j], j] / robust[j]).max())
        on = [f" on line {lines[i]}" if lines is not None else "" for i in rows]
        shown = " and ".join(f"{v:g}{o}" for v, o in zip(cells[:3].tolist(), on, strict=False))
        shown += f" and {len(cells) - 3} more" if len(cells) > 3 else ""
        one = len(cells) == 1
        them = "it" if one else "them"
        said = (
            f"{'1 cell' if one else f'{len(cells)} cells'}, {shown}, "
            f"{'lies' if one else 'lie up to'} {most:.2g} robust standard deviations from its "
            f"median ({float(median[j]):g}) and set{'s' * one} its standard deviation in the "
            f"train split ({sd:.3g}; {sd_others:.3g} without {them}), so standardized, its "
            f"other values hardly differ and a later outlier there goes unseen; correct "
            f"{'the cell' if one else 'those cells'} or leave {'its row' if one else 'their rows'} "
            "out of the file"
        )
        found.append((j, said))
    return found
