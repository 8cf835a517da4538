"""Training a deep model for an estimator: arrays in memory, the CLI's Lightning path, quietly.

:class:`ArrayDataModule` is the CLI's :class:`~torchlvm.training.LVMDataModule` over arrays
already in memory instead of a dataset name: all of X is the training split, and a seeded
subset of at most ``VAL_ROWS`` of its rows is the validation split that picks the saved epoch
(the estimator holds nothing out; cross-validation does that). :func:`train` runs
:func:`torchlvm.training.fit` into a temporary run folder that it creates and removes, with
Lightning's output, warnings and the global random state kept away from the caller.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from torchlvm._kept_state import caller_state_kept
from torchlvm.data.dataset import Dataset
from torchlvm.training import LVMDataModule, TrainConfig, fit

VAL_ROWS = 1024  # most rows of X that the per-epoch validation pass reads


def _dataset(
    x: Tensor, y: Tensor | None, class_names: tuple[str, ...] | None, split: str
) -> Dataset:
    return Dataset(
        x=x,
        y=y,
        name="X",
        split=split,
        shape=(x.shape[1],),
        num_classes=None if class_names is None else len(class_names),
        class_names=class_names,
        binarize="none",
    )


class ArrayDataModule(LVMDataModule):
    """``LVMDataModule`` over ``x`` ``(N, D)`` and optional class indices ``y`` ``(N,)``.

    Args:
        class_names: the name of each class of ``y`` (for ``condition="label"``), else None.
        seed, batch_size, condition: as for ``LVMDataModule``.
        missing: NaN cells are missing data (the ``"miwae"`` objective trains around them).
    """

    def __init__(
        self,
        x: Tensor,
        y: Tensor | None = None,
        *,
        class_names: tuple[str, ...] | None = None,
        seed: int,
        batch_size: int,
        condition: str = "none",
        missing: bool = False,
    ) -> None:
        options = {"allow_missing": True} if missing else None
        super().__init__(
            "X", seed=seed, batch_size=batch_size, condition=condition, options=options
        )
        rows = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:VAL_ROWS]
        self._splits = {
            "train": _dataset(x, y, class_names, "train"),
            "val": _dataset(x[rows], None if y is None else y[rows], class_names, "val"),
        }

    evaluated_later = False  # X is the estimator's: no test split to keep rows for

    def classes_numbered(self) -> bool:
        """False: y's labels are the classes, numbered only by their sorted order (classes_)."""
        return False

    def _load(self, split: str) -> Dataset:
        return self._splits[split]


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    """Keep the caller's global state (random states, ``PL_*`` seed variables, grad mode, log
    levels, warnings: :func:`~torchlvm._kept_state.caller_state_kept`) as it was, and Lightning
    quiet meanwhile: training seeds everything globally and Lightning talks."""
    with caller_state_kept():
        warnings.simplefilter("ignore")
        for name in ("lightning", "lightning.pytorch"):
            logging.getLogger(name).setLevel(logging.ERROR)
        yield


def train(
    build: Any, datamodule: ArrayDataModule, config: TrainConfig, *, accelerator: str
) -> tuple[torch.nn.Module, int]:
    """Build a model with ``build(datamodule)`` (after seeding) and train it as the CLI does.

    Returns:
        The model with the weights of the best validation epoch, on the CPU, and the number
        of epochs run.
    """
    import lightning as L

    with _isolated(), tempfile.TemporaryDirectory(prefix="torchlvm-estimator-") as folder:
        L.seed_everything(config.seed, verbose=False)
        datamodule.setup("fit")
        model = build(datamodule)
        result = fit(
            model, datamodule, config, Path(folder) / "run", progress=False, accelerator=accelerator
        )
    return model, result.epochs
