"""Training objectives by name: a registry filled by a decorator (STYLE.md habit 9).

An objective is a value, not a string that code branches on. Its registration says

- its **loss**: ``loss(model, x, c, config, *, kl_weight) -> {"loss": (B,), ...}``, per-example
  named terms, ``"loss"`` being what is minimized (the losses live in
  :mod:`torchlvm.training.losses`);
- its **validation terms**: ``validation(model, x, c, config) -> {name: (B,)}``, logged as
  ``val/<name>`` (batch means, nats per example);
- its **monitor**: the validation metric that picks the best checkpoint and drives early
  stopping, with its mode (``"max"`` for a bound, ``"min"`` for a loss); a pair, or a function of
  the :class:`~torchlvm.training.TrainConfig` when it depends on a setting (IWAE's ``k``);
- the **model types** it trains (``model_type`` of :mod:`torchlvm.models.registry`);
- which settings of :class:`~torchlvm.training.TrainConfig` it uses: ``kl_term`` (β, KL warm-up,
  free bits) and ``importance_samples`` (``k`` > 1).

Public names (stable): :class:`Objective`, :data:`OBJECTIVES`, :func:`register_objective`,
:func:`get_objective`, :func:`objectives_for`, :func:`monitor`, :func:`check_objective`.
Adding an objective touches its loss, its registration and its tests; nothing branches on its
name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor

from torchlvm._checks import check_choice
from torchlvm.errors import ConfigError

Terms = dict[str, Tensor]
Loss = Callable[..., Terms]
ValidationTerms = Callable[..., Terms]
Mode = Literal["min", "max"]
Monitor = tuple[str, Mode]


@dataclass(frozen=True)
class Objective:
    """A registered training objective (see the module docstring).

    Attributes:
        name: what ``TrainConfig.objective`` holds, e.g. ``"elbo"``.
        loss: per-example training terms, ``"loss"`` among them, each ``(B,)``.
        validation: per-example validation terms, each ``(B,)``, logged as ``val/<name>``.
        monitor: ``(metric, mode)`` or a function of the config returning it.
        models: the ``model_type`` names it trains.
        kl_term: whether β, ``warmup_epochs`` and ``free_bits`` apply.
        importance_samples: whether ``k`` > 1 applies.
    """

    name: str
    loss: Loss
    validation: ValidationTerms
    monitor: Monitor | Callable[[Any], Monitor]
    models: tuple[str, ...]
    kl_term: bool = False
    importance_samples: bool = False

    def monitor_for(self, config: Any) -> Monitor:
        """The ``(metric, mode)`` that picks the best epoch of a run trained with ``config``."""
        return self.monitor(config) if callable(self.monitor) else self.monitor


OBJECTIVES: dict[str, Objective] = {}
"""Every registered objective by name."""


def register_objective(
    name: str,
    *,
    models: tuple[str, ...],
    monitor: Monitor | Callable[[Any], Monitor],
    validation: ValidationTerms,
    kl_term: bool = False,
    importance_samples: bool = False,
) -> Callable[[Loss], Loss]:
    """Decorator on a loss: register it as the objective ``name`` (see :class:`Objective`)."""

    def add(loss: Loss) -> Loss:
        OBJECTIVES[name] = Objective(
            name, loss, validation, monitor, tuple(models), kl_term, importance_samples
        )
        return loss

    return add


def get_objective(name: str) -> Objective:
    """The objective registered as ``name``.

    Raises:
        ConfigError: for an unknown name (the message lists the registered ones).
    """
    objective = OBJECTIVES.get(name)  # every training step asks: no sorting on the way
    return objective or OBJECTIVES[check_choice("objective", name, sorted(OBJECTIVES))]


def objectives_for(model_type: str) -> tuple[str, ...]:
    """The names of the objectives that train models of type ``model_type``, sorted."""
    return tuple(sorted(n for n, o in OBJECTIVES.items() if model_type in o.models))


def monitor(config: Any) -> Monitor:
    """The validation metric that decides the best checkpoint and early stopping, and its mode,
    for a run trained with ``config`` (a :class:`~torchlvm.training.TrainConfig`)."""
    return get_objective(config.objective).monitor_for(config)


_OWN_MODEL = (
    "torchlvm's training trains its own models (VAE, CVAE, Autoencoder), whose run folder it "
    "saves and loads again; train a model of your own in a LightningModule (or a loop) of your "
    "own, its loss from torchlvm.inference, e.g. -iwae_bound(model, x, num_samples=5).mean()"
)
"""The fix for a model no registered objective trains (userY #10: a model of the protocol's
methods alone was told 'no registered objective trains it', and nothing else)."""


def check_objective(model: Any, name: str) -> None:
    """Refuse a model–objective pair that cannot train.

    Raises:
        ConfigError: if ``model``'s ``model_type`` is not among the objective's models; the
            message names the objectives that do train it.
    """
    objective = get_objective(name)
    model_type = getattr(model, "model_type", None)
    if model_type not in objective.models:
        suited = objectives_for(model_type) if isinstance(model_type, str) else ()
        fix = (
            f"train it with objective {' or '.join(repr(n) for n in suited)}"
            if suited
            else _OWN_MODEL
        )
        raise ConfigError(
            f"objective {name!r} trains {', '.join(objective.models)} models, not "
            f"{type(model).__name__} (model type {model_type!r}); {fix}"
        )
