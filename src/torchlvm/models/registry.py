"""Models by name: a registry filled by a class decorator (STYLE.md habit 9), and each trainable
model type's recipe.

Each registered model class has a frozen config dataclass ``Config``, an instance attribute
``config``, and ``from_config(config)``. The name is what ``config.json`` records as
``model_type``, so a saved model can be rebuilt without unpickling anything.

A :class:`Recipe`, declared in the model's own file next to its class, says how ``torchlvm train``
builds that model from options: which option sets which config field, which options apply, the
default objective and whether the model is conditional. The CLI looks the recipe up by model
type and branches on none of this, so adding a model touches its file, its registration and its
tests.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from torchlvm._checks import check_choice
from torchlvm._registry import registrar
from torchlvm.errors import ConfigError

T = TypeVar("T", bound=type)

MODELS: dict[str, type] = {}
RECIPES: dict[str, Recipe] = {}


_register_model = registrar(MODELS, attribute="model_type")


def register_model(name: str) -> Callable[[T], T]:
    """Class decorator: ``@register_model(name)`` registers a model class under ``name`` and sets
    ``cls.model_type`` (``torchlvm.load`` rebuilds a saved model by it); how ``torchlvm train
    NAME`` builds and trains it is registered beside it with :func:`register_recipe`."""
    return _register_model(name)


def register_recipe(name: str, recipe: Recipe) -> Recipe:
    """Register how the model type ``name`` is trained from options (``torchlvm train NAME``);
    its model's file does so next to its class."""
    RECIPES[name] = recipe
    return recipe


def model_class(name: str) -> type:
    """The model class registered under ``name``.

    Raises:
        ConfigError: for an unknown name (the message lists the known ones).
    """
    return MODELS[check_choice("model_type", name, sorted(MODELS))]


def recipe_for(name: str) -> Recipe:
    """The recipe of the trainable model type ``name``.

    Raises:
        ConfigError: for a type without one (the message lists those with one).
    """
    return RECIPES[check_choice("model type to train", name, sorted(RECIPES))]


# -- recipes ----------------------------------------------------------------------------------

Field = tuple[str, Callable[[Any], Any]]
"""An option's config field and the conversion of the option's value to the field's."""

NETWORK_FIELDS: dict[str, Field] = {
    "latent_dim": ("latent_dim", int),
    "hidden": ("hidden", tuple),
    "activation": ("activation", str),
    "arch": ("arch", str),
}
"""Options every network model takes: K, hidden widths, nonlinearity and architecture."""


@dataclass(frozen=True)
class DataFacts:
    """What the data decide in a model config.

    Attributes:
        input_dim: D. shape: per-example shape, e.g. ``(1, 8, 8)``.
        condition_dim: C of the condition, or None. num_classes, class_names: of a class
            condition (``"label"``), else None. class_positions: whether a number may name a
            class by its position (``CVAEConfig.class_positions``).
    """

    input_dim: int
    shape: tuple[int, ...]
    condition_dim: int | None = None
    num_classes: int | None = None
    class_names: tuple[str, ...] | None = None
    class_positions: bool = True


@dataclass(frozen=True)
class Recipe:
    """How a model type is built from ``torchlvm train`` options.

    Attributes:
        fields: option name → (config field, conversion): the options that set its config.
        default_objective: the registered training objective used when none is named.
        noun: the model as a sentence names it, e.g. ``"an autoencoder"``.
        training_options: the training options that apply beyond those every model takes
            (e.g. ``"beta"`` for a model trained on a bound with a KL term).
        conditional: whether the model takes a condition c (then ``--condition`` applies).
    """

    fields: Mapping[str, Field]
    default_objective: str
    noun: str
    training_options: tuple[str, ...] = ()
    conditional: bool = False

    @property
    def options(self) -> tuple[str, ...]:
        """Every option this model type takes beyond those every model takes."""
        return (*self.fields, *self.training_options)

    def fields_from(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The config fields that ``options`` set (only the options present in it)."""
        return {
            name: convert(options[option])
            for option, (name, convert) in self.fields.items()
            if option in options
        }

    def config(self, cls: type, options: Mapping[str, Any], facts: DataFacts) -> Any:
        """``cls.Config`` from every option of this type and the data's facts.

        Raises:
            ConfigError: as the config's own checks.
        """
        return self.config_from_fields(cls, self.fields_from(options), facts)

    def config_from_fields(self, cls: type, fields: Mapping[str, Any], facts: DataFacts) -> Any:
        """``cls.Config`` from config ``fields`` as they are (e.g. an estimator's parameters,
        checked by the config itself) and what the data decide: D, the image shape of a
        convolutional network, and the condition of a conditional model.

        Raises:
            ConfigError: as the config's own checks, for a conditional model without a
                condition, and for a convolutional network on rows (not images).
        """
        fields = {"input_dim": facts.input_dim, **fields}
        if fields.get("arch") == "conv":
            if len(facts.shape) == 1:  # rows of a table: nothing to convolve over
                raise ConfigError(
                    f"a convolutional network (arch 'conv') needs images, and these data are rows "
                    f"of {facts.shape[0]} values; use the MLP (--arch mlp, the default)"
                )
            fields["image_shape"] = tuple(facts.shape)
        if self.conditional:
            if facts.condition_dim is None:
                raise ConfigError(f"{self.noun} needs a condition; pass --condition")
            fields["condition_dim"] = facts.condition_dim
            fields.update(num_classes=facts.num_classes, class_names=facts.class_names)
            fields.update(class_positions=facts.class_positions)
        return cls.Config(**fields)
