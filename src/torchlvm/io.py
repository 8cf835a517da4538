"""Loading a saved model: ``torchlvm.load(folder)``.

A folder written by ``model.save_pretrained`` or ``torchlvm train`` holds ``config.json`` (the
model type and its config, validated on read) and ``model.safetensors`` (weights; safetensors
stores raw tensors, so loading runs no code from the file). Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from torchlvm._shell import quoted, unexpanded_home
from torchlvm.errors import ConfigError, DataError, RunDirectoryError
from torchlvm.models import file_units
from torchlvm.models.base import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    config_fingerprint,
    expected_tensors,
    restore_feature_names,
)
from torchlvm.models.config import config_from_dict, config_to_dict
from torchlvm.models.registry import model_class


def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a run or export folder.

    Raises:
        RunDirectoryError: if the folder or its ``config.json`` is missing.
        DataError: if ``config.json`` is not valid JSON.
    """
    folder = Path(folder)
    path = folder / CONFIG_NAME
    if not folder.is_dir():
        raise _not_a_folder(folder)
    if not path.is_file():
        offer = _models_in(folder) or (
            "a run folder written by 'torchlvm train' or an export folder written by "
            "save_pretrained"
        )
        raise RunDirectoryError(
            _inside_a_model(folder)
            or f"no model in {folder}: {CONFIG_NAME} is missing; pass {offer}"
        )
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{path} is not valid JSON ({err}); the file is damaged") from None


def _models_in(folder: Path, most: int = 2000, shown: int = 4) -> str:
    """``one of the model folders in it: runs/vae (a vae (K=8) trained on digits), ...``, the
    offer for a folder of runs given where one run was meant (``evaluate runs``); empty where it
    holds none (of its first ``most`` entries)."""
    import itertools

    try:
        with os.scandir(folder) as entries:
            found = sorted(
                Path(e.path)
                for e in itertools.islice(entries, most)
                if e.is_dir() and (Path(e.path) / CONFIG_NAME).is_file()
            )
    except OSError:
        return ""
    if not found:
        return ""
    kinds = [kind_of(f).removeprefix(": ") for f in found[:shown]]
    named = [
        f"{quoted(f)}{f' ({kind})' if kind else ''}"
        for f, kind in zip(found[:shown], kinds, strict=True)
    ]
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return f"one of the model folders in it: {', '.join(named)}{more}"


def _not_a_folder(path: Path) -> RunDirectoryError:
    """Why ``path``, which is no folder, holds no model, and what to pass instead."""
    if path.is_file() and path.name in (CONFIG_NAME, WEIGHTS_NAME):
        return RunDirectoryError(f"{path} is a file of a model folder; pass {path.parent}")
    folders = (
        "a run folder written by 'torchlvm train' or an export folder written by save_pretrained"
    )
    if path.exists():
        return RunDirectoryError(_inside_a_model(path) or f"{path} is not a folder; pass {folders}")
    if (home := unexpanded_home(path, reading=True)) is not None:
        return home
    return RunDirectoryError(f"{path} does not exist; pass {offer_nearest(path)}{folders}")


def offer_nearest(path: Path) -> str:
    """``runs/vae (the model folder nearest that name: a vae (K=8) trained on digits), or ``:
    the offer, in a message that names what to pass, of the model folder whose name ``path``'s
    (which does not exist) is a likely misspelling of; empty where there is none."""
    near = nearest_model(path)
    return (
        ""
        if near is None
        else f"{quoted(near)} (the model folder nearest that name{kind_of(near)}), or "
    )


def describe_model(model_type: str, latent_dim: int, data: dict | None) -> str:
    """A model in words: ``vae (K=8) trained on digits`` (its ``data`` record's name, if any)."""
    name = (data or {}).get("name")
    return f"{model_type} (K={latent_dim})" + (f" trained on {name}" if name else "")


def kind_of(folder: Path) -> str:
    """``: a ppca (K=2) trained on digits``, what the model in ``folder`` is by its
    ``config.json``, for an offer of that folder (userC: a misspelt ``runs/intcat_cvae`` was
    offered ``runs/intcat``, a PPCA, which the next ``sample --condition`` refused); empty where
    the record cannot be read."""
    try:
        record = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
        words = describe_model(
            record["model_type"], record["model"]["latent_dim"], record.get("data")
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return ""
    return f": a {words}"


def nearest_model(path: Path, most: int = 2000) -> Path | None:
    """The model folder beside ``path`` whose name ``path``'s is a likely misspelling of
    (``runs/vea``: ``runs/vae``; capitals are no misspelling), or None; of the first ``most``
    entries there, so that a folder of many files costs little."""
    import difflib
    import itertools

    try:
        entries = list(itertools.islice(path.parent.iterdir(), most))
    except OSError:  # (no such folder, or not readable)
        return None
    models = {p.name.lower(): p for p in entries if (p / CONFIG_NAME).is_file()}
    found = difflib.get_close_matches(path.name.lower(), list(models), n=1, cutoff=0.6)
    return models[found[0]] if found else None


def _inside_a_model(path: Path) -> str | None:
    """The refusal of ``path`` that lies inside a model folder (a run's ``checkpoints/`` or
    ``checkpoints/last.ckpt``, which Lightning users try first), naming that folder; None
    elsewhere."""
    for folder in path.parents[:2]:
        if (folder / CONFIG_NAME).is_file():
            return f"{path} is inside the model folder {folder}; pass {folder}"
    return None


@contextmanager
def _utf8_path(path: Path) -> Iterator[str]:
    """A name for ``path`` that safetensors can open: the path itself, or, where it is not valid
    UTF-8 (safetensors refuses such names), a link to it from a temporary folder."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        with tempfile.TemporaryDirectory(prefix="torchlvm-") as folder:
            link = Path(folder) / "weights.safetensors"
            os.symlink(os.path.abspath(path), link)
            yield str(link)
        return
    yield str(path)


def read_weights(
    path: Path, expected: dict[str, torch.Tensor | None], fingerprint: str | None = None
) -> dict[str, torch.Tensor]:
    """Read a safetensors file, checking names and shapes against ``expected`` first
    (``None`` entries accept any shape) and, when both are known, that the file was saved with
    the config whose ``fingerprint`` is given.

    Raises:
        DataError: if the file is missing, truncated or corrupt, or holds other tensors.
    """
    if not path.is_file():
        raise RunDirectoryError(f"{path} is missing; the folder holds a config but no weights")
    try:
        with _utf8_path(path) as name, safe_open(name, framework="pt") as f:
            names = set(f.keys())
            if names != set(expected):
                missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
                raise DataError(
                    f"{path} does not fit the model in config.json "
                    f"(missing {missing[:5]}, unexpected {extra[:5]}); "
                    "the weights belong to another model"
                )
            for name in names:
                shape = tuple(f.get_slice(name).get_shape())
                want = expected[name]
                if want is not None and shape != tuple(want.shape):
                    raise DataError(
                        f"{path}: tensor {name} has shape {shape}, the model expects "
                        f"{tuple(want.shape)}; the weights belong to another model"
                    )
            saved = (f.metadata() or {}).get("config_sha256")
            if fingerprint is not None and saved is not None and saved != fingerprint:
                raise DataError(
                    f"{path} was saved with another config than {path.parent / CONFIG_NAME}; "
                    "the two files come from different saves — re-export the model"
                )
            tensors = {name: f.get_tensor(name) for name in names}
        _check_kinds(path, tensors, expected)
    except (SafetensorError, OSError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(
            f"{path} is not a readable safetensors file ({err}); it may be truncated — "
            f"{_damaged_fix(path)}"
        ) from None
    bad = sorted(n for n, t in tensors.items() if t.is_floating_point() and not t.isfinite().all())
    if bad:  # torchlvm never saves such weights: the file is damaged, or not from torchlvm
        raise DataError(
            f"{path} holds NaN or infinite values (in {', '.join(bad[:3])}); the file is damaged "
            f"or the model diverged — {_damaged_fix(path)}"
        )
    return tensors


def _if_newer(folder: Path, record: dict[str, Any], err: ConfigError) -> ConfigError:
    """``err``, a config this version cannot read, said as what it is where a newer torchlvm
    wrote the folder: userF's run of version 9.9.9 with a key this one lacks read as a damaged
    file ('unknown key(s) ['new_option']')."""
    from packaging.version import InvalidVersion, Version

    import torchlvm

    wrote = record.get("torchlvm_version")
    try:
        newer = isinstance(wrote, str) and Version(wrote) > Version(torchlvm.__version__)
    except InvalidVersion:
        newer = False
    if not newer:
        return err
    return ConfigError(
        f"{folder} was written by torchlvm {wrote}, and this is torchlvm "
        f"{torchlvm.__version__}, which cannot read it ({err}); upgrade torchlvm "
        "(pip install -U torchlvm)"
    )


def _damaged_fix(path: Path) -> str:
    """The fix of damaged weights, by what the folder is: a fitted PPCA or an export has no
    checkpoint to fall back on (userF was told 'use another checkpoint', which no command
    takes); a trained run is trained again."""
    if (path.parent / "checkpoints").is_dir():
        return "restore the file from a copy, or train the run again (with --overwrite)"
    return (
        "restore the file from a copy, or make the model again (fit it into this folder with "
        "--overwrite, or save_pretrained)"
    )


def _check_kinds(
    path: Path, tensors: dict[str, torch.Tensor], expected: dict[str, torch.Tensor | None]
) -> None:
    """Refuse a tensor that holds another kind of number than the model's: integers where the
    model has floats (``load_state_dict`` would cast them without a word), or the reverse. A
    floating-point width may differ (a model is loaded in the type it was saved in); a buffer
    that fitting sizes (``None``) holds floats."""
    for name, tensor in tensors.items():
        want = expected[name]
        floating = want is None or want.is_floating_point()
        if tensor.is_floating_point() != floating or (not floating and tensor.dtype != want.dtype):
            kind = "floating-point numbers" if floating else str(want.dtype)  # type: ignore[union-attr]
            raise DataError(
                f"{path}: tensor {name} holds {tensor.dtype}, the model expects {kind}; the "
                "weights belong to another model"
            )


def load(folder: str | os.PathLike[str]) -> torch.nn.Module:
    """Rebuild a model from a run folder or export folder.

    Args:
        folder: holds ``config.json`` and ``model.safetensors``.

    Returns:
        The model, in eval mode, on the CPU, in the floating-point type it was saved in (a
        model saved in float64, such as an estimator's ``model_``, comes back in float64); a
        PPCA fitted on a DataFrame keeps its ``feature_names_in_``.

    A model that ``torchlvm train`` or ``fit`` trained on a table (``.csv``), standardized (the
    default), reads rows in the run's units, x' = (x − mean) / scale with the train split's
    statistics, which the commands apply and undo but the model does not (raw rows of
    scikit-learn's wine scored −591,883 nats each on a PPCA with K = 3, standardized
    −15.5)::

        from torchlvm.data.standardize import Standardizer
        from torchlvm.io import read_config
        table = read_config(folder)["data"]["table"]
        units = Standardizer.from_dict(table["standardize"])  # x in table["columns"] order
        log_px = model.log_marginal(units.transform(x)) + units.log_jacobian()  # file's units

    A model of images reads each image flattened channels first, in (C, H, W) order, as every
    command reads an image file, and on the scale it was trained on (the run's
    ``read_config(folder)["data"]["value_range"]``; a file of 8-bit levels was read divided by
    its ``["divided_by"]``, 255). A channels-last array ``x`` ``(N, H, W, C)`` is passed as
    ``x.permute(0, 3, 1, 2).reshape(len(x), -1)``: flattened as it is, it is read without an
    error, wrongly.

    Raises:
        RunBusyError: if a process is training the run (its weights are not final yet); one
            that evaluates it is no obstacle.
        RunDirectoryError, DataError, ConfigError: for a missing, damaged or mismatched folder.
    """
    from torchlvm.run.commit import recover_for_reading  # (not needed to import the package)
    from torchlvm.run.lock import check_not_busy

    folder = Path(folder)
    check_not_busy(folder, model_only=True)
    recover_for_reading(folder)  # a killed commit of model + config: finished, or refused
    record = read_config(folder)
    if not isinstance(record, dict) or "model_type" not in record:
        raise DataError(f"{folder / CONFIG_NAME} has no 'model_type'; it is not a torchlvm model")
    cls = model_class(record["model_type"])
    try:
        config = config_from_dict(
            cls.Config, record.get("model"), source=f"{folder / CONFIG_NAME} 'model'"
        )
    except ConfigError as err:
        raise _if_newer(folder, record, err) from None
    # every size in the config is bounded, but not their products (a 2 kB config.json can ask
    # for a 65536 × 65536 layer): check the file's tensors against a skeleton of the model on the
    # meta device, which allocates nothing, and build the real model only once they fit
    with torch.device("meta"):
        skeleton = cls.from_config(config)
    fingerprint = config_fingerprint(cls.model_type, config_to_dict(config))
    tensors = read_weights(folder / WEIGHTS_NAME, expected_tensors(skeleton), fingerprint)
    model = cls.from_config(config)
    dtypes = {t.dtype for t in tensors.values() if t.is_floating_point()}
    if len(dtypes) == 1:  # load_state_dict would copy them into the default dtype's tensors
        model = model.to(dtypes.pop())
    model.load_state_dict(tensors, strict=True)
    restore_feature_names(model, record, f"{folder / CONFIG_NAME}")
    file_units.remember(model, record)
    return model.eval()
