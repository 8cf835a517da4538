"""Captions of the figures that `torchlvm sample` and `torchlvm reconstruct` draw into a run's
``figures/`` folder beside evaluate's: ``samples-seedS.png`` and, with ``--condition``,
``conditional-seedS.png`` (:mod:`torchlvm.cli._sample_images`, S the ``--seed``);
``reconstructions-NAME.png``, NAME the split or the ``--data`` file's name
(:mod:`torchlvm.cli.reconstruct`). The report showed such a figure captioned by its file name
alone (userH #21: "conditional-seed0.png" under a grid of sandals; review15 R4:
"reconstructions-other.png"): each says what was drawn, by which command, as evaluate's figures
say (:data:`~torchlvm.report.run.FIGURE_CAPTIONS`).
"""

from __future__ import annotations

import re
from typing import Any

SAMPLED = re.compile(r"(samples|conditional)-seed(\d+)")
"""The file stems ``sample`` writes by default."""
RECONSTRUCTED = re.compile(r"reconstructions-(.+)")
"""The file stems ``reconstruct`` writes by default (evaluate's is ``reconstructions``)."""


def sampled_caption(stem: str, config: Any, png: bytes = b"") -> str | None:
    """The caption of ``figures/STEM.png`` that ``sample`` (or ``reconstruct``, at its default
    name) drew: the line it printed, which its PNG carries as its ``Description``
    (:func:`torchlvm.plots.figure_description`: "4 samples of class 3 from cvae ...: decoder
    means E[x | z, c] at z ~ p(z | c), seed 0"), by any name; else by its default name (for
    sample's, under the run's ``config``: its model and condition); None for any other figure."""
    from torchlvm.plots import figure_description

    said = figure_description(png)
    rebuilt = RECONSTRUCTED.fullmatch(stem)
    if said is not None:
        command = "reconstruct" if rebuilt else "sample"
        return f"{said[0].upper()}{said[1:]}. Drawn by torchlvm {command}, not by evaluate."
    if rebuilt is not None:
        return (
            f"Images of {rebuilt.group(1)} (the split, or the file given to torchlvm "
            "reconstruct --data) above their reconstructions, the decoder's mean at the "
            "posterior mean; the title names the model. Drawn by torchlvm reconstruct, not by "
            "evaluate: evaluate's reconstructions are of the evaluated split."
        )
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
