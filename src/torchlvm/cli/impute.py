"""Fill in a hidden part of images with a trained model, and say how good the fill is.

--mask names the MISSING part: a half (top, bottom, left, right), a quadrant (top-left, ...) or
random:F (a random fraction F of the pixels, the same positions in every image). The method
depends on the model, and the output names it:

- PPCA: the exact conditional mean E[x_missing | x_observed] under the fitted Gaussian.
- CVAE trained with --condition mask:KIND (Sohn et al. 2015, §4.2): c = (x ⊙ m, m) from the
  observed part; the imputation is the mean over --samples draws z ~ p(z | c) of the decoder
  mean E[x | z, c].
- VAE: pseudo-Gibbs sampling (Rezende, Mohamed & Wierstra 2014, "Stochastic Backpropagation and
  Approximate Inference in Deep Generative Models", missing-data imputation): start the missing
  pixels at their training mean, then --iterations times draw z ~ q(z | x) and set the missing
  pixels to the decoder mean E[x | z], keeping the observed ones; the result is averaged over
  --samples independent chains.
- Autoencoder: the same iteration with its deterministic maps (code f(x), decoder output).

The error printed is the mean squared error on the missing pixels, next to the baseline that fills
each missing pixel with its mean over the training split, and their difference with its standard
error, paired over the images (the digits printed are those it justifies). Data are taken as the
model sees them (under the run's binarization protocol).

Writes DIR/figures/imputation.png (observed / imputed / true rows).

A table instead: --data FILE.csv --out FILLED.csv fills every missing (empty) cell of the file
and keeps every other cell as written; --draws N writes N multiple imputations. An array:
--data FILE.npy (NaN cells) --out FILLED.npy fills its NaN cells, in the file's shape.

Examples:
  torchlvm impute runs/ppca-table --data survey.csv --out filled.csv
  torchlvm impute runs/vae-table --data survey.csv --out draws.csv --draws 5
  torchlvm impute runs/ppca-rows --data rows.npy --out filled.npy
  torchlvm impute runs/ppca --mask top
  torchlvm impute runs/cvae-top --samples 10
  torchlvm impute runs/vae --mask random:0.5 --iterations 100 --samples 5
"""

from __future__ import annotations

import argparse
from typing import Any

from torchlvm.cli import _types
from torchlvm.cli._accelerator import device_for, open_run
from torchlvm.errors import ConfigError, DataError
from torchlvm.inference.imputation import impute_missing

HELP = (
    "fill a table's empty cells or a hidden part of images (PPCA exactly, CVAE from p(z|c), VAE "
    "by pseudo-Gibbs)"
)

DEFAULT_ITERATIONS = 50  # pseudo-Gibbs iterations for VAEs and autoencoders
DEFAULT_SAMPLES = 10
"""Chains (VAE) or draws (CVAE) averaged for images. One chain's last state is a draw of
x_missing, not its mean: on a digits VAE (K=8, --mask top) it lost to the per-pixel training mean
(MSE 0.1430 vs 0.1416) where 10 chains won (0.1280), at 33.1 s wall against 30.9 s."""


def configure(parser: argparse.ArgumentParser) -> None:
    _types.run_and_data(parser, seed="seed of the random draws", whole_file=True)
    parser.add_argument(
        "--mask",
        metavar="KIND",
        help="the MISSING part: top, bottom, left, right, top-left, top-right, bottom-left, "
        "bottom-right or random:F (default for an imputation CVAE: the mask it was trained with)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        help="CVAE: draws z ~ p(z|c) averaged; VAE: pseudo-Gibbs chains averaged (default "
        f"{DEFAULT_SAMPLES}); a table and a VAE: importance samples (default 1000)",
    )
    parser.add_argument(
        "--iterations",
        type=_types.positive_int,
        help="VAE and autoencoder: pseudo-Gibbs iterations, a positive integer (default: "
        f"{DEFAULT_ITERATIONS})",
    )
    parser.add_argument(
        "--eval-n",
        type=int,
        help="images (the split's first N) on which the error is measured (default 1000)",
    )
    parser.add_argument("--n", type=int, help="images shown (the split's first N; default 8)")
    _types.output_options(parser, "DIR/figures/imputation.png")
    parser.add_argument(
        "--draws",
        type=_types.non_negative_int,
        default=0,
        help="with --data FILE.csv --out FILLED.csv (a table): write N multiple imputations "
        "instead of the conditional mean",
    )


def run(args: argparse.Namespace) -> int:
    import torch

    from torchlvm.cli import _impute_array, _impute_table

    device = device_for(args)
    if _impute_array.wants_array(args):
        return _impute_array.impute_array(args, device)
    if _impute_table.wants_table(args):
        return _impute_table.impute_table(args, device)

    from torchlvm import plots
    from torchlvm import run as _run
    from torchlvm._checks import check_positive_int
    from torchlvm.evaluation.imputation import imputation_error

    _refuse_draws(args.draws)
    n = check_positive_int("--n", 8 if args.n is None else args.n)
    samples = DEFAULT_SAMPLES if args.samples is None else args.samples
    samples = check_positive_int("--samples", samples)
    eval_n = check_positive_int("--eval-n", 1000 if args.eval_n is None else args.eval_n)
    run_ = open_run(args)  # (a linked run folder resolved: its figure goes to the run read)
    method = _method(run_)
    iterations = _iterations(method, args.iterations)
    kind = _mask_kind(run_, method, args.mask, args.data)
    default = run_.folder / "figures" / "imputation.png"
    out = _run.output_file(
        args.out, default, suffix=".png", overwrite=args.overwrite, ours=_run.torchlvm_figure
    )
    _check_size(run_, samples, eval_n)
    dataset, pixel_mean = _data(run_, args)
    shape = _run.image_shape(run_, dataset, rows=_rows_fix(run_))
    observed = _observed(run_, method, kind, shape, args.seed)
    missing = ~observed  # (D,)
    x = _run.model_view(dataset, run_, args.seed, slice(0, eval_n))  # (a stream: those rows)

    options = {"samples": samples, "iterations": iterations, "generator": run_.generator(args.seed)}
    filled = _run.in_batches(
        lambda xb: impute_missing(method, run_.model, xb, observed, pixel_mean, **options),
        x,
        device=run_.device,
    )
    imputed = torch.where(missing, filled, x)  # (N, D) observed pixels kept
    errors = imputation_error(x, imputed, pixel_mean, missing)

    shown = min(n, len(x))
    title = f"Imputation of the missing {kind} part by {run_.describe()}"
    plots.save_figure(_panels(x[:shown], imputed[:shown], observed, shape, title), out)
    print(
        f"imputed the missing {kind} part ({int(missing.sum())} of {missing.numel()} values per "
        f"image) of {len(x)} {dataset.name} {dataset.split} images "
        f"({_run.protocol_note(dataset, args.seed)}) with {run_.describe()}"
    )
    print(f"  method: {_describe(method, samples, iterations)}")
    if method == "cvae" and kind != _trained(run_):
        print(f"  note: the CVAE was trained with {run_.condition_text}; this mask is new to it")
    for line in _error_lines(errors, more=eval_n < len(dataset)):
        print(line)
    print(f"wrote {out} ({shown} image{'s' * (shown != 1)}: observed / imputed / true)")
    return 0


def _data(run_: Any, args: argparse.Namespace) -> tuple[Any, Any]:
    """The images to impute (the test split of the run's data, or every image of a file given
    with ``--data``, as ``encode`` reads it, unless ``--split`` says otherwise) and the
    baseline's fill ``(D,)``: each pixel's mean over the training split of the run's data (the
    data the model learned from), or of ``--data`` where the run's own data cannot be found."""
    import torch

    from torchlvm import run as _run
    from torchlvm.errors import DataNotFoundError

    split = _types.split_of(args)
    dataset = _run.load_split(
        run_, args.data, split, data_dir=args.data_dir, streamed=True, command="impute"
    )
    train = None
    if args.data is not None and run_.data.get("name"):
        try:
            train = _run.load_split(run_, None, "train", streamed=True)
        except DataNotFoundError:  # the run's data moved away: the file's own training split
            pass
    if train is None:
        train = _run.load_split(run_, args.data, "train", data_dir=args.data_dir, streamed=True)
    mean = train.x.mean(0) if isinstance(train.x, torch.Tensor) else train.x.column_mean()
    return dataset, mean.to(run_.dtype)  # (a --mmap run's rows: summed a block at a time)


def _error_lines(errors: Any, *, more: bool) -> list[str]:
    """The model's and the baseline's error, to the digit that the paired standard error of
    their difference justifies, and that difference with its standard error (``errors``: an
    :class:`~torchlvm.evaluation.imputation.ImputationError`); ``more``: the split holds more
    images than were measured (``--eval-n`` would take them)."""
    from torchlvm.report.metrics import format_measured

    se = errors.difference_stderr if errors.n > 1 else None

    def shown(value: float) -> str:
        return format_measured(value, se).split(" ± ")[0]

    lines = [
        f"  mean squared error per missing pixel: {shown(errors.model)} (model), "
        f"{shown(errors.baseline)} (baseline: each pixel's mean over the training split)"
    ]
    if se is None:
        return [
            *lines,
            "  model − baseline: no standard error from 1 image (pass a larger --eval-n)"
            if more
            else "  model − baseline: no standard error from 1 image (impute more images: "
            "--split all, or a --data file of several)",
        ]
    return [
        *lines,
        f"  model − baseline: {format_measured(errors.difference, se)} (standard error of the "
        f"paired difference over {errors.n} images)",
    ]


def _rows_fix(run_: Any) -> str:
    """How a run trained on rows, not images, fills missing values instead: a table's cells."""
    from torchlvm import run as _run

    if run_.model_type in ("ppca", "vae"):
        return "fill the empty cells of a table with --data FILE.csv --out FILLED.csv"
    return (
        f"impute fills the empty cells of a table with PPCA or a VAE, and {run_.folder} holds "
        f"{_run.model_phrase(run_.model_type)}"
    )


def _panels(x: Any, imputed: Any, observed: Any, shape: Any, title: str) -> Any:
    """The observed / imputed / true panels of images ``x`` ``(n, D)``."""
    import torch

    from torchlvm import plots

    hidden = torch.where(~observed, torch.full_like(x, float("nan")), x)
    return plots.imputation_panels(
        observed=hidden, mask=observed.expand(len(x), -1), imputed=imputed, true=x, shape=shape,
        title=title,
    )  # fmt: skip


def _observed(run_: Any, method: str, kind: str, shape: Any, seed: int) -> Any:
    """The observed-pixel mask ``(D,)`` for --mask ``kind``: the exact one an imputation CVAE
    saw in training when it is its own kind, else drawn with ``seed``.

    Raises:
        ConfigError: for a mask that hides nothing.
    """
    import torch

    from torchlvm import run as _run
    from torchlvm.models.conditions import image_mask

    if method == "cvae" and kind == _trained(run_):
        observed = _run.training_mask(run_, shape)
    else:
        observed = image_mask(kind, shape, generator=torch.Generator().manual_seed(seed))
    if observed.all():
        raise ConfigError(f"--mask {kind} hides no pixel of a {tuple(shape)} image; hide more")
    return observed


def _refuse_draws(draws: int) -> None:
    """Refuse --draws, a table's option, for images (it was silently ignored)."""
    if draws:
        raise ConfigError(
            "--draws writes multiple imputations of a table (--data FILE.csv --out FILLED.csv); "
            "for images leave out --draws (--samples averages several draws)"
        )


def _check_size(run_: Any, samples: int, eval_n: int) -> None:
    """Refuse --samples whose draws for one batch of images cannot fit in memory."""
    from torchlvm._memory import check_fits
    from torchlvm.run.split import BATCH

    batch = min(eval_n, BATCH)
    what = f"--samples {samples} draws of a batch of {batch} images of {run_.input_dim} values"
    check_fits(samples * batch * run_.input_dim * 4, what, "pass a smaller --samples")


def _method(run_: Any) -> str:
    """``"ppca"``, ``"cvae"`` (an imputation CVAE), ``"vae"`` or ``"ae"``.

    Raises:
        ConfigError: for a run trained on a table (--mask hides part of an image: a table has
            none) or a CVAE that is not conditioned on the observed part.
    """
    if run_.data.get("table") is not None:
        raise ConfigError(
            f"{run_.folder} was trained on a table ({run_.data.get('name')}), not on images; "
            f"{_rows_fix(run_)}"
        )
    if run_.model_type != "cvae":
        return run_.model_type
    condition = run_.condition
    unrecorded_mask = condition is None and run_.model.condition_dim == 2 * run_.input_dim
    if unrecorded_mask or (condition is not None and condition.kind == "mask"):
        return "cvae"  # (a mask that is not recorded is named by --mask)
    raise ConfigError(
        f"the CVAE in {run_.folder} is conditioned on {run_.condition_text}, not on the observed "
        "part of the image; impute with a CVAE trained with --condition mask:KIND, a VAE, an "
        "autoencoder or PPCA"
    )


def _iterations(method: str, iterations: int | None) -> int:
    if method in ("vae", "ae"):
        return DEFAULT_ITERATIONS if iterations is None else iterations
    if iterations is not None:
        raise ConfigError(
            f"--iterations applies to pseudo-Gibbs imputation with a VAE or autoencoder; "
            f"{method} imputes in one step"
        )
    return 0


def _mask_kind(run_: Any, method: str, mask: str | None, data: Any = None) -> str:
    from torchlvm.models.conditions import check_mask_kind

    if mask is not None:
        return check_mask_kind(mask)
    if method == "cvae" and _trained(run_) is not None:
        return _trained(run_)
    if data is not None and str(data).lower().endswith(".npy"):  # (one with NaN: _impute_array)
        raise DataError(  # an array of rows without NaN was told to pass an image mask
            f"{data} holds no missing (NaN) value, so there is nothing to fill; to hide a part "
            "of each image and fill it, pass --mask KIND (top, bottom, ..., random:F)"
        )
    raise ConfigError(
        "pass --mask KIND, the part that is missing: top, bottom, left, right, top-left, "
        "top-right, bottom-left, bottom-right or random:F"
    )


def _trained(run_: Any) -> str | None:
    """The missing part of the mask an imputation CVAE was trained with, when recorded."""
    condition = run_.condition
    return None if condition is None else condition.missing


def _describe(method: str, samples: int, iterations: int) -> str:
    draws = "draw" if samples == 1 else "draws"
    chains = (
        "one chain (its last state, a draw of x_missing rather than its mean: --samples N "
        "averages N chains)"
        if samples == 1
        else f"mean of {samples} chains"
    )
    return {
        "ppca": "exact conditional mean E[x_missing | x_observed] under PPCA",
        "cvae": f"mean of the decoder means E[x | z, c] over {samples} {draws} z ~ p(z | c), "
        "c = the observed part and its mask (Sohn et al. 2015)",
        "vae": f"pseudo-Gibbs (Rezende et al. 2014), {iterations} iterations of z ~ q(z | x), "
        f"x_missing ← E[x_missing | z], observed pixels kept; {chains}",
        "ae": f"iterated autoencoding, {iterations} iterations of x_missing ← g(f(x))_missing, "
        "observed pixels kept (deterministic: no chains)",
    }[method]
