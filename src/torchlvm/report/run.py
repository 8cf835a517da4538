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

from torchlvm._nested import lookup
from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import RunDirectoryError, TorchLVMError
from torchlvm.evaluation.records import Evaluation, example_noun
from torchlvm.io import offer_nearest, read_config
from torchlvm.run.commit import recover_for_reading
from torchlvm.run.interrupted import check_finished, resume_hint
from torchlvm.run.layout import RunLayout
from torchlvm.run.metrics import measured_on_other_weights
from torchlvm.run.outputs import torchlvm_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: how metrics.json's ``figures.skipped`` marks a figure that does not exist for the model
NOT_APPLICABLE = "does not apply to this model"

#: figure file stem → caption, in the order the report shows them: what the model makes first,
#: then what it does with data, then how it trained
FIGURE_CAPTIONS: dict[str, str] = {
    "samples": (
        "Samples from the model: latent codes drawn from the prior z ~ p(z), shown as the "
        "decoder's mean E[x | z]."
    ),
    "conditional": "Conditional samples: one row per condition c, with z ~ p(z | c).",
    "reconstructions": (
        "Test inputs as the model sees them (under the run's binarization protocol) and their "
        "reconstructions: the decoder's mean at the posterior mean of q(z | x)."
    ),
    "traversals": (
        "Latent traversals: each row moves one latent dimension from the centre of p(z) by the "
        "number of its standard deviations below, the others staying at the centre (an "
        "autoencoder, which has no p(z), uses its codes' mean and spread)."
    ),
    "interpolation": (
        "Interpolation: decodings along the straight line between the latent codes of two test "
        "inputs."
    ),
    "latent_scatter": (
        "Posterior means of test data coloured by class: the coordinates themselves for a 2-D "
        "latent space, otherwise their first two principal components."
    ),
    "manifold": "The learned 2-D manifold: decodings of a regular grid of latent codes.",
    "imputation": (
        "Imputation: the observed part of each image (missing pixels hatched), the model's "
        "completion, and the true image."
    ),
    "training_curves": (
        "Training curves per epoch, in nats per example, for the training (solid) and "
        "validation (dashed) data: the bound the model was trained on (ELBO, IWAE or MIWAE) "
        "and, where logged, the ELBO's reconstruction log-likelihood and KL."
    ),
    "kl_per_dimension": (
        "KL(q(zᵢ | x) ‖ p(zᵢ)) per latent dimension, averaged over test data: where the rate is "
        "spent. Dimensions near zero carry no information about x."
    ),
    "gaps": (
        "Inference gaps (Cremer et al. 2018), nats per example: log p(x) − ELBO(q_enc) split "
        "into the approximation gap log p(x) − ELBO(q*) and the amortization gap "
        "ELBO(q*) − ELBO(q_enc)."
    ),
    "identity": (
        "The identity log p(x) = ELBO(q) + KL(q ‖ p(z | x)) on PPCA, nats per example: as a "
        "Gaussian q is fitted step by step from the prior p(z), its ELBO rises toward the exact "
        "log p(x) (left) while its KL to the exact posterior falls toward zero (right); the "
        "left title says whether it got there in the steps given."
    ),
    "transfer": (
        "Style transfer: originals (top row) and each redrawn as another class, with z the "
        "posterior mean of q(z | x, c) at its own class and the decoder's mean E[x | z, c'] at "
        "the new class c'."
    ),
}

#: the captions of a conditional model's figures (a CVAE: q(z | x, c), p(z | c), p(x | z, c)),
#: where they differ; traversals and the interpolation are decoded at the first test input's c
CONDITIONAL_CAPTIONS: dict[str, str] = {
    "reconstructions": (
        "Test inputs as the model sees them (under the run's binarization protocol) and their "
        "reconstructions: the decoder's mean E[x | z, c] at the posterior mean of q(z | x, c), "
        "with each input's own condition c."
    ),
    "traversals": (
        "Latent traversals at the first test input's condition c: each row moves one latent "
        "dimension from the centre of p(z | c) by the number of its standard deviations below, "
        "the others staying at the centre."
    ),
    "interpolation": (
        "Interpolation: decodings along the straight line between the latent codes of two test "
        "inputs, all at the first input's condition c."
    ),
    "kl_per_dimension": (
        "KL(q(zᵢ | x, c) ‖ p(zᵢ | c)) per latent dimension, averaged over test data: where the "
        "rate is spent. Dimensions near zero carry no information about x beyond c."
    ),
}

#: the captions of an autoencoder's figures, where they differ: it has codes, not a posterior,
#: and no prior; it generates from a Gaussian fitted to its training codes
AUTOENCODER_CAPTIONS: dict[str, str] = {
    "samples": (
        "Samples from the autoencoder: codes drawn from a Gaussian fitted to its training codes "
        "(it has no prior p(z)), decoded."
    ),
    "reconstructions": (
        "Test inputs as the model sees them (under the run's binarization protocol) and their "
        "reconstructions: the decoder's output at each code."
    ),
    "latent_scatter": (
        "Codes of test data coloured by class: the coordinates themselves for a 2-D latent "
        "space, otherwise their first two principal components."
    ),
    "training_curves": (
        "Training curves per epoch for the training (solid) and validation (dashed) data: the "
        "autoencoder's reconstruction loss (lower is better), per example: cross-entropy in nats "
        "for a Bernoulli decoder, squared error for a Gaussian one."
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


def expected_figures(config: Any, metrics: Any = None) -> list[str]:
    """Figures a complete evaluation of this kind of model draws (their file stems).

    What the model makes depends on its condition: prior samples without one, a grid per class
    with labels, imputation panels with a mask. Figures that ``metrics.json`` records as not
    applying to the model are not expected.
    """
    config = config if isinstance(config, dict) else {}
    model = config.get("model")
    data = config.get("data")
    condition = str(data.get("condition") or "none") if isinstance(data, dict) else "none"
    made = {"none": "samples", "label": "conditional"}.get(condition, "imputation")
    if str(config.get("model_type", "")) != "cvae":
        made = "samples"
    names = ["training_curves", made, "reconstructions", "latent_scatter"]
    if str(config.get("model_type", "")) == "ppca":  # fitted in closed form or by EM: no epochs
        names.remove("training_curves")
    if isinstance(model, dict) and model.get("latent_dim") == 2:
        names.append("manifold")
    shape = data.get("shape") if isinstance(data, dict) else None
    if isinstance(shape, list) and len(shape) == 1:  # rows of features: no image to draw
        names = [name for name in names if name in ("training_curves", "latent_scatter")]
    skipped = _skipped(metrics)
    return [name for name in names if skipped.get(name) != NOT_APPLICABLE]


def _skipped(metrics: Any) -> dict[str, str]:
    """metrics.json's ``figures.skipped``: figure stem → why it was not drawn."""
    figures = Evaluation.from_json(metrics).figures
    return {} if figures is None else dict(figures.skipped)


def _failed_notes(metrics: Any, present: set[str]) -> list[str]:
    """Figures the evaluation did not draw (and that are absent), with why: one note per reason
    (a table's seven image figures share one)."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in _skipped(metrics).items():
        if reason != NOT_APPLICABLE and name not in present:
            by_reason.setdefault(reason, []).append(f"figures/{name}.png")
    return [
        f"{', '.join(names)} {'was' if len(names) == 1 else 'were'} not drawn: {reason}"
        for reason, names in by_reason.items()
    ]


def _other_weights_note(folder: Path) -> str:
    """The note on metrics measured on an earlier model of the run than its weights now."""
    return (
        "The numbers and figures of metrics.json were measured on an earlier model of this run: "
        "model.safetensors has changed since (training resumed); "
        f"`torchlvm evaluate {quoted(folder)}` measures the model it holds now."
    )


def _earlier_notes(metrics: Any, present: set[str]) -> list[str]:
    """Figures shown that an earlier evaluation drew (metrics.json's ``figures.earlier``, after
    ``evaluate --no-figures`` or a figure that failed to draw again): the metrics shown are a
    later evaluation's, so each group names the command that drew it, and when."""
    figures = metrics.get("figures") if isinstance(metrics, dict) else None
    groups = figures.get("earlier") if isinstance(figures, dict) else None
    notes = []
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, dict) or not isinstance(group.get("written"), list):
            continue
        shown = [
            f"figures/{name}"
            for name in group["written"]
            if isinstance(name, str) and Path(name).stem in present
        ]
        if shown:
            by = f"`{group['drawn_by']}`" if group.get("drawn_by") else "an earlier evaluation"
            at = f" at {group['drawn_at']}" if group.get("drawn_at") else ""
            verb = "was" if len(shown) == 1 else "were"
            notes.append(
                f"{', '.join(shown)} {verb} drawn by {by}{at}, not by the evaluation whose "
                "numbers are shown"
            )
    return notes


def _how_to_measure(layout: RunLayout) -> str:
    """The command that writes the run's metrics.json, or, for a run without its model (whose
    evaluation would fail), what gives it one first."""
    folder = layout.folder
    evaluate = f"run `torchlvm evaluate {quoted(folder)}`"
    if layout.weights.is_file():
        return f"{evaluate} to measure the model"
    if layout.last_checkpoint.is_file():  # training stopped before it published the model
        return (
            f"the run has no {layout.weights.name} to measure, as its training was interrupted;"
            f" {resume_hint(folder, folder)}, then {evaluate}"
        )
    return (
        f"the run has no {layout.weights.name} to measure (the folder holds a config but no "
        f"weights); copy the run's {layout.weights.name} back into it, then {evaluate}"
    )


def check_run_folder(folder: str | Path) -> None:
    """Refuse ``folder`` unless it holds a run to report on (a ``config.json``), naming an
    interrupted run's command that finishes it; a commit killed between its renames is finished
    first (:func:`~torchlvm.run.commit.recover_for_reading`), so its files are read as one set.

    Raises:
        RunDirectoryError: for an interrupted run or a folder (or file) without config.json.
    """
    folder = Path(folder)
    if (home := unexpanded_home(folder, reading=True)) is not None:
        raise home
    if folder.is_dir():  # a killed commit (of model and config.json too) is finished first
        recover_for_reading(folder)
    check_finished(folder)  # an interrupted run is named, with the command that finishes it
    if not RunLayout(folder).config.is_file():
        nearest = "" if folder.exists() else offer_nearest(folder)  # (a misspelt name)
        what = (
            "is a file, not a run folder"
            if folder.is_file()
            else "has no config.json, so it is not a run folder"
            if folder.exists()
            else "does not exist"
        )
        raise RunDirectoryError(
            f"cannot report on {folder}: it {what}; "
            f"pass {nearest}a folder written by 'torchlvm train'"
        )


def _read_metrics(folder: Path, notes: list[str]) -> Any:
    layout = RunLayout(folder)
    path = layout.metrics_json
    if not path.is_file():
        notes.append(f"No metrics.json: {_how_to_measure(layout)}.")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        notes.append(
            f"metrics.json could not be read ({err}); run `torchlvm evaluate {quoted(folder)}`."
        )
        return None


def conditional(config: Any) -> bool:
    """Whether the run's model is conditioned on c (a CVAE with a condition other than none)."""
    data = config.get("data") if isinstance(config, dict) else None
    condition = data.get("condition") if isinstance(data, dict) else None
    return str(condition or "none") != "none"


def _noun(config: Any) -> str:
    """What one data point of the run is called (``"row"`` for a table), for the units."""
    data = config.get("data") if isinstance(config, dict) else None
    return example_noun(isinstance(data, dict) and data.get("table") is not None)


def captions_for(config: Any) -> dict[str, str]:
    """The figure captions of this run's model: a CVAE's name c, an autoencoder's its codes;
    data without classes (a table without a label column) has its codes in one colour."""
    captions = FIGURE_CAPTIONS
    if conditional(config):
        captions = {**FIGURE_CAPTIONS, **CONDITIONAL_CAPTIONS}
    elif isinstance(config, dict) and config.get("model_type") == "ae":
        captions = {**FIGURE_CAPTIONS, **AUTOENCODER_CAPTIONS}
    data = config.get("data") if isinstance(config, dict) else None
    if isinstance(data, dict) and not _has_classes(data):
        scatter = captions["latent_scatter"].replace(" coloured by class", "")
        captions = {**captions, "latent_scatter": scatter}
    return captions


def _has_classes(data: dict[str, Any]) -> bool:
    """Whether a run's data has classes to colour its codes by: as its record says (``fit``
    before it recorded ``num_classes``: a table has them only by its label column)."""
    if "num_classes" in data:
        return bool(data["num_classes"])
    table = data.get("table")
    return not isinstance(table, dict) or table.get("label_column") is not None


def _figure(
    name: str,
    data: bytes,
    notes: list[str],
    per: str = "example",
    captions: dict[str, str] = FIGURE_CAPTIONS,
) -> FigureFile | None:
    size = png_size(data)
    if size is None:
        notes.append(f"figures/{name} is not a PNG image; it is left out.")
        return None
    caption = captions.get(Path(name).stem, name).replace("per example", f"per {per}")
    return FigureFile(name, caption, data, *size)


def _figure_order(figure: FigureFile) -> tuple[int, str]:
    """Known figures in the order of FIGURE_CAPTIONS, then the others by file name."""
    drawn = figure.name.startswith("training curves")  # from metrics.csv, see _curves_from_csv
    stem = "training_curves" if drawn else Path(figure.name).stem
    order = list(FIGURE_CAPTIONS)
    return (order.index(stem) if stem in order else len(order), figure.name)


def _read_figures(
    folder: Path, notes: list[str], per: str, config: Any, foreign: list[str]
) -> list[FigureFile]:
    """The figures torchlvm drew in the run's ``figures/``, captioned for the run's model
    (``config``): evaluate's, and sample's (:mod:`~torchlvm.report.later_figures`); the names
    of the other PNGs there (the user's own, which the report leaves out) go to ``foreign``.
    A PNG ``sample`` drew carries its line (its Description) and is captioned by it, also at a
    name of evaluate's (``sample --out RUN/figures/samples.png`` was captioned as evaluate's)."""
    from torchlvm.plots import figure_description
    from torchlvm.report.later_figures import sampled_caption

    captions = captions_for(config)
    figures = RunLayout(folder).figures
    paths = sorted(figures.glob("*.png")) if figures.is_dir() else []
    figures = []
    for path in paths:
        if not torchlvm_figure(path):  # the one check every command makes
            foreign.append(path.stem)
            continue
        try:
            png = path.read_bytes()
        except OSError as err:
            notes.append(f"figures/{path.name} could not be read ({err}); it is left out.")
            continue
        drawn = path.stem not in captions or figure_description(png) is not None  # (readB #7)
        sampled = sampled_caption(path.stem, config, png) if drawn else None
        own = captions if sampled is None else {**captions, path.stem: sampled}
        figure = _figure(path.name, png, notes, per, own)
        if figure is not None:
            figures.append(figure)
    return sorted(figures, key=_figure_order)


def _foreign_notes(folder: Path, foreign: list[str], expected: list[str]) -> list[str]:
    """Notes on the PNGs in ``figures/`` that torchlvm did not draw: left out of the report; one
    in the place of a figure of the run is also left as it is by ``evaluate``."""

    def files(names: list[str]) -> str:
        return ", ".join(f"figures/{name}.png" for name in names)

    mine = [name for name in foreign if name not in expected or name == "training_curves"]
    theirs = [name for name in foreign if name not in mine]
    notes = []
    if mine:
        notes.append(f"{files(mine)}: not drawn by torchlvm, so left out of the report.")
    if theirs:
        notes.append(
            f"{files(theirs)}: not drawn by torchlvm, so left out of the report (and left as "
            f"it is by evaluate); move it away and run `torchlvm evaluate {quoted(folder)}` to "
            "draw the run's own."
        )
    return notes


def _curves_from_csv(folder: Path, notes: list[str], per: str, config: Any) -> FigureFile | None:
    """Draw the training curves from ``metrics.csv``; a note instead when that is impossible."""
    csv_path = RunLayout(folder).metrics_csv
    if not csv_path.is_file():
        notes.append("No training curves: neither figures/training_curves.png nor metrics.csv.")
        return None
    from torchlvm.plots._style import figure_png_bytes
    from torchlvm.plots.curves import training_curves

    try:
        loss = lookup(config, "model", "reconstruction")  # an autoencoder's loss
        drawn = training_curves(
            csv_path, per=per, conditional=conditional(config), reconstruction=loss
        )
        png = figure_png_bytes(drawn)
    except TorchLVMError as err:
        notes.append(f"Training curves could not be drawn from metrics.csv: {err}")
        return None
    figure = _figure("training_curves.png", png, notes, per, captions_for(config))
    if figure is not None:
        figure.name = "training curves (drawn from metrics.csv)"
    return figure


def collect_run(folder: str | Path) -> RunContents:
    """Read a run folder for the report.

    A command killed between its commit's renames is finished first (:func:`check_run_folder`).

    Raises:
        RunDirectoryError: if the folder or its ``config.json`` is missing, or holds a killed
            commit that this process cannot finish.
        DataError: if ``config.json`` is not valid JSON.
    """
    folder = Path(folder)
    check_run_folder(folder)
    run = RunContents(folder, read_config(folder))
    run.metrics = _read_metrics(folder, run.notes)
    per = _noun(run.config)  # the captions' and curves' units: nats per row for a table
    foreign: list[str] = []
    run.figures = _read_figures(folder, run.notes, per, run.config, foreign)
    stems = {Path(f.name).stem for f in run.figures}
    expected = expected_figures(run.config, run.metrics)
    run.notes += _foreign_notes(folder, foreign, expected)
    stems.update(name for name in foreign if name != "training_curves")  # noted above
    wanted = "training_curves" in expected or RunLayout(folder).metrics_csv.is_file()
    if "training_curves" not in stems and wanted:
        curves = _curves_from_csv(folder, run.notes, per, run.config)
        if curves is not None:
            run.figures.append(curves)
            run.figures.sort(key=_figure_order)
            stems.add("training_curves")
    if measured_on_other_weights(folder, run.metrics):
        run.notes.insert(0, _other_weights_note(folder))
    run.notes += _failed_notes(run.metrics, stems)
    run.notes += _earlier_notes(run.metrics, stems)
    missing = [  # the training curves have a note of their own
        f"figures/{stem}.png"
        for stem in expected
        if stem not in stems and stem != "training_curves"
    ]
    if missing:
        names = ", ".join(missing)
        run.notes.append(f"Figures missing: {names}; {_draws_them(folder, run.metrics)}.")
    return run


def _draws_them(folder: Path, metrics: Any) -> str:
    """The command that draws a run's missing figures: ``evaluate --figures-only`` where
    metrics.json holds an evaluation of the weights the run holds (its figures, on its rows,
    without evaluating again: userW #4, the plain command re-evaluated at the defaults, minutes,
    and replaced the n = 300 evaluation the report showed), else ``evaluate``."""
    p = Evaluation.from_json(metrics).protocol
    recorded = None not in (p.split, p.seed, p.command)
    if recorded and not measured_on_other_weights(folder, metrics):
        return (
            f"`torchlvm evaluate {quoted(folder)} --figures-only` draws them for the evaluation "
            "in metrics.json"
        )
    return f"`torchlvm evaluate {quoted(folder)}` draws them"
