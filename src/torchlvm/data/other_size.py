"""The refusal of data whose examples are not what a run's model takes, said in what the data and
the model hold (rows of values, or images of a size and a channel count) with a fix that works on
what the data is: for an array file of images, the Python line that writes them as the model's
into a new file (resized, made grey or colour, or their axes swapped); for rows, the width to
pass; for a dataset by name, the run's own data.

:func:`check_fits` checks both ways examples can differ: in their count of values
(:func:`other_size`) and, as many values, in the layout of their images
(:func:`check_same_images`: 28 × 20 images read as 20 × 28 would each be another picture).

It replaced a "resize them to H×W" said of every other count (readA #3): colour images given to a
grey run were told to resize (PIL's ``fromarray`` of a ``(3, H, W)`` image raises, and resized
they would still be three times too many values), rows of 100 values were told to resize as if
they were pictures, and the transposition offered for another layout named an undefined ``x``
and a fixed file name that ``np.save`` replaced (review14 R5). Images are resized by
``torch.nn.functional.interpolate`` (bilinear, antialiased: a weighted mean of neighbours, so
8-bit levels stay in 0..255), which takes any numeric dtype, where PIL takes colour only as
uint8.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from torchlvm._files import unused_name
from torchlvm.data import pixels
from torchlvm.data.npz_keys import Y_KEYS
from torchlvm.data.registry import file_suffix
from torchlvm.data.save_lines import array_expression
from torchlvm.errors import DataError

Shape = tuple[int, ...]


def check_fits(
    name: str,
    shape: Sequence[int],
    trained: Sequence[int] | None,
    input_dim: int,
    model: str,
    *,
    own: str | None = None,
) -> None:
    """Refuse data ``name`` of per-example ``shape`` that ``model`` (taking ``input_dim``
    values, trained on examples of shape ``trained``) cannot read as its own: another count of
    values, or images of as many in another layout.

    Raises:
        DataError: :func:`other_size`'s or :func:`check_same_images`'.
    """
    if _size(shape) != input_dim:
        raise other_size(name, shape, trained, input_dim, model, own=own)
    check_same_images(tuple(shape), None if trained is None else tuple(trained), name, model)


def other_size(
    name: str,
    shape: Sequence[int],
    trained: Sequence[int] | None,
    input_dim: int,
    model: str,
    *,
    own: str | None = None,
) -> DataError:
    """The refusal of data ``name`` of per-example ``shape`` (``(D,)`` rows or ``(C, H, W)``
    images) for ``model`` (the message's name of it), which takes ``input_dim`` values an
    example, trained on examples of shape ``trained`` (a run's recorded ``data['shape']``; None
    where none is recorded) from ``own`` (the run's data, offered for a dataset by name).

    Returns:
        DataError: naming both sizes and a fix; of images in an ``.npy`` / ``.npz`` file, the
            line that writes them at the model's size and channel count to a free file name.
    """
    shape, dim = tuple(shape), _size(shape)
    trained = tuple(trained or ())
    if len(trained) != 3:  # the model takes rows
        return DataError(
            f"{name} has {dim} values per example but {model} takes {input_dim}; pass data "
            f"with the run's {input_dim} columns"
        )
    if len(shape) != 3:
        return DataError(
            f"{name} has {dim} values per example, in rows, but {model} takes {input_dim}, as "
            f"{trained[1]}×{trained[2]} images; {_other_data(name, trained, own, images=False)}"
        )
    takes = f"{model} takes {_images(trained, shape)}"
    fix = _other_data(name, trained, own)
    if (line := _rewrite_line(Path(name), shape, trained)) is not None:
        fix = f"{_what_to_do(shape, trained)} (python: {line}) and pass that file"
    return DataError(f"{name} holds {_images(shape, trained)} but {takes}; {fix}")


def check_same_images(shape: Shape, trained: Shape | None, name: str, model: str) -> None:
    """Refuse images of per-example ``shape`` ``(C, H, W)`` for a model ``trained`` on images of
    another shape with as many values (28 × 20 images as 20 × 28: each row would be read in the
    trained layout, silently other pictures); rows ``(D,)`` and a model of no recorded image
    shape pass.

    Raises:
        DataError: naming both shapes and, for an array file, the line that writes the images
            in the model's layout: their axes swapped where height and width are, else resized.
    """
    if trained is None or len(shape) != 3 or len(trained) != 3 or tuple(trained) == shape:
        return
    trained = tuple(trained)
    said = (
        f"{name} holds {_images(shape, trained)} but {model} takes {_images(trained, shape)}: "
        "as many values in another layout, so each would be read as another picture"
    )
    path, (c, h, w) = Path(name), trained
    fix = f"save them as {_layout(trained)} and pass that file"
    if shape == (c, w, h) and (line := _swap_line(path, trained)) is not None:
        fix = f"if they are its pictures transposed, swap their axes (python: {line}) and pass it"
    elif (line := _rewrite_line(path, shape, trained)) is not None:
        fix = f"{_what_to_do(shape, trained)} (python: {line}) and pass that file"
    raise DataError(f"{said}; {fix}")


def _size(shape: Sequence[int]) -> int:
    size = 1
    for n in shape:
        size *= int(n)
    return size


def _images(shape: Shape, other: Shape) -> str:
    """ "8×8 images (64 values each)", with their channels where ``other``'s differ."""
    c, h, w = shape
    channels = "" if c == other[0] else f" of {c} channel{'s' * (c != 1)}"
    return f"{h}×{w} images{channels} ({_size(shape)} values each)"


def _layout(trained: Shape) -> str:
    c, h, w = trained
    return f"(N, {h}, {w}) images" if c == 1 else f"(N, {c}, {h}, {w}) images"


def _other_data(name: str, trained: Shape, own: str | None, *, images: bool = True) -> str:
    """The fix where no line rewrites ``name``: a file of the model's images (``images``: of
    those it holds, saved so), or for a dataset by name the run's own data too (review14 R5: a
    dataset was told to "pass that file")."""
    if own and own != name and not os.path.isfile(name):
        return f"pass --data {own} (the run's data) or a file of {_layout(trained)}"
    if images:
        return f"save them as {_layout(trained)} and pass that file"
    return f"pass a file of {_layout(trained)}"


def _what_to_do(shape: Shape, trained: Shape) -> str:
    """ "make them grey and 8×8": what the line does."""
    steps = []
    if shape[0] != trained[0]:
        steps.append("grey" if trained[0] == 1 else "colour")
    if shape[1:] != trained[1:]:
        steps.append(f"{trained[1]}×{trained[2]}")
    return f"make them {' and '.join(steps)}"


def _header(path: Path) -> tuple[Shape, object] | None:
    """The stored shape and dtype of an array file's data, None for another file."""
    if file_suffix(path) not in (".npy", ".npz") or not path.is_file():
        return None
    return pixels.array_header(path)


def _rewrite_line(path: Path, shape: Shape, trained: Shape) -> str | None:
    """The Python that writes the images of the array file ``path`` (per example ``shape``
    ``(C, H, W)``) as ``trained`` images to a free ``.npy`` beside it (an archive's labels
    beside them in an ``.npz``): channels first, grey as the mean of R, G, B (colour as grey
    repeated), resized, in the file's integer dtype (levels rounded) or in float32; None for a
    file that is no array file or whose header cannot be read."""
    if (header := _header(path)) is None:
        return None
    stored, dtype = header
    c, h, w = trained
    first = "[:, None]" if len(stored) == 3 else ""  # (N, H, W) -> (N, 1, H, W)
    if pixels.channels_last(tuple(stored)):
        first = ".permute(0, 3, 1, 2)"  # (N, H, W, C) -> (N, C, H, W)
    step = "t"
    if shape[0] != c:
        step = "t.mean(1, keepdim=True)" if c == 1 else f"t.expand(-1, {c}, -1, -1)"
    if shape[1:] != trained[1:]:
        interpolate = "torch.nn.functional.interpolate"
        step = f"{interpolate}({step}, size=({h}, {w}), mode='bilinear', antialias=True)"
    out = "t[:, 0]" if c == 1 else "t"  # (N, 1, H, W) -> (N, H, W)
    out = f"{out}.round().numpy().astype(x.dtype)" if dtype.kind in "iu" else f"{out}.numpy()"
    return (
        f"import numpy as np, torch; x = {array_expression(path)}; "
        f"t = torch.from_numpy(x).float(){first}; t = {step}; {_save(path, trained, out)}"
    )


def _swap_line(path: Path, trained: Shape) -> str | None:
    """The Python that writes the images of the array file ``path``, of the ``trained`` images'
    height and width swapped, with their axes swapped (in the file's own channel order) to a
    free ``.npy`` beside it; None for a file that is no array file."""
    if (header := _header(path)) is None:
        return None
    stored = tuple(header[0])
    axes = {3: "0, 2, 1", 4: "0, 2, 1, 3" if pixels.channels_last(stored) else "0, 1, 3, 2"}
    out = f"x.transpose({axes[len(stored)]})"
    return f"import numpy as np; x = {array_expression(path)}; {_save(path, trained, out)}"


def _save(path: Path, trained: Shape, out: str) -> str:
    """The statement that saves ``out`` (Python of the new images) to a free name beside
    ``path`` that says their size, an archive's labels with them."""
    (_, h, w), stem = trained, path.name[: -len(file_suffix(path))]
    if (labels := _label_key(path)) is None:
        return f"np.save({unused_name(path.with_name(f'{stem}-{h}x{w}.npy'))!r}, {out})"
    new = unused_name(path.with_name(f"{stem}-{h}x{w}.npz"))
    return f"np.savez({new!r}, x={out}, y=np.load({str(path)!r})[{labels!r}])"


def _label_key(path: Path) -> str | None:
    """The key of the labels of the archive ``path`` (:data:`~torchlvm.data.npz_keys.Y_KEYS`),
    None for none or another file."""
    if file_suffix(path) != ".npz":
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n[: -len(".npy")] for n in archive.namelist() if n.endswith(".npy")}
    except (OSError, zipfile.BadZipFile):
        return None
    return next((key for key in Y_KEYS if key in names), None)
