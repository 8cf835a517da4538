"""Whether a model is what its config builds: ``config.json`` records the config alone, and
:func:`torchlvm.load` (and every command that opens a run) rebuilds the networks from it and
loads the weights into them, so a model whose modules were replaced in Python (an encoder of
one's own, of the config's widths but tanh) was saved without a word and reloaded as the config's
ReLU networks holding its weights: its encoder means moved by 0.31, its log p(x) from −29.21 to
−33.88 nats (userY #1); one with other module names was saved, then refused at load as "the
weights belong to another model" (userY #2).

The comparison is of the module tree: each submodule's name and class, and for torch's own
modules their ``extra_repr`` (a ``Linear``'s sizes), against a model built from the same config
on the meta device (no memory, no draws from the caller's random state) by the class that
``torchlvm.load`` builds, that of the model's ``model_type``: a subclass that sets its own
encoder in ``__init__`` is rebuilt without it (readJ J4).
"""

from __future__ import annotations

from typing import Any

import torch

from torchlvm.errors import ConfigError
from torchlvm.models.registry import model_class


def _modules(model: torch.nn.Module) -> dict[str, str]:
    """``{name: 'Class(extra_repr)'}`` of each submodule of ``model``, the root as ``''``; the
    ``extra_repr`` of torch's own modules only (a ``Linear``'s sizes, a ``LeakyReLU``'s slope):
    zuko's computes a distribution, which cannot run on the meta device."""
    return {
        name: f"{type(module).__name__}({_settings(module)})"
        for name, module in model.named_modules()
    }


def _settings(module: torch.nn.Module) -> str:
    return module.extra_repr() if type(module).__module__.startswith("torch.nn.") else ""


def config_difference(model: Any) -> str | None:
    """The first way ``model``'s modules differ from those its ``fitted_config`` builds, in
    words (``"encoder.1 is Tanh() where the config builds ReLU()"``); ``None`` where they are
    the same."""
    cls = model_class(model.model_type)  # what load builds: a subclass's __init__ is not run
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        built = _modules(cls.from_config(model.fitted_config))
    own = _modules(model)
    own[""] = built[""]  # (the root: a subclass of that class, compared by its modules)
    for name, kind in own.items():
        if name not in built:
            return f"{name} ({kind}) is a module its config does not build"
        if kind != built[name]:
            return f"{name or 'the model'} is {kind} where its config builds {built[name]}"
    gone = next((name for name in built if name not in own), None)
    return None if gone is None else f"{gone} ({built[gone]}), which its config builds, is gone"


def check_rebuilt_from_config(model: Any) -> None:
    """Refuse to record ``model`` (``config.json``: ``save_pretrained``, a run of
    ``training.fit``) where its modules are not what its config builds
    (:func:`config_difference`).

    Raises:
        ConfigError: naming the first module that differs, and the way to keep a model of
            one's own code.
    """
    difference = config_difference(model)
    if difference is None:
        return
    name, config = type(model).__name__, type(model.fitted_config).__name__
    raise ConfigError(
        f"torchlvm records a {name} by its config (config.json), and torchlvm.load rebuilds "
        f"it from that config, but {difference}: it would load these weights into other "
        f"networks. Build the change into the config if it has an option for it ({config}), "
        "or keep a model of your own code with torch: safetensors.torch.save_file("
        "model.state_dict(), PATH), then build the model in your code and load_state_dict("
        "safetensors.torch.load_file(PATH))"
    )
