"""The options of ``torchlvm train`` and the settings each one sets.

Options default to ``SUPPRESS``, so that the namespace holds only what the user passed: a resumed
run must not silently ignore a changed setting. A model type's own options, its default objective
and whether it takes a condition come from its :class:`~torchlvm.models.registry.Recipe`; the
options here that every model takes map to :class:`~torchlvm.training.TrainConfig` fields
(:data:`TRAIN_FIELDS`) and to the run's data record (:data:`DATA_FIELDS`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any, get_args

from torchlvm.cli import _tables, _types
from torchlvm.cli._accelerator import THREADS_HELP, add_accelerator
from torchlvm.cli._progress import add_progress_options
from torchlvm.data.pixels import COLOUR_DEFAULTS, is_colour_file, is_image_data
from torchlvm.data.table_schema import table_latent_dim
from torchlvm.errors import ConfigError
from torchlvm.models.conditions import Condition

DEFAULTS: dict[str, Any] = {
    **{"data_dir": None, "mmap": False, "latent_dim": 20, "hidden": [400], "activation": "relu"},
    **{"arch": "mlp", "variance": "scalar", "scale": None, "linear_decoder": False, "epochs": 20},
    **{"batch_size": 128, "lr": 1e-3, "beta": 1.0, "warmup_epochs": 0, "free_bits": 0.0},
    **{"cvae_prior": "learned", "patience": None, "gradient_clip": None, "seed": 0},
    **{"posterior": "diag", "flow_steps": 2, "prior": "standard", "prior_components": 50},
    **{"deterministic": False, "on_nonfinite": "stop", "accelerator": "cpu", "devices": 1},
    **{"num_nodes": 1, "strategy": "auto", "compile": False, "threads": None, "quiet": False},
    **{"progress": False, "cuda_graph": False},
}
"""Defaults of the options without a data- or model-dependent default (see :func:`settle`). A
Gaussian p(x | z) learns one σ, starting at the data's own scale (``scale`` None:
:func:`settle_data`), as the estimators do: σ fixed at 1 on digits / 16 as an ``.npy`` file
(pixels varying by 0.38 at most) learned nothing in 10 epochs (KL 0.007 nats, no active unit)."""

TABLE_DEFAULTS: dict[str, Any] = {
    **{"hidden": [128, 128], "activation": "tanh", "variance": "diagonal", "batch_size": 64},
    **{"epochs": 300, "patience": 30, "threads": 1, "latent_dim": None, "scale": 1.0},
}
"""Defaults for a .csv table (standardized by default, see :mod:`torchlvm.cli._tables`): a
Gaussian p(x | z) with a learned σ per feature, two tanh layers of 128, and enough epochs (with
early stopping) for a few hundred rows; measured in benchmarks/results/tables_likelihood.md. One
torch thread: a table's matrices (batches of 64 by 128) are too small to share among threads, and
a second thread made training 2-15 times slower while other jobs used the cores
(benchmarks/results/train_threads.md). The latent size comes from the table's columns once it
is read (:func:`table_latent_dim`)."""


def settle_data(s: dict[str, Any], dm: Any) -> None:
    """Fill in ``s`` (:func:`settle`'s options) the defaults that the data decide, once the
    data module ``dm`` has read them: a table's latent size (:func:`table_latent_dim`), and
    the σ a Gaussian p(x | z) starts at (fixed at, with ``--variance fixed``): the train
    split's own scale (:func:`~torchlvm.data.standardize.data_scale`), recorded in
    config.json as the number used."""
    from torchlvm.data.standardize import data_scale

    if s["latent_dim"] is None:
        s["latent_dim"] = table_latent_dim(dm.input_dim)
    if s["scale"] is None:
        s["scale"] = data_scale(dm.train_data.x)


TRAIN_FIELDS: dict[str, str] = {
    **{name: name for name in ("objective", "k", "beta", "warmup_epochs", "free_bits", "lr")},
    **{name: name for name in ("batch_size", "patience", "gradient_clip", "seed")},
    **{"deterministic": "deterministic", "on_nonfinite": "on_nonfinite", "epochs": "max_epochs"},
}
"""Option → :class:`~torchlvm.training.TrainConfig` field."""

DATA_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "data": ("name", lambda name: _recorded_name(name)),
    "binarize": ("binarize", str),
    "condition": ("condition", lambda text: str(Condition.parse(text))),
}
"""Option → (field of the run's data record, conversion)."""


def _recorded_name(name: str) -> str:
    """``--data`` as a run records it: a file by its absolute path."""
    from torchlvm.data.load import data_reference

    return data_reference(name)


EVERY_MODEL: frozenset[str] = frozenset(
    {*TRAIN_FIELDS, *DATA_FIELDS, "data_dir", "mmap", "accelerator", "devices", "num_nodes"}
    | {"strategy", "compile", "cuda_graph", "threads", "quiet", "progress"}
    | set(_tables.TABLE_OPTIONS)
) - {"objective", "k", "beta", "warmup_epochs", "free_bits"}
"""Options that every model type takes; the others apply as its recipe says."""

RESUME_MAY_CHANGE: tuple[str, ...] = (
    *("epochs", "patience", "data_dir", "quiet", "progress", "accelerator"),
    *("devices", "num_nodes", "strategy", "compile", "cuda_graph", "threads"),  # fit() checks
    # the world size; --cuda-graph gives the same results within float rounding
)
"""Options a resumed run may change; every other one must give the recorded settings."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.argument_default = argparse.SUPPRESS  # (before the groups, which copy it)
    parser.add_argument("model", choices=_trainable(), help="the model to train")
    _data_options(parser.add_argument_group("data"))
    _model_options(parser.add_argument_group("model"))
    _training_options(parser.add_argument_group("training"))
    _scale_options(parser.add_argument_group("speed and scale"))
    out = parser.add_argument_group("output")
    out.add_argument("--out", type=_types.given_path, required=True, help="the run folder to write")
    mode = out.add_mutually_exclusive_group()
    mode.add_argument(
        "--overwrite", action="store_true", default=False, help="replace a run already in --out"
    )
    mode.add_argument(
        "--resume",
        action="store_true",
        default=False,
        help="continue the run in --out from its last checkpoint up to --epochs in total; model "
        "and data settings come from the run",
    )
    add_progress_options(out)
    for action in parser._actions:
        if action.nargs != 0 and action.help is not None:
            action.help += _default_text(action.dest)


SHOWN_NONE: dict[str, str] = {
    "patience": "never",
    "threads": "torch's, one per core",
    "latent_dim": "half the columns, 2 to 20,",
    "scale": "the data's own scale, the root mean square of its columns' standard deviations,",
}
"""How the help shows a default of None that means something (others are not shown)."""


def _default_text(dest: str) -> str:
    """`` (default: 20; 300 for a table)``: an option's default from :data:`DEFAULTS`, and its
    default for a .csv table from :data:`TABLE_DEFAULTS` where that differs; or ``""``."""

    def shown(value: Any) -> str | None:
        if value is None:
            return SHOWN_NONE.get(dest)
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)

    plain = shown(DEFAULTS.get(dest))
    plain = plain if plain is None else plain.rstrip(",")  # the comma reads before "for a table"
    if dest not in TABLE_DEFAULTS:
        return "" if plain is None else f" (default: {plain})"
    return f" (default: {plain}; {shown(TABLE_DEFAULTS[dest])} for a table)"


def _trainable() -> list[str]:
    import torchlvm.models  # noqa: F401  (importing registers every model type)
    from torchlvm.models.registry import RECIPES

    return sorted(RECIPES)


def _data_options(group: Any) -> None:
    group.add_argument(
        "--data",
        type=_types.data_source,
        help="dataset name (see 'torchlvm datasets') or a .npy, .npz, .csv or .tsv file "
        "(tables may be gzipped: .csv.gz, .tsv.gz)",
    )
    group.add_argument("--data-dir", help=_types.SEARCH_DATA_DIR_HELP)
    group.add_argument(
        "--mmap",
        action="store_true",
        help="stream a .npy file larger than memory from disk, a batch at a time, instead of "
        "loading it",
    )
    group.add_argument(
        "--allow-missing",
        action="store_true",
        help="a .csv with missing (empty) cells: train a vae on them with the MIWAE bound, "
        "which integrates the missing cells out (default objective then: miwae)",
    )
    _tables.add_options(group)
    group.add_argument(
        "--binarize",
        choices=["none", "dynamic", "threshold"],
        help="binary protocol: pixels redrawn each epoch (dynamic), x > 0.5 (threshold), or "
        "grey levels (none) (default: dynamic for images, a dataset or an .npy/.npz of "
        "(N, H, W) or (N, C, H, W), with a Bernoulli likelihood, else none)",
    )
    group.add_argument(
        "--condition",
        metavar="label|mask:KIND",
        help="cvae condition: the one-hot class (label) or the observed part of the image for "
        "imputation (mask:top, mask:left, mask:random:0.5, ...; KIND names the missing "
        "part) (default: label)",
    )


def _model_options(group: Any) -> None:
    from torchlvm.nn import Activation

    group.add_argument("--latent-dim", type=_types.positive_int, help="K, the size of z")
    group.add_argument(
        "--hidden",
        type=_types.positive_int,
        nargs="+",
        metavar="WIDTH",
        help="hidden layer widths of the encoder; the decoder mirrors them",
    )
    group.add_argument("--activation", choices=list(get_args(Activation)), help="nonlinearity")
    group.add_argument(
        "--arch", choices=["mlp", "conv"], help="fully connected or convolutional encoder/decoder"
    )
    group.add_argument(
        "--likelihood",
        choices=["bernoulli", "gaussian"],
        help="p(x|z) (for ae: Bernoulli cross-entropy or squared error) (default: bernoulli "
        "for images, a dataset or an .npy/.npz file, else gaussian)",
    )
    group.add_argument(
        "--variance",
        choices=["fixed", "scalar", "diagonal"],
        help="Gaussian likelihood's σ: fixed, one learned value, or one per dimension",
    )
    group.add_argument(
        "--scale",
        type=_types.positive_number,
        help="Gaussian σ when fixed, its initial value when learned",
    )
    group.add_argument(
        "--linear-decoder",
        action="store_true",
        help="a linear decoder (with a Gaussian likelihood: the PPCA generative model; for ae:"
        " linear encoder and decoder)",
    )
    group.add_argument(
        "--cvae-prior",
        choices=["learned", "standard", "vamp", "mog"],
        help="cvae prior p(z|c): a learned network of c, N(0, I), a VampPrior of pseudo-inputs "
        "paired with c, or a learned mixture of Gaussians (Monte Carlo KL)",
    )
    _family_options(group)


def _family_options(group: Any) -> None:
    """Posterior families and priors by their registered names (adding one adds a choice)."""
    from torchlvm.models.posteriors import POSTERIORS
    from torchlvm.models.priors import PRIORS

    group.add_argument(
        "--posterior",
        choices=sorted(POSTERIORS),
        help="q(z|x): diagonal Gaussian, full-covariance Gaussian, or a normalizing flow "
        "conditioned on the encoder (Monte Carlo KL)",
    )
    group.add_argument(
        "--flow-steps", type=_types.positive_int, help="affine coupling transforms of a flow q"
    )
    group.add_argument(
        "--prior",
        choices=sorted(PRIORS),
        help="vae prior p(z): N(0, I), a VampPrior or a learned mixture of Gaussians (Monte "
        "Carlo KL)",
    )
    group.add_argument(
        "--prior-components",
        type=_types.positive_int,
        help="pseudo-inputs of a VampPrior, or components of a mixture prior",
    )


def _training_options(group: Any) -> None:
    group.add_argument(
        "--objective",
        metavar="NAME",
        help="the training objective: elbo or iwae for vae and cvae, miwae for a vae on rows with "
        "missing cells (default: elbo, or miwae with --allow-missing; ae always minimizes "
        "reconstruction error)",
    )
    group.add_argument(
        "--k",
        type=_types.positive_int,
        help="importance samples of the IWAE bound (default: 5 with an importance-weighted "
        "objective such as iwae, else 1)",
    )
    group.add_argument("--beta", type=_types.non_negative_number, help="KL weight (β-VAE)")
    group.add_argument(
        "--warmup-epochs",
        type=_types.non_negative_int,
        help="epochs the KL weight ramps from 0 to β",
    )
    group.add_argument(
        "--free-bits",
        type=_types.non_negative_number,
        help="free bits λ, nats per latent dimension",
    )
    group.add_argument(
        "--epochs",
        type=_types.positive_int,
        help="epochs to train in total (with --resume: the new total)",
    )
    group.add_argument("--batch-size", type=_types.positive_int, help="examples per batch")
    group.add_argument("--lr", type=_types.positive_number, help="Adam learning rate")
    group.add_argument(
        "--patience",
        type=_types.positive_int,
        help="stop after this many epochs without a better validation bound",
    )
    group.add_argument(
        "--gradient-clip",
        type=_types.positive_number,
        help="clip the gradient's 2-norm to this value (default: no clipping)",
    )
    group.add_argument(
        "--on-nonfinite",
        choices=["stop", "skip"],
        help="on a NaN/inf loss: stop with an error, or skip that update",
    )
    group.add_argument("--seed", type=_types.seed, help="seed of everything")
    group.add_argument(
        "--deterministic",
        action="store_true",
        help="deterministic algorithms only (repeatable bit for bit on one machine)",
    )
    add_accelerator(group, "the model trains", default=None, threads=False)  # (absent: DEFAULTS)


def _scale_options(group: Any) -> None:
    group.add_argument(
        "--devices",
        type=_types.positive_int,
        help="processes per node (CPU cores or GPUs), each training on its share of every batch",
    )
    group.add_argument(
        "--num-nodes",
        type=_types.positive_int,
        help="machines taking part (see README: torchrun, SLURM)",
    )
    group.add_argument(
        "--strategy",
        choices=["auto", "ddp"],
        help="how the processes train together; auto is ddp with more than one process",
    )
    group.add_argument(
        "--compile",
        action="store_true",
        help="compile the training loss with torch.compile (slow start; measured not to pay on"
        " CPUs for MLPs, see benchmarks/RESULTS.md)",
    )
    group.add_argument(
        "--cuda-graph",
        action="store_true",
        help="on a GPU, run each training step (binarization, forward, backward, Adam) as one"
        " captured CUDA graph: same results within float rounding, several times faster for"
        " small models (one process; not with a mask condition). On a CPU the same step runs"
        " eagerly",
    )
    group.add_argument(
        "--threads",
        type=_types.positive_int,
        help=THREADS_HELP.replace("on the CPU", "per process"),
    )


# -- settling the options ---------------------------------------------------------------------


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


INSTEAD: dict[tuple[str, str], str] = {
    ("cvae", "prior"): ", or choose a CVAE's p(z|c) with --cvae-prior learned|standard|vamp|mog",
}
"""(model type, option it refuses) → the option that does its job for that model type."""


def refuse_foreign(model_type: str, given: Mapping[str, Any]) -> None:
    """Refuse an option that the model type's recipe does not take, naming those that do.

    Raises:
        ConfigError: e.g. ``--beta`` for an autoencoder.
    """
    from torchlvm.models.registry import RECIPES, recipe_for

    recipe = recipe_for(model_type)
    for name in given:
        if name not in EVERY_MODEL and name not in recipe.options:
            takers = " or ".join(t for t, r in sorted(RECIPES.items()) if name in r.options)
            instead = INSTEAD.get((model_type, name), "")
            raise ConfigError(
                f"{_flag(name)} does not apply to {recipe.noun}; train a {takers} for it{instead}"
            )


def settle(model_type: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every option's value for a new run: the user's, else the default for this model/data.

    Raises:
        ConfigError: for a missing --data, an option the model type does not take, or a
            condition without a conditional model.
    """
    from torchlvm.models.registry import RECIPES, recipe_for

    refuse_foreign(model_type, given)
    recipe = recipe_for(model_type)
    s = {**DEFAULTS, **given}
    if "data" not in s:
        raise ConfigError(
            "--data is required (a dataset name, or a .npy, .npz, .csv or .tsv file; "
            ".csv.gz and .tsv.gz too)"
        )
    image = is_image_data(str(s["data"]))  # Bernoulli likelihood + dynamic binarization
    table = _tables.is_table(str(s["data"]))
    if table:
        s = {**DEFAULTS, **TABLE_DEFAULTS, **given}
    if s.get("allow_missing"):  # (images too: the ELBO's validation read their NaN pixels)
        _missing_cells(model_type, s.get("objective"))
        s.setdefault("objective", "miwae")
    if table:
        if s.get("binarize", "none") != "none" and s.get("standardize") is not False:
            raise ConfigError(
                f"--binarize {s['binarize']} draws 0s and 1s from values in [0, 1], and a table "
                "is standardized by default (mean 0, standard deviation 1 per column); pass "
                "--no-standardize as well for a table of values in [0, 1], or model the values "
                "with --likelihood gaussian and no --binarize"
            )
    if not {"likelihood", "binarize"} & set(given) and is_colour_file(str(s["data"])):
        s.update({k: v for k, v in COLOUR_DEFAULTS.items() if k not in given})  # measured there
    s.setdefault("likelihood", "bernoulli" if image else "gaussian")
    s.setdefault("binarize", "dynamic" if image and s["likelihood"] == "bernoulli" else "none")
    s.setdefault("objective", recipe.default_objective)
    s.setdefault("k", 5 if _objective(model_type, s["objective"]).importance_samples else 1)
    s["condition"] = Condition.parse(s.get("condition", "label" if recipe.conditional else "none"))
    if s["condition"].conditional and not recipe.conditional:
        takers = " or ".join(t for t, r in sorted(RECIPES.items()) if r.conditional)
        raise ConfigError(
            f"--condition {s['condition']} needs a conditional model; train a {takers} for it"
        )
    if s["likelihood"] == "bernoulli" and ("variance" in given or "scale" in given):
        raise ConfigError("--variance and --scale apply to --likelihood gaussian only")
    if s["likelihood"] == "bernoulli":  # (no σ: the config's fields keep their defaults)
        s.update(variance="fixed", scale=1.0)
    return s


def _objective(model_type: str, name: str) -> Any:
    """The registered objective ``name``, checked to train ``model_type``.

    Raises:
        ConfigError: for an unknown objective or one that does not train this model type.
    """
    from torchlvm.training import OBJECTIVES, get_objective, objectives_for

    suited = " or ".join(objectives_for(model_type))
    if name not in OBJECTIVES:
        raise ConfigError(f"--objective must be {suited} for a {model_type}, got {name!r}")
    objective = get_objective(name)
    if model_type not in objective.models:
        raise ConfigError(f"--objective {name} does not train a {model_type}; use {suited}")
    return objective


def _missing_cells(model_type: str, objective: str | None) -> None:
    """Refuse --allow-missing where the MIWAE bound, which integrates missing cells out, does
    not train: another model type, or another --objective (whose loss NaN cells would poison).

    Raises:
        ConfigError: naming the flags that train on rows with missing cells.
    """
    from torchlvm.training import get_objective

    takers = " or ".join(sorted(get_objective("miwae").models))
    if model_type not in get_objective("miwae").models:
        raise ConfigError(
            f"--allow-missing trains by the MIWAE bound (which integrates the missing cells "
            f"out), and that trains a {takers} only; train a {takers} for it, or fill the empty "
            "cells first and train on the filled file (torchlvm fit ppca --data FILE "
            "--allow-missing --method em --out RUN, then torchlvm impute RUN --data FILE --out "
            "filled.csv)"
        )
    if objective is not None and objective != "miwae":
        _objective(model_type, objective)  # an unknown name first
        raise ConfigError(
            f"--allow-missing trains by the MIWAE bound, and --objective {objective} needs "
            "complete rows; drop --objective (or pass --objective miwae)"
        )


def train_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`~torchlvm.training.TrainConfig` fields that ``options`` set."""
    return {field: options[name] for name, field in TRAIN_FIELDS.items() if name in options}


def data_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of the run's data record that ``options`` set."""
    return {
        field: convert(options[name])
        for name, (field, convert) in DATA_FIELDS.items()
        if name in options
    }


def changed_setting(model_type: str, given: Mapping[str, Any], record: Mapping[str, Any]):
    """The first passed option whose settings differ from the run ``record``, as a phrase such
    as ``"--latent-dim 8 (the run has 4)"``, or None.

    Each option is turned into the config fields it sets (the model's through its recipe, the
    training config's and the data record's, a table option into the data record's load
    options), which are compared with the recorded ones; the options of
    :data:`RESUME_MAY_CHANGE` are not compared.
    """
    from torchlvm.models.registry import recipe_for

    recipe = recipe_for(model_type)
    for name, value in given.items():
        if name in RESUME_MAY_CHANGE:
            continue
        table_option = _tables.changed_option(name, value, record.get("data") or {})
        if table_option is not None:
            return table_option
        one = {name: value}
        for section, fields in (
            ("model", recipe.fields_from(one)),
            ("training", train_fields(one)),
            ("data", data_fields(one)),
        ):
            recorded = record.get(section) or {}
            for field, new in fields.items():
                old = recorded.get(field)
                if _plain(new) != _plain(old):
                    what = "" if field == name else f"{field} {_plain(new)!r}, "
                    return f"{_flag(name)} {value!r} ({what}the run has {_plain(old)!r})"
    return None


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples as lists), so that a config and its record compare."""
    return list(value) if isinstance(value, tuple) else value
