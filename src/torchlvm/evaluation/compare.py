"""Autoencoders vs VAEs, measured: an autoencoder, a VAE, a β-VAE (β = 4) and a CVAE, trained
with the same budget (data, architecture, latent size, epochs, batch size, learning rate, seed),
scored on three rows, each a question with a measured answer:

- **interpretability** (does each latent dimension follow one known factor?): the mutual
  information gap (MIG, Chen et al. 2018; :mod:`.disentanglement`) of the posterior means
  against the known factors of the ``shapes`` dataset (:mod:`torchlvm.data.factors`: x
  position, y position, size). The four models are trained on ``shapes`` for this row (the same
  models when ``shapes`` is the selected data). The CVAE is conditioned on the size class there,
  so its MIG is over the two position factors only.
- **separability** (can a linear probe read the class off the code?): cross-validated accuracy
  of a logistic-regression probe and of 5-NN on the posterior means of the selected data's
  test split (:mod:`.probes`), raw pixels as reference.
- **generation** (do samples look like the data?): the Fréchet distance between test images
  and as many generated images in the features of torchlvm's classifier for the dataset
  (:mod:`.features`); the autoencoder, having no prior, is fed N(0, I) codes (what sampling it
  like a VAE means), with the fitted-Gaussian codes reported alongside; and the
  importance-sampled log p(x) (for the CVAE log p(x | c), and log p(x) = log Σ_c π_c p(x | c)
  over its classes, which ranks against the VAE's) where a likelihood is defined.

The common wisdom is that an autoencoder's latent space is not interpretable, does not separate
classes and does not generate, and that a VAE fixes that. The table reports what the measurement
gives, and a line per row says which of the AE and the VAE is better there, or that the
difference is within its noise.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from torchlvm._checks import check_positive_int
from torchlvm._epochs import epochs
from torchlvm.data.pixels import COLOUR_DEFAULTS, is_colour_file, is_image_data
from torchlvm.errors import ConfigError, DataError, spelled
from torchlvm.evaluation.config import EvalConfig
from torchlvm.evaluation.disentanglement import BOOTSTRAP, mutual_information_gap
from torchlvm.evaluation.eval_data import conditions_for
from torchlvm.evaluation.evaluate import evaluate
from torchlvm.evaluation.latent import posterior_means
from torchlvm.evaluation.records import (
    Evaluation,
    Likelihood,
    Quantity,
    SampleQuality,
    Separability,
    Undefined,
)
from torchlvm.models.conditions import Condition
from torchlvm.report.metrics import format_measured

SHAPES = "shapes"


@dataclass(frozen=True)
class Contender:
    """One column of the table.

    Attributes:
        key: folder name. label: column title. model_type: ``"ae"``, ``"vae"`` or ``"cvae"``.
        beta: KL weight of the training objective.
    """

    key: str
    label: str
    model_type: str
    beta: float = 1.0


CONTENDERS: tuple[Contender, ...] = (
    Contender("ae", "AE", "ae"),
    Contender("vae", "VAE", "vae"),
    Contender("beta-vae", "β-VAE (β=4)", "vae", beta=4.0),
    Contender("cvae", "CVAE", "cvae"),
)


@dataclass(frozen=True)
class Budget:
    """What every contender gets, identically."""

    epochs: int = 20  # training epochs
    latent_dim: int = 10  # K
    hidden: tuple[int, ...] = (256,)  # encoder widths; the decoder mirrors them
    batch_size: int = 128  # examples per step
    lr: float = 1e-3  # Adam's learning rate
    seed: int = 0  # seed of the split, initialization and training order

    def __post_init__(self) -> None:
        check_positive_int("epochs", self.epochs)
        check_positive_int("latent_dim", self.latent_dim)
        check_positive_int("batch_size", self.batch_size)


def _data_protocol(name: str) -> tuple[dict[str, Any], str]:
    """(likelihood options, binarize) for a dataset, as ``train`` takes them: Bernoulli on
    binary or binarized grey images, a colour file's measured defaults
    (:data:`~torchlvm.data.pixels.COLOUR_DEFAULTS`), else a Gaussian."""
    if is_image_data(name):
        if is_colour_file(name):
            return dict(COLOUR_DEFAULTS), "none"
        return {"likelihood": "bernoulli"}, "dynamic"
    if name == SHAPES:
        return {"likelihood": "bernoulli"}, "none"  # pixels are exactly 0 or 1
    return {"likelihood": "gaussian"}, "none"


def _condition(contender: Contender) -> Condition:
    """A conditional contender is conditioned on the class (the size class on ``shapes``)."""
    from torchlvm.models.registry import recipe_for

    return Condition("label" if recipe_for(contender.model_type).conditional else "none")


def _contender_run(
    contender: Contender, data: str, budget: Budget, data_dir: str | os.PathLike[str] | None
) -> tuple[torch.nn.Module, Any, Any]:
    """The untrained model, the data module and the training config of one contender."""
    import lightning as L

    from torchlvm.models.registry import model_class, recipe_for
    from torchlvm.training import LVMDataModule, TrainConfig

    recipe = recipe_for(contender.model_type)
    likelihood, protocol = _data_protocol(data)
    dm = LVMDataModule(
        data,
        data_dir=data_dir,
        binarize=protocol,
        seed=budget.seed,
        batch_size=budget.batch_size,
        condition=_condition(contender),
    )
    dm.setup("fit")
    options = {"latent_dim": budget.latent_dim, "hidden": budget.hidden, **likelihood}
    L.seed_everything(budget.seed, verbose=False)
    cls = model_class(contender.model_type)
    model: torch.nn.Module = cls.from_config(recipe.config(cls, options, dm.facts()))
    objective = recipe.default_objective
    config = TrainConfig(
        objective=objective,
        beta=contender.beta,
        lr=budget.lr,
        batch_size=budget.batch_size,
        max_epochs=budget.epochs,
        seed=budget.seed,
    )
    return model, dm, config


def train_contender(
    contender: Contender,
    data: str,
    folder: Path,
    budget: Budget,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    device: torch.device | str = "cpu",
) -> torch.nn.Module:
    """Train one contender on ``data`` with ``budget`` into the run folder ``folder``, on
    ``device``. The run is built in its staging folder under the run's lock, as ``torchlvm
    train`` builds one, so that a concurrent ``train`` into ``folder`` is refused, and published
    when finished.

    Raises:
        RunBusyError: if another process trains a run into ``folder``.
        RunDirectoryError: if ``folder`` is not free for a new run
            (:func:`torchlvm.run.check_new_target`); for one that holds a run, or the finished
            epochs of an interrupted one in its staging folder, the message names ``--reuse``.
    """
    from torchlvm._device import lightning_accelerator
    from torchlvm.run import staged_run
    from torchlvm.run.publish import Refusals
    from torchlvm.training import fit

    refusals = Refusals(
        taken="{out} already holds a run; pass --reuse to use the finished runs there, or "
        "choose another --out",
        interrupted="an interrupted run of {out} is in {stage}; finish it with 'torchlvm train "
        f"{contender.model_type} --resume --out {{out}}' and pass --reuse, or choose another --out",
    )
    with staged_run(folder, resumable=False, refusals=refusals) as stage:
        model, dm, config = _contender_run(contender, data, budget, data_dir)
        extra = {"compare": {"contender": asdict(contender), "budget": asdict(budget)}}
        accelerator = lightning_accelerator(device)
        caught: list[warnings.WarningMessage] = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                fit(
                    model,
                    dm,
                    config,
                    stage.folder,
                    progress=progress,
                    extra_config=extra,
                    accelerator=accelerator,
                )
        finally:  # (those of a fit that raised too)
            for warning in caught:
                _warn_of(contender, data, folder, warning.message)
    return model.eval()


def _warn_of(contender: Contender, data: str, folder: Path, message: Warning | str) -> None:
    """Warn ``message``, raised while ``contender`` trained on ``data`` into ``folder``, led by
    which model it is of: of the eight models compare trains, 'no latent dimension is active'
    named none (it was the β-VAE's on digits, at 5 epochs)."""
    who = f"the {contender.label} trained on {data} ({folder})"
    category = type(message) if isinstance(message, Warning) else UserWarning
    try:
        led = category(f"{who}: {message}")
    except TypeError:  # (a warning class that takes other arguments)
        led = UserWarning(f"{who}: {message}")
    said = _options_compare_takes(str(getattr(message, "on_command_line", message)), contender)
    led.on_command_line = f"{who}: {said}"  # type: ignore[attr-defined]
    warnings.warn(led, stacklevel=3)


#: options of ``torchlvm train`` that a contender's warnings may name as a fix (a collapsed
#: posterior's: :func:`~torchlvm.training.collapse.collapse_fixes`) and compare does not take
NOT_COMPARES = ("--beta", "--scale")


def _options_compare_takes(text: str, contender: Contender) -> str:
    """``text``, a warning as the command line words it, with each option of ``torchlvm train``
    that compare does not take (:data:`NOT_COMPARES`) said to be train's: compare's collapse
    warning offered 'a smaller --beta', which compare refuses (its β is each model's own)."""
    import re

    for flag in NOT_COMPARES:
        why = f"compare takes no {flag}"
        if flag == "--beta":
            why += f": it trains this model at β = {contender.beta:g}"
        train = f"{flag} of 'torchlvm train {contender.model_type}' ({why})"
        text = re.sub(rf"{flag}(?![\w-])", lambda _, said=train: said, text)
    return text


def obtain(
    contender: Contender, data: str, folder: Path, budget: Budget, *, reuse: bool, **options: Any
) -> tuple[torch.nn.Module, bool]:
    """The contender's model, on ``options["device"]`` (the CPU by default): read from
    ``folder`` when ``reuse`` and it is there, else trained by :func:`train_contender` with
    ``options`` (``data_dir``, ``progress``, ``device``).

    Returns:
        The model and whether it was trained now.

    Raises:
        RunDirectoryError: when ``folder`` already holds a run and ``reuse`` is False, or the
            staging folder of ``folder`` holds the finished epochs of an interrupted run.
        RunBusyError: when another process trains a run into ``folder``.
    """
    from torchlvm.io import load

    if reuse and _finished(folder):
        _check_budget(folder, budget)
        return load(folder).to(options.get("device", "cpu")), False
    model = train_contender(contender, data, folder, budget, **options)
    return model.to(options.get("device", "cpu")), True


def _finished(folder: Path) -> bool:
    """Whether ``folder`` holds a finished run that ``--reuse`` reads (its config and model)."""
    return (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def finished_runs(out_dir: str | os.PathLike[str], data: str) -> list[Path]:
    """The contenders' run folders under ``out_dir`` that hold a finished run, which
    ``reuse=True`` (``--reuse``) reads instead of training again: of ``data``, then of the
    shapes dataset, in :data:`CONTENDERS`' order."""
    folders = dict.fromkeys((Path(out_dir) / data, Path(out_dir) / SHAPES))
    return [
        folder / contender.key
        for folder in folders
        for contender in CONTENDERS
        if _finished(folder / contender.key)
    ]


def _check_budget(folder: Path, budget: Budget) -> None:
    """Refuse to reuse the run in ``folder`` where it was trained with another budget than
    ``budget`` (its config.json's model and training sections): ``--reuse`` with other flags
    wrote the flags' budget above numbers of models trained otherwise (userM #16).

    Raises:
        ConfigError: naming each setting the run was trained with and the one asked for.
    """
    from torchlvm.run.record import read_record

    record = read_record(folder)
    model, training = record.get("model") or {}, record.get("training") or {}
    trained = {
        "epochs": training.get("max_epochs"), "latent_dim": model.get("latent_dim"),
        "hidden": tuple(model.get("hidden") or ()), "batch_size": training.get("batch_size"),
        "lr": training.get("lr"), "seed": training.get("seed"),
    }  # fmt: skip
    asked = {**asdict(budget), "hidden": tuple(budget.hidden)}
    differ = [key for key, value in trained.items() if value is not None and value != asked[key]]
    if differ:
        raise spelled(ConfigError, lambda spell: (
            f"{folder} was trained with "
            + ", ".join(spell(key, _flag_value(trained[key])) for key in differ)
            + ", not the "
            + ", ".join(spell(key, _flag_value(asked[key])) for key in differ)
            + " asked; pass those to reuse its runs, or choose another --out for a new budget"
        ))  # fmt: skip


def _flag_value(value: Any) -> Any:
    """A budget's value as its flag takes it: the hidden widths as a list."""
    return list(value) if isinstance(value, tuple) else value


def interpretability(model: Any, contender: Contender, seed: int) -> dict[str, Any]:
    """MIG of ``model``'s posterior means on all ``shapes`` examples.

    All of them (4,000), not the test split: the plug-in mutual information is biased upward by
    about (bins − 1)(levels − 1) / 2N nats, 0.26 nats at the test split's N = 400 against
    log 12 = 2.48 nats for a position factor, 0.03 at N = 4,000. MIG measures the representation,
    not generalization, so the training examples serve.
    """
    import torchlvm.data.factors  # noqa: F401  (registers "shapes")
    from torchlvm.data import load_dataset
    from torchlvm.data.factors import factors_of

    data = load_dataset(SHAPES, "all", seed=seed)
    condition = _condition(contender)
    c, _ = conditions_for(model, data.x, data.y, condition, data.shape, seed)
    means = posterior_means(model, data.x, c)
    factors = factors_of(data)
    if condition.conditional:
        factors.pop("size")  # given to the CVAE as its condition
    result = mutual_information_gap(means, factors)
    result["factors"] = sorted(factors)
    return result


def compare(
    data: str,
    out_dir: str | os.PathLike[str],
    *,
    budget: Budget = Budget(),
    reuse: bool = False,
    k: int = 1000,
    n: int | None = 2000,
    data_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    device: torch.device | str = "cpu",
) -> dict[str, Any]:
    """Train (or reuse) the four contenders, evaluate them and build the comparison.

    Args:
        data: the dataset for separability and generation (e.g. ``"digits"``).
        out_dir: runs go to ``out_dir/<data>/<key>`` and ``out_dir/shapes/<key>``.
        budget: the shared training budget. reuse: use finished runs already in ``out_dir``.
        k: importance samples of log p(x). n: evaluate at most this many test examples.
        data_dir: where the dataset's files are. progress: progress bars and training output.
        device: where the models train and are evaluated (``"cuda"``: a GPU).

    Returns:
        ``{"data", "budget", "protocol", "models": {key: {...}}, "table": {...}, "verdicts"}``.
    """
    import torchlvm.data.factors  # noqa: F401  (registers "shapes")
    from torchlvm.data import load_dataset
    from torchlvm.data.save_lines import labels_fix

    out_dir = Path(out_dir)
    check_positive_int("k", k)
    _, protocol = _data_protocol(data)
    test = load_dataset(data, "test", data_dir=data_dir, binarize=protocol, seed=budget.seed)
    if test.num_classes is None:  # before any training: six runs were trained, then refused
        fix = labels_fix(data) or "pass a dataset with class labels"
        raise DataError(
            f"compare needs class labels (its CVAE conditions on them and its separability "
            f"probes read them), and {data} has none; {fix}, or compare on a labelled dataset "
            "(--data digits)"
        )
    if reuse:  # every finished run first: none trained with this budget beside one that was not
        for folder in (out_dir / data, out_dir / SHAPES):
            for contender in CONTENDERS:
                if (folder / contender.key / "config.json").is_file():
                    _check_budget(folder / contender.key, budget)
    models: dict[str, Any] = {}
    for contender in CONTENDERS:
        model, trained = obtain(
            contender, data, out_dir / data / contender.key, budget,
            reuse=reuse, data_dir=data_dir, progress=progress, device=device,
        )  # fmt: skip
        settings = EvalConfig(
            condition=_condition(contender), k=k, n=n, seed=budget.seed, ood=(), data_dir=data_dir,
            pixel_reference=not models, progress=progress,
        )  # fmt: skip
        metrics = evaluate(model, test, settings)
        shapes_model, shapes_trained = model, trained
        if data != SHAPES:
            shapes_model, shapes_trained = obtain(
                contender, SHAPES, out_dir / SHAPES / contender.key, budget,
                reuse=reuse, progress=progress, device=device,
            )  # fmt: skip
        models[contender.key] = {
            "label": contender.label,
            "model_type": contender.model_type,
            "beta": contender.beta,
            "trained_now": trained,
            "shapes_trained_now": shapes_trained,
            "metrics": metrics.to_json(),
            "interpretability": interpretability(shapes_model, contender, budget.seed),
        }
    table = _table(models)
    return {
        "data": data,
        "budget": asdict(budget),
        "protocol": {
            "data": data,
            "binarize": protocol,
            "k": k,
            "n": n,
            "interpretability_data": SHAPES,
            "note": (
                "same budget for every model; MIG on the shapes factors dataset (CVAE: over "
                "the position factors, size being its condition); generation of the AE from "
                "N(0, I) codes"
            ),
        },
        "models": models,
        "table": table,
        "verdicts": _verdicts(models),
    }


def _value(q: Quantity | None) -> Any:
    return None if q is None else q.value


def _probe(m: Evaluation, field: str = "value", where: str = "latent") -> Any:
    """A field of the logistic probe on the posterior means (or the raw pixels), or None."""
    sep = m.separability
    probes = getattr(sep, where, None) if isinstance(sep, Separability) else None
    logistic = None if probes is None else probes.logistic
    return None if logistic is None else getattr(logistic, field)


def _chance(m: Evaluation) -> float | None:
    """The probes' chance accuracy (always the most frequent class), or None."""
    sep = m.separability
    return _value(sep.chance) if isinstance(sep, Separability) else None


def _quality(m: Evaluation, name: str) -> Any:
    """The value of a sample-quality quantity, or None."""
    quality = m.sample_quality
    return _value(getattr(quality, name)) if isinstance(quality, SampleQuality) else None


def _generation(m: Evaluation, autoencoder: bool) -> str:
    fd = _quality(m, "frechet")
    cell = "FD n/a" if fd is None else f"FD {fd:.1f}"
    if autoencoder:
        fitted = _quality(m, "frechet_fitted_codes")
        cell += " (N(0,I) codes)"
        if fitted is not None:
            cell += f"; FD {fitted:.1f} (fitted-Gaussian codes)"
        return cell + "; log p(x) undefined"
    like = m.likelihood
    best = like.best() if isinstance(like, Likelihood) else None
    if best is not None:  # (exact where the model has it: PPCA)
        log_px = best[1].nats
        how = "exact" if best[0] == "exact" else f"IS, k={log_px.k}"
        cell += f"; {like.quantity} {log_px.value:.2f} nats ({how})"
    over = like.over_classes if isinstance(like, Likelihood) else None
    if over is not None and over.nats.number is not None:  # (the CVAE's, of x alone: userU #3)
        over_k = f"IS, k={over.nats.k} per class"
        cell += f"; log p(x) over the classes {over.nats.value:.2f} nats ({over_k})"
    accuracy = _quality(m, "conditional_accuracy")
    if accuracy is not None:
        cell += f"; conditional accuracy {accuracy:.3f}"
    return cell


def _table(models: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Rows interpretability / separability / generation, a measured cell per model."""
    rows: dict[str, dict[str, str]] = {"interpretability": {}, "separability": {}, "generation": {}}
    for key, entry in models.items():
        m, label = Evaluation.from_json(entry["metrics"]), entry["label"]
        mig = entry["interpretability"]["mig"]  # (no stderr in a record from before cc4b1c1)
        rows["interpretability"][label] = "MIG " + format_measured(mig["value"], mig.get("stderr"))
        logistic = _probe(m)
        rows["separability"][label] = (
            _not_measured(m) if logistic is None else _probes_cell(m.separability.latent)
        ) + (GIVEN_CLASS if logistic is not None and m.protocol.condition == "label" else "")
        rows["generation"][label] = _generation(m, key == "ae")
    return rows


GIVEN_CLASS = " (codes of q(z|x,c), given the class: how much of it they keep)"
"""A conditional model's separability cell: its encoder is given each example's class, so a
probe reads back the class it was handed, not structure found in x (userB: the CVAE ranked
most separable, above raw pixels, with no word)."""


_CVAE_PROBE = (
    " The CVAE's encoder q(z|x,c) is given each example's class, so its probe reads back the "
    "class it was handed (a CVAE aims to keep none), not structure found in x."
)


def _probes_cell(probes: Any) -> str:
    """``logistic 0.620 ± 0.022 / 5-NN 0.560 ± 0.019``: each accuracy with the standard error
    compare.png draws (userH #16: the cells gave none)."""

    def shown(q: Any) -> str:
        return "n/a" if q is None or q.value is None else format_measured(q.value, q.stderr)

    return f"logistic {shown(probes.logistic)} / 5-NN {shown(probes.knn)}"


def _not_measured(m: Evaluation) -> str:
    """The separability cell of a model without probes: why (the evaluation's reason up to its
    suggested fix, e.g. too few examples of a class at this --n), not a guess."""
    sep = m.separability
    reason = sep.reason.split("; ")[0] if isinstance(sep, Undefined) else "not measured"
    return f"n/a ({reason})"


def _verdicts(models: dict[str, Any]) -> dict[str, str]:
    """Per row: is the VAE better than the AE, the AE better, or no clear difference?

    A difference counts only when it exceeds its noise: for the probes twice the combined
    cross-validation standard error; for MIG twice the combined bootstrap standard error; for the
    Fréchet distance the real-vs-real distance at the same n (a reference: mostly its bias).
    """
    ae, vae = (Evaluation.from_json(models[key]["metrics"]) for key in ("ae", "vae"))
    mig = {key: models[key]["interpretability"]["mig"] for key in ("ae", "vae")}

    def twice_combined(se: list[Any]) -> float:
        return 2 * (sum(s**2 for s in se if s is not None) ** 0.5)

    def line(
        name: str, a: Any, v: Any, higher_better: bool, noise: float, why: str, digits: int = 3
    ) -> str:
        if a is None or v is None:
            return f"{name}: not measurable here"
        head = f"{name}: AE {a:.{digits}f} vs VAE {v:.{digits}f}"
        if abs(v - a) <= noise:
            return f"{head} — no clear difference ({why} {noise:.{digits}f})"
        better = v > a if higher_better else v < a
        return f"{head} — the {'VAE' if better else 'AE'} is better here"

    probe_noise = twice_combined([_probe(ae, "stderr"), _probe(vae, "stderr")])
    floor = _quality(vae, "frechet_real_reference") or 0.0
    within_floor = "|difference| within the real-vs-real distance at this n,"
    vae_fd = _quality(vae, "frechet")
    # digits: as the table's, since its floor, the noise, is whole units (4.8 on digits)
    generation = line(
        "Fréchet distance of samples (lower = better; the AE fed N(0, I) codes)",
        _quality(ae, "frechet"), vae_fd, False, floor, within_floor, digits=1,
    )  # fmt: skip
    fitted = _quality(ae, "frechet_fitted_codes")  # what `sample` draws from an AE by default
    if fitted is not None:
        generation += "; " + line(
            "the AE fed codes from a Gaussian fitted to its training codes",
            fitted, vae_fd, False, floor, within_floor, digits=1,
        )  # fmt: skip
    return {
        "interpretability": line(
            "MIG (higher = more disentangled)",
            mig["ae"]["value"],
            mig["vae"]["value"],
            True,
            twice_combined([mig["ae"].get("stderr"), mig["vae"].get("stderr")]),
            "|difference| within 2 bootstrap standard errors,",
        ),
        "separability": line(
            "logistic probe accuracy",
            _probe(ae),
            _probe(vae),
            True,
            probe_noise,
            "|difference| within 2 standard errors,",
        ),
        "generation": generation,
    }


def comparison_markdown(result: dict[str, Any]) -> str:
    """``compare.md``: the table, what each cell is, the verdicts and the budget."""
    table = result["table"]
    labels = list(next(iter(table.values())))
    lines = [
        f"# Autoencoders vs VAEs on {result['data']}: interpretability, separability, generation",
        "",
        "| | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for row, cells in table.items():
        escaped = [cells[label].replace("|", "\\|") for label in labels]  # "p(x | c)" in a cell
        lines.append(f"| **{row}** | " + " | ".join(escaped) + " |")
    b, p = result["budget"], result["protocol"]
    ae = result["models"]["ae"]["metrics"]
    pixels = _probe(Evaluation.from_json(ae), where="pixels")
    chance = _chance(Evaluation.from_json(ae))
    floors = [
        _quality(Evaluation.from_json(entry["metrics"]), "frechet_real_reference")
        for entry in result["models"].values()
    ]
    floor = next((f for f in floors if f is not None), None)  # compare.png's reference
    shape = ae.get("protocol", {}).get("shape", [1, 1, 1])
    # two-moons or a file of rows: points, not images, and their raw inputs are not pixels
    images, raw = ("images", "raw pixels") if len(shape) == 3 else ("examples", "raw inputs")
    lines += [
        "",
        "What the cells are:",
        "",
        "- interpretability (does each latent dimension follow one known factor?): mutual "
        "information gap (Chen et al. 2018; 0 = entangled, 1 = one latent per factor) of the "
        "posterior means of all 4,000 `shapes` images, each model trained on `shapes` with the "
        "same budget, ± its bootstrap standard error "
        f"({BOOTSTRAP} resamples of the images); the CVAE is conditioned on the size class, "
        "so its MIG is over the two position factors.",
        "- separability (can a linear probe read the class off the code?): "
        f"5-fold cross-validated accuracy on the posterior means of "
        f"{result['data']} test {images} (logistic regression / 5-nearest neighbours)"
        + (f"; {raw} give {pixels:.3f} (logistic)" if pixels is not None else "")
        + (f"; always answering the most frequent class, {chance:.3f} (chance)" if chance else "")
        + "."
        + (_CVAE_PROBE if "cvae" in result.get("models", {}) else ""),
        "- generation (do samples look like the data?): Fréchet distance (FD, lower is better) "
        f"between test {images} and as many generated {images} in the features of torchlvm's "
        "classifier for the dataset; the AE has no prior and is fed N(0, I) codes; log p(x) is "
        "importance-sampled (the CVAE's is log p(x | c)), undefined for the deterministic AE"
        + (f"; real vs real {images} at this n give {floor:.1f} (a reference)." if floor else "."),
        "",
        "AE or VAE, row by row (a difference within its noise is called no clear difference):",
        "",
        *[f"- {line}" for line in result["verdicts"].values()],
        "",
        f"Budget (identical for all): {epochs(b['epochs'])}, latent size {b['latent_dim']}, "
        f"hidden {tuple(b['hidden'])}, batch {b['batch_size']}, lr {b['lr']}, seed {b['seed']}. "
        f"Data protocol: binarize={p['binarize']}; evaluation n={p['n']}, k={p['k']}.",
        "",
    ]
    return "\n".join(lines)
