"""The report's "network" fact: a run's model settings in a few words, read from config.json.

``MLP 400, relu · Bernoulli likelihood · flow q (2 steps) · learned prior p(z | c)``: the
settings that tell runs of one model type apart (the network, p(x | z), q(z | x), p(z)). A report
of several runs named them nowhere but the raw config.json at its bottom, so four digits CVAEs
differing in their prior (learned, standard) or posterior (flow) were told apart by folder name
alone, beside probe accuracies of 85.0% and 14.5% (userU #2). A setting config.json leaves out
(fields added later are written only where set) is at its default: the record is read as
``torchlvm.load`` reads it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from torchlvm.report.metrics import format_value

#: q(z | x) by config.json's ``posterior``
POSTERIORS = {"diag": "diagonal q", "full": "full-covariance q", "flow": "flow q ({steps} steps)"}
#: p(z) of a VAE by its ``prior``
VAE_PRIORS = {
    "standard": "prior N(0, I)",
    "vamp": "VampPrior ({components} pseudo-inputs)",
    "mog": "mixture prior ({components} components)",
}
#: p(z | c) of a CVAE by its ``prior``
CVAE_PRIORS = {
    "learned": "learned prior p(z | c)",
    "standard": "prior p(z | c) = N(0, I)",
    "vamp": "conditional VampPrior ({components} pseudo-inputs)",
    "mog": "mixture prior ({components} components, shared by every class)",
}
#: p(x | z) of a Gaussian decoder by its ``variance``
GAUSSIAN = {
    "fixed": "Gaussian likelihood, σ = {scale}",
    "scalar": "Gaussian likelihood, one learned σ",
    "diagonal": "Gaussian likelihood, a learned σ per feature",
}
#: an autoencoder's loss by its ``reconstruction``
AE_LOSSES = {"mse": "squared-error loss", "bernoulli": "binary cross-entropy loss"}


def network_text(model_type: Any, model: Any) -> str | None:
    """The network fact of a run whose config.json has ``model_type`` and ``model`` (its
    settings), or None for a model without a network (PPCA) or settings it cannot read."""
    if (config := _config(model_type, model)) is None or not hasattr(config, "hidden"):
        return None
    s = dataclasses.asdict(config)
    parts = [_layers(s)]
    if model_type == "ae":
        parts.append(AE_LOSSES.get(str(s.get("reconstruction")), str(s.get("reconstruction"))))
        return " · ".join(p for p in parts if p)
    if s.get("linear_decoder") is True:
        parts.append("linear decoder")
    likelihood = str(s.get("likelihood"))
    if likelihood == "gaussian":
        form = GAUSSIAN.get(str(s.get("variance")), "Gaussian likelihood")
        parts.append(form.format(scale=format_value(s.get("scale"))))
    else:
        parts.append(f"{likelihood.capitalize()} likelihood")
    posterior = POSTERIORS.get(str(s.get("posterior")), f"{s.get('posterior')} q")
    parts.append(posterior.format(steps=format_value(s.get("flow_steps"))))
    priors = CVAE_PRIORS if model_type == "cvae" else VAE_PRIORS
    prior = priors.get(str(s.get("prior")), f"prior {s.get('prior')}")
    parts.append(prior.format(components=format_value(s.get("prior_components"))))
    return " · ".join(p for p in parts if p)


def _layers(s: dict[str, Any]) -> str:
    """``MLP 400, relu``, ``conv + MLP 128-128, tanh``, or an autoencoder's ``linear maps``."""
    if s.get("linear") is True:
        return "linear maps D → K → D"
    hidden = s.get("hidden")
    widths = (
        "-".join(str(w) for w in hidden) if isinstance(hidden, (list, tuple)) and hidden else "none"
    )
    arch = "conv + MLP" if s.get("arch") == "conv" else "MLP"
    return f"{arch} {widths}, {s.get('activation')}"


def _config(model_type: Any, model: Any) -> Any:
    """The model's config as ``torchlvm.load`` reads it (its registered class's ``Config``
    from the record), or None where that reading fails: an unknown type, a model without a
    ``Config`` (PPCA), a record it refuses."""
    from torchlvm.errors import ConfigError
    from torchlvm.models.config import config_from_dict
    from torchlvm.models.registry import model_class

    try:
        cls = getattr(model_class(str(model_type)), "Config", None)
        return None if cls is None else config_from_dict(cls, model)
    except ConfigError:
        return None
