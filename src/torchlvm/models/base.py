"""What every registered model shares: saving to ``model.safetensors`` + ``config.json``.

``save_pretrained(folder)`` writes the weights with safetensors (no pickle) and the config as
JSON, each atomically. :func:`torchlvm.load` reads them back.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from safetensors.torch import save

from torchlvm._files import json_text, write_atomic, write_text
from torchlvm._shell import unexpanded_home
from torchlvm.errors import ConfigError, DataError, NotFittedError, RunDirectoryError
from torchlvm.models.config import config_to_dict
from torchlvm.models.rebuilt import check_rebuilt_from_config

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


FEATURE_NAMES = "feature_names_in"
"""The ``config.json`` key of the column names an estimator was fitted on (``feature_names_in_``,
which scikit-learn records from a DataFrame), where it has them."""


def model_record(model: Any) -> dict[str, Any]:
    """The part of ``config.json`` that rebuilds ``model``: its type name and config, and the
    column names it was fitted on where it has them (:data:`FEATURE_NAMES`).

    Raises:
        ConfigError: for a model whose modules are not what its config builds
            (:func:`~torchlvm.models.rebuilt.check_rebuilt_from_config`): ``save_pretrained``
            and ``training.fit``, which record it first, refuse it before writing or training.
    """
    import torchlvm

    check_rebuilt_from_config(model)  # (userY #1, #2: before training.fit trains, too)
    record = {
        "model_type": model.model_type,
        "model": config_to_dict(model.fitted_config),
        "torchlvm_version": torchlvm.__version__,
    }
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        record[FEATURE_NAMES] = [str(name) for name in names]
    return record


def restore_feature_names(model: Any, record: dict[str, Any], source: str) -> None:
    """Give a loaded ``model`` the column names its ``config.json`` ``record`` holds (a table
    run's feature columns where it records none: :func:`_table_columns`), so that it refuses a
    DataFrame of other columns, or of its columns in another order, as the fitted model did:
    without them a PPCA loaded by ``torchlvm.load`` took reordered columns silently, with
    scikit-learn's warning that it "was fitted without feature names" (userT #1).

    Raises:
        DataError: for names that are not one string per feature of the model (``source``
            names the file).
    """
    names = record.get(FEATURE_NAMES)
    if names is None and (names := _table_columns(model, record)) is not None:
        model._names_of_table = True  # (rows given as an array are read by place, unwarned)
    if names is None:
        return
    count = getattr(model, "n_features_in_", None)
    if (
        not isinstance(names, list)
        or not all(isinstance(name, str) for name in names)
        or len(names) != count
    ):
        raise DataError(
            f"{source} '{FEATURE_NAMES}' must list the {count} column names the model was "
            f"fitted on; the file is damaged: save the fitted model again, or remove the "
            f"'{FEATURE_NAMES}' key to load it without column names"
        )
    model.feature_names_in_ = np.asarray(names, dtype=object)


def _table_columns(model: Any, record: dict[str, Any]) -> list[str] | None:
    """The feature columns a run that ``fit`` made from a table records (``data.table.columns``)
    as the names of a loaded ``model`` with a scikit-learn face (``n_features_in_``), which
    then refuses a DataFrame of them in another order, as scikit-learn's estimators do, and
    reads an array or tensor by place without scikit-learn's warning that it has no names (the
    model was fitted on one, and load's docstring standardizes rows so): it
    scored wine's standardized frame reversed −22.17 nats a row for −15.71, with a warning that
    the model "was fitted without feature names". None for another model or run, or a file
    without a header, whose columns ``column 1``, ... name places, not columns."""
    from torchlvm.data.columns import is_default

    data = record.get("data")
    table = data.get("table") if isinstance(data, dict) else None
    columns = table.get("columns") if isinstance(table, dict) else None
    count = getattr(model, "n_features_in_", None)
    if count is None or not isinstance(columns, list) or len(columns) != count:
        return None
    return None if is_default(columns) else [str(name) for name in columns]


def check_feature_names(model: Any, columns: Any, source: str, folder: Any) -> None:
    """Refuse a file whose header names other columns than ``model`` was fitted on
    (``feature_names_in_``, which a model saved from a DataFrame records), or its columns in
    another order: the command line reads a file's columns by place, so ``score`` of a saved
    PPCA's columns reversed read 21.97 nats a row for 15.67 without a word, where the loaded
    model's ``score`` refuses the reversed frame (readH H3). ``columns``: the file's column
    names (None, or a file without a header, ``column 1``...: read by place, not checked);
    ``source`` names the file, ``folder`` the model's.

    Raises:
        DataError: naming the first columns that differ and the order the model takes.
    """
    from torchlvm.data.columns import is_default

    names = getattr(model, "feature_names_in_", None)
    if names is None or not columns or is_default(columns):
        return
    names, columns = [str(name) for name in names], [str(column) for column in columns]
    if columns == names:
        return
    fitted = f"the model in {folder} was fitted on"
    order = f"{FEATURE_NAMES} in {folder}/{CONFIG_NAME} lists them"
    if sorted(columns) == sorted(names):
        at = next(i for i, (a, b) in enumerate(zip(columns, names, strict=True)) if a != b)
        raise DataError(
            f"{source} holds the columns {fitted} in another order (column {at + 1} is "
            f"{columns[at]!r}, the model's {names[at]!r}), and columns are read by place: write "
            f"them in the model's order, as {order}"
        )
    extra = [column for column in columns if column not in names]
    lacking = [name for name in names if name not in columns]
    said = [f"columns {fitted} ({', '.join(map(repr, names[:4]))}{', ...' * (len(names) > 4)})"]
    if extra:
        said.append(f"not {', '.join(map(repr, extra[:3]))}{', ...' * (len(extra) > 3)}")
    if lacking:
        said.append(f"it lacks {', '.join(map(repr, lacking[:3]))}{', ...' * (len(lacking) > 3)}")
    raise DataError(f"{source} must hold the {'; '.join(said)}: {order}")


def config_fingerprint(model_type: str, config: dict[str, Any]) -> str:
    """SHA-256 of a model's type and config, stored in its weights file so that a
    ``config.json`` and a ``model.safetensors`` from different saves are caught on load."""
    text = json.dumps({"model_type": model_type, "model": config}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expected_tensors(model: torch.nn.Module) -> dict[str, torch.Tensor | None]:
    """Names the model's state holds, mapped to its tensor, or to ``None`` for a buffer that is
    declared but not yet sized (a model whose shapes are set by fitting, such as PPCA's ``W``)."""
    expected: dict[str, torch.Tensor | None] = dict(model.state_dict())
    for prefix, module in model.named_modules():
        for name, buffer in module._buffers.items():
            if buffer is None and name not in module._non_persistent_buffers_set:
                expected[f"{prefix}.{name}" if prefix else name] = None
    return expected


def save_weights(model: torch.nn.Module, path: str | os.PathLike[str]) -> None:
    """Write ``model.state_dict()`` to a safetensors file, atomically, with the config's
    fingerprint in its metadata."""
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        from torchlvm.errors import NonFiniteError

        raise NonFiniteError(
            f"refusing to save non-finite weights ({', '.join(bad[:3])}); "
            "the model diverged — lower the learning rate or enable gradient clipping"
        )
    metadata = {"format": "pt"}
    if isinstance(model, SavableModel):
        metadata["config_sha256"] = config_fingerprint(
            model.model_type, config_to_dict(model.fitted_config)
        )
    # serialized first and written by Python, so a full disk is the OSError it is (safetensors'
    # own file writer reports it as a SafetensorError, which read as a crash)
    data = sorted_metadata(save(tensors, metadata=metadata))
    write_atomic(path, lambda tmp: tmp.write_bytes(data))


def sorted_metadata(data: bytes) -> bytes:
    """``data``, a serialized safetensors file, with its header's ``__metadata__`` keys in
    sorted order: safetensors writes that map in its Rust HashMap's per-process order, so two
    saves of the same weights and config differed in bytes half the time (userN #4: sha256sum
    and cmp of identical runs disagreed). The header is 8 bytes of little-endian length, then
    JSON padded with spaces; the reordered JSON has the same length, so no offset moves."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert len(text) <= size, "the reordered header cannot grow"  # (the same keys and values)
    return data[:8] + text.ljust(size, b" ") + data[8 + size :]


_RUN_SECTIONS = ("data", "training")  # a run's record; an export holds only its model


def _check_export_folder(folder: Path) -> None:
    """Refuse a folder whose ``config.json`` / ``model.safetensors`` are not an earlier export:
    a run's (replacing them loses its data and training record, so no command reads it again)
    or the user's own files."""
    record: Any = None
    config = folder / CONFIG_NAME
    if config.is_file():
        try:
            record = json.loads(config.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            record = None
        if not isinstance(record, dict) or "model_type" not in record:
            raise RunDirectoryError(
                f"{folder} holds a {CONFIG_NAME} that is not a torchlvm model's; save to another "
                "folder"
            )
    elif (folder / WEIGHTS_NAME).exists():
        raise RunDirectoryError(
            f"{folder} holds a {WEIGHTS_NAME} without a torchlvm {CONFIG_NAME}; save to another "
            "folder"
        )
    from torchlvm.run.layout import TRAINING_MARKERS  # (the run package imports the models)

    marks = [name for name in TRAINING_MARKERS if (folder / name).exists()]
    marks += [f"a {name} record" for name in _RUN_SECTIONS if name in (record or {})]
    if marks:
        raise RunDirectoryError(
            f"{folder} holds a run ({', '.join(marks)}), whose record and weights "
            "save_pretrained would replace; save the model to another folder (torchlvm.load "
            "reads either)"
        )


class PointEstimates:
    """Mixin: the posterior mean and the reconstruction of a model with ``encode`` and ``decode``
    (for an autoencoder, its code f(x) and the decoder's output at it)."""

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """E_q[z | x, c], shape ``(B, K)`` (no gradients)."""
        return self.encode(x, c).mean  # type: ignore[attr-defined]

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """E[x | z = E_q[z | x, c], c], the decoder mean at the posterior mean, ``(B, D)``."""
        return self.decode(self.encode(x, c).mean, c).mean  # type: ignore[attr-defined]


class SavableModel:
    """Mixin for ``nn.Module`` models with ``model_type`` and ``config``."""

    model_type: ClassVar[str]
    config: Any

    @property
    def fitted_config(self) -> Any:
        """The config that rebuilds the model these weights belong to, which ``config.json``
        records: ``config``, but for a model whose settings can change after fitting (PPCA's
        ``set_params`` changes the next fit, not the fitted model)."""
        return self.config

    def save_pretrained(self, folder: str | os.PathLike[str], **extra: Any) -> Path:
        """Write ``model.safetensors`` and ``config.json`` into ``folder`` (created if needed).

        Args:
            folder: destination folder.
            **extra: further JSON-serializable sections for ``config.json`` (e.g. ``data``),
                other than the model's own (``model_type``, ``model``, ``torchlvm_version``).

        Returns:
            The folder as a ``Path``.

        Raises:
            ConfigError: for an ``extra`` section that is the model's own or not JSON, or a
                model whose modules are not what its config builds (a network replaced in
                Python, which ``torchlvm.load`` would rebuild as the config's); nothing is
                written then.
            NotFittedError: for a model whose weights fitting sizes (PPCA) before ``fit``.
            RunDirectoryError: for a path that starts with an unexpanded ``~``, or a folder
                that holds a run (of ``torchlvm train`` or ``fit``,
                whose record and weights this would replace) or a ``config.json`` or
                ``model.safetensors`` that is not a torchlvm export; an earlier export is
                replaced.
        """
        state = expected_tensors(self)  # type: ignore[arg-type]
        unset = [name for name, tensor in state.items() if tensor is None]
        if unset:
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet ({', '.join(unset)} unset), so it has "
                "no weights to save; call fit(X) before save_pretrained"
            )
        record = model_record(self)
        if set(extra) & set(record):
            raise ConfigError(
                f"save_pretrained's extra sections {sorted(set(extra) & set(record))} are the "
                f"model's own record in {CONFIG_NAME}; give them other names"
            )
        try:  # before any file is written: a failure leaves no weights without their config
            text = json_text({**record, **extra})
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"save_pretrained's extra sections must be JSON (dicts, lists, strings, numbers): "
                f"{err}"
            ) from None
        folder = Path(folder)
        if (home := unexpanded_home(folder)) is not None:
            raise home  # mkdir would make a folder named '~' here
        if folder.exists() and not folder.is_dir():
            raise RunDirectoryError(f"{folder} is a file, not a folder; save to a folder")
        _check_export_folder(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_weights(self, folder / WEIGHTS_NAME)  # type: ignore[arg-type]
        write_text(folder / CONFIG_NAME, text)
        return folder
