"""A folder of picture files given as data: what it holds, and the Python lines that stack its
pictures into the one array file torchlvm reads.

torchlvm reads arrays (``.npy``, ``.npz``), not pictures one by one, so a folder of pictures is
refused with lines that, run as printed, make that file (:func:`pictures_fix`). They must run on
the folder as it is (userJ: a folder of 31 .png and 30 .jpg pictures of three sizes, grey and
RGB, one of them corrupt, was told lines that globbed the suffix of the first file listed alone,
leaving out the 31 .png, and that then stopped on numpy's 'all input arrays must have the same
shape'): :func:`pictures_in` reads every picture's header, so the lines take each picture suffix
present, resize to the most common size where there are several, and leave out the files that
cannot be opened, and the message says so. Pictures of levels deeper than 8 bits (16-bit PNG
and TIFF, as microscopes and scanners write them) are read as float32 in [0, 1], not through
``.convert('L')``, which clips every level above 255 (review13 #4). The file the lines write is
named after the folder, and they stop rather than replace a file of that name.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections import Counter
from dataclasses import dataclass

PICTURE_SUFFIXES: tuple[str, ...] = (
    *(".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".gif", ".tif", ".tiff"),
    *(".webp", ".avif", ".pgm", ".ppm", ".pbm", ".pnm"),
)
"""Picture files, which a folder given as data may hold instead of arrays: the formats image
sets ship in that Pillow reads (.webp as browsers save it, .pgm as the ORL faces; review13 #23),
not all it registers, which include .pdf, .h5 and .mpeg."""

PLUGINS: dict[str, str] = {".webp": "webp", ".avif": "avif"}
"""Picture suffixes Pillow reads only where it was built with their library (its feature name):
an older or slimmer Pillow cannot open .avif (review14 R4), which is no fault of the files."""

SURVEYED = 10_000
"""The most pictures whose headers are read for their size (the rest are taken to be alike)."""

LISTED = 10
"""The most unreadable files the lines leave out by name; with more, the user moves them."""


@dataclass(frozen=True)
class Pictures:
    """The picture files of a folder, or of its class folders (torchvision's ImageFolder).

    Attributes:
        folder: the folder given.
        pattern: the glob of the files: ``FOLDER/*``, or ``FOLDER/*/*`` for class folders.
        suffixes: the picture suffixes present, lowercased and sorted.
        sizes: how many readable pictures have each size, ``(width, height)`` in pixels.
        unreadable: the files that cannot be opened as pictures, sorted.
        unsupported: the suffixes present that this Pillow cannot read (:data:`PLUGINS`).
        count: the picture files (readable or not).
        deep: the readable pictures of levels deeper than 8 bits (PIL's modes ``I;16``, ``I``,
            ``F``...).
    """

    folder: str
    pattern: str
    suffixes: tuple[str, ...]
    sizes: Counter[tuple[int, int]]
    unreadable: tuple[str, ...]
    count: int
    deep: int
    unsupported: tuple[str, ...] = ()
    colour: int = 0  # pictures that hold colour (not grey stored as RGB)

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
            sizes, unreadable, deep, colour = _survey(paths[:SURVEYED])
            unsupported = _unsupported(suffixes) if unreadable else ()
            return Pictures(
                folder, found, tuple(suffixes), sizes, unreadable, len(paths), deep, unsupported,
                colour,
            )  # fmt: skip
    return None


def _unsupported(suffixes: list[str]) -> tuple[str, ...]:
    """The ``suffixes`` this Pillow was built without the library to read (:data:`PLUGINS`)."""
    try:
        from PIL import features
    except ImportError:
        return ()
    with warnings.catch_warnings():  # (a Pillow older than the feature warns of its name)
        warnings.simplefilter("ignore")
        return tuple(s for s in suffixes if s in PLUGINS and not features.check(PLUGINS[s]))


def _survey(paths: list[str]) -> tuple[Counter[tuple[int, int]], tuple[str, ...], int, int]:
    """The sizes of the pictures at ``paths``, those that cannot be opened (PIL reads each
    header, and checks the file as far as it can without decoding), how many hold levels
    deeper than 8 bits (their mode: ``I;16``, ``I``, ``F``) and how many hold colour
    (:func:`_in_colour`); nothing without PIL."""
    try:
        from PIL import Image
    except ImportError:  # (matplotlib needs Pillow: present wherever torchlvm is installed)
        return Counter(), (), 0, 0
    sizes: Counter[tuple[int, int]] = Counter()
    unreadable, deep, coloured = [], 0, []
    for path in paths:
        try:
            with Image.open(path) as picture:
                size, mode = picture.size, picture.mode
                picture.verify()
        except Exception:  # PIL raises many kinds for a broken file
            unreadable.append(path)
        else:
            sizes[size] += 1
            deep += mode[0] in "IF"
            if mode in COLOUR_MODES:
                coloured.append(path)
    return sizes, tuple(unreadable), deep, _in_colour(coloured)


COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"})
"""PIL's modes of pictures that may hold colour: colour modes, and a palette's (``P``, ``PA``:
a GIF's, an optimized PNG's), whose entries may be colours or grey levels; each is decoded to
tell (:func:`_in_colour`): a folder of palette PNGs in colour was offered ``.convert('L')``."""
DECODED = 32
"""The pictures of a :data:`COLOUR_MODES` mode decoded to tell colour from grey stored so."""


def _in_colour(paths: list[str]) -> int:
    """How many of the pictures at ``paths``, all of a :data:`COLOUR_MODES` mode, hold colour:
    grey levels stored as RGB (a WebP or JPEG of a grey picture) or in a grey palette do not.
    The first :data:`DECODED` are decoded, and the rest counted in their proportion."""
    import numpy as np
    from PIL import Image

    looked = paths[:DECODED]
    if not looked:
        return 0
    seen = 0
    for path in looked:
        try:
            with Image.open(path) as picture:
                rgb = np.asarray(picture.convert("RGB"))  # (H, W, 3)
        except Exception:  # (opened and verified above: a decoding failure counts as colour)
            seen += 1
            continue
        seen += bool((rgb != rgb[..., :1]).any())
    return round(seen * len(paths) / len(looked))


def pictures_fix(pictures: Pictures) -> str:
    """The Python lines that stack ``pictures`` into one array file named after their folder:
    an ``.npy`` of ``(N, H, W)`` uint8 (float32 in [0, 1] where some hold deeper levels), or for
    class folders an ``.npz`` whose labels are the folders' names (read as class names); with
    what the lines do to the folder said after them. Where no picture opens, no lines."""
    if pictures.unreadable and not pictures.sizes:
        bad = pictures.unreadable
        shown = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
        if pictures.unsupported:
            opens = f"none of its {pictures.count} picture files opens"
            return f"{opens} ({shown}): {_cannot(pictures)}"
        return (
            f"none of its {pictures.count} picture files opens as a picture ({shown}): check "
            "that they are pictures, or pass an array file (.npy, .npz)"
        )
    kinds = repr(pictures.suffixes if len(pictures.suffixes) > 1 else pictures.suffixes[0])
    keep = f"p.lower().endswith({kinds})"
    listed = pictures.unreadable if len(pictures.unreadable) <= LISTED else ()
    if listed:
        keep += f" and p not in {set(listed)!r}"
    paths = f"paths = [p for p in sorted(glob.glob({pictures.pattern!r})) if {keep}]"
    size = pictures.sizes.most_common(1)[0][0] if len(pictures.sizes) > 1 else None
    resize = "" if size is None else f".resize({size})"
    # colour pictures offered as colour (userS #5: an RGB folder was offered .convert('L'))
    mode, other, kind = ("RGB", "L", "grey") if _mostly_colour(pictures) else ("L", "RGB", "colour")
    read, colour = "", f"; .convert({other!r}) for {kind}"
    stack = (
        f"x = np.stack([np.asarray(PIL.Image.open(p).convert({mode!r}){resize}) for p in paths])"
    )
    if pictures.deep:  # 16-bit levels divided by 65535, float ones as stored, 8-bit by 255
        read, colour = f"{_READ_DEEP}; ", ""
        stack = f"x = np.stack([read(PIL.Image.open(p){resize}) for p in paths])"
    # every picture read before the file is made: a failure or Ctrl-C leaves no empty file
    name = os.path.basename(os.path.abspath(pictures.folder))  # (a new file, in the cwd)
    save = f"{stack}; np.save(open({name + '.npy'!r}, 'xb'), x)"
    if pictures.classes:
        labels = "y = np.array([os.path.basename(os.path.dirname(p)) for p in paths])"
        save = f"{stack}; {labels}; np.savez(open({name + '.npz'!r}, 'xb'), x=x, y=y)"
    imports = "import glob, os, numpy as np, PIL.Image"
    return (
        f"stack the pictures into one array file ({imports}; {paths}; {read}{save}{colour}) and "
        f"pass that file{_said(pictures, size)}"
    )


_READ_DEEP = (
    "read = lambda im: np.asarray(im, np.float32) / (65535 if im.mode[0] == 'I' else 1) "
    "if im.mode[0] in 'IF' else np.asarray(im.convert('L'), np.float32) / 255"
)
"""A picture as float32 levels in [0, 1]: 16-bit ones (PIL's ``I;16``, ``I``) divided by
65535, float ones (``F``) as stored, 8-bit ones by 255; ``.convert('L')`` alone clips every
level above 255."""


def _mostly_colour(pictures: Pictures) -> bool:
    """Whether most of the pictures looked at are in colour."""
    return 2 * pictures.colour > sum(pictures.sizes.values())


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
    if pictures.deep:
        parts.append(
            f"{pictures.deep} of its pictures hold levels deeper than 8 bits (16-bit or float), "
            "which .convert('L') would clip at 255: the lines read every picture as float32 in "
            "[0, 1] (16-bit levels divided by 65535, 8-bit ones by 255, float ones as stored)"
        )
    bad = pictures.unreadable
    if pictures.unsupported:
        parts.append(_cannot(pictures))
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


def _cannot(pictures: Pictures) -> str:
    """That this Pillow cannot read some suffixes present, and the fix."""
    import PIL

    kinds = " or ".join(pictures.unsupported)
    return (
        f"this Pillow ({PIL.__version__}) was built without the library that reads {kinds} "
        f"pictures: pip install -U pillow (or convert them to .png) and run this again"
    )
