"""Outlier detection: does the model's score tell in-distribution test data from other data?

Out-of-distribution (OOD) sets, put through the same binarization protocol as the test set; a
dataset's (and ``noise``, ``flip``) the size of the in-distribution test set, a user's file
whole:

- ``noise``: uniform noise in [0, 1]^D;
- ``flip``: the test images flipped vertically (upside down);
- a dataset name (``digits``, ``fashion-mnist``, ``mnist``, ...) or ``other`` (``digits`` for
  28×28 data, ``fashion-mnist`` for 8×8 data): that dataset's test split, found by its name
  ($TORCHLVM_DATA, the user cache, /usr/share/datasets), never in the folder of the run's own data:
  MNIST and Fashion-MNIST share their IDX file names, and a Fashion-MNIST run evaluated with
  ``--data-dir`` read its own images as "mnist" (AUROC 0.500, unsaid). A dataset of another
  image size is resized only when asked (``resize="bilinear"`` or ``"area"``, both with
  antialiasing when shrinking), and the resize is recorded; otherwise it is an error;
- a folder of MNIST-format IDX files (the four files of a dataset such as MNIST, raw or ``.gz``,
  torchvision's ``MNIST/raw`` included): its test images, as for a dataset name;
- a user's file (``.csv``, ``.npy``, ``.npz``): every row of it. For a model trained on a table,
  the file is read with the run's :class:`~torchlvm.data.table_schema.TableSchema` (the same
  columns, matched by name, and the same standardization), so its rows are scored in the units
  the model was trained in.

Two scores, both reported, positives = OOD, "higher = more anomalous":

1. the likelihood score −log p(x) (the model's importance-sampled estimate, or a stated
   substitute such as the reconstruction error of an autoencoder). Nalisnick et al. 2019 ("Do Deep
   Generative Models Know What They Don't Know?") show it can fail: a model of Fashion-MNIST gives
   MNIST digits *higher* likelihood, so AUROC < 0.5;
2. the typicality score |−log p(x) − Ĥ| (Nalisnick et al. 2019b, "Detecting Out-of-Distribution
   Inputs to Deep Generative Models Using Typicality", with batch size M = 1), where Ĥ, the mean
   −log p(x) of held-out in-distribution (validation) data, estimates the entropy. Inputs that are
   *too* likely are flagged as well as unlikely ones, which avoids the trap above.

AUROC and AUPRC come from scikit-learn (``roc_auc_score``, ``average_precision_score``); AUPRC's
chance level is the fraction of OOD examples, n_out / (n_in + n_out): 0.5 for a set of the test
set's size, another for a file used whole (50 rows against 180 test rows: 0.22), printed beside
it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from torchlvm._checks import check_choice
from torchlvm._shell import quoted
from torchlvm.data.dataset import Dataset
from torchlvm.data.mnist import is_idx_name
from torchlvm.data.registry import is_file_name
from torchlvm.data.table_schema import TableSchema
from torchlvm.errors import ConfigError, DataError, DataNotFoundError, spelled
from torchlvm.evaluation._records import metric
from torchlvm.evaluation.ood_names import (
    check_ood_values,
    idx_images,
    idx_test_images,
    is_ood_file,
    is_ood_folder,
    not_a_table_file,
    ood_not_found,
)

RESIZE_MODES: tuple[str, ...] = ("none", "bilinear", "area")
OTHER_DATASET: dict[tuple[int, ...], str] = {(1, 28, 28): "digits", (1, 8, 8): "fashion-mnist"}


def default_ood_sets(reference: Dataset, sets: tuple[str, ...]) -> tuple[str, ...]:
    """``sets`` (the defaults, e.g. ``DEFAULT_OOD``) less those that cannot apply to the images of
    ``reference``: its own dataset, and ``"other"`` for a shape without a partner in
    :data:`OTHER_DATASET`; none for rows that are not images (noise in [0, 1], a flip or
    another image dataset says nothing of them: their OOD sets are files of rows, as a
    table's). Named explicitly, such a set is still refused by :func:`make_ood_set`."""
    if len(reference.shape) != 3:
        return ()
    partner = OTHER_DATASET.get(reference.shape)
    cannot = {reference.name} | ({"other"} if partner in (None, reference.name) else set())
    return tuple(name for name in sets if name not in cannot)


@dataclass(frozen=True)
class OODSet:
    """An out-of-distribution set ready to score.

    Attributes:
        name: what it was asked as (``"noise"``, ``"flip"``, ``"digits"``, ...).
        x: ``(N, D)`` in [0, 1], grey levels (before the binarization protocol).
        description: what it is, including any resize.
    """

    name: str
    x: Tensor
    description: str


def _image_shape(shape: tuple[int, ...], what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise DataError(
            f"{what} has per-example shape {shape}, not an image (C, H, W); this OOD set needs "
            "image data"
        )
    return shape  # type: ignore[return-value]


def resize_images(x: Tensor, source: tuple[int, ...], target: tuple[int, ...], mode: str) -> Tensor:
    """Resize flattened images ``(N, C·H·W)`` from shape ``source`` to ``target``.

    Args:
        mode: ``"bilinear"`` or ``"area"`` (``torch.nn.functional.interpolate``; bilinear
            antialiases when shrinking). Values are clipped to [0, 1].

    Raises:
        DataError: for non-image shapes or a different number of channels.
    """
    c1, h1, w1 = _image_shape(source, "the OOD set")
    c2, h2, w2 = _image_shape(target, "the model's data")
    if c1 != c2:
        raise DataError(f"cannot resize {c1}-channel images to {c2} channels ({source} → {target})")
    images = x.reshape(-1, c1, h1, w1)  # (N, C, H, W)
    shrinking = h2 < h1 or w2 < w1
    if mode == "bilinear":
        out = torch.nn.functional.interpolate(
            images, size=(h2, w2), mode="bilinear", align_corners=False, antialias=shrinking
        )
    else:
        out = torch.nn.functional.interpolate(images, size=(h2, w2), mode="area")
    return out.clamp(0, 1).reshape(x.shape[0], c2 * h2 * w2)  # (N, C·H·W)


class OtherChannelsError(DataError):
    """An OOD set's images have other channels than the model's (grey against colour): no
    resize mends it. ``reason``: the short line of a set that is skipped for it."""

    reason = ""


def _check_channels(shape: tuple[int, ...], reference: Dataset, name: str) -> None:
    """Refuse images of OOD set ``name`` (per-example ``shape``) whose channels are not those of
    ``reference``'s images, naming the conversion that gives them its channels."""
    if len(shape) != 3 or len(reference.shape) != 3 or shape[0] == reference.shape[0]:
        return
    have, want = shape[0], reference.shape[0]
    # the file's axes are not known here: both layouts a .npy of images comes in are named
    if want == 1:
        how = (
            f"grey from colour, numpy: x.mean(axis=1, keepdims=True) of (N, {have}, H, W), "
            f"x.mean(axis=-1) of (N, H, W, {have})"
        )
    elif have == 1:
        how = (
            f"numpy: x.repeat({want}, axis=1) of (N, 1, H, W), x.repeat({want}, axis=-1) of "
            "(N, H, W, 1)"
        )
    else:
        how = f"numpy: x[:, :{want}] of (N, {have}, H, W), x[..., :{want}] of (N, H, W, {have})"
    channels = "1 channel" if want == 1 else f"{want} channels"
    error = OtherChannelsError(
        f"OOD set {name!r} has {have}-channel images but the model's data ({reference.name}) "
        f"has {want}; save them with {channels} ({how}) or choose a set of {want}-channel images"
    )
    kind = {have: f"{have}-channel", want: f"{want}-channel", 1: "grey"}
    error.reason = (
        f"{kind[have]} images for a model of {kind[want]} images (no resize gives them its "
        f"channels); pass a file of {want}-channel images as --ood FILE.npy"
    )
    raise error


def _check_noise_outside(reference: Dataset) -> None:
    """Refuse uniform noise in [0, 1] as an OOD set of rows whose values leave [0, 1]: such
    noise lies inside or beside the data (two-moons spans [−1.2, 2.2]: its AUROC sat below
    chance, unsaid, userI #12). Rows of values in [0, 1] (images as rows) take it as images do.

    Raises:
        DataError: naming the rows' range and the sets that work.
    """
    x = reference.x
    low, high = float(x.nan_to_num(0.0).min()), float(x.nan_to_num(0.0).max())
    if low >= 0.0 and high <= 1.0:
        return
    raise DataError(
        f"OOD set 'noise' is uniform noise in [0, 1] per value, and the rows of "
        f"{reference.name} span [{low:.3g}, {high:.3g}], so the noise lies among them, not out "
        "of distribution; pass a file of rows that are (--ood FILE.npy; ood=('FILE.npy',) in "
        "Python) or none"
    )


def make_ood_set(
    name: str,
    reference: Dataset,
    *,
    n: int,
    seed: int = 0,
    resize: str = "none",
    table: TableSchema | None = None,
    binarize: str = "none",
) -> OODSet:
    """Build one OOD set shaped like ``reference``.

    Args:
        name: ``"noise"``, ``"flip"``, ``"other"`` or a dataset name.
        reference: the in-distribution evaluation data (grey levels).
        n: number of examples (a seeded subsample of a dataset's test split when larger; a
            file is used whole).
        seed: seed of the noise and of the subsample.
        resize: ``"none"`` (a dataset of another shape is an error), ``"bilinear"`` or ``"area"``.
        table: the run's table (columns, standardization) when the model was trained on one:
            a file is read with it, and only a file is taken.
        binarize: the run's binarization protocol, which a file's values must suit
            (:func:`check_ood_values`), checked before any resize.

    Raises:
        ConfigError: for an unknown resize mode, ``"other"`` without a known partner, the
            in-distribution dataset itself, or anything but a file beside a ``table``.
        DataError: for a dataset of another shape with ``resize="none"``, or a non-image one;
            beside a ``table``, a file whose columns differ or that has missing cells; a file
            of images with NaN or with values ``binarize`` cannot take.
        DataNotFoundError: when the dataset's files are missing.
    """
    import torchlvm.data.factors  # noqa: F401  (registers "shapes")
    from torchlvm.data import load_dataset

    check_choice("ood resize", resize, RESIZE_MODES)
    if table is not None:
        return _table_ood_set(name, table)
    generator = torch.Generator().manual_seed(seed)
    if name == "noise":
        images = len(reference.shape) == 3
        if not images:
            _check_noise_outside(reference)
        x = torch.rand(n, reference.dim, generator=generator)
        return OODSet(name, x, f"uniform noise in [0, 1] per {'pixel' if images else 'value'}")
    if name == "flip":
        c, h, w = _image_shape(reference.shape, reference.name)
        images = reference.x[:n].reshape(-1, c, h, w)  # (N, C, H, W)
        x = images.flip(-2).reshape(-1, reference.dim)
        return OODSet(name, x, f"{reference.name} {reference.split} images flipped vertically")
    dataset = name
    if name == "other":
        if reference.shape not in OTHER_DATASET:
            raise ConfigError(
                f"OOD set 'other' knows a partner only for shapes {sorted(OTHER_DATASET)}, got "
                f"{reference.shape}; name a dataset instead"
            )
        dataset = OTHER_DATASET[reference.shape]
    if dataset == reference.name:
        raise ConfigError(
            f"OOD set {dataset!r} is the in-distribution dataset itself; choose another"
        )
    whole = is_ood_file(dataset)  # a user's file: every row of it
    split, missing = ("all", {"allow_missing": True}) if whole else ("test", {})
    if is_ood_folder(dataset):
        other = idx_images(idx_test_images(dataset))
    elif is_idx_name(dataset):
        other = idx_images(dataset)
    else:
        try:
            other = load_dataset(dataset, split, seed=seed, **missing)  # (found by its name)
        except DataNotFoundError:
            raise ood_not_found(dataset) from None
    x = other.x
    if whole:  # (a dataset holds grey levels in [0, 1])
        check_ood_values(x, binarize, name)
    if len(x) > n and not whole:
        x = x[torch.randperm(len(x), generator=generator)[:n]]
    noun = "images" if len(reference.shape) >= 2 else "rows"  # (userM #2: images, not rows)
    description = f"{dataset}, all {len(x)} {noun}" if whole else f"{dataset} test split"
    if other.shape != reference.shape and not (whole and other.dim == reference.dim):
        _check_channels(other.shape, reference, dataset)  # (no resize mends those)
        if resize == "none":  # (the fix as each interface spells it: review13 #20a)
            raise spelled(
                DataError,
                lambda spell: (
                    f"OOD set {dataset!r} has per-example shape {other.shape} but the "
                    f"model's data ({reference.name}) has {reference.shape}; pass an explicit "
                    f"resize ({spell('ood_resize', 'bilinear')} or "
                    f"{spell('ood_resize', 'area')}) or choose a dataset of the same shape"
                ),
            )
        x = resize_images(x, other.shape, reference.shape, resize)
        description += f", resized from {other.shape} to {reference.shape} ({resize})"
    return OODSet(name, x, description)


def _table_ood_set(name: str, table: TableSchema) -> OODSet:
    """The complete rows of the file ``name``, read as the run's table (its columns,
    standardized), as the test split's complete rows are scored: its rows with missing cells are
    left out and counted in the description (``score`` scores them on their observed cells).
    The whole file was refused for one missing cell, after evaluate had printed that it scores
    the test split's complete rows (userA).

    Raises:
        DataError: where no row of the file is complete.
    """
    if not is_file_name(name):
        raise not_a_table_file(name)
    rows = table.load(name, allow_missing=True)
    complete = ~torch.isnan(rows.x).any(-1)  # (N,)
    kept, total = int(complete.sum()), len(rows)
    score = f"torchlvm score RUN --data {quoted(name)} --out scores.csv"
    if not kept:
        raise DataError(
            f"{name}: none of its {total} rows is complete, and evaluate's outlier scores take "
            f"complete rows; score them with {score} (it integrates the missing cells out)"
        )
    units = "standardized as in training" if table.standardizer is not None else "as stored"
    which = f"all {total} rows"
    if kept < total:
        left = total - kept
        which = (
            f"the {kept} complete rows of {total} ({left} with missing cells left out; {score} "
            "scores those)"
        )
    return OODSet(name, rows.x[complete], f"{name}, {which} (the run's columns, {units})")


def detection_metrics(in_score: Tensor, out_score: Tensor) -> dict[str, Any]:
    """AUROC and AUPRC of telling ``out_score`` (positives) from ``in_score`` (negatives),
    with higher scores meaning "more anomalous"."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores = torch.cat([in_score, out_score]).double().numpy()
    labels = [0] * len(in_score) + [1] * len(out_score)
    if not math.isfinite(float(scores.sum())):
        scores = torch.nan_to_num(torch.from_numpy(scores), nan=float("inf")).numpy()
    chance = len(out_score) / len(scores)
    return {
        "auroc": metric(roc_auc_score(labels, scores), "AUROC", "measured", chance=0.5),
        "auprc": metric(
            average_precision_score(labels, scores), "AUPRC", "measured", chance=chance
        ),
    }


def outlier_report(
    score: Callable[[Tensor], Tensor],
    in_test: Tensor,
    in_val: Tensor | None,
    ood_sets: list[OODSet],
    *,
    prepare: Callable[[Tensor], Tensor],
    score_name: str,
    likelihood: bool,
    in_scores: Tensor | None = None,
) -> dict[str, Any]:
    """AUROC/AUPRC of the raw score and of the typicality score for every OOD set.

    Args:
        score: ``x (N, D) -> (N,)``, −log p(x) or another "higher = more anomalous" score.
        in_test: in-distribution test data ``(N, D)``, already as the model sees it.
        in_val: held-out in-distribution data for the typicality entropy estimate, or None
            (no typicality score).
        ood_sets: the OOD sets (grey levels). prepare: applies the binarization protocol.
        score_name: what ``score`` is, recorded. likelihood: whether it is −log p(x) (the
            typicality score is computed only for likelihoods).
        in_scores: ``score(in_test)`` ``(N,)`` where the caller has it already (an exact
            −log p(x) that the likelihood section computed), else None: it is computed here.

    Returns:
        ``{"score_description", "typicality_description", "sets": {name: {"score": {auroc,
        auprc}, "typicality": {auroc, auprc}, ...}}}``.
    """
    s_in = score(in_test) if in_scores is None else in_scores
    entropy = float(score(in_val).double().mean()) if (likelihood and in_val is not None) else None
    out: dict[str, Any] = {
        "score_description": score_name + " (higher = more anomalous; positives = OOD)",
        "sets": {},
    }
    if entropy is not None:
        out["typicality_description"] = (
            "|−log p(x) − Ĥ|, Ĥ = mean −log p(x) on the validation split = "
            f"{entropy:.3f} nats (Nalisnick et al. 2019b, M = 1)"
        )
    for ood in ood_sets:
        s_out = score(prepare(ood.x))
        entry: dict[str, Any] = {
            "description": ood.description,
            "n_in": len(s_in),
            "n_out": len(s_out),
            "mean_score_in": float(s_in.double().mean()),
            "mean_score_out": float(s_out.double().mean()),
            "score": detection_metrics(s_in, s_out),
        }
        if entropy is not None:
            entry["typicality"] = detection_metrics((s_in - entropy).abs(), (s_out - entropy).abs())
        out["sets"][ood.name] = entry
    return out
