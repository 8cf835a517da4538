"""A folder of picture files given as data: what it holds, and the Python lines that stack its
pictures into the one array file torchlvm reads.

torchlvm reads arrays (``.npy``, ``.npz``), not pictures one by one, so a folder of pictures is
refused with lines that, run as printed, make that file (:func:`pictures_fix`). They must run on
the folder as it is (userJ: a folder of 31 .png and 30 .jpg pictures of three sizes, grey and
RGB, one of them corrupt, was told lines that globbed the suffix of the first file listed alone,
leaving out the 31 .png, and that then stopped on numpy's 'all input arrays must have the same
shape'): :func:`pictures_in` reads every picture's header, so the lines take each picture suffix
present, resize to the most common size where there are several, and leave out the files that
cannot be opened, and the message says so.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from dataclasses import dataclass

PICTURE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
"""Picture files, which a folder given as data may hold instead of arrays."""

SURVEYED = 10_000
"""The most pictures whose headers are read for their size (the rest are taken to be alike)."""

LISTED = 10
"""The most unreadable files the lines leave out by name; with more, the user moves them."""


@dataclass(frozen=True)
class Pictures:
    """The picture files of a folder, or of its class folders (torchvision's ImageFolder).

    Attributes:
        pattern: the glob of the files: ``FOLDER/*``, or ``FOLDER/*/*`` for class folders.
        suffixes: the picture suffixes present, lowercased and sorted.
        sizes: how many readable pictures have each size, ``(width, height)`` in pixels.
        unreadable: the files that cannot be opened as pictures, sorted.
        count: the picture files (readable or not).
    """

    pattern: str
    suffixes: tuple[str, ...]
    sizes: Counter[tuple[int, int]]
    unreadable: tuple[str, ...]
    count: int

    @property
    def classes(self) -> bool:
        """Whether the pictures are in class folders (``FOLDER/*/*``)."""
        return os.path.basename(os.path.dirname(self.pattern)) == "*"


def pictures_in(folder: str) -> Pictures | None:
    """The pictures in ``folder``, or in class folders in it as torchvision's ImageFolder keeps
    them; None for none."""
    for pattern in ("*", "*/*"):
        found = os.path.join(glob.escape(folder), pattern)  # (a folder named 'a[1]' too)
        paths = sorted(glob.glob(found))
        paths = [p for p in paths if p.lower().endswith(PICTURE_SUFFIXES) and os.path.isfile(p)]
        if paths:
            suffixes = sorted({os.path.splitext(p)[1].lower() for p in paths})
            sizes, unreadable = _survey(paths[:SURVEYED])
            return Pictures(found, tuple(suffixes), sizes, unreadable, len(paths))
    return None


def _survey(paths: list[str]) -> tuple[Counter[tuple[int, int]], tuple[str, ...]]:
    """The sizes of the pictures at ``paths`` and those that cannot be opened (PIL reads each
    header, and checks the file as far as it can without decoding); no sizes without PIL."""
    try:
        from PIL import Image
    except ImportError:  # (matplotlib needs Pillow: present wherever torchlvm is installed)
        return Counter(), ()
    sizes: Counter[tuple[int, int]] = Counter()
    unreadable = []
    for path in paths:
        try:
            with Image.open(path) as picture:
                size = picture.size
                picture.verify()
        except Exception:  # PIL raises many kinds for a broken file
            unreadable.append(path)
        else:
            sizes[size] += 1
    return sizes, tuple(unreadable)


def pictures_fix(pictures: Pictures) -> str:
    """The Python lines that stack ``pictures`` into one array file: an ``.npy`` of
    ``(N, H, W)`` uint8, or for class folders an ``.npz`` whose labels are the folders' names
    (read as class names); with what the lines do to the folder said after them."""
    kinds = repr(pictures.suffixes if len(pictures.suffixes) > 1 else pictures.suffixes[0])
    keep = f"p.lower().endswith({kinds})"
    listed = pictures.unreadable if len(pictures.unreadable) <= LISTED else ()
    if listed:
        keep += f" and p not in {set(listed)!r}"
    paths = f"paths = [p for p in sorted(glob.glob({pictures.pattern!r})) if {keep}]"
    size = pictures.sizes.most_common(1)[0][0] if len(pictures.sizes) > 1 else None
    resize = "" if size is None else f".resize({size})"
    stack = f"np.stack([np.asarray(PIL.Image.open(p).convert('L'){resize}) for p in paths])"
    save = f"np.save('images.npy', {stack})"
    if pictures.classes:
        labels = "np.array([os.path.basename(os.path.dirname(p)) for p in paths])"
        save = f"np.savez('images.npz', x={stack}, y={labels})"
    imports = "import glob, os, numpy as np, PIL.Image"
    return (
        f"stack the pictures into one array file ({imports}; {paths}; {save}; .convert('RGB') "
        f"for colour) and pass that file{_said(pictures, size)}"
    )


def _said(pictures: Pictures, size: tuple[int, int] | None) -> str:
    """What the lines of :func:`pictures_fix` do to the folder, where it is more than stacking
    pictures of one size: their sizes resized to one, files left out or to move."""
    parts = []
    if size is not None:
        shown = ", ".join(f"{w}×{h} ({n})" for (w, h), n in pictures.sizes.most_common(4))
        more = "" if len(pictures.sizes) <= 4 else f" and {len(pictures.sizes) - 4} more"
        parts.append(
            f"its pictures have {len(pictures.sizes)} sizes (width×height: {shown}{more}), "
            f"resized to the most common, {size[0]}×{size[1]}"
        )
    bad = pictures.unreadable
    if bad and len(bad) <= LISTED:
        parts.append(f"{', '.join(bad)} cannot be opened as a picture and {_left(bad)} out")
    elif bad:
        parts.append(
            f"{len(bad)} files cannot be opened as pictures ({', '.join(bad[:3])}, ...): move "
            "them out of the folder first"
        )
    if pictures.count > SURVEYED:
        parts.append(f"(the first {SURVEYED:,} of {pictures.count:,} pictures were looked at)")
    return "; " + "; ".join(parts) if parts else ""


def _left(files: tuple[str, ...]) -> str:
    return "is left" if len(files) == 1 else "are left"
