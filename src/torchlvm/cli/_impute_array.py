"""``torchlvm impute RUN --data FILE.npy --out FILLED.npy``: an array's NaN cells filled, as a
table's empty cells are (:mod:`torchlvm.cli._impute_table`), by PPCA's exact conditional mean
E[x_m | x_o] or a VAE's importance-weighted one (or ``--draws`` multiple imputations).

The filled array keeps the file's shape (its rows or images) and every value that was not NaN;
with ``--draws M`` it gains a leading axis of the M imputations. A run on standardized rows
fills in the model's units and writes the file's. (userJ: ``fit ppca --allow-missing --method
em`` fitted an .npy with NaN cells, and impute then read the .npy as CSV text, or asked for an
image ``--mask``: no command filled an array.)
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def wants_array(args: argparse.Namespace) -> bool:
    """Whether ``--data`` names an .npy file with NaN cells to fill, no image option given (an
    image file's ``--mask`` is the image imputation's)."""
    from torchlvm.cli._impute_table import IMAGE_OPTIONS
    from torchlvm.data.registry import file_suffix

    if args.data is None or file_suffix(str(args.data)) not in (".npy", ".npz"):
        return False
    if any(getattr(args, dest, None) is not None for dest in IMAGE_OPTIONS):
        return False
    if file_suffix(str(args.data)) == ".npz":
        _refuse_archive_with_nan(Path(args.data), args)
        return False
    return _holds_nan(Path(args.data))


def _refuse_archive_with_nan(path: Path, args: argparse.Namespace) -> None:
    """Refuse an .npz whose data array holds NaN cells, naming the .npy to save it as: impute
    asked it for a --mask (the image imputation's), or to fill its cells in first (review13
    #9); neither said how an archive's NaN cells are filled."""
    import numpy as np

    from torchlvm._shell import quoted
    from torchlvm.data.npz_keys import npz_data_key
    from torchlvm.data.save_lines import npz_as_npy
    from torchlvm.errors import ConfigError

    try:
        with np.load(path, allow_pickle=False) as archive:
            key = npz_data_key(archive.files)
            data = None if key is None else archive[key]
    except (OSError, ValueError):
        return  # (the reader says what the file is)
    if data is None or data.dtype.kind != "f" or not bool(np.isnan(data).any()):
        return
    npy, line = npz_as_npy(path)
    raise ConfigError(
        f"{path} holds NaN cells in its {key!r} array; impute fills those of an .npy or a "
        f"table, not of an archive: {line}, then torchlvm impute {quoted(str(args.run_dir))} "
        f"--data {quoted(str(npy))} --out filled.npy"
    )


def _holds_nan(path: Path) -> bool:
    """Whether the float array in ``path`` holds a NaN, read a block of rows at a time (False
    for a file numpy cannot map: the reader then says what it is)."""
    import numpy as np

    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return False
    if array.dtype.kind != "f" or array.ndim == 0:
        return False
    step = max(1, (1 << 22) // max(1, array[:1].size))  # rows of 4 Mi values at a time
    return any(bool(np.isnan(array[i : i + step]).any()) for i in range(0, len(array), step))


def impute_array(args: argparse.Namespace, device: Any) -> int:
    """Fill ``--data``'s NaN cells into ``--out`` (see the module docstring)."""
    import numpy as np
    import torch

    from torchlvm import run as _run
    from torchlvm._files import write_atomic
    from torchlvm.cli._impute_table import _fill, check_sizes, filling
    from torchlvm.data.files import read_rows
    from torchlvm.data.other_size import check_fits
    from torchlvm.data.table_schema import TableSchema
    from torchlvm.data.value_range import check_units
    from torchlvm.errors import ConfigError

    if args.out is None or not str(args.out).lower().endswith(".npy"):
        raise ConfigError(
            f"pass --out FILLED.npy: impute writes {args.data} filled to a new .npy file, of "
            "its shape, never over it"
        )
    args, run_ = filling(args, device)
    data = read_rows(args.data, allow_missing=True, allow_empty=True, dtype="float64").data
    model = f"the model in {args.run_dir}"
    check_fits(str(args.data), data.shape, run_.data.get("shape"), run_.input_dim, model)
    check_units(data.x, str(args.data), run_.data, model)
    out = _run.output_file(
        args.out, args.out, suffix=".npy", overwrite=args.overwrite, reads=args.data
    )
    schema = TableSchema.from_dict(run_.data.get("table"))
    scaler = None if schema is None else schema.standardizer
    x = data.x.double()  # (N, D), NaN: missing
    check_sizes(args, run_, x, written=0)
    given = x if scaler is None else scaler.transform(x)
    filled = _fill(run_, given.to(run_.dtype), args).double()  # (N, D) or (M, N, D)
    filled = filled if scaler is None else scaler.inverse(filled)
    filled = torch.where(torch.isnan(x), filled, x)  # every observed value as read
    array = _as_stored(
        filled.numpy(), tuple(data.shape), np.load(args.data, mmap_mode="r", allow_pickle=False)
    )

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as file:  # (np.save adds .npy to a name without it)
            np.save(file, array, allow_pickle=False)

    write_atomic(out, write)
    _say(args, run_, x, out, array.shape)
    if (outside := _outside_trained(run_, x, filled, out)) is not None:
        print(outside)
    return 0


def _as_stored(filled: Any, shape: tuple[int, ...], stored: Any) -> Any:
    """``filled`` ``(..., N, D)`` rows in the ``stored`` array's layout (images read
    channels-first ``shape`` back to ``(N, H, W)`` or ``(N, H, W, C)``, by the one rule
    ``sample`` and ``reconstruct`` write theirs by) and float dtype."""
    import numpy as np

    from torchlvm.cli._image_layout import in_stored_axes

    lead = filled.shape[:-1]  # (N,) or (M, N)
    array = filled.reshape(*lead, *shape)  # (..., N, C, H, W) for images
    kept = tuple(stored.shape[1:])
    array = in_stored_axes(array, kept) if len(shape) == 3 else array.reshape(*lead, *kept)
    kind = stored.dtype if stored.dtype.kind == "f" else np.dtype(np.float64)
    return array.astype(kind, copy=False)


def _outside_trained(run_: Any, x: Any, filled: Any, out: Path) -> str | None:
    """A line saying how many filled cells of an image run lie outside the range of values it
    was trained on (PPCA filled pixels of a [0, 1] file with -0.5), or None where none do or
    the run is not of images (review13 #20b)."""
    import torch

    from torchlvm._files import unused_name
    from torchlvm.data.value_range import outside_trained

    if len(run_.data.get("shape") or ()) < 2:
        return None
    fills = filled[torch.isnan(x).expand_as(filled)]  # the filled cells only, every draw
    if (found := outside_trained(fills, run_.data)) is None:
        return None
    low, high = f"{found.low:g}", f"{found.high:g}"
    clipped = unused_name(out.with_name(f"{out.stem}-clipped.npy"))  # (never a file of yours)
    return (
        f"  {found.count:,} of {found.total:,} filled values lie outside the [{low}, {high}] "
        f"the model was trained on ({found.least:.3g} to {found.most:.3g}); to keep them in "
        f"it: np.save({str(clipped)!r}, np.clip(np.load({str(out)!r}), {low}, {high}))"
    )


def _say(args: argparse.Namespace, run_: Any, x: Any, out: Path, shape: tuple) -> None:
    """What impute filled, how, and what it wrote."""
    import torch

    from torchlvm.inference.miwae import DEFENSIVE

    missing = torch.isnan(x)
    how = "exact conditional mean E[x_m | x_o] under PPCA" if run_.model_type == "ppca" else (
        f"importance-weighted conditional mean, {args.samples} samples from {DEFENSIVE}"
    )  # fmt: skip
    if args.draws:
        how = f"{args.draws} multiple imputations (a leading axis of the array)"
    cells, rows = int(missing.sum()), int(missing.any(1).sum())
    print(
        f"filled {cells} missing (NaN) cell{'s' * (cells != 1)} in {rows} of {len(x)} "
        f"row{'s' * (len(x) != 1)} of {args.data} with {run_.describe()}"
    )
    print(f"  method: {how}; every other value as read")
    print(f"wrote {out}: array of shape {shape}")
