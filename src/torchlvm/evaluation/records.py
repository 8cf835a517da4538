"""The evaluation record: one schema for ``metrics.json``, written by ``evaluate`` and read by the
CLI table, the HTML report and ``compare``.

Every number is a :class:`Quantity`: a value with its ``unit``, its ``kind`` (``"exact"``,
``"bound"`` — a lower bound on the quantity named —, ``"estimate"`` — stochastic —,
``"measured"`` or ``"undefined"``) and, where they apply, the samples ``k``, the Monte Carlo
``stderr``, the spread over examples ``data_stderr`` and the effective sample size ``ess``
(DESIGN.md, "What done looks like for a result"). A likelihood is a :class:`Pair` (nats per
example and bits per dimension). Sections are small frozen dataclasses; a section that does not
exist for a model is :class:`Undefined`, with the reason.

``to_json()`` writes the JSON that ``metrics.json`` has always held (readers of earlier files keep
working); ``Evaluation.from_json`` reads any JSON, including files of earlier versions (a flat
quantity where a pair is now, the flat keys that ``torchlvm fit`` writes) and damaged ones: what
it cannot read is left ``None``, never an exception, so a report always renders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["exact", "bound", "estimate", "measured", "undefined"]
_LABELS = ("k", "stderr", "data_stderr", "ess")  # the labels a Quantity names as fields
_NOT_EXTRA = ("value", "unit", "kind", *_LABELS, "note")


def example_noun(table: bool) -> str:
    """What one data point is called in every unit and label of a run: a ``"row"`` of a table
    (a run whose data record holds a ``table``), else an ``"example"``. The one place the
    per-data-point units are named: metrics.json, the report and the CLI all take them from
    here (``"nats/row"``, ``"squared error/row"``, ...)."""
    return "row" if table else "example"


def nats_per(table: bool) -> str:
    """The unit of a likelihood per data point: ``"nats/row"`` for a table, else
    ``"nats/example"``."""
    return f"nats/{example_noun(table)}"


def table_units(standardized: bool) -> str:
    """Which values a table's numbers are of: the one place that says it for the likelihood,
    the observed-cell likelihood and the reconstruction error (metrics.json, the report, the
    CLI) and ``torchlvm fit``'s summary. A standardized run's densities are of the standardized
    columns (log p(x') = log p(x) + Σ_j log scale_j), not of the file's values."""
    return "in the run's standardized units" if standardized else "in the data's units"


def complete_rows(n: int, rows: int) -> str:
    """What the full-row sections of a split with missing cells cover: its ``n`` complete rows
    of ``rows``; every row's observed cells are in ``observed_likelihood``."""
    every = "the observed-cell likelihood covers every row"
    return f"on the {n} complete rows of {rows} only ({every})"


def _number(x: Any) -> float | None:
    """``x`` as a finite float, else None (booleans are not numbers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


def _int(x: Any) -> int | None:
    return x if isinstance(x, int) and not isinstance(x, bool) else None


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _dict(x: Any) -> dict[str, Any]:
    return x if isinstance(x, dict) else {}


def is_quantity(x: Any) -> bool:
    """A dict with a scalar (or list of numbers) ``"value"``: ``{"value": -93.4, "unit": ...}``."""
    if not isinstance(x, dict) or "value" not in x:
        return False
    value = x["value"]
    if isinstance(value, list):
        return all(_number(v) is not None or isinstance(v, float) for v in value)
    return not isinstance(value, dict)


@dataclass(frozen=True)
class Quantity:
    """One labelled number (or list of numbers, e.g. per latent dimension)."""

    value: Any  # a number, a list of numbers, or None when undefined
    unit: str | None = None  # what it counts: "nats/example", "bits/dim", "accuracy", ...
    kind: Kind = "measured"  # how it was obtained
    k: int | None = None  # samples per example behind it
    stderr: float | None = None  # Monte Carlo standard error of value
    data_stderr: float | None = None  # spread over examples / sqrt(n)
    ess: float | None = None  # mean effective sample size of the importance weights
    note: str | None = None  # one sentence on what it is
    extra: Mapping[str, Any] = field(default_factory=dict)  # threshold, folds, n, chance, ...

    @property
    def number(self) -> float | None:
        """The value as a finite float, or None (undefined, a list, NaN or ±∞)."""
        return _number(self.value)

    @property
    def defined(self) -> bool:
        return self.kind != "undefined"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value}
        if self.unit is not None:
            out["unit"] = self.unit
        out["kind"] = self.kind
        for key in _LABELS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out.update(self.extra)
        if self.note is not None:
            out["note"] = self.note
        return out

    @classmethod
    def from_json(cls, x: Any) -> Quantity | None:
        """The quantity in ``x``, or None if ``x`` is not one."""
        if not is_quantity(x):
            return None
        kind = x.get("kind")
        return cls(
            value=x["value"],
            unit=_str(x.get("unit")),
            kind=kind
            if kind in ("exact", "bound", "estimate", "measured", "undefined")
            else "measured",
            k=_int(x.get("k")),
            stderr=_number(x.get("stderr")),
            data_stderr=_number(x.get("data_stderr")),
            ess=_number(x.get("ess")),
            note=_str(x.get("note")),
            extra={key: v for key, v in x.items() if key not in _NOT_EXTRA},
        )


@dataclass(frozen=True)
class Undefined:
    """A section or number that does not exist for this model, and why."""

    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"value": None, "kind": "undefined", "note": self.reason}

    @classmethod
    def from_json(cls, x: Any) -> Undefined | None:
        if isinstance(x, dict) and x.get("kind") == "undefined":
            return cls(_str(x.get("note")) or "undefined for this model")
        return None


def _q(x: Any, key: str) -> Quantity | None:
    return Quantity.from_json(_dict(x).get(key))


@dataclass(frozen=True)
class Pair:
    """A likelihood in nats per example with its twin in bits per dimension."""

    nats: Quantity
    bits_per_dim: Quantity | None = None

    def to_json(self) -> dict[str, Any]:
        if self.bits_per_dim is None:
            return self.nats.to_json()
        return {"nats": self.nats.to_json(), "bits_per_dim": self.bits_per_dim.to_json()}

    @classmethod
    def from_json(cls, x: Any) -> Pair | None:
        """A ``{"nats", "bits_per_dim"}`` pair, or a bare quantity (files before the pair)."""
        bare = Quantity.from_json(x)
        if bare is not None:
            return cls(bare)
        nats = _q(x, "nats")
        return None if nats is None else cls(nats, _q(x, "bits_per_dim"))


def _pair(x: Any, key: str) -> Pair | None:
    return Pair.from_json(_dict(x).get(key))


def _json(record: Any) -> Any:
    return record.to_json() if hasattr(record, "to_json") else record


def _drop_none(items: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _json(value) for key, value in items.items() if value is not None}


@dataclass(frozen=True)
class Likelihood:
    """The likelihood section: ELBO, IWAE bounds, importance-sampled and exact log p(x)."""

    quantity: str = "log p(x)"  # what is measured: "log p(x)", "log p(x | c)", ...
    elbo: Pair | None = None  # a lower bound, k = 1
    iwae: Mapping[int, Pair] = field(default_factory=dict)  # IWAE bound L_k by k
    log_marginal: Pair | None = None  # importance-sampled estimate at the large k
    ais: Pair | None = None  # annealed importance sampling estimate (k = chains)
    exact: Pair | None = None  # closed form (PPCA)
    posterior: str | None = None  # the q used, when not the encoder's
    units: str | None = None  # a table's: whose density, standardized or not (table_units)
    rows: str | None = None  # a split with missing cells: its complete rows (complete_rows)

    def best(self) -> tuple[str, Pair] | None:
        """("exact" | "log_marginal", pair) of the best log p(x) held, or None."""
        for name in ("exact", "log_marginal"):
            pair = getattr(self, name)
            if pair is not None and pair.nats.number is not None:
                return name, pair
        return None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(
            {
                "quantity": self.quantity,
                "elbo": self.elbo,
                "iwae": {str(k): pair.to_json() for k, pair in self.iwae.items()},
                "log_marginal": self.log_marginal,
                "ais": self.ais,
                "exact": self.exact,
                "posterior": self.posterior,
                "units": self.units,
                "rows": self.rows,
            }
        )

    @classmethod
    def from_json(cls, x: Any) -> Likelihood:
        iwae = {}
        for key, entry in _dict(_dict(x).get("iwae")).items():
            pair = Pair.from_json(entry)
            if pair is not None and str(key).isdigit():
                iwae[int(key)] = pair
        return cls(
            quantity=_str(_dict(x).get("quantity")) or "log p(x)",
            elbo=_pair(x, "elbo"),
            iwae=iwae,
            log_marginal=_pair(x, "log_marginal") or _pair(x, "log_marginal_is"),
            ais=_pair(x, "ais"),
            exact=_pair(x, "exact"),
            posterior=_str(_dict(x).get("posterior")),
            units=_str(_dict(x).get("units")),
            rows=_str(_dict(x).get("rows")),
        )


@dataclass(frozen=True)
class Reconstruction:
    """x̂ = the decoder's mean at the posterior mean."""

    mse_per_example: Quantity | None = None  # squared error per example
    mse_per_pixel: Quantity | None = None  # squared error per dimension
    bce: Quantity | None = None  # binary cross-entropy (Bernoulli decoders)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> Reconstruction:
        return cls(_q(x, "mse_per_example"), _q(x, "mse_per_pixel"), _q(x, "bce"))


@dataclass(frozen=True)
class Latent:
    """Active units, and where q has a density the KL per dimension, rate and distortion."""

    latent_dim: int | None = None  # K
    active_units: Quantity | None = None  # Cov_x(E_q[z_i]) > threshold
    activity: Quantity | None = None  # Cov_x(E_q[z_i]) per dimension
    kl_per_dim: Quantity | None = None  # KL(q(z_i|x) ‖ p(z_i)) per dimension
    kl_total: Quantity | None = None  # KL(q(z|x) ‖ p(z))
    rate: Quantity | None = None  # R = E_x KL
    distortion: Quantity | None = None  # D = −E_x E_q[log p(x|z)]

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> Latent:
        names = ("active_units", "activity", "kl_per_dim", "kl_total", "rate", "distortion")
        quantities = {name: _q(x, name) for name in names}
        if quantities["kl_per_dim"] is None:
            quantities["kl_per_dim"] = _q(x, "kl_per_dimension")
        return cls(latent_dim=_int(_dict(x).get("latent_dim")), **quantities)


@dataclass(frozen=True)
class Probes:
    """Cross-validated accuracies of a logistic-regression probe and of k-NN."""

    logistic: Quantity | None = None
    knn: Quantity | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> Probes | None:
        found = cls(_q(x, "logistic"), _q(x, "knn"))
        return None if found == cls() else found


@dataclass(frozen=True)
class Separability:
    """Probes on the posterior means, and on the raw pixels as reference."""

    latent: Probes | None = None
    pixels: Probes | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none({"latent": self.latent, "note": self.note, "pixels": self.pixels})

    @classmethod
    def from_json(cls, x: Any) -> Separability:
        d = _dict(x)
        return cls(
            Probes.from_json(d.get("latent")),
            Probes.from_json(d.get("pixels")),
            _str(d.get("note")),
        )


@dataclass(frozen=True)
class Classifier:
    """The dataset classifier whose features the Fréchet distance compares."""

    info: Mapping[str, Any] = field(default_factory=dict)  # dataset, architecture, feature_dim
    test_accuracy: Quantity | None = None  # its own accuracy on real test images

    @property
    def feature_dim(self) -> int | None:
        return _int(self.info.get("feature_dim"))

    def to_json(self) -> dict[str, Any]:
        return _drop_none({**self.info, "test_accuracy": self.test_accuracy})

    @classmethod
    def from_json(cls, x: Any) -> Classifier:
        d = _dict(x)
        accuracy = Quantity.from_json(d.get("test_accuracy"))
        if accuracy is None and _number(d.get("test_accuracy")) is not None:
            accuracy = Quantity(d["test_accuracy"], "accuracy", "measured")
        return cls({k: v for k, v in d.items() if k != "test_accuracy"}, accuracy)


@dataclass(frozen=True)
class SampleQuality:
    """Fréchet distances in classifier features and the conditional accuracy of samples."""

    classifier: Classifier | None = None
    generated: str | None = None  # what the generated images are
    frechet_real_reference: Quantity | None = None  # real vs real at the same n: the floor
    frechet: Quantity | None = None  # generated vs real test images (or undefined)
    frechet_fitted_codes: Quantity | None = None  # an autoencoder fed fitted-Gaussian codes
    conditional_accuracy: Quantity | None = None  # a CVAE's samples classified as their c

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> SampleQuality:
        d = _dict(x)
        classifier = Classifier.from_json(d["classifier"]) if "classifier" in d else None
        names = (
            "frechet_real_reference",
            "frechet",
            "frechet_fitted_codes",
            "conditional_accuracy",
        )
        return cls(classifier, _str(d.get("generated")), **{name: _q(d, name) for name in names})


@dataclass(frozen=True)
class Detection:
    """Telling OOD data (positives) from in-distribution test data by a score."""

    auroc: Quantity | None = None
    auprc: Quantity | None = None

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> Detection | None:
        return cls(_q(x, "auroc"), _q(x, "auprc")) if isinstance(x, dict) else None


@dataclass(frozen=True)
class OODResult:
    """One OOD set against the in-distribution test data."""

    description: str = ""  # what the set is
    n_in: int | None = None
    n_out: int | None = None
    mean_score_in: float | None = None
    mean_score_out: float | None = None
    score: Detection | None = None  # by the raw score (−log p(x) or reconstruction error)
    typicality: Detection | None = None  # by |−log p(x) − Ĥ| (likelihood models with val data)

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> OODResult:
        d = _dict(x)
        return cls(
            _str(d.get("description")) or "",
            _int(d.get("n_in")),
            _int(d.get("n_out")),
            _number(d.get("mean_score_in")),
            _number(d.get("mean_score_out")),
            Detection.from_json(d.get("score")),
            Detection.from_json(d.get("typicality")),
        )


@dataclass(frozen=True)
class Outliers:
    """Outlier detection: AUROC/AUPRC per OOD set, and the sets skipped with why."""

    score_description: str = "score"  # what the score is (higher = more anomalous)
    sets: Mapping[str, OODResult] = field(default_factory=dict)
    typicality_description: str | None = None  # how the typicality score was made, or why not
    skipped: Mapping[str, str] = field(default_factory=dict)  # set name → why it was skipped

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score_description": self.score_description,
            "sets": {name: entry.to_json() for name, entry in self.sets.items()},
        }
        if self.typicality_description is not None:
            out["typicality_description"] = self.typicality_description
        if self.skipped:
            out["skipped"] = dict(self.skipped)
        return out

    @classmethod
    def from_json(cls, x: Any) -> Outliers:
        d = _dict(x)
        sets = {str(name): OODResult.from_json(e) for name, e in _dict(d.get("sets")).items()}
        skipped = {str(k): str(v) for k, v in _dict(d.get("skipped")).items()}
        return cls(
            _str(d.get("score_description")) or "score",
            sets,
            _str(d.get("typicality_description")),
            skipped,
        )


@dataclass(frozen=True)
class Protocol:
    """What was evaluated and how."""

    data: str | None = None  # dataset name
    split: str | None = None  # "train", "val" or "test"
    binarize: str | None = None  # "none", "dynamic" or "threshold"
    binarize_note: str | None = None
    shape: tuple[int, ...] | None = None  # per-example shape
    n: int | None = None  # examples evaluated
    seed: int | None = None
    condition: str | None = None
    k: int | None = None  # importance samples of log p(x)
    refine_steps: int | None = None
    chunk: int | None = None  # importance samples drawn at a time
    device: str | None = None  # where the model ran: "cpu", "cuda:0", ...
    command: str | None = None  # the command line that made it
    example: str | None = None  # what one data point is: "row" (a table) or "example"

    @property
    def noun(self) -> str:
        """``example``, or for a file written before it was recorded, ``"row"`` when the data
        were rows of features (per-example shape ``(D,)``)."""
        if self.example in ("row", "example"):
            return self.example
        return example_noun(self.shape is not None and len(self.shape) == 1)

    def to_json(self) -> dict[str, Any]:
        out = _drop_none(vars(self))
        if self.shape is not None:
            out["shape"] = list(self.shape)
        return out

    @classmethod
    def from_json(cls, x: Any) -> Protocol:
        d = _dict(x)
        shape = d.get("shape")
        ok = isinstance(shape, list) and all(_int(s) is not None for s in shape)
        ints = ("n", "seed", "k", "refine_steps", "chunk")
        texts = ("data", "split", "binarize", "binarize_note", "condition", "device", "command")
        texts += ("example",)
        return cls(
            shape=tuple(shape) if ok else None,
            **{name: _int(d.get(name)) for name in ints},
            **{name: _str(d.get(name)) for name in texts},
        )


@dataclass(frozen=True)
class ModelInfo:
    """The evaluated model."""

    type: str | None = None  # "vae", "cvae", "ae", "ppca", ...
    latent_dim: int | None = None  # K
    deterministic_encoder: bool | None = None  # an autoencoder: no density, no ELBO

    def to_json(self) -> dict[str, Any]:
        return _drop_none(vars(self))

    @classmethod
    def from_json(cls, x: Any) -> ModelInfo | None:
        if not isinstance(x, dict):
            return None
        deterministic = x.get("deterministic_encoder")
        return cls(
            _str(x.get("type")),
            _int(x.get("latent_dim")),
            deterministic if isinstance(deterministic, bool) else None,
        )


@dataclass(frozen=True)
class Figures:
    """The figures ``evaluate`` drew into the run's ``figures/`` folder."""

    folder: str = "figures"
    written: tuple[str, ...] = ()  # file names
    skipped: Mapping[str, str] = field(default_factory=dict)  # figure stem → why not drawn
    # a CVAE's: the c its traversals, interpolation and manifold are decoded at, in words
    condition: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"folder": self.folder, "written": list(self.written), "skipped": dict(self.skipped)}
        return out if self.condition is None else {**out, "condition": self.condition}

    @classmethod
    def from_json(cls, x: Any) -> Figures | None:
        if not isinstance(x, dict):
            return None
        written = tuple(str(w) for w in x.get("written", ()) if isinstance(w, str))
        skipped = {str(k): str(v) for k, v in _dict(x.get("skipped")).items()}
        folder = _str(x.get("folder")) or "figures"
        return cls(folder, written, skipped, _str(x.get("condition")))


@dataclass(frozen=True)
class FitRecord:
    """What ``torchlvm fit`` measured (flat keys at the top of ``metrics.json``)."""

    train_log_likelihood: float | None = None  # exact, nats per example (or row)
    test_log_likelihood: float | None = None  # exact, nats per example (or row)
    test_bits_per_dim: float | None = None
    noise_variance: float | None = None  # PPCA's σ²
    fit_seconds: float | None = None
    table: bool = False  # a table run: ``example`` is "row" (cli/fit.py)

    @classmethod
    def from_json(cls, x: Any) -> FitRecord | None:
        d = _dict(x)
        found = cls(**{name: _number(d.get(name)) for name in FIT_KEYS})
        if found == cls():
            return None
        example = _str(d.get("example"))
        if example is None:  # a file written before fit recorded it: its unit says "per row"
            example = "row" if (_str(d.get("unit")) or "").startswith("nats per row") else None
        return replace(found, table=example == example_noun(True))


FIT_KEYS: tuple[str, ...] = (
    "train_log_likelihood",
    "test_log_likelihood",
    "test_bits_per_dim",
    "noise_variance",
    "fit_seconds",
)


def _section(x: Any, parse: Any) -> Any:
    """A section: absent (None), undefined for this model, or parsed by ``parse``."""
    if not isinstance(x, dict):
        return None
    return Undefined.from_json(x) or parse(x)


@dataclass(frozen=True)
class ObservedLikelihood:
    """log p(x_o) of every row of a table with missing cells, each on its observed cells only.

    ``nats`` is the mean over rows in nats per row (``data_stderr``: the spread over rows /
    sqrt(n); ``stderr``: the Monte Carlo error of an importance-sampled mean), exact for PPCA
    (missing cells integrated out), importance-sampled with ``k`` for a VAE (MIWAE), in the units
    the model was trained in; ``nats_file_units`` is the same density in the file's own units
    for a run trained on standardized columns (log p(x'_o) − Σ_{j observed} log scale_j).
    """

    nats: Quantity  # in the units the model was trained in (standardized, for most tables)
    rows: int  # rows scored
    incomplete_rows: int  # rows with at least one missing cell
    missing_cells: int
    cells: int  # rows x features
    nats_file_units: Quantity | None = None  # the same in the file's units (a standardized run)

    def to_json(self) -> dict[str, Any]:
        out = {"nats": self.nats.to_json()}
        if self.nats_file_units is not None:
            out["nats_file_units"] = self.nats_file_units.to_json()
        counts = ("rows", "incomplete_rows", "missing_cells", "cells")
        return {**out, **{key: getattr(self, key) for key in counts}}

    @classmethod
    def from_json(cls, x: Any) -> ObservedLikelihood | None:
        d = _dict(x)
        nats = Quantity.from_json(d.get("nats"))
        counts = [_int(d.get(key)) for key in ("rows", "incomplete_rows", "missing_cells", "cells")]
        if nats is None or any(c is None for c in counts):
            return None
        return cls(nats, *counts, Quantity.from_json(d.get("nats_file_units")))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Evaluation:
    """Everything ``evaluate`` measured, section by section (the whole ``metrics.json``)."""

    protocol: Protocol = field(default_factory=Protocol)
    model: ModelInfo | None = None
    likelihood: Likelihood | Undefined | None = None
    observed_likelihood: ObservedLikelihood | None = None  # tables with missing cells
    imputation: Pair | None = None  # log p(x_missing | x_observed) of imputation CVAEs
    reconstruction: Reconstruction | Undefined | None = None
    latent: Latent | Undefined | None = None
    separability: Separability | Undefined | None = None
    sample_quality: SampleQuality | Undefined | None = None
    outliers: Outliers | Undefined | None = None
    seconds: Mapping[str, float] = field(default_factory=dict)  # per section
    figures: Figures | None = None
    fit: FitRecord | None = None  # read from files ``torchlvm fit`` wrote; never written here

    def to_json(self) -> dict[str, Any]:
        """The evaluation's sections as ``metrics.json`` holds them (``fit`` is not written)."""
        out = _drop_none({name: getattr(self, name) for name in EVALUATION_KEYS})
        out["seconds"] = dict(self.seconds)
        return out

    @classmethod
    def from_json(cls, x: Any) -> Evaluation:
        """Read any ``metrics.json`` content (never raises; unreadable parts are None)."""
        d = _dict(x)
        seconds = {str(k): v for k, v in _dict(d.get("seconds")).items() if _number(v) is not None}
        return cls(
            protocol=Protocol.from_json(d.get("protocol")),
            model=ModelInfo.from_json(d.get("model")),
            likelihood=_section(d.get("likelihood"), Likelihood.from_json),
            observed_likelihood=ObservedLikelihood.from_json(d.get("observed_likelihood")),
            imputation=Pair.from_json(d.get("imputation")),
            reconstruction=_section(d.get("reconstruction"), Reconstruction.from_json),
            latent=_section(d.get("latent"), Latent.from_json),
            separability=_section(d.get("separability"), Separability.from_json),
            sample_quality=_section(d.get("sample_quality"), SampleQuality.from_json),
            outliers=_section(d.get("outliers"), Outliers.from_json),
            seconds=seconds,
            figures=Figures.from_json(d.get("figures")),
            fit=FitRecord.from_json(d),
        )

    def log_px(self) -> tuple[str, Pair] | None:
        """("exact" | "log_marginal", pair) of the best log p(x): the evaluation's, else the
        exact test log-likelihood ``torchlvm fit`` wrote."""
        if isinstance(self.likelihood, Likelihood) and self.likelihood.best() is not None:
            return self.likelihood.best()
        fit = self.fit
        if fit is None or fit.test_log_likelihood is None:
            return None
        nats = Quantity(fit.test_log_likelihood, nats_per(fit.table), "exact")
        bits = None
        if fit.test_bits_per_dim is not None:
            bits = Quantity(fit.test_bits_per_dim, "bits/dim", "exact")
        return "exact", Pair(nats, bits)


EVALUATION_KEYS: tuple[str, ...] = (
    "protocol",
    "model",
    "likelihood",
    "observed_likelihood",
    "imputation",
    "reconstruction",
    "latent",
    "separability",
    "sample_quality",
    "outliers",
    "seconds",
    "figures",
)
"""The top-level keys of ``metrics.json`` that ``evaluate`` owns (and replaces on a new run)."""
