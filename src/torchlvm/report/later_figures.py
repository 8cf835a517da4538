"""Captions of the figures that `torchlvm sample` draws into a run's ``figures/`` folder beside
evaluate's: ``samples-seedS.png`` and, with ``--condition``, ``conditional-seedS.png``
(:mod:`torchlvm.cli._sample_images`, S the ``--seed``). The report showed such a figure
captioned by its file name alone (userH #21: "conditional-seed0.png" under a grid of sandals):
each says what was drawn, by which command, with which seed, as evaluate's figures say
(:data:`~torchlvm.report.run.FIGURE_CAPTIONS`).
"""

from __future__ import annotations

import re
from typing import Any

SAMPLED = re.compile(r"(samples|conditional)-seed(\d+)")
"""The file stems ``sample`` writes by default."""


def sampled_caption(stem: str, config: Any, png: bytes = b"") -> str | None:
    """The caption of ``figures/STEM.png`` that ``sample`` drew: the line it printed, which its
    PNG carries as its ``Description`` (:func:`torchlvm.plots.figure_description`: "4 samples of
    class 3 from cvae ...: decoder means E[x | z, c] at z ~ p(z | c), seed 0"), by any name;
    else, from an older sample, by its default name under the run's ``config`` (its model and
    condition); None for any other figure."""
    from torchlvm.plots import figure_description

    said = figure_description(png)
    if said is not None:
        return f"{said[0].upper()}{said[1:]}. Drawn by torchlvm sample, not by evaluate."
    found = SAMPLED.fullmatch(stem)
    if found is None:
        return None
    kind, seed = found.groups()
    if kind == "conditional":
        return (
            f"Samples of the class or classes asked for with torchlvm sample --condition, seed "
            f"{seed} (the title names them; one row per class for several): z ~ p(z | c), shown "
            "as the decoder's mean E[x | z, c]. Drawn by sample, not by evaluate."
        )
    return f"Samples drawn by torchlvm sample, seed {seed}, not by evaluate: {_drawn(config)}."


def _drawn(config: Any) -> str:
    """What ``sample`` without ``--condition`` draws for the run's model."""
    config = config if isinstance(config, dict) else {}
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    kind = str(config.get("model_type", ""))
    if kind == "cvae" and data.get("condition") == "label":
        return (
            "classes c drawn by their train-split frequencies (each tile marked with its class), "
            "z ~ p(z | c), shown as the decoder's mean E[x | z, c]"
        )
    if kind == "ae":
        return (
            "decoder outputs at codes drawn from a Gaussian fitted to the training codes (from "
            "N(0, I) where sample was given --source standard; an autoencoder has no prior)"
        )
    if kind == "ppca":
        return "noise-free means W z + μ at z ~ N(0, I)"
    return "latent codes drawn from the prior z ~ p(z), shown as the decoder's mean E[x | z]"
