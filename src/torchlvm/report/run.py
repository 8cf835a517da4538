"""Gathering what a run folder holds for the report, and noting what it lacks.

``collect_run(DIR)`` reads ``config.json`` (required), ``metrics.json``, ``figures/*.png`` and,
when ``figures/training_curves.png`` is absent, draws the training curves from ``metrics.csv``.
Anything missing or unreadable becomes a note in the report instead of an error.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torchlvm.errors import RunDirectoryError, TorchLVMError
from torchlvm.io import read_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: figure file stem → caption, in the order the report shows them
FIGURE_CAPTIONS: dict[str, str] = {
    "training_curves": (
        "Training curves: ELBO, reconstruction log-likelihood and KL per epoch, in nats per "
        "example, for the training (solid) and validation (dashed) data."
    ),
    "samples": (
        "Samples from the model: latent codes drawn from the prior z ~ p(z), shown as the "
        "decoder's mean E[x | z]."
    ),
    "reconstructions": (
        "Test inputs and their reconstructions: the decoder's mean at the posterior mean of "
        "q(z | x)."
    ),
    "conditional": "Conditional samples: one row per condition c, with z ~ p(z | c).",
    "imputation": (
        "Imputation: the observed part of each image (missing pixels hatched), the model's "
        "completion, and the true image."
    ),
    "latent_scatter": (
        "Posterior means of test data coloured by class: the coordinates themselves for a 2-D "
        "latent space, otherwise their first two principal components."
    ),
    "kl_per_dimension": (
        "KL(q(zᵢ | x) ‖ p(zᵢ)) per latent dimension, averaged over test data: where the rate is "
        "spent. Dimensions near zero carry no information about x."
    ),
    "traversals": (
        "Latent traversals: each row sweeps one latent dimension over the values below while "
        "the others stay fixed."
    ),
    "interpolation": (
        "Interpolation: decodings along the straight line between the latent codes of two test "
        "inputs."
    ),
    "manifold": "The learned 2-D manifold: decodings of a regular grid of latent codes.",
    "gaps": (
        "Inference gaps (Cremer et al. 2018), nats per example: log p(x) − ELBO(q_enc) split "
        "into the approximation gap log p(x) − ELBO(q*) and the amortization gap "
        "ELBO(q*) − ELBO(q_enc)."
    ),
}


@dataclass
class FigureFile:
    """One PNG to embed: its name, caption, bytes and pixel size."""

    name: str
    caption: str
    png: bytes
    width: int
    height: int


@dataclass
class RunContents:
    """Everything the report shows about one run folder."""

    folder: Path
    config: Any
    metrics: Any = None
    figures: list[FigureFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.folder.resolve().name or str(self.folder)


def png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG header, or None if ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return (width, height) if width > 0 and height > 0 else None


def expected_figures(config: Any) -> list[str]:
    """Figures a complete evaluation of this kind of model draws (their file stems)."""
    model = config.get("model") if isinstance(config, dict) else None
    model_type = str(config.get("model_type", "")) if isinstance(config, dict) else ""
    names = ["training_curves", "samples", "reconstructions", "latent_scatter"]
    if model_type == "cvae":
        names.append("conditional")
    if isinstance(model, dict) and model.get("latent_dim") == 2:
        names.append("manifold")
    return names


def _read_metrics(folder: Path, notes: list[str]) -> Any:
    path = folder / "metrics.json"
    if not path.is_file():
        notes.append(f"No metrics.json: run `torchlvm evaluate {folder}` to measure the model.")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        notes.append(f"metrics.json could not be read ({err}); run `torchlvm evaluate {folder}`.")
        return None


def _figure(name: str, data: bytes, notes: list[str]) -> FigureFile | None:
    size = png_size(data)
    if size is None:
        notes.append(f"figures/{name} is not a PNG image; it is left out.")
        return None
    caption = FIGURE_CAPTIONS.get(Path(name).stem, name)
    return FigureFile(name, caption, data, *size)


def _read_figures(folder: Path, notes: list[str]) -> list[FigureFile]:
    paths = sorted((folder / "figures").glob("*.png")) if (folder / "figures").is_dir() else []
    order = {stem: i for i, stem in enumerate(FIGURE_CAPTIONS)}
    paths.sort(key=lambda p: (order.get(p.stem, len(order)), p.name))
    figures = []
    for path in paths:
        try:
            figure = _figure(path.name, path.read_bytes(), notes)
        except OSError as err:
            notes.append(f"figures/{path.name} could not be read ({err}); it is left out.")
            continue
        if figure is not None:
            figures.append(figure)
    return figures


def _curves_from_csv(folder: Path, notes: list[str]) -> FigureFile | None:
    """Draw the training curves from ``metrics.csv``; a note instead when that is impossible."""
    csv_path = folder / "metrics.csv"
    if not csv_path.is_file():
        notes.append("No training curves: neither figures/training_curves.png nor metrics.csv.")
        return None
    from torchlvm.plots._style import figure_png_bytes
    from torchlvm.plots.curves import training_curves

    try:
        png = figure_png_bytes(training_curves(csv_path))
    except TorchLVMError as err:
        notes.append(f"Training curves could not be drawn from metrics.csv: {err}")
        return None
    figure = _figure("training_curves.png", png, notes)
    if figure is not None:
        figure.name = "training curves (drawn from metrics.csv)"
    return figure


def collect_run(folder: str | Path) -> RunContents:
    """Read a run folder for the report.

    Raises:
        RunDirectoryError: if the folder or its ``config.json`` is missing.
        DataError: if ``config.json`` is not valid JSON.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise RunDirectoryError(
            f"cannot report on {folder}: it has no config.json, so it is not a run folder; "
            "pass a folder written by 'torchlvm train'"
        )
    run = RunContents(folder, read_config(folder))
    run.metrics = _read_metrics(folder, run.notes)
    run.figures = _read_figures(folder, run.notes)
    stems = {Path(f.name).stem for f in run.figures}
    if "training_curves" not in stems:
        curves = _curves_from_csv(folder, run.notes)
        if curves is not None:
            run.figures.insert(0, curves)
            stems.add("training_curves")
    missing = [  # the training curves have a note of their own
        f"figures/{stem}.png"
        for stem in expected_figures(run.config)
        if stem not in stems and stem != "training_curves"
    ]
    if missing:
        names = ", ".join(missing)
        run.notes.append(f"Figures missing: {names}; `torchlvm evaluate {folder}` draws them.")
    return run
