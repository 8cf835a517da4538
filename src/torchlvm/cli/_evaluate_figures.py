"""``torchlvm evaluate``'s figures: what each figure of a run shows and how it is drawn into
DIR/figures (:func:`write_figures`), redrawing those torchlvm drew and leaving the user's files
there as they were. The command (:mod:`torchlvm.cli.evaluate`) parses, evaluates and prints;
the figures are this module's.

The figures are drawn after the evaluation's numbers are in ``metrics.json`` (:func:`draw`): a
failure while drawing them (matplotlib, a full disk, an import) costs the figures, never the
numbers, and names ``evaluate DIR --figures-only``, which draws them from ``metrics.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torchlvm._shell import quoted
from torchlvm.errors import TorchLVMError

if TYPE_CHECKING:
    from torchlvm.evaluation.records import Evaluation, Latent
    from torchlvm.run.commit import Staging


def draw(
    model: Any, complete: Any, result: Any, folder: Path, condition: Any,
    args: argparse.Namespace, previous: Any,
) -> list[str]:  # fmt: skip
    """Draw the figures of ``result``, an evaluation whose numbers ``folder/metrics.json``
    already holds, and record them there (its ``figures`` entry): the new figures and the entry
    are put in place together, or none of them. ``previous``: ``metrics.json`` before that
    evaluation (which evaluation drew the figures in ``figures/`` now). Returns the files drawn.

    Raises:
        TorchLVMError: when drawing or writing a figure fails; it says that the numbers are in
            ``metrics.json`` and how to draw the figures again (``--figures-only``).
    """
    from torchlvm.run.commit import Staging
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.metrics import figures_record, merge_metrics

    metrics_json = RunLayout(folder).metrics_json
    try:
        with Staging(folder) as staging:  # the figures and their record: old or new, together
            try:
                drawn = figures_of(model, complete, result, folder, condition, args, staging)
                record = figures_record(drawn, previous, folder)
                merge_metrics(folder, {"figures": record}, into=staging.path(metrics_json))
            except KeyboardInterrupt:  # (one held over the commit below leaves the new set)
                print(f"torchlvm: {_numbers_kept(folder, args)}", file=sys.stderr, flush=True)
                raise
            staging.commit()
    except Exception as err:  # the numbers are kept whatever stopped the figures
        blocked = _in_the_way(RunLayout(folder).figures)
        if blocked is not None:  # (a user's file, or a link to nothing, named figures)
            what, fix = blocked
            raise TorchLVMError(
                f"the figures could not be drawn: {what}, where evaluate puts its figures "
                f"folder; {_numbers_kept(folder, args, fix)}"
            ) from err
        raise TorchLVMError(
            f"the figures could not be drawn ({_said(err)}); {_numbers_kept(folder, args)}"
        ) from err
    return list(drawn["written"])


def redraw_command(folder: Path, args: argparse.Namespace) -> str:
    """The command that draws the figures of the evaluation in ``folder/metrics.json``."""
    data_dir = getattr(args, "data_dir", None)
    words = ["torchlvm", "evaluate", str(folder), "--figures-only"]
    words += [] if data_dir is None else ["--data-dir", str(data_dir)]
    return " ".join(quoted(word) for word in words)


def _in_the_way(figures: Path) -> tuple[str, str] | None:
    """What of the user's stands where the figures folder goes, and what to do with it before
    the figures can be drawn: a file (move or rename it), a link to nothing (review13 #20c: it
    was called a file; make its folder, or move it); None where nothing does."""
    if figures.is_symlink() and not figures.exists():  # (a relative link: from its folder)
        target = os.path.normpath(figures.parent / os.readlink(figures))
        return (
            f"{figures} is a link to {target}, which does not exist",
            f"make that folder (mkdir -p {quoted(target)}) or move the link away",
        )
    if os.path.lexists(figures) and not figures.is_dir():
        return f"{figures} is a file", f"move or rename {quoted(figures)}"
    return None


def _numbers_kept(folder: Path, args: argparse.Namespace, blocked: str | None = None) -> str:
    """Where the numbers are and the command that draws the figures; ``blocked``: what to do
    first with what of the user's stands where the figures folder goes (:func:`_in_the_way`),
    which that command would fail on too until then (it was offered unchanged, the very
    command that had failed: review12 #8)."""
    from torchlvm.run.layout import RunLayout

    layout, command = RunLayout(folder), redraw_command(folder, args)
    if blocked is not None:
        return f"the evaluation's numbers are in {layout.metrics_json}; {blocked}, then: {command}"
    return (
        f"the evaluation's numbers are in {layout.metrics_json} (the figures in "
        f"{layout.figures}/ are as they were); draw the figures with: {command}"
    )


def _said(err: BaseException) -> str:
    """``err`` in one line: a system error's reason and path, else its type and text."""
    if isinstance(err, OSError) and err.strerror:
        where = f": {err.filename}" if err.filename else ""
        text = f"{err.strerror}{where}"
    else:
        text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    return " ".join(text.split())


def figures_of(
    model: Any, complete: Any, result: Any, folder: Path, condition: Any,
    args: argparse.Namespace, staging: Staging,
) -> dict[str, Any]:  # fmt: skip
    """The figures of the split's complete rows (``complete``); none when it has no complete
    row."""
    if len(complete):
        return write_figures(model, complete, result, folder, condition, args, staging)
    from torchlvm.evaluation.evaluate import NEEDS_COMPLETE_ROWS

    reason = NEEDS_COMPLETE_ROWS.format(what="the figures")
    return {"folder": "figures", "written": [], "skipped": {"all": reason}}


IMAGE_FIGURES = frozenset(
    {"samples", "reconstructions", "traversals", "interpolation", "manifold", "conditional"}
    | {"imputation"}
)
"""Figures drawn as images (not drawn for a table)."""


def _figure_data(model: Any, dataset: Any, condition: Any, seed: int, n: int | None) -> Any:
    """What the figures show, on the CPU (figures are small): of the ``n`` examples evaluate's
    numbers are of (its seeded subsample; userW #6: the latent scatter showed the split's first
    500 where the numbers were of 300), the first 2,000 of them."""
    from torchlvm._kept_state import seeded
    from torchlvm.evaluation._batching import model_dtype
    from torchlvm.evaluation.eval_data import conditions_for, subsample
    from torchlvm.evaluation.figure_data import figure_data

    model = model.cpu()
    x, _, y = subsample(dataset, n, seed)
    x, y = x[:2000].to(model_dtype(model)), None if y is None else y[:2000]
    c, missing = conditions_for(model, x, y, condition, dataset.shape, int(seed))
    names = None if dataset.class_names is None else list(dataset.class_names)
    with seeded(seed):
        return figure_data(
            model, x, y, c, shape=dataset.shape, condition=condition, missing=missing,
            class_names=names, seed=seed,
        )  # fmt: skip


def _traversed(dims: list[int], latent: Latent | None) -> str:
    """``: the 10 of 20 dimensions that change the image most`` where the traversals show some
    of K, else ``""``."""
    size = None if latent is None else latent.latent_dim
    if size is None or len(dims) >= size:
        return ""
    return f": the {len(dims)} of {size} dimensions that change the image most"


def _traversal_centre(result: Evaluation, conditional: bool) -> str:
    """What the traversals' steps are measured from (figure_data's traversal): the prior, or an
    autoencoder's codes of the data (their mean and standard deviation)."""
    info = getattr(result, "model", None)
    if info is not None and info.deterministic_encoder is True:
        return "the codes f(x)"
    return "p(z | c)" if conditional else "p(z)"


def _figure_jobs(
    d: Any, result: Evaluation, metrics_csv: Path, names: list[str] | None, conditional: bool,
    reconstruction: str | None = None, scale: tuple[float, float] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Figure name → a function that draws it (False or None: it does not apply): the images
    (:func:`_image_jobs`, on ``scale``), then the rest; a CVAE's curves name c and p(z|c), an
    autoencoder's its ``reconstruction`` loss's unit."""
    from torchlvm import plots
    from torchlvm.evaluation.records import Latent

    latent = result.latent if isinstance(result.latent, Latent) else None
    kl = None if latent is None or latent.kl_per_dim is None else latent.kl_per_dim.value
    return {
        **_image_jobs(d, result, conditional, scale),
        "latent_scatter": lambda: plots.latent_scatter(d.codes, d.labels, names),
        "kl_per_dimension": lambda: (
            kl is not None and plots.kl_per_dimension(kl, threshold=None, conditional=conditional)
        ),  # (a CVAE's is KL(q(z_i|x,c) ‖ p(z_i|c)), as its curves say: userM #15)
        "training_curves": lambda: (
            metrics_csv.is_file()
            and plots.training_curves(
                metrics_csv,
                per=result.protocol.noun,
                conditional=conditional,
                reconstruction=reconstruction,
            )  # fmt: skip
        ),
    }


def _image_jobs(
    d: Any, result: Evaluation, conditional: bool, scale: tuple[float, float] | None
) -> dict[str, Any]:
    """The image figures of :func:`_figure_jobs`, every one drawn on ``scale``, the run's
    trained range, as ``sample`` draws its samples: on their own extremes, decodings of at most
    0.3 of the range were stretched to full contrast, their brightest pixel white (readD D6)."""
    from torchlvm import plots
    from torchlvm.evaluation.records import Latent

    shape, at = d.shape, "" if d.condition is None else f" at c = {d.condition}"  # (CVAE's c)
    latent = result.latent if isinstance(result.latent, Latent) else None
    return {
        "samples": lambda: (
            d.samples is not None
            and plots.image_grid(d.samples, shape, title=f"Samples: {d.samples_note}", scale=scale)
        ),
        "reconstructions": lambda: plots.reconstruction_pairs(
            d.inputs, d.reconstructions, shape, scale=scale
        ),
        "traversals": lambda: plots.traversal_grid(
            d.traversal,
            shape,
            d.traversal_dims,
            d.traversal_values,
            title=f"Latent traversals{at}{_traversed(d.traversal_dims, latent)}",
            centre=_traversal_centre(result, conditional),
            scale=scale,
        ),  # fmt: skip
        "interpolation": lambda: (
            d.interpolation is not None
            and plots.interpolation_strip(
                d.interpolation, shape, title=f"Interpolation in latent space{at}", scale=scale
            )
        ),
        "manifold": lambda: (
            d.manifold is not None
            and plots.manifold_grid(
                d.manifold,
                shape,
                (-3.0, 3.0),
                title=f"Decoded 2-D latent manifold{at}",
                scale=scale,
            )  # fmt: skip
        ),
        "conditional": lambda: (
            d.conditional is not None
            and plots.conditional_grid(d.conditional, shape, d.class_names, scale=scale)
        ),
        "imputation": lambda: (
            d.imputation is not None
            and plots.imputation_panels(shape=shape, scale=scale, **d.imputation)
        ),
    }


def write_figures(
    model: Any,
    dataset: Any,
    result: Evaluation,
    folder: Path,
    condition: Any,
    args: argparse.Namespace,
    staging: Staging,
) -> dict[str, Any]:
    """Draw the run's figures for ``folder/figures`` with :mod:`torchlvm.plots`, redrawing
    those torchlvm drew and leaving any other file there (the user's) as it was. Each is
    drawn at its ``staging`` name, for the caller to put in place with the record.

    Returns ``{"folder", "written": [file names], "skipped": {name: reason}}``.
    """
    from torchlvm import plots
    from torchlvm.data.value_range import trained_range
    from torchlvm.run.layout import RunLayout
    from torchlvm.run.outputs import torchlvm_figure
    from torchlvm.run.record import read_record

    layout = RunLayout(folder)
    d = _figure_data(model, dataset, condition, args.seed, result.protocol.n)
    written, skipped = [], {}
    names = None if dataset.class_names is None else list(dataset.class_names)
    table = len(dataset.shape) == 1
    loss = getattr(getattr(model, "config", None), "reconstruction", None)  # an autoencoder's
    scale = trained_range(read_record(folder).get("data") or {})
    jobs = _figure_jobs(d, result, layout.metrics_csv, names, condition.conditional, loss, scale)
    for name, make in jobs.items():
        if table and name in IMAGE_FIGURES:
            skipped[name] = f"the data are a table (rows of {dataset.dim} features), not images"
            continue
        path = layout.figure(f"{name}.png")
        if path.exists() and not torchlvm_figure(path):
            skipped[name] = f"{path} is not a figure torchlvm drew; left as it was"
            print(f"left {path} as it was (torchlvm did not draw it); move it away to redraw it")
            continue
        try:
            fig = make()
        except Exception as err:  # a figure must never cost the metrics
            skipped[name] = f"{type(err).__name__}: {err}"
            continue
        if fig is False or fig is None:
            skipped[name] = "does not apply to this model"
            continue
        plots.save_figure(fig, staging.path(path))
        written.append(f"{name}.png")
    condition_of = {} if d.condition is None else {"condition": d.condition}  # (a CVAE's)
    return {"folder": "figures", "written": written, "skipped": skipped, **condition_of}
