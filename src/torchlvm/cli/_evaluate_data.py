"""What ``evaluate`` and ``gaps`` need of a run's data record (config.json's ``data`` section): a
dataset named, refused in one wording with the save that gives it. A folder that
``save_pretrained`` wrote without ``data=`` names none; what a section that names one must say
besides (the seed of its splits; a Bernoulli model's binarization) is checked where every command
reads the data, :func:`torchlvm.data.export_record.check_data_section` (userY #4, #12).
"""

from __future__ import annotations

from typing import Any

from torchlvm.errors import RunDirectoryError


def check_data_record(run_: Any, command: str) -> None:
    """Refuse a run whose ``data`` record names no dataset, before any work.

    Raises:
        RunDirectoryError: naming the record and the save that writes it.
    """
    from torchlvm.data.export_record import save_advice

    if run_.data.get("name"):
        return
    bernoulli = getattr(getattr(run_.model, "config", None), "likelihood", None) == "bernoulli"
    raise RunDirectoryError(
        f"{run_.folder / 'config.json'} has no 'data' section naming the dataset the model was "
        f"trained on, which {command} reads; train it with 'torchlvm train' (or 'torchlvm fit'), "
        f"or {save_advice(run_.folder, 'digits', 'dynamic' if bernoulli else 'none')}"
    )
