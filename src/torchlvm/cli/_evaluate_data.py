"""What ``evaluate`` and ``gaps`` need of a run's data record (config.json's ``data`` section),
refused in one wording with the fix that gives it: a folder that ``save_pretrained`` wrote without
``data=`` names no dataset, and one saved with ``data={'name': 'digits'}`` alone left a Bernoulli
model's split as grey levels, which the first importance sample refused in Python's words
("binarize it first: torch.bernoulli(x)"), a fix the command line has no option for (userY #4).
"""

from __future__ import annotations

from typing import Any

from torchlvm.errors import RunDirectoryError

SAVE = (
    "save it with model.save_pretrained({folder!r}, data={{'name': {name!r}, 'binarize': "
    "'dynamic'}})"
)
"""The fix of an export's data record: the dataset by name and its binarization protocol
('dynamic', 'threshold', or 'none' for grey levels)."""


def check_data_record(run_: Any, command: str) -> None:
    """Refuse a run whose ``data`` record names no dataset, or, for a model with a Bernoulli
    p(x | z), names one without its ``binarize`` protocol, before any work.

    Raises:
        RunDirectoryError: naming what the record lacks and how to write it.
    """
    data, config = run_.data, run_.folder / "config.json"
    name = data.get("name")
    if not name:
        raise RunDirectoryError(
            f"{config} has no 'data' section naming the dataset the model was trained on, which "
            f"{command} reads; train it with 'torchlvm train' (or 'torchlvm fit'), or "
            + SAVE.format(folder=str(run_.folder), name="digits")
            + " naming its dataset and protocol"
        )
    likelihood = getattr(getattr(run_.model, "config", None), "likelihood", None)
    if likelihood == "bernoulli" and "binarize" not in data:
        raise RunDirectoryError(
            f"{config}'s 'data' section names {name!r} but no 'binarize', and this model's "
            "Bernoulli p(x | z) gives grey levels no probability; "
            + SAVE.format(folder=str(run_.folder), name=name)
            + " ('threshold' if it was trained on x > 0.5)"
        )
