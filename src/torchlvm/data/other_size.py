"""The refusal of data whose examples are not the size a run's model takes, said in what the data
and the model hold (rows of values, or images of a size and a channel count) with a fix that
works on what the data is: for an array file of images, the Python line that resizes them and
makes them grey or colour as the model's are, into a new file; for rows, the width to pass.

It replaced a "resize them to H×W" said of every mismatch (readA #3): colour images given to a
grey run were told to resize (PIL's ``fromarray`` of a ``(3, H, W)`` image raises, and resized
they would still be three times too many values), and rows of 100 values were told to resize
as if they were pictures. Images are resized by ``torch.nn.functional.interpolate`` (bilinear,
antialiased: a weighted mean of neighbours, so 8-bit levels stay in 0..255), which takes any
numeric dtype, where PIL takes colour only as uint8.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from torchlvm._files import unused_name
from torchlvm.data import pixels
from torchlvm.data.npz_keys import Y_KEYS
from torchlvm.data.registry import file_suffix
from torchlvm.data.save_lines import array_expression
from torchlvm.errors import DataError


def other_size(
    name: str, shape: Sequence[int], trained: Sequence[int] | None, input_dim: int, model: str
) -> DataError:
    """The refusal of data ``name`` of per-example ``shape`` (``(D,)`` rows or ``(C, H, W)``
    images) for ``model`` (the message's name of it), which takes ``input_dim`` values an
    example, trained on examples of shape ``trained`` (a run's recorded ``data['shape']``; None
    where none is recorded).

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
            f"{trained[1]}×{trained[2]} images; pass a file of {_layout(trained)}"
        )
    takes = f"{model} takes {_images(trained, shape)}"
    line = _resize_line(Path(name), shape, trained)
    fix = f"save them as {_layout(trained)} and pass that file"
    if line is not None:
        fix = f"{_what_to_do(shape, trained)} (python: {line}) and pass that file"
    return DataError(f"{name} holds {_images(shape, trained)} but {takes}; {fix}")


def _size(shape: Sequence[int]) -> int:
    size = 1
    for n in shape:
        size *= int(n)
    return size


def _images(shape: tuple[int, ...], other: tuple[int, ...]) -> str:
    """ "8×8 images (64 values each)", with their channels where ``other``'s differ."""
    c, h, w = shape
    channels = "" if c == other[0] else f" of {c} channel{'s' * (c != 1)}"
    return f"{h}×{w} images{channels} ({_size(shape)} values each)"


def _layout(trained: tuple[int, ...]) -> str:
    c, h, w = trained
    return f"(N, {h}, {w}) images" if c == 1 else f"(N, {c}, {h}, {w}) images"


def _what_to_do(shape: tuple[int, ...], trained: tuple[int, ...]) -> str:
    """ "make them grey and 8×8": what the line does."""
    steps = []
    if shape[0] != trained[0]:
        steps.append("grey" if trained[0] == 1 else "colour")
    if shape[1:] != trained[1:]:
        steps.append(f"{trained[1]}×{trained[2]}")
    return f"make them {' and '.join(steps)}"


def _resize_line(path: Path, shape: tuple[int, ...], trained: tuple[int, ...]) -> str | None:
    """The Python that writes the images of the array file ``path`` (per example ``shape``
    ``(C, H, W)``) as ``trained`` images to a free ``.npy`` beside it (an archive's labels
    beside them in an ``.npz``): channels first, grey as the mean of R, G, B (colour as grey
    repeated), resized, in the file's integer dtype (levels rounded) or in float32; None for a
    file that is no array file or whose header cannot be read."""
    header = pixels.array_header(path) if file_suffix(path) in (".npy", ".npz") else None
    if header is None:
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
    stem = path.name[: -len(file_suffix(path))]
    save = f"np.save({unused_name(path.with_name(f'{stem}-{h}x{w}.npy'))!r}, {out})"
    if (labels := _label_key(path)) is not None:  # an archive's labels go with its images
        new = unused_name(path.with_name(f"{stem}-{h}x{w}.npz"))
        save = f"np.savez({new!r}, x={out}, y=np.load({str(path)!r})[{labels!r}])"
    return (
        f"import numpy as np, torch; x = {array_expression(path)}; "
        f"t = torch.from_numpy(x).float(){first}; t = {step}; {save}"
    )


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
