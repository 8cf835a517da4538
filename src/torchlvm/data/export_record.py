"""What a model's ``data`` section must say for a command to read its data as training did.

``torchlvm train`` and ``torchlvm fit`` record the whole section (the dataset's name, the seed of
its splits, its binarization, ...). A model saved from Python carries the section its caller
gives, ``save_pretrained(FOLDER, data={...})``: one that names the dataset but not the seed was
read with seed 0, so an export of a ``--seed 7`` digits run was evaluated on a "test split" of
which 248 of 359 rows were its training rows, without a word; one without ``binarize`` ended a
Bernoulli model's commands in a refusal of grey levels whose only fix was Python's
``torch.bernoulli(x)`` (userY #4, #12). :func:`check_data_section` refuses both, naming
:func:`save_advice`, the one wording of how to give a model its data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from torchlvm.errors import ConfigError


def save_advice(folder: str | os.PathLike[str], name: str, binarize: str | None) -> str:
    """How a model saved from Python gets the ``data`` section the commands read its data by:
    ``model.save_pretrained(FOLDER, data={...})`` with the dataset's name, the seed of its
    splits and (``binarize``: the example's protocol; None: not known here) its binarization."""
    shown = "" if binarize is None else f", 'binarize': {binarize!r}"
    also = " and, for a Bernoulli model, binarization" if binarize is None else " and binarization"
    return (
        f"save it with model.save_pretrained({os.fspath(folder)!r}, data={{'name': {name!r}, "
        f"'seed': 0{shown}}}) giving the split seed{also} it was trained with (a run's: the "
        "'data' section of its config.json)"
    )


def check_data_section(
    data: Mapping[str, Any],
    folder: str | os.PathLike[str],
    split: str | None,
    *,
    bernoulli: bool,
) -> None:
    """Refuse a ``data`` section that names a dataset but not how training split and binarized
    it: ``seed`` where a ``split`` of that dataset is read (not ``"all"``; None: another dataset
    is read), ``binarize`` for a model whose p(x | z) is Bernoulli. Both are in every section
    ``torchlvm train`` and ``fit`` write.

    Raises:
        ConfigError: naming the keys missing and :func:`save_advice`.
    """
    name = str(data.get("name"))
    missing = []
    if split not in (None, "all") and "seed" not in data:
        missing.append(
            f"'seed', the seed its {split} split was drawn with in training (read with another, "
            "that split can hold the model's training rows)"
        )
    if bernoulli and "binarize" not in data:
        missing.append(
            "'binarize', how this Bernoulli model's data were made 0s and 1s ('dynamic' or "
            "'threshold' as in training, 'none' for data of 0s and 1s)"
        )
    if missing:
        protocol = str(data.get("binarize", "dynamic" if bernoulli else "none"))
        raise ConfigError(
            f"{os.fspath(folder)}/config.json's data section names {name!r} but "
            f"not {' nor '.join(missing)}; add {'them' if len(missing) > 1 else 'it'} to that "
            f"section, or {save_advice(folder, name, protocol)}"
        )
