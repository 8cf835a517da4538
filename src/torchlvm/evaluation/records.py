"""The evaluation record: one schema for ``metrics.json``, written by ``evaluate`` and read by the
CLI table, the HTML report and ``compare``.

Every number is a :class:`~torchlvm.evaluation.quantity.Quantity` (a value with its unit and
kind, :mod:`.quantity`); each section is a small frozen dataclass (:mod:`.sections`), or
:class:`~torchlvm.evaluation.quantity.Undefined`, with the reason, where it does not exist for a
model. Here: what was evaluated and how (:class:`Protocol`, :class:`ModelInfo`, :class:`Figures`),
what ``torchlvm fit`` wrote (:class:`FitRecord`), the observed-cell likelihood of a table with
missing cells, and :class:`Evaluation`, the whole file. Every name of the record is importable
from here.

``to_json()`` writes the JSON that ``metrics.json`` has always held (readers of earlier files keep
working); ``Evaluation.from_json`` reads any JSON, including files of earlier versions (a flat
quantity where a pair is now, the flat keys that ``torchlvm fit`` writes) and damaged ones: what
it cannot read is left ``None``, never an exception, so a report always renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from torchlvm.evaluation.quantity import (
    Kind,
    Pair,
    Quantity,
    Undefined,
    _dict,
    _drop_none,
    _int,
    _number,
    _str,
    complete_rows,
    example_noun,
    is_quantity,
    nats_per,
    table_units,
)
from torchlvm.evaluation.sections import (
    Classifier,
    Detection,
    Latent,
    Likelihood,
    OODResult,
    Outliers,
    Probes,
    Reconstruction,
    SampleQuality,
    Separability,
)

__all__ = [
    "EVALUATION_KEYS",
    "FIT_KEYS",
    "Classifier",
    "Detection",
    "Evaluation",
    "Figures",
    "FitRecord",
    "Kind",
    "Latent",
    "Likelihood",
    "ModelInfo",
    "OODResult",
    "ObservedLikelihood",
    "Outliers",
    "Pair",
    "Probes",
    "Protocol",
    "Quantity",
    "Reconstruction",
    "SampleQuality",
    "Separability",
    "Undefined",
    "complete_rows",
    "example_noun",
    "is_quantity",
    "nats_per",
    "table_units",
]


@dataclass(frozen=True)
class Protocol:
    """What was evaluated and how."""

    data: str | None = None  # dataset name
    split: str | None = None  # "train", "val" or "test"
    binarize: str | None = None  # "none", "dynamic" or "threshold"
    binarize_note: str | None = None
    shape: tuple[int, ...] | None = None  # per-example shape
    n: int | None = None  # examples evaluated
    split_rows: int | None = None  # examples in the split; n of them were evaluated
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
        ints = ("n", "split_rows", "seed", "k", "refine_steps", "chunk")
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
        names = x.get("written")  # (a hand-edited 5, null or true: nothing written, runs15 #3)
        written = tuple(w for w in names if isinstance(w, str)) if isinstance(names, list) else ()
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
