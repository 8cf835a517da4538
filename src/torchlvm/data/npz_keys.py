"""The names an ``.npz`` archive's arrays are read under: its data (:data:`X_KEYS`, or an
archive's only array) and its class labels (:data:`Y_KEYS`). The reader
(:mod:`torchlvm.data.file_readers`), the streamed reader (:mod:`torchlvm.data.npy_layout`) and the
lines offered to save a file anew (:mod:`torchlvm.data.save_lines`) all look them up here."""

from __future__ import annotations

from collections.abc import Sequence

X_KEYS: tuple[str, ...] = ("x", "X", "data", "images")
"""The names an archive's data array is read under (torchvision's datasets keep it as ``data``)."""
Y_KEYS: tuple[str, ...] = ("y", "Y", "labels", "label", "targets", "target")
"""The names its class labels are read under: torchvision's datasets keep them as ``targets``,
scikit-learn's ``Bunch`` as ``target``."""


def npz_data_key(names: Sequence[str]) -> str | None:
    """The data array's key among an archive's ``names``: the first of :data:`X_KEYS`, or an
    archive's only array under any other name than a label's (``numpy.savez(path, x)`` names
    it ``arr_0``; ``numpy.savez(path, pixels=x)`` was refused as holding no data, review13
    #3)."""
    key = next((key for key in X_KEYS if key in names), None)
    only = len(names) == 1 and names[0] not in Y_KEYS
    return names[0] if key is None and only else key
