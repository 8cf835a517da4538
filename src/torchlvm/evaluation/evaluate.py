"""``evaluate``: every metric of a trained model on a dataset split, in one labelled dict.

Sections (each number carries its unit and kind, see :mod:`torchlvm.evaluation._records`):
``protocol`` (what was evaluated, how), ``likelihood`` (:mod:`.likelihood`), ``imputation``
(imputation CVAEs), ``reconstruction`` (:mod:`.reconstruction`), ``latent`` (:mod:`.latent`),
``separability`` (:mod:`.probes`), ``sample_quality`` (:mod:`.features`, :mod:`.frechet`),
``outliers`` (:mod:`.outliers`) and ``seconds`` per section.

What each kind of model gets: a model with a density q (VAE, CVAE, PPCA) gets everything; PPCA
also the exact log p(x); a CVAE conditioned on labels gets log p(x | c) and the conditional
accuracy of its samples; an imputation CVAE (condition ``mask:KIND``) gets log p(x | x_o) and
log p(x_m | x_o); a deterministic autoencoder gets no likelihood (its ELBO is undefined: a point
mass has no density) and is scored for outliers by its reconstruction error instead.

Everything runs in batches (no loop over data points) under ``torch.random.fork_rng`` seeded with
``seed``, so a call is repeatable and leaves the global random state untouched.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm._checks import check_positive_int
from torchlvm.data.binarize import binarize
from torchlvm.data.dataset import Dataset
from torchlvm.distributions.point_mass import PointMass
from torchlvm.errors import ConfigError, DataError, DataNotFoundError
from torchlvm.evaluation import likelihood as lik
from torchlvm.evaluation._batching import map_batches, model_dtype
from torchlvm.evaluation._records import metric, undefined
from torchlvm.evaluation.features import dataset_classifier, sample_quality_note
from torchlvm.evaluation.frechet import frechet_distance
from torchlvm.evaluation.latent import (
    per_example_kl_per_dimension,
    posterior_means,
    summarize_latent,
)
from torchlvm.evaluation.outliers import make_ood_set, outlier_report
from torchlvm.evaluation.probes import probe_accuracies
from torchlvm.evaluation.reconstruction import (
    per_example_reconstruction,
    summarize_reconstruction,
)
from torchlvm.inference import log_marginal_is
from torchlvm.models.conditions import Condition, masked_condition
from torchlvm.protocol import LatentVariableModel

DEFAULT_OOD: tuple[str, ...] = ("noise", "flip", "other", "mnist")
AUTOENCODER_NO_LIKELIHOOD = (
    "undefined for a deterministic autoencoder: its encoder is a point mass with no density, so "
    "the ELBO is −∞ and there is no bound or estimate of log p(x)"
)


@dataclass(frozen=True)
class EvalData:
    """The evaluation set as the model sees it.

    Attributes:
        x: ``(N, D)`` after the binarization protocol (one seeded draw for ``"dynamic"``).
        grey: ``(N, D)`` grey levels (what the sample-quality classifier compares).
        y: ``(N,)`` labels or None. c: ``(N, C)`` conditions or None.
        missing: bool ``(D,)``, True where an imputation model's input is missing, or None.
    """

    x: Tensor
    grey: Tensor
    y: Tensor | None
    c: Tensor | None
    missing: Tensor | None


def conditions_for(
    model: Any,
    x: Tensor,
    y: Tensor | None,
    condition: Condition | str,
    shape: tuple[int, ...],
    seed: int,
) -> tuple[Tensor | None, Tensor | None]:
    """The conditions c ``(N, C)`` of a conditional model and the missing mask ``(D,)``.

    The mask of ``mask:random:<f>`` is drawn with ``seed`` exactly as training drew it; one-hot
    labels have the model's number of classes.
    """
    num_classes = getattr(getattr(model, "config", None), "num_classes", None)
    if num_classes is None and y is not None:
        num_classes = int(y.max()) + 1
    bound = Condition.parse(condition).bind(shape, seed=seed, num_classes=num_classes)
    return bound.build(x, y), bound.missing


def is_deterministic(model: LatentVariableModel, x: Tensor, c: Tensor | None) -> bool:
    """Whether the model's encoder is a point mass (an autoencoder: no density, no ELBO)."""
    with torch.no_grad():
        return isinstance(model.encode(x[:2], None if c is None else c[:2]), PointMass)


@contextmanager
def _timed(seconds: dict[str, float], name: str):
    start = time.perf_counter()
    yield
    seconds[name] = round(time.perf_counter() - start, 3)


def _subsample(data: Dataset, n: int | None, seed: int) -> tuple[Tensor, Tensor, Tensor | None]:
    x = data.fixed_binarized(seed)
    grey, y = data.x, data.y
    if n is not None and n < len(data):
        rows = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
        rows = rows.sort().values
        x, grey, y = x[rows], grey[rows], None if y is None else y[rows]
    return x, grey, y


def evaluate(
    model: LatentVariableModel,
    dataset: Dataset,
    *,
    condition: Condition | str = "none",
    k: int = 5000,
    ks: Sequence[int] = (1, 10, 100),
    chunk: int = 256,
    batch_size: int = 100,
    n: int | None = None,
    seed: int = 0,
    data_seed: int | None = None,
    refine_steps: int = 0,
    refine_lr: float = 0.01,
    val_dataset: Dataset | None = None,
    ood: Sequence[str] = DEFAULT_OOD,
    ood_resize: str = "bilinear",
    ood_k: int = 100,
    data_dir: str | os.PathLike[str] | None = None,
    sample_quality: bool = True,
    separability: bool = True,
    pixel_reference: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``dataset`` and return every metric, labelled.

    Args:
        model: a torchlvm model (VAE, CVAE, autoencoder, PPCA) in eval mode.
        dataset: the split to evaluate (e.g. ``load_dataset(name, "test", binarize=...)``).
        condition: how the model was conditioned: a :class:`Condition` or its text, ``"none"``,
            ``"label"`` or ``"mask:KIND"``.
        k: importance samples of the log p(x) estimate (≥ 1).
        ks: the k of the IWAE bounds reported alongside.
        chunk: importance samples drawn at a time. batch_size: examples per batch.
        n: evaluate a seeded subsample of this many examples; None = all.
        seed: seed of everything random here (subsample, binarization draw, z samples).
        data_seed: the data seed training used (for ``mask:random:*`` masks); default ``seed``.
        refine_steps: T > 0 refines each q(z | x) by T Adam steps on its ELBO before the
            likelihood is computed (semi-amortized inference, Kim et al. 2018).
        refine_lr: step size of that refinement.
        val_dataset: held-out in-distribution data for the typicality score; None skips it.
        ood: OOD sets (see :func:`torchlvm.evaluation.outliers.make_ood_set`); empty skips them.
        ood_resize: ``"none"``, ``"bilinear"`` or ``"area"`` for OOD datasets of another size.
        ood_k: importance samples of the likelihood used as outlier score.
        data_dir: where dataset files are (for the classifier and OOD sets).
        sample_quality, separability: compute those sections.
        pixel_reference: also probe the raw pixels (the same for every model of one dataset).
        progress: show progress bars.

    Returns:
        The metrics dict (JSON-ready).

    Raises:
        ConfigError: for k < 1, n < 1, refine_steps < 0 or an unknown condition.
        DataError: for an OOD dataset of another shape with ``ood_resize="none"``.
    """
    check_positive_int("k", k)
    check_positive_int("ood_k", ood_k)
    if n is not None:
        check_positive_int("n", n)
    if isinstance(refine_steps, bool) or not isinstance(refine_steps, int) or refine_steps < 0:
        raise ConfigError(f"refine_steps must be a non-negative integer, got {refine_steps!r}")
    condition = Condition.parse(condition)
    data_seed = seed if data_seed is None else data_seed
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return _evaluate(
            model,
            dataset,
            condition=condition,
            k=k,
            ks=tuple(ks),
            chunk=chunk,
            batch_size=batch_size,
            n=n,
            seed=seed,
            data_seed=data_seed,
            refine_steps=refine_steps,
            refine_lr=refine_lr,
            val_dataset=val_dataset,
            ood=tuple(ood),
            ood_resize=ood_resize,
            ood_k=ood_k,
            data_dir=data_dir,
            sample_quality=sample_quality,
            separability=separability,
            pixel_reference=pixel_reference,
            progress=progress,
        )


def _evaluate(model: Any, dataset: Dataset, **o: Any) -> dict[str, Any]:
    dtype = model_dtype(model)
    x, grey, y = _subsample(dataset, o["n"], o["seed"])
    x = x.to(dtype)
    c, missing = conditions_for(model, x, y, o["condition"], dataset.shape, o["data_seed"])
    data = EvalData(x, grey, y, c, missing)
    deterministic = is_deterministic(model, x, c)
    ood = _ood_sets(dataset, data, o) if o["ood"] else ([], {})
    if deterministic and o["refine_steps"] > 0:  # it would be skipped without a word
        from torchlvm.inference.refine import encoder_posterior

        encoder_posterior(model, x[:1], None if c is None else c[:1])  # raises, naming why
    seconds: dict[str, float] = {}
    out: dict[str, Any] = {
        "protocol": {
            "data": dataset.name,
            "split": dataset.split,
            "binarize": dataset.binarize,
            "binarize_note": _protocol_note(dataset.binarize),
            "shape": list(dataset.shape),
            "n": len(x),
            "seed": o["seed"],
            "condition": str(o["condition"]),
            "k": o["k"],
            "refine_steps": o["refine_steps"],
        },
        "model": {
            "type": getattr(model, "model_type", type(model).__name__),
            "latent_dim": model.latent_dim,
            "deterministic_encoder": deterministic,
        },
    }
    terms = None
    with _timed(seconds, "likelihood"):
        if deterministic:
            out["likelihood"] = undefined(AUTOENCODER_NO_LIKELIHOOD)
        else:
            out["likelihood"], terms = _likelihood(model, data, dataset.dim, o)
            if data.missing is not None:
                out["imputation"] = lik.missing_part_likelihood(
                    model, x, c, data.missing, k=o["k"], chunk=o["chunk"],
                    batch_size=o["batch_size"], progress=o["progress"],
                )  # fmt: skip
    with _timed(seconds, "reconstruction"):
        values = per_example_reconstruction(
            model, x, c, batch_size=o["batch_size"], progress=o["progress"]
        )
        out["reconstruction"] = summarize_reconstruction(values, dim=dataset.dim)
    with _timed(seconds, "latent"):
        means = posterior_means(model, x, c, batch_size=o["batch_size"], progress=o["progress"])
        kl_dims, factorized = (None, False)
        if not deterministic:
            kl_dims, factorized = per_example_kl_per_dimension(model, x, c)
        out["latent"] = summarize_latent(means, kl_dims, factorized, terms)
    if o["separability"]:
        with _timed(seconds, "separability"):
            out["separability"] = _separability(means, data, o["seed"], o["pixel_reference"])
    if o["sample_quality"]:
        with _timed(seconds, "sample_quality"):
            out["sample_quality"] = _sample_quality(model, dataset, data, deterministic, o)
    if o["ood"]:
        with _timed(seconds, "outliers"):
            out["outliers"] = _outliers(model, dataset, data, deterministic, ood, o)
    out["seconds"] = seconds
    return out


def _protocol_note(protocol: str) -> str:
    return {
        "none": "grey levels, a continuous likelihood",
        "dynamic": "one seeded Bernoulli(intensity) draw of the data (IWAE protocol)",
        "threshold": "pixels > 0.5 set to 1, others 0",
    }[protocol]


def _likelihood(
    model: Any, data: EvalData, dim: int, o: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Tensor]]:
    posterior = None
    if o["refine_steps"] > 0:
        from torchlvm.inference import refine

        def posterior(xb: Tensor, cb: Tensor | None):  # type: ignore[no-redef]
            return refine(model, xb, cb, steps=o["refine_steps"], lr=o["refine_lr"])

    values = lik.per_example_likelihood(
        model,
        data.x,
        data.c,
        k=o["k"],
        ks=o["ks"],
        chunk=o["chunk"],
        batch_size=o["batch_size"],
        posterior=posterior,
        progress=o["progress"],
    )
    what = {"none": "log p(x)", "label": "log p(x | c)"}.get(o["condition"].kind, "log p(x | x_o)")
    summary = lik.summarize_likelihood(values, dim=dim, k=o["k"], ks=o["ks"], what=what)
    if o["refine_steps"] > 0:
        summary["posterior"] = f"encoder q refined by {o['refine_steps']} Adam steps per example"
    return summary, values


def _separability(means: Tensor, data: EvalData, seed: int, pixels: bool) -> dict[str, Any]:
    if data.y is None:
        return undefined("the data has no class labels")
    try:
        out = {
            "latent": probe_accuracies(means, data.y, seed=seed),
            "note": "probes on posterior means E_q[z|x]; 'pixels' is the raw-input reference",
        }
        if pixels:
            out["pixels"] = probe_accuracies(data.x, data.y, seed=seed)
        return out
    except DataError as err:
        return undefined(str(err))


def _generate(model: Any, data: EvalData, condition: Condition, source: str | None) -> Tensor:
    """Decoder means E[x | z] for z ~ p(z [| c]): as many as the evaluation set."""
    n = len(data.x)
    if source is not None:
        return model.sample(n, source=source)
    if not condition.conditional:
        z = model.prior(batch_shape=(n,)).sample()  # (n, K)
        return model.decode(z).mean
    assert data.c is not None
    z = model.prior(data.c).sample()  # (n, K)
    mean = model.decode(z, data.c).mean
    if data.missing is None:
        return mean
    return torch.where(data.missing, mean, data.x)  # the observed part kept, the rest imputed


def _sample_quality(
    model: Any, dataset: Dataset, data: EvalData, deterministic: bool, o: dict[str, Any]
) -> dict[str, Any]:
    if dataset.y is None:
        return undefined("the data has no class labels to train the feature classifier on")
    classifier = dataset_classifier(
        dataset.name, data_dir=o["data_dir"], seed=0, progress=o["progress"]
    )
    note = sample_quality_note(classifier)
    real = classifier.features(data.grey)
    out: dict[str, Any] = {
        "classifier": {
            **classifier.info,
            "test_accuracy": metric(classifier.test_accuracy, "accuracy", "measured"),
        },
        "generated": "decoder means E[x|z], z ~ p(z) (or p(z|c)), as many as evaluated",
    }
    from torchlvm.data import load_dataset

    train = load_dataset(dataset.name, "train", data_dir=o["data_dir"], seed=0)
    rows = torch.randperm(len(train), generator=torch.Generator().manual_seed(o["seed"]))
    other_real = classifier.features(train.x[rows[: len(data.x)]])
    out["frechet_real_reference"] = metric(
        frechet_distance(real, other_real),
        "Fréchet distance",
        "estimate",
        n=len(data.x),
        note=f"{note}: real test vs as many real training images — the floor at this n",
    )
    with torch.no_grad():
        sources = ["standard", "fitted"] if deterministic else [None]
        for source in sources:
            if source == "fitted" and not getattr(model, "is_code_distribution_fitted", False):
                out["frechet_fitted_codes"] = undefined(
                    "the autoencoder's code distribution was not fitted"
                )
                continue
            generated = _generate(model, data, o["condition"], source).float()
            key = {None: "frechet", "standard": "frechet", "fitted": "frechet_fitted_codes"}[source]
            what = {
                None: "prior samples",
                "standard": "decoder fed N(0, I) codes (the autoencoder has no prior)",
                "fitted": "decoder fed codes from a Gaussian fitted to the training codes",
            }[source]
            if data.missing is not None:
                what = "imputations: observed part kept, missing part = decoder mean, z ~ p(z|c)"
            out[key] = metric(
                frechet_distance(real, classifier.features(generated)),
                "Fréchet distance",
                "estimate",
                n=len(data.x),
                note=f"{note}; generated = {what}",
            )
            if o["condition"].kind == "label" and data.y is not None:
                predicted = classifier.predict(generated)
                out["conditional_accuracy"] = metric(
                    float((predicted == data.y).double().mean()),
                    "accuracy",
                    "estimate",
                    n=len(data.y),
                    note="samples generated for class c that the classifier calls c",
                )
    return out


def _prepare(protocol: str, seed: int) -> Callable[[Tensor], Tensor]:
    generator = torch.Generator().manual_seed(seed + 1)

    def prepare(x: Tensor) -> Tensor:
        return binarize(x, protocol, generator=generator) if protocol != "none" else x

    return prepare


def _likelihood_score(model: Any, data: EvalData, o: dict[str, Any]) -> tuple[Callable, str]:
    """−log p(x) per example for OOD scoring, and what it is."""
    k, chunk, bs = o["ood_k"], o["chunk"], o["batch_size"]
    dtype = model_dtype(model)
    condition = o["condition"]

    def is_score(x: Tensor, c_of: Callable[[Tensor], Tensor | None]) -> Tensor:
        def batch(xb: Tensor, _: Tensor | None) -> dict[str, Tensor]:
            estimate = log_marginal_is(model, xb, c_of(xb), num_samples=k, chunk=chunk)
            return {"s": -estimate.mean}

        return map_batches(batch, x.to(dtype), batch_size=bs, desc="ood", progress=o["progress"])[
            "s"
        ]

    if condition.kind == "none":
        return (lambda x: is_score(x, lambda xb: None)), f"−log p(x), importance-sampled, k={k}"
    if condition.kind == "label":
        classes = model.config.num_classes

        def mixture(x: Tensor) -> Tensor:
            per_class = torch.stack(
                [
                    -is_score(x, lambda xb, j=j: model.condition_from_labels(
                        torch.full((len(xb),), j, dtype=torch.long)))
                    for j in range(classes)
                ]
            )  # fmt: skip
            return -(torch.logsumexp(per_class, 0) - math.log(classes))

        return mixture, (
            f"−log p(x) = −log (1/C) Σ_c p(x | c), labels unknown for OOD data; each "
            f"p(x | c) importance-sampled, k={k}"
        )
    observed = ~data.missing  # type: ignore[operator]
    return (
        lambda x: is_score(x, lambda xb: masked_condition(xb, observed)),
        f"−log p(x | x_o), importance-sampled, k={k}",
    )


def _ood_sets(dataset: Dataset, data: EvalData, o: dict[str, Any]) -> tuple[list, dict]:
    """Build the OOD sets up front, so a bad one fails before minutes of other metrics."""
    sets, skipped = [], {}
    for name in o["ood"]:
        try:
            sets.append(
                make_ood_set(
                    name,
                    Dataset(data.grey, data.y, dataset.name, dataset.split, dataset.shape,
                            dataset.num_classes, dataset.class_names, "none"),
                    n=len(data.x),
                    seed=o["seed"],
                    resize=o["ood_resize"],
                    data_dir=o["data_dir"],
                )
            )  # fmt: skip
        except DataNotFoundError as err:
            skipped[name] = f"not available: {err}"
        except ConfigError as err:
            if name == "mnist" or name == "other":
                skipped[name] = str(err)
            else:
                raise
    return sets, skipped


def _outliers(
    model: Any,
    dataset: Dataset,
    data: EvalData,
    deterministic: bool,
    ood: tuple[list, dict],
    o: dict[str, Any],
) -> dict[str, Any]:
    prepare = _prepare(dataset.binarize, o["seed"])
    sets, skipped = ood
    if deterministic:
        if data.c is not None:
            return undefined("outlier scores for conditional autoencoders are not implemented")

        def score(x: Tensor) -> Tensor:
            return per_example_reconstruction(model, x.to(model_dtype(model)))["sq_error"]

        name = "squared reconstruction error (an autoencoder has no likelihood)"
        is_likelihood = False
    else:
        score, name = _likelihood_score(model, data, o)
        is_likelihood = True
    val = None
    if o["val_dataset"] is not None and is_likelihood:
        val, _, _ = _subsample(o["val_dataset"], len(data.x), o["seed"])
    report = outlier_report(
        score, data.x, val, sets, prepare=prepare, score_name=name, likelihood=is_likelihood
    )
    if skipped:
        report["skipped"] = skipped
    if val is None and is_likelihood:
        report["typicality_description"] = "not computed: no validation split was given"
    return report
